"""Talking to identity providers through authlib: authorisation URLs (state, nonce, PKCE), the code
exchange, and who the person is at the provider.

OpenID Connect providers (Google included) are read from discovery; their ID token is checked by
authlib (signature against the provider's JWKS, issuer, audience, expiry, nonce, at_hash). Some put
the email only in their userinfo endpoint: when the ID token lacks `email` or `email_verified`, the
pair is read from userinfo (whose `sub` must be the ID token's). GitHub has no ID token: the person
is its `/user`, the email the primary verified one of `/user/emails`.
"""

from dataclasses import dataclass
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from httpx import HTTPError
from joserfc.errors import JoseError

from pfms_auth.settings import OAuthClient, Settings
from pfms_platform.errors import AppError, NotFound


class ProviderRefused(AppError):
    """The provider's answer does not stand: a code it refused (used, expired, for another client),
    an ID token whose signature, issuer, audience or nonce is wrong, an unreachable provider."""

    status_code = 401
    code = "OAUTH_FAILED"


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    code_verifier: str
    nonce: str | None


@dataclass(frozen=True)
class Identity:
    """The person as the provider vouches for them."""

    subject: str
    email: str | None
    email_verified: bool
    access_token: str | None
    refresh_token: str | None


class Providers:
    """The configured providers, each an authlib client (server metadata and keys cached once loaded)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._registry = OAuth()
        self._clients: dict[str, tuple[OAuthClient, StarletteOAuth2App]] = {}
        for name, conf in settings.oauth_providers.items():
            kwargs: dict[str, Any] = {"scope": conf.scope, "code_challenge_method": "S256"}
            if conf.kind == "github":
                client = self._registry.register(
                    name,
                    client_id=conf.client_id,
                    client_secret=conf.client_secret,
                    authorize_url=conf.authorize_url,
                    access_token_url=conf.token_url,
                    api_base_url=conf.api_base_url,
                    client_kwargs=kwargs | {"token_endpoint_auth_method": "client_secret_post"},
                )
            else:
                client = self._registry.register(
                    name,
                    client_id=conf.client_id,
                    client_secret=conf.client_secret,
                    server_metadata_url=conf.discovery_url,
                    client_kwargs=kwargs,
                )
            self._clients[name] = (conf, client)

    @property
    def names(self) -> list[str]:
        return sorted(self._clients)

    def _get(self, provider: str) -> tuple[OAuthClient, StarletteOAuth2App]:
        try:
            return self._clients[provider]
        except KeyError:
            raise NotFound("Unknown identity provider") from None

    def redirect_uri(self, provider: str) -> str:
        return f"{self.settings.oauth_redirect_base_url.rstrip('/')}/api/v1/auth/oauth/{provider}/callback"

    def require(self, provider: str) -> None:
        self._get(provider)

    def posts_back(self, provider: str) -> bool:
        """True when the provider answers with `response_mode=form_post` (a cross-site POST to the callback)."""
        return self._get(provider)[0].response_mode == "form_post"

    async def authorization(self, provider: str) -> Authorization:
        """A fresh URL with its own state, PKCE verifier (S256) and, for OIDC, nonce."""
        conf, client = self._get(provider)
        mode = {"response_mode": "form_post"} if conf.response_mode == "form_post" else {}
        try:
            made = await client.create_authorization_url(self.redirect_uri(provider), **mode)
        except (HTTPError, AuthlibBaseError, ValueError) as exc:
            raise ProviderRefused("The identity provider cannot be reached") from exc
        return Authorization(made["url"], made["state"], made["code_verifier"], made.get("nonce"))

    async def identity(self, provider: str, code: str, code_verifier: str, nonce: str | None) -> Identity:
        conf, client = self._get(provider)
        try:
            token = await client.fetch_access_token(
                redirect_uri=self.redirect_uri(provider), code=code, code_verifier=code_verifier
            )
            if "error" in token:
                raise OAuthError(error=str(token["error"]))
            if conf.kind == "github":
                return await _github_identity(client, token)
            claims = await client.parse_id_token(token, nonce=nonce)
            if claims is None:
                raise ProviderRefused("The identity provider sent no ID token")
            vouched = claims if {"email", "email_verified"} <= claims.keys() else await _userinfo(client, token, claims)
        except (HTTPError, AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
            raise ProviderRefused("The identity provider did not confirm the sign-in") from exc
        return Identity(
            subject=str(claims["sub"]),
            email=_lower(vouched.get("email")),
            email_verified=_verified(vouched.get("email_verified")),
            access_token=token.get("access_token"),
            refresh_token=token.get("refresh_token"),
        )


async def _userinfo(client: StarletteOAuth2App, token: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """The provider's userinfo, for an ID token without the email pair. Its `sub` must be the ID
    token's (OIDC Core 5.3.2), else the answer is about someone else and nothing of it is used."""
    info: dict[str, Any] = dict(await client.userinfo(token=token))
    if str(info.get("sub")) != str(claims["sub"]):
        raise ProviderRefused("The identity provider's userinfo is about another subject")
    return info


def _verified(flag: Any) -> bool:
    """Only an explicit yes (a JSON true, or the string some providers send) verifies an address."""
    return flag is True or flag == "true"


async def _github_identity(client: StarletteOAuth2App, token: dict[str, Any]) -> Identity:
    user = await client.get("user", token=token)
    user.raise_for_status()
    emails = await client.get("user/emails", token=token)
    emails.raise_for_status()
    primary = next((e for e in emails.json() if e.get("primary") and e.get("verified")), None)
    return Identity(
        subject=str(user.json()["id"]),
        email=_lower(primary["email"]) if primary else None,
        email_verified=primary is not None,
        access_token=token.get("access_token"),
        refresh_token=token.get("refresh_token"),
    )


def _lower(email: Any) -> str | None:
    return email.strip().lower() if isinstance(email, str) and email.strip() else None
