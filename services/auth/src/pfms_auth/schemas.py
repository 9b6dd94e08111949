"""Request and response bodies of the auth API (the public contract).

Requests refuse unknown fields, so a typo is a 422 naming it rather than a silently ignored value.
Length caps stop oversized input before any hashing; the password policy itself is in `passwords.py`.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from pfms_auth.audit import Action, Outcome

Email = Annotated[EmailStr, AfterValidator(str.lower)]
"""Normalised by email-validator, then lower-cased: one account per address whatever its case."""
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Token = Annotated[str, Field(min_length=1, max_length=512)]
Code = Annotated[str, Field(min_length=6, max_length=32, description="6-digit TOTP code or a backup code")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Request):
    email: Email
    password: Password


class RefreshRequest(_Request):
    refresh_token: Token


class MfaVerifyRequest(_Request):
    challenge: Token
    code: Code


class CodeRequest(_Request):
    code: Code


class PasswordAndCode(_Request):
    password: Password
    code: Code | None = Field(default=None, description="Required when MFA is enabled")


class PasswordChange(_Request):
    current_password: Password
    new_password: Password


class ForgotRequest(_Request):
    email: Email


class ResetRequest(_Request):
    token: Token
    new_password: Password


class TokenRequest(_Request):
    token: Token


class PasswordSet(_Request):
    new_password: Password


class Message(BaseModel):
    message: str


class TokenPair(BaseModel):
    mfa_required: Literal[False] = False
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int
    session_id: uuid.UUID


class MfaChallenge(BaseModel):
    mfa_required: Literal[True] = True
    challenge: str = Field(description="Single use; send it with a code to mfa/verify")
    expires_in: int


LoginResult = Annotated[TokenPair | MfaChallenge, Field(discriminator="mfa_required")]


class SessionOut(BaseModel):
    id: uuid.UUID
    current: bool
    created_at: datetime
    last_accessed: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str | None


class MfaSetupOut(BaseModel):
    secret: str = Field(description="Base32 TOTP secret, for manual entry")
    otpauth_uri: str = Field(description="otpauth:// URI, for a QR code")


class BackupCodes(BaseModel):
    backup_codes: list[str] = Field(description="Shown once; each works once in place of a TOTP code")


class AuditEventOut(BaseModel):
    id: uuid.UUID
    at: datetime
    action: Action
    outcome: Outcome
    ip_address: str | None
    user_agent: str | None
    details: dict[str, Any] = Field(description="Ids and reasons (e.g. session_id, method, reason); never a secret")


class AuthorizeOut(BaseModel):
    authorization_url: str = Field(description="Send the browser here; the provider returns it to the callback")
    expires_in: int = Field(description="Seconds the sign-in attempt stays valid")


class LinkRequiredOut(BaseModel):
    link_required: Literal[True] = True
    link_token: str = Field(description="Single use: sign in to the account, then send it to oauth/link/confirm")
    provider: str
    email: str
    expires_in: int


class LinkedProviderOut(BaseModel):
    provider: str
    email: str | None = Field(description="The address the provider gave at the last sign-in")
    linked_at: datetime
    last_used_at: datetime | None


class LinkConfirm(_Request):
    link_token: Token


OAuthResult = TokenPair | MfaChallenge | LinkRequiredOut | LinkedProviderOut


PasskeyName = Annotated[str, Field(min_length=1, max_length=100)]


class CeremonyOut(BaseModel):
    ceremony: str = Field(description="Single use; send it back with the authenticator's answer")
    options: dict[str, Any] = Field(description="WebAuthn options JSON for navigator.credentials.create()/get()")
    expires_in: int


class PasskeyRegister(_Request):
    ceremony: Token
    credential: dict[str, Any] = Field(description="The PublicKeyCredential from navigator.credentials.create(), JSON")
    name: PasskeyName | None = None


class PasskeyLoginOptions(_Request):
    mfa_challenge: Token | None = Field(
        default=None, description="From login (or an identity provider): the passkey is then the second factor"
    )


class PasskeyLogin(_Request):
    ceremony: Token
    credential: dict[str, Any] = Field(description="The PublicKeyCredential from navigator.credentials.get(), JSON")


class PasskeyRename(_Request):
    name: PasskeyName


class PasskeyOut(BaseModel):
    id: uuid.UUID
    name: str
    transports: list[str]
    backed_up: bool
    created_at: datetime
    last_used_at: datetime | None
