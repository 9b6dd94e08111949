"""What the three public HTTP providers share: one client per provider, errors sorted into two kinds."""

from typing import Any

import httpx

from pfms_market_data.providers.base import ProviderError, UnknownSymbol


class HttpSource:
    """An httpx client with the provider's base URL and timeout; `get` maps failures to our errors."""

    def __init__(self, base_url: str, *, timeout: float, headers: dict[str, str] | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "pfms-market-data/1.0", **(headers or {})},
        )

    async def get(self, path: str, params: dict[str, Any] | None = None, *, missing: str = "") -> httpx.Response:
        """GET; a 404 is `UnknownSymbol(missing)`, a transport error, 429 or 5xx is `ProviderError`."""
        try:
            response = await self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self.client.base_url}{path}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise UnknownSymbol(missing)
        if response.status_code >= 400:
            raise ProviderError(f"{self.client.base_url}{path}: HTTP {response.status_code}")
        return response

    async def json(self, path: str, params: dict[str, Any] | None = None, *, missing: str = "") -> Any:
        response = await self.get(path, params, missing=missing)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(f"{path}: not JSON") from exc

    async def close(self) -> None:
        await self.client.aclose()
