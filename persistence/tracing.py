"""The process's tracer, and the leaf spans: one per database statement, one per loader batch.

The tracer lives here (the lowest layer that traces) so that resolvers/ and api/ share it without a
global OpenTelemetry provider: ``None`` means tracing is off, and every hook returns after one check.
Statement spans carry the parameterized SQL only; bound values (numbers, names) are never read.

Leaf spans are made lean (:class:`Leaf`): a person-detail request has nine of them, and the SDK's span
does work a leaf does not need (attribute validation, a lock, context attach and detach, a copy at the
end; docs/figures.md has the cost of each). A leaf records its start time and identifiers, then hands the SDK's span processors
one finished :class:`~opentelemetry.sdk.trace.ReadableSpan`, exactly what an SDK span hands them at its
end. It follows the SDK's parent-based sampling (a leaf is recorded when its parent is sampled, or
held when its parent's trace is held: persistence/sampling.py); with no recording parent, or a sampler
that is not parent-based, the SDK makes the span as usual.

:func:`keep_trace` marks the current trace to be exported whatever the ratio sampler said at its start
(a number revealed, data moved, a denial, a failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import time_ns
from typing import Any, Final, Protocol

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from .sampling import DeferredSampler, TraceHold

__all__ = [
    "MAX_QUERY_TEXT",
    "Leaf",
    "current_span_context",
    "current_trace_id",
    "current_tracer",
    "instrument_engine",
    "keep_trace",
    "leaf_span",
    "start_leaf",
    "statement_span",
    "untraced",
    "use_tracer",
]

MAX_QUERY_TEXT: Final = 2048
_SPAN_KEY: Final = "_kaigo_statement_span"
_UNSET: Final = Status(StatusCode.UNSET)
_ERROR: Final = Status(StatusCode.ERROR)

_tracer: Tracer | None = None
_lean: bool = False  # the SDK's tracer, its sampler parent-based or deferring: leaves can be made lean
_hold: TraceHold | None = None  # the held traces of a deferring sampler (persistence/sampling.py)
_value_limit: int | None = None  # OTEL_(SPAN_)ATTRIBUTE_VALUE_LENGTH_LIMIT, applied as the SDK would
_untraced: ContextVar[bool] = ContextVar("kaigo_untraced", default=False)
_leaf_parent: ContextVar[SpanContext | None] = ContextVar("kaigo_leaf_parent", default=None)
"""The context of the lean span whose work is running (a loader batch): its statements' parent."""


@contextmanager
def untraced() -> Iterator[None]:
    """No statement spans inside (health probes: their statements would be root spans every few seconds)."""
    token = _untraced.set(True)
    try:
        yield
    finally:
        _untraced.reset(token)


def use_tracer(tracer: Tracer | None, hold: TraceHold | None = None) -> None:
    """Switch tracing on (a tracer of the app's own provider, and the hold of its deferring sampler if
    it has one) or off (``None``)."""
    global _tracer, _lean, _value_limit, _hold
    _tracer = tracer
    _hold = hold if tracer is not None else None
    _lean = isinstance(tracer, SdkTracer) and isinstance(tracer.sampler, ParentBased | DeferredSampler)
    limits = getattr(tracer, "_span_limits", None)
    _value_limit = getattr(limits, "max_span_attribute_length", None) if _lean else None


def current_tracer() -> Tracer | None:
    """The tracer, or ``None`` when tracing is off."""
    return _tracer


def current_span_context() -> SpanContext:
    """The innermost span's context: a running lean span's, else the current SDK span's."""
    leaf = _leaf_parent.get()
    return leaf if leaf is not None else trace.get_current_span().get_span_context()


def keep_trace(reason: str, context: SpanContext | None = None) -> None:
    """Export the current trace (or ``context``'s) whatever the head sampler decided: ``reason`` (a fixed
    word, never personal data) goes on its local root as ``kaigo.trace.kept_because``. A no-op when
    tracing is off, the sampler defers nothing, or the trace is sampled anyway."""
    hold = _hold
    if hold is None:
        return
    if context is None:
        context = current_span_context()
    if context.is_valid and not context.trace_flags.sampled:
        hold.keep(context.trace_id, reason)


def current_trace_id() -> str | None:
    """The W3C trace id (32 hex digits) of the current span, if one is recording."""
    span = trace.get_current_span()
    context = span.get_span_context()
    if not context.is_valid or not span.is_recording():
        return None
    return format(context.trace_id, "032x")


# --- lean leaf spans -----------------------------------------------------------------------------------


