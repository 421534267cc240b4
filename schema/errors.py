"""Errors the client may see, with machine-readable ``extensions``.

Every error of the API carries ``extensions.code``.  Input errors (:class:`BadUserInput`) also name
the argument (``extensions.field``, e.g. ``"first"`` or ``"filter.nameKanaPrefix"``) and why it was
refused (``extensions.reason``).  No message ever repeats the offered value: an argument may be an
individual number, and error messages end up in logs and traces.
"""

from __future__ import annotations

from typing import Final, Literal

from graphql import GraphQLError

__all__ = [
    "BAD_USER_INPUT",
    "FORBIDDEN",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "INTERNAL_SERVER_ERROR",
    "BadUserInput",
    "Forbidden",
    "InputReason",
]

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
FORBIDDEN: Final = "FORBIDDEN"
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"

InputReason = Literal[
    "FORMAT",  # not the expected shape (digits, katakana, cursor, id)
    "CHECK_DIGIT",  # an individual number whose check digit is wrong
    "EMPTY",  # an empty string where a value is needed
    "TOO_LONG",  # longer than the argument allows
    "OUT_OF_RANGE",  # a number outside its bounds (page size, fiscal year)
    "REVERSED_RANGE",  # a range whose end is before its start
]


class BadUserInput(GraphQLError):
    """An argument the client must correct.  ``message`` must not contain the offered value."""

    def __init__(self, message: str, *, field: str, reason: InputReason) -> None:
        super().__init__(message, extensions={"code": BAD_USER_INPUT, "field": field, "reason": reason})
        self.field = field
        self.reason = reason


class Forbidden(GraphQLError):
    """The principal lacks the duty a field needs (``extensions.duty`` names it)."""

    def __init__(self, duty: str) -> None:
        super().__init__(f"this field needs the duty {duty}", extensions={"code": FORBIDDEN, "duty": duty})
        self.duty = duty
