"""Deferred sampling: a trace the head sampler drops is recorded, held, and exported whole when its
request turns out to matter.

A ratio sampler (``OTEL_TRACES_SAMPLER=traceidratio`` or ``parentbased_traceidratio``) or
``parentbased_always_off`` decides when a request's first span starts, before anything is known about
it. Here its "drop" becomes "record, do not export yet" (:class:`DeferredSampler`): the spans are made as
they happen (their true start and end times) and held per trace by :class:`TraceHold`. When the trace's
local root span ends (the HTTP server span), the held spans are exported, with the sampled flag, if
something marked the trace to keep (``persistence.tracing.keep_trace``: an individual number revealed,
a legal-basis decision, a denial, a failure); else they are dropped. Traces the head sampler keeps are
not held at all: they go to the exporter as they end.

The hold is bounded (traces held at once, spans per trace); what it had no room for is counted and
reported in a log line at most once a minute (counts only, nothing about the requests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from threading import Lock
from time import monotonic
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    Decision,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState, get_current_span
from opentelemetry.util.types import Attributes

__all__ = [
    "KEPT_BECAUSE",
    "SPANS_LOST",
    "DeferredSampler",
    "TraceHold",
    "sampler_from_env",
]

log = logging.getLogger("kaigo.tracing")

KEPT_BECAUSE: Final = "kaigo.trace.kept_because"
"""Attribute of a kept trace's local root: why (``number_revealed``, ``legal_basis_decision``,
``denied``, ``failed``)."""
SPANS_LOST: Final = "kaigo.trace.spans_lost"
"""Attribute of a kept trace's local root: spans the hold had no room for (only when some were lost)."""

DEFERRED_SAMPLERS: Final = frozenset({"traceidratio", "parentbased_traceidratio", "parentbased_always_off"})
"""The ``OTEL_TRACES_SAMPLER`` values whose drops wait for the request's end. ``always_on`` and the
default ``parentbased_always_on`` drop nothing of their own (nothing is held: no cost), ``always_off``
is an explicit "no traces"."""

MAX_TRACES: Final = 256
"""Traces held at once per process (about the requests in flight; a root beyond is not recorded)."""
MAX_SPANS: Final = 256
"""Spans held per trace (a person detail has about ten)."""
MAX_AGE_SECONDS: Final = 300.0
"""A trace held longer (its root never ended) is given up when room is needed."""
REPORT_EVERY_SECONDS: Final = 60.0
_DECIDED_KEPT: Final = 1024
_REASONS_KEPT: Final = 8


def sampler_from_env(env: Mapping[str, str]) -> tuple[Sampler, bool]:
    """The sampler ``OTEL_TRACES_SAMPLER`` and ``OTEL_TRACES_SAMPLER_ARG`` name, read as the SDK reads
    them (unknown name: the default; a ratio that is not a number in [0, 1]: 1.0), and whether its drops
    are to be deferred."""
    name = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    fixed: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "parentbased_always_on": DEFAULT_ON,
        "parentbased_always_off": DEFAULT_OFF,
    }
    if name in fixed:
        return fixed[name], name in DEFERRED_SAMPLERS
    if name not in ("traceidratio", "parentbased_traceidratio"):
        log.warning("OTEL_TRACES_SAMPLER=%s is not known; using parentbased_always_on", name[:40])
        return DEFAULT_ON, False
    try:
        rate = float(env.get("OTEL_TRACES_SAMPLER_ARG", ""))
        sampler: Sampler = (
            TraceIdRatioBased(rate) if name == "traceidratio" else ParentBasedTraceIdRatio(rate)
        )
    except ValueError:
        log.warning("OTEL_TRACES_SAMPLER_ARG is not a ratio in [0, 1]; using 1.0")
        sampler = TraceIdRatioBased(1.0) if name == "traceidratio" else ParentBasedTraceIdRatio(1.0)
    return sampler, True


class DeferredSampler(Sampler):
    """``inner``'s decision, except that a drop becomes "record only" for a trace ``hold`` holds: a local
    root (no parent, or a remote one) opens a held trace, a span under a held local parent joins it."""

    def __init__(self, inner: Sampler, hold: TraceHold) -> None:
        self.inner = inner
        self.hold = hold

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        result = self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision is not Decision.DROP:
            return result
        parent = get_current_span(parent_context).get_span_context()
        local_child = parent.is_valid and not parent.is_remote
        held = self.hold.holds(trace_id) if local_child else self.hold.open(trace_id)
        if not held:
            return result
        # the span's own attributes (the SDK makes a recorded span with the result's)
        return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)

    def get_description(self) -> str:
        return f"Deferred{{{self.inner.get_description()}}}"


class _Held:
    """One held trace: its finished spans, why it is to be kept, its local roots still running."""

    __slots__ = ("lost", "reasons", "roots", "since", "spans")

    def __init__(self, since: float) -> None:
        self.spans: list[ReadableSpan] = []
        self.reasons: list[str] = []
        self.roots = 0
        self.lost = 0
        self.since = since


