"""Test kit for the gateway tests: RSA keys and hand-made tokens, a tiny echo upstream, in-process gateways."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import httpx
import yaml
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pfms_gateway.config import KongConfig, parse_config
from pfms_gateway.main import _install_jwks
from pfms_gateway.runtime import Gateway
from pfms_gateway.server import ClientConnection
from pfms_gateway.status import StatusConnection

KONG_YML = Path(__file__).resolve().parents[1] / "kong.yml"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Key:
    kid: str
    private: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def jwk(self) -> dict[str, str]:
        nums = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
            "e": b64url(nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")),
        }


def make_key(kid: str) -> Key:
    return Key(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "user-1", "iss": "pfms-auth", "aud": "pfms", "iat": now, "nbf": now, "exp": now + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(
    key: Key | None,
    payload: dict[str, Any] | None = None,
    *,
    alg: str = "RS256",
    kid: str | None = None,
    hmac_secret: bytes | None = None,
    signature: bytes | None = None,
) -> str:
    """Build a JWT by hand so tests can also make the malformed ones (alg none, HS256 with the public key)."""
    header = {"alg": alg, "typ": "JWT"}
    if kid is not None or key is not None:
        header["kid"] = kid if kid is not None else key.kid  # type: ignore[union-attr]
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload or claims()).encode())
    if signature is None:
        if alg == "none":
            signature = b""
        elif alg.startswith("HS"):
            mac = hmac.HMAC(hmac_secret or b"", hashes.SHA256())
            mac.update(signing_input.encode())
            signature = mac.finalize()
        else:
            assert key is not None
            signature = key.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


class EchoUpstream:
    """A plain asyncio HTTP/1.1 server: echoes what it received as JSON, and serves a mutable JWKS.

    Paths ending in `/stream` answer like an event stream: a head and a first event at once, then
    `ticks` more events `every` seconds, then wait for `stream_gate` (or the connection closing,
    counted in `stream_disconnects`) before a last event ends the response; `framing=length` sends
    a Content-Length instead of chunks, `pad=N` makes each event N bytes longer. `streams_open` counts
    streams started and not yet finished.
    """

    def __init__(self) -> None:
        self.stream_gate = asyncio.Event()
        self.streams_open = 0
        self.stream_disconnects = 0
        self.jwks: dict[str, Any] = {"keys": []}
        self.jwks_hits = 0
        self.requests: list[dict[str, Any]] = []
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.close()
        await asyncio.sleep(0.01)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done: list[dict[str, Any]] = []
        current: dict[str, Any] = {}

        class P:
            def on_message_begin(self) -> None:
                current.clear()
                current.update(url=b"", headers={}, body=b"")

            def on_url(self, url: bytes) -> None:
                current["url"] += url

            def on_header(self, name: bytes, value: bytes) -> None:
                current["headers"][name.decode().lower()] = value.decode("latin-1")

            def on_body(self, body: bytes) -> None:
                current["body"] += body

            def on_message_complete(self) -> None:
                done.append(dict(current, method=parser.get_method().decode()))

        parser = httptools.HttpRequestParser(P())
        self.writers.add(writer)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                parser.feed_data(data)
                while done:
                    req = done.pop(0)
                    await self._respond(req, reader, writer)
        except (ConnectionError, httptools.HttpParserError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def _stream(self, query: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        pad = b"x" * int(params.get("pad", 0))
        events = [b"data: %d%s\n\n" % (i, pad) for i in range(int(params.get("ticks", 0)) + 2)]
        by_length = params.get("framing") == "length"

        def frame(data: bytes) -> bytes:
            return data if by_length else b"%x\r\n%s\r\n" % (len(data), data)

        framing = b"Content-Length: %d" % sum(map(len, events)) if by_length else b"Transfer-Encoding: chunked"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"X-Accel-Buffering: no\r\n" + framing + b"\r\n\r\n" + frame(events[0])
        )
        await writer.drain()
        self.streams_open += 1
        try:
            for event in events[1:-1]:
                await asyncio.sleep(float(params.get("every", 0.1)))
                writer.write(frame(event))
                await writer.drain()
            gate = asyncio.ensure_future(self.stream_gate.wait())
            eof = asyncio.ensure_future(reader.read(65536))
            await asyncio.wait({gate, eof}, return_when=asyncio.FIRST_COMPLETED)
            gate.cancel()
            if eof.done():
                self.stream_disconnects += 1
                raise ConnectionResetError("the gateway closed the stream")
            eof.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await eof  # the connection's read loop reads next
            writer.write(frame(events[-1]) + (b"" if by_length else b"0\r\n\r\n"))
            await writer.drain()
        finally:
            self.streams_open -= 1

    async def _respond(self, req: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path, _, query = req["url"].decode().partition("?")
        if path.endswith("/stream"):
            await self._stream(query, reader, writer)
            return
        if path == "/.well-known/jwks.json":
            self.jwks_hits += 1
            body = json.dumps(self.jwks).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
            await writer.drain()
            return
        echo = {
            "method": req["method"],
            "path": path,
            "query": query,
            "headers": req["headers"],
            "body_len": len(req["body"]),
        }
        self.requests.append(echo)
        body = json.dumps(echo).encode()
        if path.endswith("/slow"):
            await asyncio.sleep(3)
        if path.endswith("/nocontent"):
            writer.write(b"HTTP/1.1 204 No Content\r\nX-Echo: yes\r\n\r\n")
        elif path.endswith("/close"):
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n" + body)
            await writer.drain()
            writer.close()
            return
        elif req["method"] == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        elif path.endswith("/chunked"):
            half = len(body) // 2
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:])
            )
        else:
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nVary: Accept\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body
            )
        await writer.drain()


@dataclass
class RunningGateway:
    gateway: Gateway
    config: KongConfig
    port: int
    status_port: int
    servers: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    async def metrics(self) -> str:
        async with httpx.AsyncClient(timeout=5) as c:
            return (await c.get(f"http://127.0.0.1:{self.status_port}/metrics")).text

    async def close(self) -> None:
        for s in self.servers:
            s.close()
        self.gateway.close()


def committed_config() -> dict[str, Any]:
    return yaml.safe_load(KONG_YML.read_text())


async def start_gateway(
    upstream: EchoUpstream,
    data: dict[str, Any] | None = None,
    *,
    jwks: bool = True,
    refresh_interval: float = 10.0,
    overrides: dict[str, tuple[str, int]] | None = None,
) -> RunningGateway:
    config = parse_config(copy.deepcopy(data if data is not None else committed_config()))
    upstreams = {s.name: ("127.0.0.1", upstream.port) for s in config.services}
    upstreams.update(overrides or {})
    gateway = Gateway(config, upstreams)
    gateway.store.refresh_interval = refresh_interval
    if jwks:
        await _install_jwks(gateway, config, f"http://127.0.0.1:{upstream.port}/.well-known/jwks.json")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ClientConnection(gateway), "127.0.0.1", 0)
    status = await loop.create_server(lambda: StatusConnection(gateway), "127.0.0.1", 0)
    return RunningGateway(
        gateway, config, server.sockets[0].getsockname()[1], status.sockets[0].getsockname()[1], [server, status]
    )


async def raw_exchange(port: int, data: bytes, *, read_until_close: bool = True, timeout: float = 5.0) -> bytes:
    """Send raw bytes and collect what comes back (until the server closes, or the timeout)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    chunks = []
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            chunks.append(chunk)
            if not read_until_close:
                break
    except TimeoutError:
        pass
    finally:
        writer.close()
    return b"".join(chunks)
