"""The HTTP answer to a failed authentication (RFC 6750's challenge with a GraphQL-shaped body)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from resolvers.errors import language
from schema.errors import FORBIDDEN, UNAUTHENTICATED, localize, token_hint

from .errors import AuthenticationError

__all__ = ["REALM", "unauthenticated_response"]

REALM = "kaigo-graph"


def _quoted(text: str) -> str:
    """A safe RFC 6750 quoted-string value: printable ASCII without quote or backslash."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


def unauthenticated_response(err: AuthenticationError) -> Response:
    """The HTTP answer to a failed authentication, with a GraphQL-shaped JSON body whose message (in the
    request's language) also says how to get a token: `kaigo token` in development, else the identity
    provider.

    No credentials → 401 ``Bearer realm="kaigo-graph"``; a bad token → 401 with
    ``error="invalid_token"``; a malformed or repeated header → 400 with ``error="invalid_request"``;
    a valid token naming no role of this service → 403 ``FORBIDDEN`` with ``error="insufficient_scope"``.
    """
    code = UNAUTHENTICATED
    if err.credentials_missing:
        status, challenge = 401, f'Bearer realm="{REALM}"'
    else:
        status = {"invalid_request": 400, "insufficient_scope": 403}.get(err.error, 401)
        code = FORBIDDEN if status == 403 else code
        challenge = (
            f'Bearer realm="{REALM}", error="{err.error}", error_description="{_quoted(err.description)}"'
        )
    extensions = {"code": code}
    chosen = language()
    said = localize(err.description, extensions, chosen)
    said = said if said.endswith(("。", ".")) else f"{said}."
    if code == UNAUTHENTICATED:  # a token with a role of this service is what is missing: how to get one
        said = f"{said}{'' if chosen == 'ja' else ' '}{token_hint(err.dev_data_dir, chosen)}"
    body = {"data": None, "errors": [{"message": said, "extensions": extensions}]}
    return JSONResponse(
        body,
        status_code=status,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
        media_type="application/json",
    )
