"""Requests refused before execution, answered with a GraphQL-shaped JSON body and an HTTP status.

Raised anywhere under ``KaigoGraphQL.run`` and turned into ``{"data": null, "errors": [{"message",
"extensions": {"code"}}]}`` there. Messages are fixed strings: they never repeat a document, a variable
or a header value. They are written in English and answered in the request's language
(``schema.errors.localize``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.responses import JSONResponse, Response

from resolvers.errors import language
from schema.errors import localize

__all__ = [
    "BAD_REQUEST",
    "CLIENT_NAME_MISMATCH",
    "METHOD_NOT_ALLOWED",
    "PERSISTED_QUERY_HASH_MISMATCH",
    "PERSISTED_QUERY_ID_REQUIRED",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_NOT_IN_LIST",
    "Refusal",
]

PERSISTED_QUERY_NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH: Final = "PERSISTED_QUERY_HASH_MISMATCH"
PERSISTED_QUERY_ID_REQUIRED: Final = "PERSISTED_QUERY_ID_REQUIRED"
PERSISTED_QUERY_NOT_IN_LIST: Final = "PERSISTED_QUERY_NOT_IN_LIST"
CLIENT_NAME_MISMATCH: Final = "CLIENT_NAME_MISMATCH"
METHOD_NOT_ALLOWED: Final = "METHOD_NOT_ALLOWED"
BAD_REQUEST: Final = "BAD_REQUEST"


class Refusal(Exception):
    """The request is answered with ``status`` and one error of ``code``, and nothing is executed."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    def response(self) -> Response:
        extensions = {"code": self.code, **self.extensions}
        message = localize(self.message, extensions, language())
        body = {"data": None, "errors": [{"message": message, "extensions": extensions}]}
        headers = {"Cache-Control": "no-store", **self.headers}
        return JSONResponse(body, status_code=self.status, headers=headers)
