"""Tracing set-up: the provider built from the ``OTEL_*`` variables, the redaction net, the HTTP span.

Tracing is off unless configured (``OTEL_TRACES_EXPORTER`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``): then
no provider exists and every hook returns after one check. The provider is the app's own, never the
OpenTelemetry global one (which can be set once per process): tests configure and reset it freely.

Every exporter sits behind :class:`RedactingSpanProcessor`, the last processor: whatever a span
carries, an attribute value holding a valid individual number is replaced before it is exported.
With a ratio sampler, a :class:`~persistence.sampling.TraceHold` sits in front of it: the traces the
sampler would drop are held until their request ends, and exported if it was marked to keep
(persistence/sampling.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, Final

from opentelemetry.context import Context, attach, detach
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.crypto import NumberVault
from persistence.sampling import DeferredSampler, TraceHold, sampler_from_env
from persistence.tracing import current_tracer, instrument_engine, keep_trace, untraced, use_tracer
from policies.individual_number import contains_valid_number, mask_valid_numbers
from resolvers.tracing import use_document_id_source, use_pseudonym_key

from .documents import extension as _documents

__all__ = [
    "REDACTED",
    "RedactingSpanProcessor",
    "TracingMiddleware",
    "build_provider",
    "configure",
    "configure_from_env",
    "configured_by_env",
    "instrument_app",
    "pseudonym_key",
    "shutdown",
    "start_from_env",
    "tracing_enabled",
]

log = logging.getLogger("kaigo.telemetry")

REDACTED: Final = "[redacted]"
DEFAULT_SERVICE_NAME: Final = "kaigo-graph"
_PSEUDONYM_LABEL: Final = "kaigo-graph/telemetry/enduser-pseudonym/v1"

_provider: TracerProvider | None = None


# --- redaction --------------------------------------------------------------------------------------


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED if contains_valid_number(value) else value
    if isinstance(value, bytes):
        return REDACTED if contains_valid_number(value.decode("latin-1")) else value
    if isinstance(value, tuple | list):
        return type(value)(_clean_value(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _clean_value(v) for k, v in value.items() if not _dirty_text(str(k))}
    return value


_known_clean: set[str] = set()
"""Texts already found to hold no number (statements, loader names, pseudonyms and hashes repeat on
every request): looked up, not scanned again. Bounded; a text in it holds no number by construction."""
_KNOWN_CLEAN_MAX: Final = 4096


def _dirty_text(text: str) -> bool:
    """Whether ``text`` holds a valid number (shorter than 12 characters: cannot)."""
    if len(text) < 12 or text in _known_clean:
        return False
    if contains_valid_number(text):
        return True
    if len(_known_clean) >= _KNOWN_CLEAN_MAX:
        _known_clean.clear()
    _known_clean.add(text)
    return False


def _dirty(values: Iterable[Any]) -> bool:
    """Whether any string among ``values`` (attribute values: scalars, sequences and mappings of them)
    holds a valid number. Runs on every span: numbers and booleans are passed over by their exact type."""
    for value in values:
        kind = type(value)
        if kind is int or kind is bool or kind is float or value is None:
            continue
        if isinstance(value, str):
            if _dirty_text(value):
                return True
        elif isinstance(value, bytes):
            if _dirty_text(value.decode("latin-1")):
                return True
        elif isinstance(value, tuple | list | Mapping):
            inner = [*value.values(), *map(str, value)] if isinstance(value, Mapping) else value
            if _dirty(inner):
                return True
    return False


def _clean(attributes: Attributes) -> Attributes:
    if not attributes or not _dirty(attributes.values()):
        return attributes
    return {k: _clean_value(v) for k, v in attributes.items()}


_clean_resources: dict[int, Resource] = {}
"""Resources (immutable, one per provider) already found clean, by id, kept alive by the value."""


def _resource_dirty(resource: Resource) -> bool:
    if _clean_resources.get(id(resource)) is resource:
        return False
    if _dirty(resource.attributes.values()):
        return True
    if len(_clean_resources) > 16:
        _clean_resources.clear()
    _clean_resources[id(resource)] = resource
    return False


class RedactingSpanProcessor(SpanProcessor):
    """Wraps the exporter's processor: hands it each span with every attribute value (span, event,
    resource) and the name and status text that hold a valid individual number replaced by
    ``[redacted]``. The last line of defence, whatever an instrumentation put on a span."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(redacted(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def redacted(span: ReadableSpan) -> ReadableSpan:
    """``span`` itself when it is clean (the common case: one look at each text), else a copy without
    the numbers."""
    description = span.status.description
    if not (
        _dirty_text(span.name)
        or _resource_dirty(span.resource)
        or (span.attributes and _dirty(span.attributes.values()))
        or (description and _dirty_text(description))
        or any(_dirty_text(e.name) or (e.attributes and _dirty(e.attributes.values())) for e in span.events)
    ):
        return span
    events = [
        Event(mask_valid_numbers(e.name, REDACTED), _clean(e.attributes), e.timestamp) for e in span.events
    ]
    return ReadableSpan(
        name=mask_valid_numbers(span.name, REDACTED),
        context=span.context,
        parent=span.parent,
        resource=Resource(dict(_clean(span.resource.attributes) or {}), span.resource.schema_url),
        attributes=_clean(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, mask_valid_numbers(description or "", REDACTED) or None),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


# --- configuration ----------------------------------------------------------------------------------


def pseudonym_key(vault: NumberVault) -> bytes:
    """A key of its own for ``enduser.pseudo.id``, derived from the data key through the vault's
    index key and a label no individual number can equal (it has letters): it decrypts and indexes
    nothing, and the trace store never sees it."""
    return hmac.new(vault.blind_index_raw(_PSEUDONYM_LABEL), b"enduser.pseudo.id", hashlib.sha256).digest()


def _exporter_from_env(env: Mapping[str, str]) -> SpanExporter | None:
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names:
        names = ["otlp"] if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else ["none"]
    name = names[0]
    if len(names) > 1:
        log.warning("OTEL_TRACES_EXPORTER lists several exporters; using %s", name)
    if name == "none":
        return None
    if name == "console":
        return ConsoleSpanExporter(service_name=env.get("OTEL_SERVICE_NAME", DEFAULT_SERVICE_NAME))
    if name != "otlp":
        raise SystemExit(f"OTEL_TRACES_EXPORTER={name} is not supported (otlp, console or none)")
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    # the SDK's exporters with a lean encoder (api/otlp.py: the same bytes for a fraction of the CPU)
    if protocol == "grpc":
        from .otlp import LeanGrpcSpanExporter

        return LeanGrpcSpanExporter()  # reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, HEADERS, INSECURE …
    if protocol == "http/protobuf":
        from .otlp import LeanHttpSpanExporter

        return LeanHttpSpanExporter()
    raise SystemExit(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported (http/protobuf or grpc)")


def configure(
    exporter: SpanExporter | None = None,
    *,
    batch: bool = False,
    pseudonym_secret: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> TracerProvider | None:
    """Switch tracing on with ``exporter`` (or the one the ``OTEL_*`` variables name) and return the
    provider; ``None`` (tracing off) when there is no exporter. Replaces any earlier configuration.

    ``batch`` exports from a background thread (servers); otherwise each span is exported as it ends
    (tests, the console). ``pseudonym_secret`` keys ``enduser.pseudo.id`` (see :func:`pseudonym_key`).
    """
    global _provider
    shutdown()
    env = os.environ if env is None else env
    if exporter is None:
        exporter = _exporter_from_env(env) if configured_by_env(env) else None
    if exporter is None:
        return None
    provider, hold = build_provider(exporter, env=env, batch=batch)
    _provider = provider
    use_pseudonym_key(pseudonym_secret)
    use_document_id_source(_documents.traced_document_id)
    use_tracer(provider.get_tracer("kaigo-graph"), hold)
    return provider


def build_provider(
    exporter: SpanExporter, *, env: Mapping[str, str], batch: bool
) -> tuple[TracerProvider, TraceHold | None]:
    """A provider exporting to ``exporter`` behind the redaction net, sampling as ``OTEL_TRACES_SAMPLER``
    (``_ARG``) says, and the hold of its deferred decisions (``None`` for a sampler that defers none)."""
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    sampler, deferred = sampler_from_env(env)
    exporting = RedactingSpanProcessor(
        BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    )
    hold = TraceHold(exporting) if deferred else None
    provider = TracerProvider(
        resource=Resource.create(attributes),
        sampler=DeferredSampler(sampler, hold) if hold is not None else sampler,
    )
    provider.add_span_processor(hold if hold is not None else exporting)
    return provider, hold


def configure_from_env(*, pseudonym_secret: bytes | None = None) -> TracerProvider | None:
    """The server's configuration: the ``OTEL_*`` variables, spans exported in batches."""
    provider = configure(batch=True, pseudonym_secret=pseudonym_secret)
    if provider is not None:
        log.info(
            "tracing on: exporting spans as %s", os.environ.get("OTEL_SERVICE_NAME", DEFAULT_SERVICE_NAME)
        )
    return provider


def shutdown() -> None:
    """Switch tracing off, flushing and closing the provider's exporter."""
    global _provider
    use_tracer(None)
    use_pseudonym_key(None)
    if _provider is not None:
        provider, _provider = _provider, None
        provider.shutdown()


def tracing_enabled() -> bool:
    return current_tracer() is not None


# --- the HTTP span ----------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KNOWN_PATHS: Final = frozenset({"/graphql", "/healthz", "/readyz"})
"""Paths named on spans; any other is left out (a path can carry anything a client typed)."""
UNTRACED_PATHS: Final = frozenset({"/healthz", "/readyz"})
"""Probes polled every few seconds by orchestrators: a span each would bury the requests in the UI."""


class _HeaderGetter(Getter[list[tuple[bytes, bytes]]]):
    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.lower().encode()
        found = [v.decode("latin-1") for k, v in carrier if k.lower() == wanted]
        return found or None

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier]


_GETTER: Final = _HeaderGetter()
_PROPAGATOR: Final = TraceContextTextMapPropagator()


def _server_attributes(scope: Scope, path: str | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"http.request.method": scope.get("method", "_OTHER")}
    if path is not None:
        attributes["url.path"] = path  # never the query string: a GET can carry a whole query
        attributes["http.route"] = path
    attributes["url.scheme"] = scope.get("scheme", "http")
    server = scope.get("server")
    if server and server[0] is not None:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    for key, value in scope.get("headers", ()):
        if key == b"user-agent":
            attributes["user_agent.original"] = value.decode("latin-1")[:256]
            break
    return attributes


class TracingMiddleware:
    """A server span per HTTP request, continuing the caller's W3C trace context (traceparent,
    tracestate). Names the method and a known path only; no query string, no body, no headers but
    the user agent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = current_tracer()
        if tracer is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in UNTRACED_PATHS:
            with untraced():
                await self.app(scope, receive, send)
            return
        path = scope.get("path") if scope.get("path") in KNOWN_PATHS else None
        method = scope.get("method", "HTTP")
        parent = _PROPAGATOR.extract(scope.get("headers", []), getter=_GETTER)
        span = tracer.start_span(
            f"{method} {path}" if path else method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=_server_attributes(scope, path),
            record_exception=False,
        )
        token = attach(set_span_in_context(span, parent))

        async def traced_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                span.set_attribute("http.response.status_code", status)
                if status >= 400:  # a refusal (401 and 403: a denial) or a failure: never sampled away
                    keep_trace("denied" if status in (401, 403) else "failed", span.get_span_context())
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
            await send(message)

        try:
            await self.app(scope, receive, traced_send)
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR))
            if isinstance(exc, Exception):  # not a cancellation (the client went away)
                keep_trace("failed", span.get_span_context())
            raise
        finally:
            detach(token)
            span.end()


# --- the app ----------------------------------------------------------------------------------------


def configured_by_env(env: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces (an exporter other than none, or an endpoint)."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def instrument_app(app: Any, engine: AsyncEngine) -> None:
    """Install the HTTP span middleware and the statement hooks (both idle while tracing is off)."""
    app.add_middleware(TracingMiddleware)
    instrument_engine(engine)


def start_from_env(vault: NumberVault) -> bool:
    """At server start: configure tracing when the environment asks for it; True if it did (then call
    :func:`shutdown` at the end). Leaves a configuration made otherwise (tests) alone."""
    if not configured_by_env():
        return False
    return configure_from_env(pseudonym_secret=pseudonym_key(vault)) is not None
