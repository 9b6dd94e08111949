"""Optional wording of chat answers by an OpenAI-compatible endpoint (off unless `llm_base_url` is set).

The model never sees the database: it gets the question and the facts the local engine computed from
the caller's own data, and is told to answer from those facts only. Any failure falls back to the
local answer, so the chat works the same with the endpoint down.
"""

import json
from typing import Any

import httpx

from pfms_ai.settings import Settings
from pfms_platform.logging import get_logger

log = get_logger(__name__)

SYSTEM = (
    "You are the assistant of a personal-finance app. Answer the user's question in one or two sentences "
    "using only the facts given as JSON; never invent figures. Facts: "
)


async def reword(settings: Settings, question: str, facts: dict[str, Any]) -> str | None:
    """The endpoint's answer, or None (disabled, unreachable, or an unexpected reply)."""
    if not settings.llm_base_url:
        return None
    body = {
        "model": settings.llm_model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM + json.dumps(facts, default=str)},
            {"role": "user", "content": question},
        ],
    }
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    try:
        async with httpx.AsyncClient(timeout=settings.llm_timeout_seconds) as client:
            response = await client.post(
                settings.llm_base_url.rstrip("/") + "/chat/completions", json=body, headers=headers
            )
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
        log.warning("llm endpoint failed, answering locally", error=str(exc)[:200])
        return None
    return str(text).strip() or None
