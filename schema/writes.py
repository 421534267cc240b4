"""Errors of the write mutations, with machine-readable ``extensions.code``: the record moved on since the
client read it (CONFLICT), or it is not in a state the operation may leave from (INVALID_TRANSITION).

A mutation ending with one of these is rolled back whole (nothing written). The messages never repeat a
value of the client's.
"""

from __future__ import annotations

from typing import Final

from graphql import GraphQLError

__all__ = [
    "CONFLICT",
    "INVALID_TRANSITION",
    "NUMBER_IN_USE",
    "InvalidTransition",
    "NumberInUse",
    "VersionConflict",
]

CONFLICT: Final = "CONFLICT"
INVALID_TRANSITION: Final = "INVALID_TRANSITION"
NUMBER_IN_USE: Final = "NUMBER_IN_USE"


class VersionConflict(GraphQLError):
    """The record's version is not the one the client read: someone changed it meanwhile. The answer
    carries the current version (``extensions.currentVersion``); read again, then write."""

    def __init__(self, current: int | None, *, field: str = "input.version") -> None:
        super().__init__(
            "the record was changed since this version was read; read it again",
            extensions={"code": CONFLICT, "field": field, "currentVersion": current},
        )


class InvalidTransition(GraphQLError):
    """The record's state does not allow this step (``extensions.state``: the state it is in)."""

    def __init__(self, message: str, *, state: str, field: str = "input.id") -> None:
        super().__init__(message, extensions={"code": INVALID_TRANSITION, "field": field, "state": state})


class NumberInUse(GraphQLError):
    """The individual number is recorded for another person: refused (the answer names neither the number
    nor the person)."""

    def __init__(self, *, field: str = "input.individualNumber") -> None:
        super().__init__(
            "this individual number is recorded for another person; check the identity documents",
            extensions={"code": NUMBER_IN_USE, "field": field},
        )
