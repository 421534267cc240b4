"""How errors reach the client (and the log): every error gets ``extensions.code``; nothing
unexpected leaks a message, a stack or SQL; no message or log line carries an individual number.

* parse errors → ``GRAPHQL_PARSE_FAILED``; validation errors (unknown fields, wrong literal types)
  → ``GRAPHQL_VALIDATION_FAILED`` (tagged by :class:`ErrorCodes` while the phase runs);
* variable values the operation cannot accept (coercion) → ``BAD_USER_INPUT``;
* errors raised on purpose with a code (``schema.errors.BadUserInput`` …, the limits of
  resolvers/limits.py) pass through;
* a statement PostgreSQL cancelled (``statement_timeout``, SQLSTATE 57014) → ``STATEMENT_TIMEOUT``,
  with a fixed message (the driver's names the SQL);
* anything else → "Internal server error." with ``INTERNAL_SERVER_ERROR``, logged server-side with
  its traceback, after redaction of anything shaped like an individual number.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from typing import Final

from asyncpg.exceptions import QueryCanceledError
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.exc import DBAPIError
from strawberry.extensions import SchemaExtension

from schema.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_SERVER_ERROR,
)

__all__ = [
    "INTERNAL_MESSAGE",
    "STATEMENT_TIMEOUT",
    "TIMEOUT_MESSAGE",
    "ErrorCodes",
    "classify",
    "log_errors",
    "present",
    "redact",
]

logger = logging.getLogger("kaigo.graphql")

INTERNAL_MESSAGE: Final = "Internal server error."
STATEMENT_TIMEOUT: Final = "STATEMENT_TIMEOUT"
TIMEOUT_MESSAGE: Final = "The database cancelled a statement that ran longer than the statement timeout."
_QUERY_CANCELED: Final = "57014"  # PostgreSQL's SQLSTATE query_canceled

# Twelve digits in a row, ASCII or full-width, optionally split by spaces or hyphens: what an
# individual number looks like when a client puts it where a value is echoed (e.g. an Int variable
# given to a String argument makes graphql-core repeat the value).
_NUMBER_LIKE = re.compile(r"(?<![0-9０-９])(?:[0-9０-９][ \-‐－]?){11}[0-9０-９](?![0-9０-９])")
_MASK: Final = "************"


# graphql-core's "Did you mean …?" hints (fields, arguments, input fields, enum values, types): a
# hint can name what a role must not see, so none is ever shown.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def redact(text: str) -> str:
    """``text`` without suggestions, and with every run shaped like an individual number masked."""
    return _NUMBER_LIKE.sub(_MASK, _SUGGESTION.sub("", text))


def _tag(errors: list[GraphQLError] | None, code: str) -> None:
    for error in errors or ():
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": code}


class ErrorCodes(SchemaExtension):
    """Tags parse and validation errors with their code while the phase is known."""

    def on_parse(self) -> Iterator[None]:
        yield
        _tag(self.execution_context.pre_execution_errors, GRAPHQL_PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        yield
        _tag(self.execution_context.pre_execution_errors, GRAPHQL_VALIDATION_FAILED)


def classify(error: GraphQLError) -> str:
    """The ``extensions.code`` an error is shown with."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str) and code:
        return code
    if isinstance(error, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED
    if _cancelled(error.original_error):
        return STATEMENT_TIMEOUT
    if error.path is not None:
        return INTERNAL_SERVER_ERROR  # a resolver failed without meaning to
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError) and not error.nodes:
        return INTERNAL_SERVER_ERROR  # an exception outside any resolver
    return BAD_USER_INPUT  # graphql-core refused the variable values (coercion)


def _cancelled(original: BaseException | None) -> bool:
    """Whether PostgreSQL cancelled the statement: asyncpg's QueryCanceledError, bare or wrapped by
    SQLAlchemy (``DBAPIError.orig``, whose adapted error keeps the SQLSTATE and the asyncpg cause)."""
    seen = 0
    while original is not None and seen < 4:
        if isinstance(original, QueryCanceledError):
            return True
        if (
            getattr(original, "sqlstate", None) == _QUERY_CANCELED
            or getattr(original, "pgcode", None) == _QUERY_CANCELED
        ):
            return True
        original = original.orig if isinstance(original, DBAPIError) else original.__cause__
        seen += 1
    return False


def present(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it."""
    code = classify(error)
    if code == STATEMENT_TIMEOUT and not isinstance(error.original_error, GraphQLError):
        return GraphQLError(
            TIMEOUT_MESSAGE,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": STATEMENT_TIMEOUT},
        )
    if code == INTERNAL_SERVER_ERROR:
        return GraphQLError(
            INTERNAL_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_SERVER_ERROR},
        )
    return GraphQLError(
        redact(error.message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


def log_errors(errors: list[GraphQLError]) -> None:
    """Log unexpected errors with a (redacted) traceback, and client errors briefly at debug level."""
    for error in errors:
        code = classify(error)
        where = ".".join(map(str, error.path)) if error.path else "-"
        if code == INTERNAL_SERVER_ERROR:
            original = error.original_error or error
            detail = "".join(traceback.format_exception(original))
            logger.error("unexpected error at %s: %s", where, redact(detail))
        elif code == STATEMENT_TIMEOUT:
            logger.warning("statement timeout at %s", where)  # no SQL: it may quote values
        else:
            # Code and path only: graphql-core's messages quote the client's literals (names, numbers).
            logger.debug("client error %s at %s", code, where)
