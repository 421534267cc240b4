"""The GraphQL-over-HTTP response media type, ``application/graphql-response+json``.

With ``application/json`` every GraphQL answer is a 200, as clients of that type expect. A client that
accepts ``application/graphql-response+json`` gets that type and the status the specification gives it:
a request that could not run at all (it does not parse, does not validate, its variables do not fit: no
``data``, no error with a ``path``) is a 400 without a ``data`` entry; an answer with data is a 2xx;
refusals keep their 4xx/5xx.
"""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.responses import Response

GRAPHQL_RESPONSE: Final = "application/graphql-response+json"


def accepts_graphql_response(accept: str) -> bool:
    """True when the Accept header lists the GraphQL response type (without refusing it with q=0)."""
    for part in accept.lower().split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media == GRAPHQL_RESPONSE:
            return not any(p.replace(" ", "") in {"q=0", "q=0.0", "q=0.00", "q=0.000"} for p in params)
    return False


def _never_ran(body: Any) -> bool:
    if not isinstance(body, dict) or body.get("data") is not None:
        return False
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(e, dict) and "path" not in e for e in errors)


def as_graphql_response(response: Response) -> Response:
    """``response`` as ``application/graphql-response+json`` with the specification's status code."""
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        return response  # plain-text refusals of the transport, the GraphiQL page: left as they are
    status, content = response.status_code, bytes(response.body)
    if status == 200:
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if _never_ran(body):
            # A request that never ran has no data at all, not even null (the specification's SHOULD).
            status = 400
            content = json.dumps({k: v for k, v in body.items() if k != "data"}, ensure_ascii=False).encode()
    headers = {k: v for k, v in response.headers.items() if k not in {"content-length", "content-type"}}
    return Response(
        content=content,
        status_code=status,
        headers=headers,
        media_type=f"{GRAPHQL_RESPONSE}; charset=utf-8",
        background=response.background,
    )
