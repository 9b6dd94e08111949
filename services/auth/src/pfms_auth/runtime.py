"""What the routes share for the life of the process: settings, hasher, Redis counters and one-shot
state, keys, identity-provider clients."""

from dataclasses import dataclass
from datetime import timedelta

from pfms_auth import lockout
from pfms_auth.keystore import KeyStore
from pfms_auth.oneshot import OneShot
from pfms_auth.passwords import Argon2Params, Hasher
from pfms_auth.providers import Providers
from pfms_auth.settings import Settings
from pfms_auth.throttle import Throttle
from pfms_auth.tokens import AccessTokenSpec


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    hasher: Hasher
    throttle: Throttle
    keys: KeyStore
    once: OneShot
    providers: Providers

    @property
    def access_spec(self) -> AccessTokenSpec:
        s = self.settings
        return AccessTokenSpec(issuer=s.jwt_issuer, audience=s.jwt_audience, ttl_seconds=s.access_token_ttl_seconds)

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(days=self.settings.refresh_token_ttl_days)


def argon2_params(settings: Settings) -> Argon2Params:
    return Argon2Params(settings.argon2_memory_cost, settings.argon2_time_cost, settings.argon2_parallelism)


def policies(settings: Settings) -> tuple[lockout.Policy, lockout.Policy]:
    """(per account, per client IP)."""
    window, lock = settings.failure_window_seconds, settings.lockout_seconds
    return (
        lockout.Policy(settings.account_max_failures, window, lock),
        lockout.Policy(settings.ip_max_failures, window, lock),
    )
