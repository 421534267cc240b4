"""Tracing for tests: an in-memory exporter configured for one test, switched off after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api import telemetry


@contextmanager
def traced(
    pseudonym_secret: bytes | None = None, env: dict[str, str] | None = None
) -> Iterator[InMemorySpanExporter]:
    """Tracing on, each span exported as it ends (``env``: the ``OTEL_*`` variables, else the process's);
    off again (no provider left behind) afterwards."""
    exporter = InMemorySpanExporter()
    telemetry.configure(exporter=exporter, pseudonym_secret=pseudonym_secret, env=env)
    try:
        yield exporter
    finally:
        telemetry.shutdown()


def by_name(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def attrs(span: Any) -> dict[str, Any]:
    """A span's (or an event's) attributes as a plain dict."""
    return dict(span.attributes or {})


def span_text(span: ReadableSpan) -> str:
    """Everything a span says but its ids: name, status, attributes, events, resource."""
    parts: list[Any] = [span.name, span.status.description, dict(span.attributes or {})]
    parts += [(e.name, dict(e.attributes or {})) for e in span.events]
    parts.append(dict(span.resource.attributes))
    return repr(parts)
