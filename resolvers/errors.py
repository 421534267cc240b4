"""How errors reach the client (and the log): every error gets ``extensions.code``; nothing
unexpected leaks a message, a stack or SQL; no message or log line carries an individual number.

* parse errors → ``GRAPHQL_PARSE_FAILED``; validation errors (unknown fields, wrong literal types)
  → ``GRAPHQL_VALIDATION_FAILED`` (tagged by :class:`ErrorCodes` while the phase runs);
* variable values the operation cannot accept (coercion) → ``BAD_USER_INPUT``;
* errors raised on purpose with a code (``schema.errors.BadUserInput`` …, the limits of
  resolvers/limits.py) pass through;
* a statement PostgreSQL cancelled (``statement_timeout``, SQLSTATE 57014) → ``STATEMENT_TIMEOUT``,
  with a fixed message (the driver's names the SQL);
* the database unreachable or gone in the middle of the request (connection refused or lost, server
  shutting down or starting: SQLSTATE class 08, 57P01–57P03) → ``DATABASE_UNAVAILABLE``; no pooled
  connection free within the pool timeout, or the server out of connection slots (53300) →
  ``DATABASE_BUSY``; fixed messages, and the HTTP layer answers the whole request with 503 and
  ``Retry-After`` (api/faults.py);
* anything else → "Internal server error." with ``INTERNAL_SERVER_ERROR`` and a correlation id
  (``extensions.correlationId``: the request's W3C trace id when tracing, else a random one), logged
  server-side with the same id and its traceback, after redaction of anything shaped like an
  individual number. Staff quote the id; operators find the log line (and the trace).
"""

from __future__ import annotations

import logging
import re
import secrets
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Final

from asyncpg.exceptions import QueryCanceledError
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.extensions import SchemaExtension

from persistence.db import DatabaseUnreachable
from persistence.tracing import current_trace_id
from schema.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL_SERVER_ERROR,
)

__all__ = [
    "DATABASE_BUSY",
    "DATABASE_UNAVAILABLE",
    "FAULT_MESSAGES",
    "INTERNAL_MESSAGE",
    "STATEMENT_TIMEOUT",
    "TIMEOUT_MESSAGE",
    "ErrorCodes",
    "classify",
    "database_fault",
    "innermost_name",
    "log_errors",
    "present",
    "redact",
]

logger = logging.getLogger("kaigo.graphql")

INTERNAL_MESSAGE: Final = "Internal server error."
STATEMENT_TIMEOUT: Final = "STATEMENT_TIMEOUT"
TIMEOUT_MESSAGE: Final = "The database cancelled a statement that ran longer than the statement timeout."
_QUERY_CANCELED: Final = "57014"  # PostgreSQL's SQLSTATE query_canceled

DATABASE_UNAVAILABLE: Final = "DATABASE_UNAVAILABLE"
DATABASE_BUSY: Final = "DATABASE_BUSY"
FAULT_MESSAGES: Final = {
    DATABASE_UNAVAILABLE: "The database is unavailable; the request was not completed. Retry later.",
    DATABASE_BUSY: "The database is busy (no connection free in time); the request was not completed. "
    "Retry later.",
}
# SQLSTATEs of a server going away or not there yet: class 08 (connection exception), admin_shutdown,
# crash_shutdown, cannot_connect_now; and of a server out of connection slots (too_many_connections).
_GONE: Final = frozenset({"57P01", "57P02", "57P03"})
_FULL: Final = frozenset({"53300"})

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
    fault = database_fault(error.original_error)
    if fault is not None:
        return fault
    if error.path is not None:
        return INTERNAL_SERVER_ERROR  # a resolver failed without meaning to
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError) and not error.nodes:
        return INTERNAL_SERVER_ERROR  # an exception outside any resolver
    return BAD_USER_INPUT  # graphql-core refused the variable values (coercion)


