"""How errors reach the client (and the log): every error gets ``extensions.code``; nothing
unexpected leaks a message, a stack or SQL; no message or log line carries an individual number.

* parse errors → ``GRAPHQL_PARSE_FAILED``; validation errors (unknown fields, wrong literal types)
  → ``GRAPHQL_VALIDATION_FAILED`` (tagged by :class:`ErrorCodes` while the phase runs);
* variable values the operation cannot accept (coercion) → ``BAD_USER_INPUT``, and literal values of the
  wrong type → ``GRAPHQL_VALIDATION_FAILED``, both with ``extensions.field`` (the argument, as resolver
  errors name it: ``filter.birthDateFrom``) and ``reason``, in words that never repeat the value
  (graphql-core's quote it: a name, a date, an individual number);
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

Messages are in the request's language (:func:`use_language`, set by the HTTP layer from
``Accept-Language``): English, or Japanese through ``schema.errors.localize``; codes are the same.
"""

from __future__ import annotations

import logging
import re
import secrets
import traceback
from collections.abc import Container, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from asyncpg.exceptions import QueryCanceledError
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    ObjectFieldNode,
    ValueNode,
    ValuesOfCorrectTypeRule,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.language.visitor import BREAK, SKIP, VisitorAction
from graphql.utilities.validate_input_value import validate_input_literal
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
    InputReason,
    Language,
    localize,
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
    "language",
    "log_errors",
    "present",
    "redact",
    "use_language",
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
    """Tags parse and validation errors with their code while the phase is known, and words the errors
    about values (literals, variables) without the value, naming the argument instead."""

    def on_parse(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors
        for error in errors or ():
            if isinstance(error, GraphQLSyntaxError):
                error.message = _SYNTAX_VALUE.sub(r"\1", error.message)
        _tag(errors, GRAPHQL_PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = tuple(
            ValuesOfCorrectType if rule is ValuesOfCorrectTypeRule else rule
            for rule in context.validation_rules
        )
        yield
        _tag(context.pre_execution_errors, GRAPHQL_VALIDATION_FAILED)

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context
        errors = getattr(context.result, "errors", None)
        if not errors or context.graphql_document is None:
            return
        for error in errors:
            node = error.nodes[0] if error.nodes else None
            if isinstance(node, VariableDefinitionNode) and not (error.extensions or {}).get("code"):
                types = context.schema._schema.type_map
                _describe_variable_error(error, node.variable.name.value, context.graphql_document, types)


# graphql-core's syntax errors quote the token they stopped at ("found String 'ヤマダ'"): the kind is
# enough, the value goes.
_SYNTAX_VALUE = re.compile(r"\b(String|BlockString|Int|Float) (?:'.*'|\".*\")(?=\.$)")

# How graphql-core says why a value was refused (its messages quote the value after these words). A
# type is named only if the schema has it, a field only if it is a GraphQL name: a value or a key of the
# client's JSON never makes it into the message.
_REQUIRED_FIELD = re.compile(r"to include required field '(?P<name>[_A-Za-z][_0-9A-Za-z]*)'")
_UNKNOWN_FIELD = re.compile(r"not to include unknown field '(?P<name>[_A-Za-z][_0-9A-Za-z]*)'")
_NON_NULL = re.compile(r"non-null type '(?P<type>[^']+)'")
_TYPE_NAMED = re.compile(
    r"type '(?P<a>[^']+)'|Value cannot represent an? (?P<b>\w+)|^(?P<c>\w+) cannot represent|"
    r"^Enum '(?P<d>\w+)'|does not exist in '(?P<e>\w+)' enum"
)
_VARIABLE_VALUE = re.compile(
    r"Variable '\$(?P<name>\w+)' has invalid (?:default )?value(?: at (?P<path>\S+))?: (?P<detail>.*)", re.S
)


def _type_named(pattern: re.Pattern[str], detail: str, types: Container[str]) -> str | None:
    """The first type ``pattern`` finds in ``detail`` that the schema has (``Int!``, ``[Date]``)."""
    for match in pattern.finditer(detail):
        named = next(group for group in match.groups() if group)
        if named.strip("[]!") in types:
            return named
    return None


def _value_words(detail: str, field: str, types: Container[str]) -> tuple[str, InputReason, str]:
    """The message (without the value), reason and field (with the input field in question) of a value
    refused with graphql-core's ``detail``."""
    type_name = _type_named(_TYPE_NAMED, detail, types)
    unknown = _UNKNOWN_FIELD.search(detail)
    if unknown is not None:  # a key of the client's: a GraphQL name, and no number (_123456789018)
        field = f"{field}.{redact(unknown['name'])}"
        return f"`{field}` is not a field of {type_name or 'its input type'}.", "UNKNOWN_FIELD", field
    required = _REQUIRED_FIELD.search(detail)
    if required is not None:
        field = f"{field}.{required['name']}"
        return f"`{field}` is required.", "REQUIRED", field
    non_null = _type_named(_NON_NULL, detail, types)
    if non_null is not None:
        return f"`{field}` is required ({non_null}).", "REQUIRED", field
    if "non 32-bit signed integer" in detail:
        return f"`{field}` is out of range for {type_name or 'Int'}.", "OUT_OF_RANGE", field
    if type_name is not None:
        return f"`{field}` is not a valid {type_name}.", "FORMAT", field
    return f"`{field}` has a value of the wrong type.", "FORMAT", field


def _joined(field: str, path: Sequence[str | int]) -> str:
    return field + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)


class ValuesOfCorrectType(ValuesOfCorrectTypeRule):
    """graphql-core's rule, with each refused literal's argument (``extensions.field``) and ``reason``,
    in words that never repeat the literal."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.argument = "value"

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self.argument = node.name.value

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        self.argument = f"${node.variable.name.value}"  # its default value

    def is_valid_value_node(self, node: ValueNode, input_type: Any) -> VisitorAction:
        if input_type:
            argument, types = self.argument, self.context.schema.type_map

            def on_error(error: GraphQLError, path: list[str | int]) -> None:
                message, reason, field = _value_words(error.message, _joined(argument, path), types)
                self.report_error(
                    GraphQLError(
                        message,
                        node,
                        extensions={"code": GRAPHQL_VALIDATION_FAILED, "field": field, "reason": reason},
                    )
                )

            validate_input_literal(node, input_type, on_error, None, None, self.context.hide_suggestions)
        return SKIP


class _FirstUse(Visitor):
    """The argument (and input fields) where a variable is first used in a document."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.found: str | None = None

    def enter_variable(self, node: VariableNode, _key: Any, parent: Any, _path: Any, ancestors: Any) -> Any:
        names = [a.name.value for a in (*ancestors, parent) if isinstance(a, ArgumentNode | ObjectFieldNode)]
        if node.name.value == self.name and names:
            self.found = ".".join(names)
            return BREAK
        return None


def _describe_variable_error(
    error: GraphQLError, name: str, document: DocumentNode, types: Container[str]
) -> None:
    """Word a variable coercion error (in place: strawberry answers with these very objects) by the
    argument the variable feeds, with ``field``, ``reason`` and ``variable``, without the value."""
    use = _FirstUse(name)
    visit(document, use)
    matched = _VARIABLE_VALUE.fullmatch(error.message)
    path = (matched["path"] or "").lstrip(".") if matched else ""
    field = ".".join(p for p in (use.found or f"${name}", path) if p).replace(".[", "[")
    detail = error.original_error.message if isinstance(error.original_error, GraphQLError) else ""
    message, reason, field = _value_words(detail or (matched["detail"] if matched else ""), field, types)
    error.message = f"Variable `${name}`: {message}"
    error.extensions = {"code": BAD_USER_INPUT, "field": field, "reason": reason, "variable": name}


_ARGUMENT_REFUSED: Final = re.compile(r"Argument '[_A-Za-z][_0-9A-Za-z]*' has invalid value")


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
    original = error.original_error
    if isinstance(original, GraphQLError) and _ARGUMENT_REFUSED.match(original.message):
        # graphql-core refused an argument's value as it ran the field: a variable given null where
        # its declared default let it stand in a non-null place (the request's fault, not ours)
        return BAD_USER_INPUT
    if error.path is not None:
        return INTERNAL_SERVER_ERROR  # a resolver failed without meaning to
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
    """The error as the client sees it, in the request's language."""
    code = classify(error)
    if code == STATEMENT_TIMEOUT and not isinstance(error.original_error, GraphQLError):
        message, extensions = TIMEOUT_MESSAGE, {"code": STATEMENT_TIMEOUT}
    elif code in FAULT_MESSAGES and not isinstance(error.original_error, GraphQLError):
        message, extensions = FAULT_MESSAGES[code], {"code": code}
    elif code == INTERNAL_SERVER_ERROR:
        message, extensions = INTERNAL_MESSAGE, {"code": code, "correlationId": correlation_id()}
    else:
        message, extensions = redact(error.message), {**(error.extensions or {}), "code": code}
    return GraphQLError(
        localize(message, extensions, language()),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


_language: ContextVar[Language] = ContextVar("kaigo_language", default="en")


def language() -> Language:
    """The language of the request's messages (``en`` unless the HTTP layer said otherwise)."""
    return _language.get()


@contextmanager
def use_language(chosen: Language) -> Iterator[None]:
    """Messages of errors presented inside are in ``chosen``."""
    token = _language.set(chosen)
    try:
        yield
    finally:
        _language.reset(token)


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
