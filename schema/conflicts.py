"""Errors of the provision, transfer and inquiry workflows, with machine-readable ``extensions.code``.

A mutation that ends with one of these is rolled back whole by the HTTP layer (api/graphql_view.py),
so nothing of it is recorded. Denials are not errors: they are answers (``Denied``), recorded.
Messages never repeat the offered value (it may be an individual number).
"""

from __future__ import annotations

from typing import Final

from graphql import GraphQLError

__all__ = [
    "ALREADY_ANSWERED",
    "ALREADY_CONFIRMED",
    "ALREADY_DECIDED",
    "NOT_FOUND",
    "NOT_PENDING_REVIEW",
    "REQUEST_ID_REUSED",
    "Conflict",
    "NotFound",
    "RequestIdReused",
]

REQUEST_ID_REUSED: Final = "REQUEST_ID_REUSED"
NOT_FOUND: Final = "NOT_FOUND"
NOT_PENDING_REVIEW: Final = "NOT_PENDING_REVIEW"
ALREADY_CONFIRMED: Final = "ALREADY_CONFIRMED"
ALREADY_DECIDED: Final = "ALREADY_DECIDED"
ALREADY_ANSWERED: Final = "ALREADY_ANSWERED"


class RequestIdReused(GraphQLError):
    """The request id was used before with other input: a retry must repeat the request exactly."""

    def __init__(self, field: str = "input.requestId") -> None:
        super().__init__(
            "this request id was already used for a different request; a retry must send the same input",
            extensions={"code": REQUEST_ID_REUSED, "field": field},
        )


class NotFound(GraphQLError):
    """The id names nothing this principal may act on (``extensions.field`` names the argument)."""

    def __init__(self, what: str, *, field: str) -> None:
        super().__init__(f"no {what} with this id", extensions={"code": NOT_FOUND, "field": field})


class Conflict(GraphQLError):
    """The object is not in the state the operation needs (already decided, not pending, …)."""

    def __init__(self, code: str, message: str, *, field: str) -> None:
        super().__init__(message, extensions={"code": code, "field": field})
