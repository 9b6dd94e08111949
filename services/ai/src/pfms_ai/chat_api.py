"""Chat routes: answers from the caller's own data, history in `ai_chat_history`."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from pfms_ai import chat, llm, readmodel
from pfms_ai.schemas import ChatAnswer, ChatMessage, ChatRequest
from pfms_ai.store import CHAT
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])


@router.post("/chat", response_model=Envelope[ChatAnswer])
async def ask(body: ChatRequest, user: CurrentUser, request: Request) -> dict[str, Any]:
    """Answer a question about the caller's money; the figures come from their data only."""
    state = request.app.state
    db = state.store.db
    spent = await readmodel.expenses(db, user)
    earned = await readmodel.incomes(db, user)
    currency = readmodel.main_currency(spent, earned) or "USD"
    today = datetime.now(UTC).date()
    parsed = chat.parse(body.message, today, sorted({s.category for s in spent}))
    text, data = chat.answer(parsed, spent, earned, currency, today)
    engine = "local"
    if parsed.intent != "help":
        worded = await llm.reword(state.settings, body.message, {"answer": text, "intent": parsed.intent, **data})
        if worded:
            text, engine = worded, "llm"
    session_id = body.session_id or str(uuid.uuid4())
    result = {
        "session_id": session_id,
        "answer": text,
        "intent": parsed.intent,
        "entities": parsed.entities(),
        "data": data,
        "engine": engine,
    }
    now = datetime.now(UTC)
    base = {"user_id": str(user), "session_id": session_id}
    await db[CHAT].insert_many(
        [
            {**base, "_id": str(uuid.uuid4()), "role": "user", "message": body.message, "timestamp": now},
            {
                **base,
                "_id": str(uuid.uuid4()),
                "role": "assistant",
                "message": text,
                "intent": parsed.intent,
                "entities": result["entities"],
                "response": {"data": data, "engine": engine},
                "timestamp": now,
            },
        ]
    )
    return ok(result)


@router.get("/chat/history", response_model=PageEnvelope[ChatMessage])
async def history(
    user: CurrentUser, request: Request, page: Annotated[PageParams, Depends()], session_id: str | None = None
) -> dict[str, Any]:
    """The caller's conversation, oldest first (one session, or all of them)."""
    query: dict[str, Any] = {"user_id": str(user)}
    if session_id:
        query["session_id"] = session_id
    collection = request.app.state.store.db[CHAT]
    total = await collection.count_documents(query)
    docs = (
        await collection.find(query, {"user_id": 0})
        .sort([("timestamp", 1), ("role", -1)])
        .skip(page.offset)
        .limit(page.limit)
        .to_list(page.limit)
    )
    items = [{"id": d.pop("_id"), **d, "timestamp": d["timestamp"].isoformat()} for d in docs]
    return paged(items, page, total)