class TraceHold(SpanProcessor):
    """In front of the exporting processor (``inner``): a sampled span passes straight through; a span
    recorded only (a held trace) waits for its trace's decision at the end of its local root."""

    def __init__(
        self,
        inner: SpanProcessor,
        *,
        max_traces: int = MAX_TRACES,
        max_spans: int = MAX_SPANS,
        clock: Any = monotonic,
    ) -> None:
        self.inner = inner
        self.max_traces = max_traces
        self.max_spans = max_spans
        self._clock = clock
        self._lock = Lock()
        self._traces: dict[int, _Held] = {}
        self._decided: dict[int, tuple[str, ...]] = {}  # trace → reasons ((): dropped), for late spans
        self._swept = 0.0
        self.lost_traces = 0  # since the start: traces not held for lack of room
        self.lost_spans = 0  # since the start: spans of held traces not held for lack of room
        self._unreported = [0, 0]
        self._reported = -REPORT_EVERY_SECONDS

    # --- the sampler's side ------------------------------------------------------------------------

    def open(self, trace_id: int) -> bool:
        """A local root of ``trace_id`` starts, not sampled at the head: hold its trace (False: no room)."""
        with self._lock:
            held = self._traces.get(trace_id)
            if held is None:
                now = self._clock()
                if len(self._traces) >= self.max_traces and not self._sweep(now):
                    self._lose(traces=1, now=now)
                    return False
                held = self._traces[trace_id] = _Held(now)
            held.roots += 1
            return True

    def holds(self, trace_id: int) -> bool:
        return trace_id in self._traces

    def held(self) -> int:
        """Traces held now."""
        return len(self._traces)

    def keep(self, trace_id: int, reason: str) -> None:
        """Mark a held trace to be exported (no-op for a trace not held)."""
        held = self._traces.get(trace_id)
        if held is not None and reason not in held.reasons and len(held.reasons) < _REASONS_KEPT:
            held.reasons.append(reason)

    # --- the processor's side ----------------------------------------------------------------------

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or context.trace_flags.sampled:
            self.inner.on_end(span)
            return
        parent = span.parent
        root = parent is None or parent.is_remote
        out: list[ReadableSpan] = []
        reasons: tuple[str, ...] = ()
        lost = 0
        with self._lock:
            held = self._traces.get(context.trace_id)
            if held is None:  # ended after its trace was decided (or given up)
                reasons = self._decided.get(context.trace_id, ())
                if reasons:
                    out.append(span)
            else:
                if len(held.spans) < (self.max_spans if root else self.max_spans - 1):  # a root's place
                    held.spans.append(span)
                else:
                    held.lost += 1
                    self._lose(spans=1, now=self._clock())
                if root:
                    held.roots -= 1
                    reasons, lost = tuple(held.reasons), held.lost
                    if reasons:
                        out, held.spans = held.spans, []
                    if held.roots <= 0:
                        del self._traces[context.trace_id]
                        self._decide(context.trace_id, reasons)
        for finished in out:
            self.inner.on_end(_as_sampled(finished, reasons, lost))

    def shutdown(self) -> None:
        with self._lock:
            self._traces.clear()
            self._report(force=True)
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    # --- bookkeeping (under the lock) --------------------------------------------------------------

    def _decide(self, trace_id: int, reasons: tuple[str, ...]) -> None:
        if len(self._decided) >= _DECIDED_KEPT:
            del self._decided[next(iter(self._decided))]
        self._decided[trace_id] = reasons

    def _sweep(self, now: float) -> bool:
        """Give up traces held longer than :data:`MAX_AGE_SECONDS` (at most once a second); True if
        room was made."""
        if now - self._swept < 1.0:
            return False
        self._swept = now
        stale = [t for t, h in self._traces.items() if now - h.since > MAX_AGE_SECONDS]
        for trace_id in stale:
            self._lose(spans=len(self._traces.pop(trace_id).spans), now=now)
        return bool(stale)

    def _lose(self, *, traces: int = 0, spans: int = 0, now: float) -> None:
        self.lost_traces += traces
        self.lost_spans += spans
        self._unreported[0] += traces
        self._unreported[1] += spans
        if now - self._reported >= REPORT_EVERY_SECONDS:
            self._reported = now
            self._report()

    def _report(self, *, force: bool = False) -> None:
        traces, spans = self._unreported
        if traces or spans:
            log.warning(
                "trace hold full: %d traces and %d spans were not held (limits: %d traces, %d spans each)%s",
                traces,
                spans,
                self.max_traces,
                self.max_spans,
                " before shutdown" if force else "",
            )
            self._unreported = [0, 0]


_SAMPLED: Final = TraceFlags.SAMPLED


def _sampled_context(context: SpanContext) -> SpanContext:
    return SpanContext(
        context.trace_id,
        context.span_id,
        is_remote=context.is_remote,
        trace_flags=TraceFlags(context.trace_flags | _SAMPLED),
        trace_state=context.trace_state,
    )


def _as_sampled(span: ReadableSpan, reasons: tuple[str, ...], lost: int) -> ReadableSpan:
    """The held span as exported: the sampled flag on it and on its local parent; on a local root, why
    the trace was kept (and how many of its spans were lost)."""
    parent = span.parent
    root = parent is None or parent.is_remote
    attributes: Any = span._attributes  # the bounded mapping itself: its count of dropped attributes too
    if root:
        attributes = {**(attributes or {}), KEPT_BECAUSE: reasons}
        if lost:
            attributes[SPANS_LOST] = lost
    return ReadableSpan(
        name=span.name,
        context=_sampled_context(span.context),
        parent=parent if root or parent is None else _sampled_context(parent),
        resource=span.resource,
        attributes=attributes,
        events=span._events,
        links=span._links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
