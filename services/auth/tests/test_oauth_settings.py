"""Identity-provider settings: what each kind defaults to, and what is refused (pure, no servers)."""

import pytest
from pydantic import ValidationError

from pfms_auth.providers import Providers
from pfms_auth.settings import GITHUB_API_URL, GOOGLE_DISCOVERY_URL, OAuthClient, Settings
from pfms_platform.errors import NotFound


def test_each_kind_gets_its_defaults() -> None:
    google = OAuthClient(kind="google", client_id="c")
    assert google.discovery_url == GOOGLE_DISCOVERY_URL and google.scope == "openid email profile"
    github = OAuthClient(kind="github", client_id="c")
    assert github.discovery_url is None and github.scope == "read:user user:email"
    assert github.api_base_url == GITHUB_API_URL
    corp = OAuthClient(client_id="c", discovery_url="https://id.example/.well-known/openid-configuration", scope="x")
    assert corp.kind == "oidc" and corp.scope == "x"


def test_a_generic_provider_needs_discovery_and_typos_are_refused() -> None:
    with pytest.raises(ValidationError, match="discovery_url"):
        OAuthClient(kind="oidc", client_id="c")
    with pytest.raises(ValidationError, match="client_secrett"):
        OAuthClient.model_validate({"kind": "google", "client_id": "c", "client_secrett": "s"})
    with pytest.raises(ValidationError, match="response_mode"):
        OAuthClient.model_validate({"kind": "google", "client_id": "c", "response_mode": "fragment"})


def test_providers_come_from_settings_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    apple = '"apple": {"kind": "oidc", "client_id": "a", "discovery_url": "https://x/", "response_mode": "form_post"}'
    monkeypatch.setenv("PFMS_AUTH_OAUTH_PROVIDERS", '{"google": {"kind": "google", "client_id": "web"}, ' + apple + "}")
    monkeypatch.setenv("PFMS_AUTH_OAUTH_REDIRECT_BASE_URL", "https://app.example/")
    providers = Providers(Settings())
    assert providers.names == ["apple", "google"]
    assert providers.posts_back("apple") and not providers.posts_back("google")
    assert providers.redirect_uri("google") == "https://app.example/api/v1/auth/oauth/google/callback"
    with pytest.raises(NotFound):
        providers.require("github")