def _causes(exc: BaseException | None, *, implicit: bool = False) -> Iterator[BaseException]:
    """``exc`` and what lies under it, a few links at most: SQLAlchemy's wrapped driver error
    (``DBAPIError.orig``), then ``__cause__``; with ``implicit``, also ``__context__`` where no cause is
    given (a rollback failing on a dead connection hides the first error there)."""
    seen = 0
    while exc is not None and seen < 8:
        yield exc
        if isinstance(exc, DBAPIError) and exc.orig is not None:
            exc = exc.orig
        elif exc.__cause__ is not None or exc.__suppress_context__ or not implicit:
            exc = exc.__cause__
        else:
            exc = exc.__context__
        seen += 1


def _cancelled(original: BaseException | None) -> bool:
    """Whether PostgreSQL cancelled the statement: asyncpg's QueryCanceledError, bare or wrapped by
    SQLAlchemy (``DBAPIError.orig``, whose adapted error keeps the SQLSTATE and the asyncpg cause)."""
    return any(
        isinstance(exc, QueryCanceledError)
        or getattr(exc, "sqlstate", None) == _QUERY_CANCELED
        or getattr(exc, "pgcode", None) == _QUERY_CANCELED
        for exc in _causes(original)
    )


def database_fault(exc: BaseException | None) -> str | None:
    """``DATABASE_UNAVAILABLE`` or ``DATABASE_BUSY`` when ``exc`` (or what caused it, :func:`_causes`
    with implicit contexts) says the database could not serve the request, else None."""
    for cause in _causes(exc, implicit=True):
        if isinstance(cause, PoolTimeout):
            return DATABASE_BUSY
        if isinstance(cause, DatabaseUnreachable):
            return DATABASE_UNAVAILABLE
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return DATABASE_UNAVAILABLE
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str):
            if state.startswith("08") or state in _GONE:
                return DATABASE_UNAVAILABLE
            if state in _FULL:
                return DATABASE_BUSY
    return None


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
    if code in FAULT_MESSAGES and not isinstance(error.original_error, GraphQLError):
        return GraphQLError(
            FAULT_MESSAGES[code],
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": code},
        )
    if code == INTERNAL_SERVER_ERROR:
        return GraphQLError(
            INTERNAL_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_SERVER_ERROR, "correlationId": correlation_id()},
        )
    return GraphQLError(
        redact(error.message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


_correlation: ContextVar[str | None] = ContextVar("kaigo_correlation_id", default=None)


def new_correlation() -> None:
    """Forget the correlation id of an earlier operation in this context (each operation has its own)."""
    _correlation.set(None)


def correlation_id() -> str:
    """The operation's correlation id, the same in its log lines and its answer: the W3C trace id of
    the current span when one is recording, else 32 random hex digits."""
    found = _correlation.get()
    if found is None:
        found = current_trace_id() or secrets.token_hex(16)
        _correlation.set(found)
    return found


def log_errors(errors: list[GraphQLError]) -> None:
    """Log unexpected errors with a (redacted) traceback, and client errors briefly at debug level.

    Database faults (every field of a request fails at once when the server goes away) make one warning
    line per call, naming the code and the driver's exception class, never its message."""
    faults: dict[str, set[str]] = {}
    for error in errors:
        code = classify(error)
        where = ".".join(map(str, error.path)) if error.path else "-"
        if code in FAULT_MESSAGES:
            faults.setdefault(code, set()).add(innermost_name(error.original_error))
        elif code == INTERNAL_SERVER_ERROR:
            original = error.original_error or error
            detail = "".join(traceback.format_exception(original))
            logger.error(
                "unexpected error at %s (correlation id %s): %s", where, correlation_id(), redact(detail)
            )
        elif code == STATEMENT_TIMEOUT:
            logger.warning("statement timeout at %s", where)  # no SQL: it may quote values
        else:
            # Code and path only: graphql-core's messages quote the client's literals (names, numbers).
            logger.debug("client error %s at %s", code, where)
    for code, names in sorted(faults.items()):
        logger.warning("database fault %s (%s)", code, ", ".join(sorted(names)))


def innermost_name(exc: BaseException | None) -> str:
    """The class name of the exception at the bottom of ``exc``'s causes, under SQLAlchemy's wrapper
    (e.g. AdminShutdownError): what to log of a fault, since messages may quote SQL or values."""
    name = "-"
    for cause in _causes(exc):
        name = type(cause).__name__
    return name
