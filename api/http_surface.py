"""The HTTP surface around the API: security headers on every answer, CORS for listed origins only.

TLS is terminated in front of the app (a reverse proxy or the load balancer); `KAIGO_HSTS_SECONDS` turns on
Strict-Transport-Security for deployments served only over HTTPS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

# Headers every answer carries: no sniffing, no framing, no referrer, nothing cached on the way (answers
# hold personal data). The GraphiQL page needs its scripts, so only data answers get the strict CSP.
ALWAYS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
DATA_CSP: Final = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")

# What a browser front end may send across origins: the token, the body type, the client name, the
# W3C trace context.
CORS_HEADERS: Final = (
    "authorization",
    "content-type",
    "accept",
    "graphql-client-name",
    "apollographql-client-name",
    "traceparent",
    "tracestate",
)


class SecurityHeaders:
    """ASGI middleware adding :data:`ALWAYS` (and the strict CSP on non-HTML answers)."""

    def __init__(self, app: ASGIApp, *, hsts_seconds: int = 0) -> None:
        self.app = app
        self.hsts = (
            (b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode())
            if hsts_seconds > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                present = {k.lower() for k, _ in headers}
                headers += [h for h in ALWAYS if h[0] not in present]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if not content_type.startswith(b"text/html"):
                    headers.append(DATA_CSP)
                if self.hsts is not None:
                    headers.append(self.hsts)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
