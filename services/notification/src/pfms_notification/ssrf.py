"""Where a webhook may point: public addresses only, checked at registration and again at delivery.

A hostname is resolved and every address it resolves to must be public; the request then goes to
the address that was checked (pinned), so a DNS answer that changes between check and connect
(DNS rebinding) cannot steer the request into the private network.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from pfms_platform.errors import Invalid

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal(address: IP, *, allow_loopback: bool = False) -> str | None:
    """Why this address may not receive webhooks, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address in METADATA:
        return "cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "loopback address"
    checks = (
        ("private", address.is_private),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("not globally routable", not address.is_global),
    )
    return next((f"{name} address" for name, hit in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the pinned address) and what to present (host, SNI)."""

    url: str
    host: str
    address: str
    port: int

    @property
    def pinned_url(self) -> str:
        parts = urlsplit(self.url)
        netloc = f"[{self.address}]" if ":" in self.address else self.address
        return parts._replace(netloc=f"{netloc}:{self.port}").geturl()


def check_url(url: str, *, allow_loopback_http: bool = False) -> tuple[str, int]:
    """(host, port) of an acceptable URL shape: https (http only to loopback in tests), no credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid("Webhook URL must be an absolute https URL", field="url")
    if parts.username or parts.password:
        raise Invalid("Webhook URL may not carry credentials", field="url")
    if parts.scheme == "http" and not allow_loopback_http:
        raise Invalid("Webhook URL must use https", field="url")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, *, allow_loopback_http: bool = False) -> Target:
    """Resolve and vet a webhook URL; Invalid (naming `url`) if any address it resolves to is refused."""
    host, port = check_url(url, allow_loopback_http=allow_loopback_http)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Invalid(f"Webhook host does not resolve: {host}", field="url") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise Invalid(f"Webhook host does not resolve: {host}", field="url")
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback_http)
        if reason:
            raise Invalid(f"Webhook URL resolves to a {reason} ({address})", field="url")
    if urlsplit(url).scheme == "http" and not all(a.is_loopback for a in addresses):
        raise Invalid("Webhook URL must use https", field="url")
    return Target(url=url, host=host, address=str(addresses[0]), port=port)
