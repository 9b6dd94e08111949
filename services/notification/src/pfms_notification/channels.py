"""The channels that leave the service, behind one interface: `await sender.send(session, delivery)`.

A sender returns when the provider accepted the message and raises `SendError` otherwise;
`permanent` errors (a refused number, a malformed request) are not retried.
"""

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import aiosmtplib
import httpx
import requests
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_notification.models import Delivery, Device
from pfms_notification.settings import Settings


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    uses_session: bool
    """Senders that do not touch the session run side by side in one dispatch round."""

    async def send(self, session: AsyncSession, delivery: Delivery) -> None: ...


def _http_error(response: httpx.Response) -> SendError:
    retry = response.status_code == 429 or response.status_code >= 500
    return SendError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=not retry)


class EmailSender:
    """Plain-text mail over SMTP (aiosmtplib)."""

    uses_session = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, session: AsyncSession, delivery: Delivery) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = delivery.address or ""
        message["Subject"] = delivery.subject
        message["Message-ID"] = make_msgid(idstring=delivery.id.hex, domain="pfms.local")
        message["X-PFMS-Notification"] = str(delivery.notification_id)
        message.set_content(delivery.body)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                timeout=s.send_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"recipient refused: {exc}", permanent=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"smtp: {exc}") from exc


FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


class _TimedRequest(GoogleRequest):
    """google-auth's requests transport with our timeout (its own default is 120 s)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(requests.Session())
        self.timeout = timeout

    def __call__(
        self, url: Any, method: Any = "GET", body: Any = None, headers: Any = None, timeout: Any = None, **kwargs: Any
    ) -> Any:
        return super().__call__(url, method=method, body=body, headers=headers, timeout=self.timeout, **kwargs)


class FcmAccess:
    """OAuth 2 access tokens for FCM HTTP v1, minted from a Google service-account key by google-auth.

    google-auth signs an RS256 JWT assertion with the key and trades it at the key's `token_uri`. The
    token is reused until google-auth deems it stale (3 min 45 s before it expires). Refreshing is
    blocking I/O, so it runs in a worker thread, and one at a time: callers queue on a lock and the
    first one's new token serves the rest.
    """

    def __init__(self, info: dict[str, Any], timeout: float) -> None:
        self.credentials = service_account.Credentials.from_service_account_info(info, scopes=[FCM_SCOPE])
        self._request = _TimedRequest(timeout)
        self._lock = asyncio.Lock()

    async def token(self, *, refused: str | None = None) -> str:
        """A token to send with; `refused` is one FCM answered 401 to, renewed unless someone already did."""
        async with self._lock:
            credentials = self.credentials
            if not credentials.valid or (refused is not None and credentials.token == refused):
                try:
                    await asyncio.to_thread(credentials.refresh, self._request)
                except GoogleAuthError as exc:
                    raise SendError(f"fcm oauth: {exc}") from exc
            token: str = credentials.token
            return token


class PushSender:
    """FCM HTTP v1: one request per device token; a token FCM no longer knows is forgotten.

    The bearer is minted from the service-account key (`FcmAccess`); a 401 renews it and sends once more.
    """

    uses_session = True

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        info = settings.fcm_service_account()
        self.access = FcmAccess(info, settings.send_timeout_seconds) if info else None
        self.project_id = settings.fcm_project_id or (info or {}).get("project_id", "")

    async def _post(self, access: FcmAccess, url: str, body: dict[str, Any]) -> httpx.Response:
        bearer = await access.token()
        try:
            response = await self.client.post(url, json=body, headers={"Authorization": f"Bearer {bearer}"})
            if response.status_code == 401:  # revoked or expired early: one new token, one more try
                bearer = await access.token(refused=bearer)
                response = await self.client.post(url, json=body, headers={"Authorization": f"Bearer {bearer}"})
        except httpx.HTTPError as exc:
            raise SendError(f"fcm: {exc!r}") from exc
        return response

    async def send(self, session: AsyncSession, delivery: Delivery) -> None:
        access = self.access
        if access is None:
            raise SendError("push is not configured (no FCM service-account key)", permanent=True)
        tokens = (await session.scalars(select(Device.token).where(Device.user_id == delivery.user_id))).all()
        if not tokens:
            raise SendError("no device registered", permanent=True)
        url = f"{self.settings.fcm_base_url.rstrip('/')}/v1/projects/{self.project_id}/messages:send"
        errors: list[SendError] = []
        delivered = 0
        for token in tokens:
            body = {
                "message": {
                    "token": token,
                    "notification": {"title": delivery.subject, "body": delivery.body},
                    "data": {"notification_id": str(delivery.notification_id)},
                }
            }
            try:
                response = await self._post(access, url, body)
            except SendError as exc:
                errors.append(exc)
                continue
            if response.status_code == 404 or "UNREGISTERED" in response.text:
                await session.execute(delete(Device).where(Device.user_id == delivery.user_id, Device.token == token))
                continue
            if response.is_success:
                delivered += 1
            else:
                errors.append(_http_error(response))
        if delivered or not errors:
            return
        raise SendError("; ".join(str(e) for e in errors)[:500], permanent=all(e.permanent for e in errors))


class SmsSender:
    """A generic HTTP SMS gateway, Twilio-shaped: form POST To/From/Body with basic auth."""

    uses_session = False

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, session: AsyncSession, delivery: Delivery) -> None:
        s = self.settings
        url = f"{s.sms_base_url.rstrip('/')}/2010-04-01/Accounts/{s.sms_account_sid}/Messages.json"
        try:
            response = await self.client.post(
                url,
                data={"To": delivery.address or "", "From": s.sms_from, "Body": delivery.body[:1600]},
                auth=(s.sms_account_sid, s.sms_auth_token),
            )
        except httpx.HTTPError as exc:
            raise SendError(f"sms: {exc!r}") from exc
        if not response.is_success:
            raise _http_error(response)
