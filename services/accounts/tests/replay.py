"""A local HTTP server that answers like Plaid and Belvo, from recorded answers (`fixtures/`, written from
the providers' documented formats), and remembers what it was asked. No network: loopback only.

`answer(method, path, body, status=…, when=…)` adds an answer; the newest one whose `when` matches the
request (a subset of its JSON body or query) is given, so a test overrides an answer by adding another.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response

from pfms_platform.testing.helpers import served

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Answer:
    method: str
    path: str
    body: Any
    status: int
    when: dict[str, Any]
    times: int | None = None
    """How many more times it is given (None: always)."""


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]


@dataclass
class Replay:
    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def answer(
        self, method: str, path: str, body: Any, *, status: int = 200, times: int | None = None, **when: Any
    ) -> None:
        self.answers.append(Answer(method, path, body, status, when, times))

    def fixture(self, name: str) -> Any:
        return json.loads((FIXTURES / name).read_text().replace("{host}", self.url))

    def called(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def reply(self, call: Call) -> tuple[int, Any]:
        given = {**call.query, **(call.json if isinstance(call.json, dict) else {})}
        for answer in reversed(self.answers):
            if (
                (answer.method, answer.path) == (call.method, call.path)
                and answer.times != 0
                and all(given.get(k) == v for k, v in answer.when.items())
            ):
                if answer.times is not None:
                    answer.times -= 1
                return answer.status, answer.body
        return 404, {"error_code": "NOT_RECORDED", "error_message": f"no answer for {call.method} {call.path}"}

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "DELETE"])
        async def any_route(path: str, request: Request) -> Response:
            raw = await request.body()
            call = Call(
                request.method,
                "/" + path,
                dict(request.query_params),
                json.loads(raw) if raw else None,
                dict(request.headers),
            )
            self.calls.append(call)
            status, body = self.reply(call)
            content = b"" if body is None else json.dumps(body).encode()
            return Response(content, status_code=status, media_type="application/json")

        return app


def plaid_answers(replay: Replay) -> None:
    """A Plaid item with a checking account and a credit card (and a crypto balance PFMS skips), whose first
    sync has two pages."""
    replay.answer("POST", "/item/public_token/exchange", replay.fixture("plaid/item_public_token_exchange.json"))
    replay.answer("POST", "/accounts/balance/get", replay.fixture("plaid/accounts_balance_get.json"))
    first, second = replay.fixture("plaid/transactions_sync_1.json"), replay.fixture("plaid/transactions_sync_2.json")
    replay.answer("POST", "/transactions/sync", first)
    replay.answer("POST", "/transactions/sync", second, cursor=first["next_cursor"])
    replay.answer(
        "POST", "/transactions/sync", replay.fixture("plaid/transactions_sync_3.json"), cursor=second["next_cursor"]
    )
    replay.answer("POST", "/item/remove", replay.fixture("plaid/item_remove.json"))


def belvo_answers(replay: Replay) -> None:
    """A Belvo link with one checking account in MXN and two pages of transactions."""
    link = replay.fixture("belvo/link.json")
    replay.answer("GET", f"/api/links/{link['id']}/", link)
    replay.answer("POST", "/api/accounts/", replay.fixture("belvo/accounts.json"), status=201)
    replay.answer("GET", "/api/transactions/", replay.fixture("belvo/transactions_1.json"))
    replay.answer("GET", "/api/transactions/", replay.fixture("belvo/transactions_2.json"), page="2")
    replay.answer("DELETE", f"/api/links/{link['id']}/", None, status=204)


@asynccontextmanager
async def replaying() -> AsyncIterator[Replay]:
    replay = Replay()
    async with served(replay.app()) as url:
        replay.url = url
        plaid_answers(replay)
        belvo_answers(replay)
        yield replay
