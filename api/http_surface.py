"""The HTTP surface around the API: security headers on every answer, CORS for listed origins only (and,
in development, for the developer's own local servers), the language of error messages.

TLS is terminated in front of the app (a reverse proxy or the load balancer); `KAIGO_HSTS_SECONDS` turns on
Strict-Transport-Security for deployments served only over HTTPS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from resolvers.errors import use_language
from schema.errors import Language

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

# Headers every answer carries: no sniffing, no framing, no referrer, nothing cached on the way (answers
# hold personal data). Data answers get a CSP that allows nothing; a page (GraphiQL, api/graphiql/) one that
# allows the server's own scripts, styles, fonts and images and nothing else: no inline script, no other
# origin.
ALWAYS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
DATA_CSP: Final = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
PAGE_CSP: Final = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
)

# Development only: a front end's dev server on the developer's machine (Vite's http://localhost:5173 …),
# on any port.
LOCAL_ORIGINS: Final = r"http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"

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
    """ASGI middleware adding :data:`ALWAYS`, and :data:`PAGE_CSP` on pages, :data:`DATA_CSP` on the rest."""

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
                headers.append(PAGE_CSP if content_type.startswith(b"text/html") else DATA_CSP)
                if self.hsts is not None:
                    headers.append(self.hsts)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestLanguage:
    """ASGI middleware: error messages of the request in the language its ``Accept-Language`` prefers
    (Japanese or English; English by default)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", ()) if k == b"accept-language"), b"")
        with use_language(preferred_language(header.decode("latin-1"))):
            await self.app(scope, receive, send)


def preferred_language(accept_language: str) -> Language:
    """``ja`` when Japanese is the most preferred of the two languages served (by q-value, then order;
    ``ja-JP`` counts as ``ja``), else ``en``."""
    best: tuple[float, Language] = (0.0, "en")
    for part in accept_language.split(","):
        tag, *params = (p.strip() for p in part.split(";"))
        primary = tag.split("-", 1)[0].lower()
        if primary not in ("ja", "en"):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # nan, inf and other nonsense count as refused
                    quality = 0.0
        if quality > best[0]:
            best = (quality, "ja" if primary == "ja" else "en")
    return best[1]
