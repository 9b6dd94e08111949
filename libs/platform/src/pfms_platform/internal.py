"""Synchronous service-to-service calls (`/internal/...`) with a service token, retries and a breaker.

`InternalClient(settings, target="market-data")` finds the target with `settings.service_url`,
signs each request with a short-lived service token, gives up quickly (short timeouts, a few
retries with backoff on connection errors, timeouts and 5xx) and stops calling a target that keeps
failing (circuit breaker). Every way of not getting an answer becomes one error, `UpstreamUnavailable`
(503 `UPSTREAM_UNAVAILABLE` in the fleet envelope); a 404 from the target stays a `NotFound`.
"""

from datetime import date
from typing import Any

import httpx

from pfms_platform import tracing
from pfms_platform.errors import AppError, NotFound
from pfms_platform.logging import get_logger
from pfms_platform.resilience import Breaker, CircuitOpen, retrying
from pfms_platform.security import mint_service_token
from pfms_platform.settings import ServiceSettings

log = get_logger(__name__)


class UpstreamUnavailable(AppError):
    status_code = 503
    code = "UPSTREAM_UNAVAILABLE"


class _Transient(Exception):
    """A failure worth retrying: the target was unreachable, too slow, or answered 5xx."""


class _Answered(Exception):
    """The target answered with an error that retrying will not change (4xx, or its own 503)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"status {status}")
        self.status = status
        self.body = body


class InternalClient:
    """One pooled HTTP client per target and process; close it on shutdown."""

    def __init__(
        self,
        settings: ServiceSettings,
        target: str = "market-data",
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        base_delay: float = 0.05,
        failure_threshold: int = 5,
        reset_seconds: float = 15.0,
    ) -> None:
        self.target = target
        self._secret = settings.service_token_secret
        self._caller = settings.service_name
        self._attempts = attempts
        self._base_delay = base_delay
        self.breaker = Breaker(target, failure_threshold, reset_seconds, exclude=(_Answered,))
        self._http = httpx.AsyncClient(
            base_url=settings.service_url(target),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        tracing.instrument_client(self._http, settings.service_name)  # CLIENT spans + traceparent, if tracing is on

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _once(self, path: str, params: dict[str, str] | None, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {mint_service_token(self._secret, self._caller)}"}
        try:
            if body is None:
                response = await self._http.get(path, params=params, headers=headers)
            else:
                response = await self._http.post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 and response.status_code != 503:
            raise _Transient(f"status {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise _Transient("answer is not JSON") from exc
        if response.status_code >= 400:
            raise _Answered(response.status_code, body if isinstance(body, dict) else {})
        return body.get("data") if isinstance(body, dict) else None

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET `path` on the target and return the `data` of its success envelope."""
        return await self._call(path, params, None, self._attempts)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` (JSON-ready) to `path` and return the `data` of the answer. Tried once: a POST that
        timed out may still have acted, so repeating it is the caller's decision."""
        return await self._call(path, None, body, 1)

    async def _call(self, path: str, params: dict[str, str] | None, body: dict[str, Any] | None, attempts: int) -> Any:
        try:
            async with self.breaker:
                async for attempt in retrying(attempts, self._base_delay, retry_on=(_Transient,)):
                    with attempt:
                        return await self._once(path, params, body)
        except _Answered as exc:
            error = exc.body.get("error") or {}
            message = str(error.get("message") or f"{self.target} answered {exc.status}")
            if exc.status == 404:
                raise NotFound(message, details=error.get("details")) from exc
            raise UpstreamUnavailable(f"{self.target}: {message}", details=error.get("details")) from exc
        except CircuitOpen as exc:
            raise UpstreamUnavailable(f"{self.target} is unavailable; retry in {exc.retry_after:.0f}s") from exc
        except _Transient as exc:
            log.warning("internal call failed", target=self.target, path=path, error=str(exc)[:200])
            raise UpstreamUnavailable(f"{self.target} is unavailable") from exc
        raise AssertionError("unreachable: retrying re-raises the last error")

    # market-data's internal API (the fixed interface between market-data and its callers)

    async def quote(self, symbol: str, asset_class: str) -> dict[str, Any]:
        """`{symbol, asset_class, price, currency, as_of, source, age_seconds}`."""
        data: dict[str, Any] = await self.get(f"/internal/v1/market/quotes/{symbol}", {"asset_class": asset_class})
        return data

    async def history(self, symbol: str, asset_class: str, start: date, end: date) -> list[dict[str, Any]]:
        """Daily closes `[{date, close, currency}]` between `start` and `end` inclusive."""
        params = {"asset_class": asset_class, "from": start.isoformat(), "to": end.isoformat()}
        data: list[dict[str, Any]] = await self.get(f"/internal/v1/market/history/{symbol}", params)
        return data

    async def fx(self, base: str, quote: str, day: date) -> dict[str, Any]:
        """`{base, quote, date, rate, source}`: units of `quote` per `base` on `day` (or the business day before)."""
        params = {"base": base, "quote": quote, "date": day.isoformat()}
        data: dict[str, Any] = await self.get("/internal/v1/market/fx", params)
        return data
