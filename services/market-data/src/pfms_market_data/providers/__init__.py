"""Price sources behind one interface; `build(settings)` picks one per asset class."""

from pfms_market_data.domain import AssetClass
from pfms_market_data.providers.base import Provider
from pfms_market_data.providers.coingecko import CoinGeckoProvider
from pfms_market_data.providers.frankfurter import FrankfurterProvider
from pfms_market_data.providers.guarded import Guarded
from pfms_market_data.providers.offline import OfflineProvider
from pfms_market_data.providers.stooq import StooqProvider
from pfms_market_data.settings import Settings

SERVES = {
    "offline": frozenset(AssetClass),
    "stooq": frozenset({AssetClass.stock}),
    "coingecko": frozenset({AssetClass.crypto}),
    "frankfurter": frozenset({AssetClass.forex}),
}


def _make(name: str, settings: Settings) -> Provider:
    timeout = settings.provider_timeout_seconds
    if name == "stooq":
        return StooqProvider(settings.stooq_url, timeout=timeout)
    if name == "coingecko":
        return CoinGeckoProvider(settings.coingecko_url, timeout=timeout, api_key=settings.coingecko_api_key)
    if name == "frankfurter":
        return FrankfurterProvider(settings.frankfurter_url, timeout=timeout)
    return OfflineProvider()


def build(settings: Settings) -> dict[AssetClass, Guarded]:
    """One guarded provider per asset class; classes sharing a provider share its limit and breaker."""
    chosen = {
        AssetClass.stock: settings.stock_provider,
        AssetClass.crypto: settings.crypto_provider,
        AssetClass.forex: settings.forex_provider,
    }
    made: dict[str, Guarded] = {}
    for cls, name in chosen.items():
        if cls not in SERVES[name]:
            raise ValueError(f"provider {name} does not serve {cls.value}")
        if name not in made:
            made[name] = Guarded(
                _make(name, settings),
                # the offline provider reads memory: nothing upstream to protect from load
                rate_per_second=settings.provider_rate_per_second if name != "offline" else 10_000.0,
                burst=settings.provider_burst if name != "offline" else 1_000,
                attempts=settings.provider_attempts,
                base_delay=settings.provider_retry_delay_seconds,
                failure_threshold=settings.breaker_failures,
                reset_seconds=settings.breaker_reset_seconds,
            )
    return {cls: made[name] for cls, name in chosen.items()}
