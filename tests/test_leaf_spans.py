"""Lean leaf spans (persistence/tracing.py): what the exporter receives is what an SDK span would have
given it — parent, trace, resource, scope, sampling, limits — at a third of the cost."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry.context import attach, detach
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, set_span_in_context
from opentelemetry.util.types import AttributeValue

from api import telemetry
from api.logs import JsonFormatter
from persistence.tracing import Leaf, current_tracer, leaf_span, start_leaf, statement_span, untraced

SQL = "SELECT persons.id FROM persons WHERE persons.id = ANY ($1::BIGINT[])"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    for name in ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    memory = InMemorySpanExporter()
    yield memory
    telemetry.shutdown()


def _configure(memory: InMemorySpanExporter) -> None:
    telemetry.configure(exporter=memory)


@contextmanager
def _under_root() -> Iterator[None]:
    """The block runs under an SDK server span named ``root``, which ends after it."""
    tracer = current_tracer()
    assert tracer is not None
    root = tracer.start_span("root", kind=SpanKind.SERVER)
    token = attach(set_span_in_context(root))
    try:
        yield
    finally:
        detach(token)
        root.end()


def test_a_leaf_is_the_span_the_sdk_would_have_made(exporter: InMemorySpanExporter) -> None:
    _configure(exporter)
    batch_attributes: dict[str, AttributeValue] = {"kaigo.loader.batch_size": 3}
    with _under_root(), leaf_span("dataloader persons", SpanKind.INTERNAL, batch_attributes) as batch:
        assert isinstance(batch, Leaf)
        with statement_span(SQL):
            pass
    statement, loader, sdk_root = exporter.get_finished_spans()
    assert sdk_root.name == "root"
    assert loader.parent == sdk_root.context and statement.parent == loader.context
    assert {s.context.trace_id for s in (statement, loader, sdk_root)} == {sdk_root.context.trace_id}
    assert len({s.context.span_id for s in (statement, loader, sdk_root)}) == 3
    assert statement.resource is sdk_root.resource
    assert statement.instrumentation_scope == sdk_root.instrumentation_scope
    assert statement.kind is SpanKind.CLIENT and statement.name == "SELECT"
    assert dict(statement.attributes or {})["db.query.text"] == SQL
    assert statement.context.trace_flags.sampled and not statement.context.is_remote
    assert sdk_root.start_time <= loader.start_time <= statement.start_time  # type: ignore[operator]
    assert statement.end_time <= loader.end_time <= sdk_root.end_time  # type: ignore[operator]
    assert statement.status.status_code is StatusCode.UNSET


def test_a_failed_leaf_names_the_exception_class_only(exporter: InMemorySpanExporter) -> None:
    _configure(exporter)
    with _under_root(), pytest.raises(ValueError), leaf_span("dataloader persons", SpanKind.INTERNAL, {}):
        raise ValueError("123456789018 must not reach a span")
    leaf = exporter.get_finished_spans()[0]
    assert leaf.status.status_code is StatusCode.ERROR and leaf.status.description is None
    assert dict(leaf.attributes or {}) == {"error.type": "ValueError"}


def test_a_leaf_follows_its_parents_sampling(exporter: InMemorySpanExporter) -> None:
    """The default sampler follows a caller's not-sampled parent (W3C flags 00) at the head: no span.
    (A ratio sampler defers instead: tests/test_deferred_sampling.py.)"""
    _configure(exporter)
    remote = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=True)
    token = attach(set_span_in_context(NonRecordingSpan(remote)))
    try:
        with _under_root():
            assert start_leaf("SELECT", SpanKind.CLIENT, {}) is None
            with statement_span(SQL):
                pass
    finally:
        detach(token)
    assert exporter.get_finished_spans() == ()


def test_a_sampler_that_is_not_parent_based_gets_sdk_spans(
    exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    _configure(exporter)
    with _under_root():
        span = start_leaf("SELECT", SpanKind.CLIENT, {})
        assert span is not None and not isinstance(span, Leaf)
        span.end()
    statement, sdk_root = exporter.get_finished_spans()
    assert statement.parent == sdk_root.context


def test_without_a_parent_the_sdk_makes_a_root_span(exporter: InMemorySpanExporter) -> None:
    _configure(exporter)
    with statement_span(SQL):
        pass
    [root] = exporter.get_finished_spans()
    assert root.parent is None and root.name == "SELECT"


def test_untraced_and_off_make_nothing(exporter: InMemorySpanExporter) -> None:
    assert start_leaf("SELECT", SpanKind.CLIENT, {}) is None  # tracing off
    _configure(exporter)
    with _under_root(), untraced():
        assert start_leaf("SELECT", SpanKind.CLIENT, {}) is None
    assert [s.name for s in exporter.get_finished_spans()] == ["root"]


def test_the_attribute_length_limit_applies_to_leaves(
    exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10")
    _configure(exporter)
    with _under_root(), statement_span(SQL):
        pass
    statement = exporter.get_finished_spans()[0]
    assert dict(statement.attributes or {})["db.query.text"] == SQL[:10]


def test_a_log_line_inside_a_leaf_names_the_leaf(exporter: InMemorySpanExporter) -> None:
    _configure(exporter)
    with _under_root():
        record = logging.LogRecord("kaigo.test", logging.INFO, __file__, 1, "inside", None, None)
        with leaf_span("dataloader persons", SpanKind.INTERNAL, {}):
            line = json.loads(JsonFormatter().format(record))
    leaf, sdk_root = exporter.get_finished_spans()
    assert line["span_id"] == format(leaf.context.span_id, "016x")
    assert line["trace_id"] == format(sdk_root.context.trace_id, "032x")


def test_a_number_in_a_leaf_is_redacted_before_export(exporter: InMemorySpanExporter) -> None:
    _configure(exporter)
    with _under_root(), leaf_span("dataloader persons", SpanKind.INTERNAL, {"note": "番号 123456789018"}):
        pass
    leaf = exporter.get_finished_spans()[0]
    assert dict(leaf.attributes or {})["note"] == telemetry.REDACTED