class _Span(Protocol):
    def set_attribute(self, key: str, value: AttributeValue) -> None: ...
    def set_status(self, status: Status) -> None: ...
    def end(self) -> None: ...


class Leaf:
    """A statement's or a loader batch's span, made without the SDK's span object: it keeps what it
    records until it ends, then hands the span processors the finished span."""

    __slots__ = ("_tracer", "attributes", "context", "kind", "name", "parent", "start_time", "status")

    def __init__(
        self,
        tracer: SdkTracer,
        name: str,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        parent: SpanContext,
    ) -> None:
        self._tracer = tracer
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.parent = parent
        self.context = SpanContext(
            parent.trace_id,
            tracer.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=parent.trace_flags,
            trace_state=parent.trace_state,
        )
        self.status = _UNSET
        self.start_time = time_ns()

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value

    def set_status(self, status: Status) -> None:
        self.status = status

    def end(self) -> None:
        tracer = self._tracer
        if _value_limit is not None:
            self.attributes = {
                k: v[:_value_limit] if isinstance(v, str) else v for k, v in self.attributes.items()
            }
        tracer.span_processor.on_end(
            ReadableSpan(
                name=self.name,
                context=self.context,
                parent=self.parent,
                resource=tracer.resource,
                attributes=self.attributes,
                kind=self.kind,
                status=self.status,
                start_time=self.start_time,
                end_time=time_ns(),
                instrumentation_scope=tracer._instrumentation_scope,  # the SDK span takes the same
            )
        )


def start_leaf(name: str, kind: SpanKind, attributes: dict[str, AttributeValue]) -> _Span | None:
    """Start a leaf span under the current one; ``None`` when tracing is off or the parent is not sampled.
    The caller ends it (``end()``), after ``set_attribute``/``set_status`` if it failed."""
    tracer = _tracer
    if tracer is None or _untraced.get():
        return None
    parent = current_span_context()
    if _lean and parent.is_valid:
        if not parent.trace_flags.sampled:  # parent-based: the parent's decision is the leaf's
            hold = _hold
            if hold is None or parent.is_remote or not hold.holds(parent.trace_id):
                return None
        return Leaf(tracer, name, kind, attributes, parent)  # type: ignore[arg-type]  # _lean: the SDK's
    return tracer.start_span(name, kind=kind, attributes=attributes, record_exception=False)


@contextmanager
def leaf_span(name: str, kind: SpanKind, attributes: dict[str, AttributeValue]) -> Iterator[_Span | None]:
    """A leaf span around the block, the parent of the statements run inside it (they nest under it
    whether it is lean or the SDK's); a failure names its exception class only (a message can quote a
    value)."""
    span = start_leaf(name, kind, attributes)
    if span is None:
        yield None
        return
    context = span.context if isinstance(span, Leaf) else span.get_span_context()  # type: ignore[attr-defined]
    token = _leaf_parent.set(context)
    try:
        with _ending(span):
            yield span
    finally:
        _leaf_parent.reset(token)


@contextmanager
def _ending(span: _Span) -> Iterator[None]:
    """End ``span`` after the block; a failure names its exception class only (a message can quote a
    value)."""
    try:
        yield
    except BaseException as exc:
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(_ERROR)
        raise
    finally:
        span.end()


# --- statement spans -----------------------------------------------------------------------------------


def operation_name(statement: str) -> str:
    """The SQL verb (SELECT, INSERT …), upper case; ``SQL`` when the text starts otherwise."""
    head = statement.lstrip().split(None, 1)
    word = head[0].upper() if head else ""
    return word if word.isalpha() else "SQL"


_verbs: dict[str, str] = {}
"""Statement text → its verb (statements repeat on every request); bounded."""


def _start(statement: str) -> _Span | None:
    verb = _verbs.get(statement)
    if verb is None:
        verb = operation_name(statement)
        if len(_verbs) >= 4096:
            _verbs.clear()
        _verbs[statement] = verb
    return start_leaf(
        verb,
        SpanKind.CLIENT,
        {
            "db.system.name": "postgresql",
            "db.operation.name": verb,
            "db.query.text": statement[:MAX_QUERY_TEXT],  # parameterized: `parameters` is never read
        },
    )


def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if _tracer is None or context is None:
        return
    setattr(context, _SPAN_KEY, _start(statement))


@contextmanager
def statement_span(statement: str) -> Iterator[None]:
    """The span of a statement sent on the driver connection directly, past SQLAlchemy's hooks."""
    span = _start(statement) if _tracer is not None else None
    if span is None:
        yield
        return
    with _ending(span):
        yield


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
        span.set_status(_ERROR)
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
