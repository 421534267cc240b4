"""The process's tracer, and one span per database statement.

The tracer lives here (the lowest layer that traces) so that resolvers/ and api/ share it without a
global OpenTelemetry provider: ``None`` means tracing is off, and every hook returns after one check.
Statement spans carry the parameterized SQL only; bound values (numbers, names) are never read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "MAX_QUERY_TEXT",
    "current_tracer",
    "instrument_engine",
    "statement_span",
    "untraced",
    "use_tracer",
]

MAX_QUERY_TEXT: Final = 2048
_SPAN_KEY: Final = "_kaigo_statement_span"

_tracer: Tracer | None = None
_untraced: ContextVar[bool] = ContextVar("kaigo_untraced", default=False)


@contextmanager
def untraced() -> Iterator[None]:
    """No statement spans inside (health probes: their statements would be root spans every few seconds)."""
    token = _untraced.set(True)
    try:
        yield
    finally:
        _untraced.reset(token)


def use_tracer(tracer: Tracer | None) -> None:
    """Switch tracing on (a tracer of the app's own provider) or off (``None``)."""
    global _tracer
    _tracer = tracer


def current_tracer() -> Tracer | None:
    """The tracer, or ``None`` when tracing is off."""
    return _tracer


def current_trace_id() -> str | None:
    """The W3C trace id (32 hex digits) of the current span, if one is recording."""
    span = trace.get_current_span()
    context = span.get_span_context()
    if not context.is_valid or not span.is_recording():
        return None
    return format(context.trace_id, "032x")


def operation_name(statement: str) -> str:
    """The SQL verb (SELECT, INSERT …), upper case; ``SQL`` when the text starts otherwise."""
    head = statement.lstrip().split(None, 1)
    word = head[0].upper() if head else ""
    return word if word.isalpha() else "SQL"


def _start(tracer: Tracer, statement: str) -> Any:
    verb = operation_name(statement)
    return tracer.start_span(
        verb,
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.operation.name": verb,
            "db.query.text": statement[:MAX_QUERY_TEXT],  # parameterized: `parameters` is never read
        },
        record_exception=False,
    )


def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    tracer = _tracer
    if tracer is None or context is None or _untraced.get():
        return
    setattr(context, _SPAN_KEY, _start(tracer, statement))


@contextmanager
def statement_span(statement: str) -> Iterator[None]:
    """The span of a statement sent on the driver connection directly, past SQLAlchemy's hooks."""
    tracer = _tracer
    if tracer is None or _untraced.get():
        yield
        return
    span = _start(tracer, statement)
    try:
        yield
    except BaseException as exc:
        span.set_attribute("error.type", type(exc).__name__)  # the class only: a message can quote a value
        span.set_status(Status(StatusCode.ERROR))
        raise
    finally:
        span.end()


def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    span = getattr(context, _SPAN_KEY, None)
    if span is not None:
        span.end()
        setattr(context, _SPAN_KEY, None)


def _failed(exception_context: Any) -> None:
    span = getattr(exception_context.execution_context, _SPAN_KEY, None)
    if span is not None:
        # the class name only: a driver's message can quote a value
        original = exception_context.original_exception
        span.set_attribute("error.type", type(original).__name__)
        span.set_status(Status(StatusCode.ERROR))
        span.end()
        setattr(exception_context.execution_context, _SPAN_KEY, None)


def instrument_engine(engine: AsyncEngine | Engine) -> None:
    """Add the statement span hooks to ``engine`` (idempotent; they cost one check when tracing is off)."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if event.contains(sync, "before_cursor_execute", _before):
        return
    event.listen(sync, "before_cursor_execute", _before)
    event.listen(sync, "after_cursor_execute", _after)
    event.listen(sync, "handle_error", _failed)
