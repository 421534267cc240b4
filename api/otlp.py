"""A lean OTLP trace encoder (protobuf wire format written directly) and the exporters using it.

Why: the SDK's ``trace_encoder.encode_spans`` builds a protobuf message object field by field for
every span, attribute, event and status (each a Python → upb call that copies its argument), then
serializes the tree. The server pays that for every span it exports, inside a strict CPU budget.
:func:`encode_spans` here writes the same ``ExportTraceServiceRequest`` bytes straight away: tag
bytes precomputed, resource and scope encoded once (cached by identity), and the encoded
``KeyValue`` of a str/bool/int attribute cached (the same SQL text, route and method repeat on
every request).

``bench/otlp_encoding.py`` compares both paths with the SDK's (HTTP: the SDK's serialized message;
gRPC: the message the stub serializes, which parsing our bytes back still beats, so the gRPC exporter
uses it too); docs/figures.md keeps the results.

Exactness: the bytes are what the SDK's encoder serializes (same fields, same order: the tests compare
the decoded messages and the bytes). Attribute values of the common types (str, bool, int in int64
range, float, bytes, None, list/tuple of those) are written here; any other value, or one the fast
path refuses (an out-of-range int, a lone surrogate…), goes through the SDK's own ``_encode_key_value``
so that what it encodes, skips or rejects (logging "Failed to encode key") stays exactly the same.
As with the SDK, a link's trace_state is not sent. Resources and scopes are taken as immutable (the
SDK's are) and their encodings cached by identity; the caches are module-level, bounded, and only
ever hold encodings that are a pure function of their key, so threads sharing them cannot go wrong.

Private SDK members relied upon (versions pinned in requirements.lock; ``tests/test_otlp.py`` fails
loudly if they move): ``opentelemetry.exporter.otlp.proto.common._internal._encode_key_value`` (the
slow path); for :class:`LeanHttpSpanExporter`, the HTTP exporter's ``_shutdown``, ``_metrics``,
``_max_request_size``, ``_client`` and ``http._common._is_request_too_large`` /
``RequestPayloadTooLargeError``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from opentelemetry.exporter.otlp.proto.common._internal import _encode_key_value
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as _SdkGrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._common import (
    RequestPayloadTooLargeError,
    _is_request_too_large,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as _SdkHttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE
from opentelemetry.trace import SpanKind, StatusCode

__all__ = ["LeanGrpcSpanExporter", "LeanHttpSpanExporter", "encode_spans"]

# the SDK encoder's logger: an attribute refused reads (and is filtered) as it always was
_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.common._internal")
# the SDK exporter's own logger: the lean exporter's messages read as they always did
_http_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")

# --- wire primitives ---------------------------------------------------------------------------------

_M64: Final = (1 << 64) - 1
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_U32_MAX: Final = (1 << 32) - 1

_B1: Final[list[bytes]] = [bytes((i,)) for i in range(128)]
"""One-byte varints."""


def _varint(n: int) -> bytes:
    """The varint of a non-negative ``n`` (callers pass lengths, counts, or int64 masked to 64 bits)."""
    if n < 0x80:
        return _B1[n]
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_pack_double: Final = struct.Struct("<Bd").pack  # tag + double
_pack_fixed64: Final = struct.Struct("<BQ").pack  # tag + fixed64
_pack_two_fixed64: Final = struct.Struct("<BQBQ").pack  # start and end time, one call

_SMALL_INT: Final[list[bytes]] = [b"\x18" + _B1[i] for i in range(128)]
"""AnyValue bodies of the ints 0–127 (int_value, field 3)."""
_TRUE: Final = b"\x10\x01"
_FALSE: Final = b"\x10\x00"

# span fields (opentelemetry/proto/trace/v1/trace.proto); wire type 2 unless noted
_TRACE_ID: Final = b"\x0a\x10"  # field 1, 16 bytes
_SPAN_ID: Final = b"\x12\x08"  # field 2, 8 bytes
_TRACE_STATE: Final = b"\x1a"  # field 3
_PARENT_ID: Final = b"\x22\x08"  # field 4, 8 bytes
_NAME: Final = b"\x2a"  # field 5
_START: Final = 0x39  # field 7, fixed64
_END: Final = 0x41  # field 8, fixed64
_ATTRIBUTE: Final = 0x4A  # field 9
_DROPPED_ATTRIBUTES: Final = b"\x50"  # field 10, varint
_EVENT: Final = b"\x5a"  # field 11
_DROPPED_EVENTS: Final = b"\x60"  # field 12, varint
_LINK: Final = b"\x6a"  # field 13
_DROPPED_LINKS: Final = b"\x70"  # field 14, varint
_STATUS: Final = b"\x7a"  # field 15
# flags, field 16, fixed32: SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK (0x100), | IS_REMOTE (0x200)
_FLAGS_LOCAL: Final = b"\x85\x01\x00\x01\x00\x00"
_FLAGS_REMOTE: Final = b"\x85\x01\x00\x03\x00\x00"
# the same flags on a link (field 6, fixed32)
_LINK_FLAGS_LOCAL: Final = b"\x35\x00\x01\x00\x00"
_LINK_FLAGS_REMOTE: Final = b"\x35\x00\x03\x00\x00"

_KIND: Final[dict[SpanKind, bytes]] = {  # SDK SpanKind → proto Span.SpanKind (field 6): value + 1
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}


def _string_field(tag: bytes, text: str) -> bytes:
    data = text.encode()
    return tag + _varint(len(data)) + data


# --- attributes --------------------------------------------------------------------------------------


class _Slow(Exception):
    """A value the fast path leaves to the SDK's encoder."""


def _any_value(value: Any) -> bytes:
    """The body of the ``AnyValue`` the SDK's ``_encode_value`` makes of ``value``; raises for a value
    the fast path does not take (the caller then asks the SDK)."""
    t = type(value)
    if t is str:
        data = value.encode()
        return b"\x0a" + _varint(len(data)) + data
    if t is bool:
        return _TRUE if value else _FALSE
    if t is int:
        if 0 <= value < 128:
            return _SMALL_INT[value]
        if value < _INT64_MIN or value > _INT64_MAX:
            raise _Slow  # the SDK logs "Value out of range" and skips the key
        return b"\x18" + _varint(value & _M64)
    if t is float:
        return _pack_double(0x21, value)
    if t is bytes:
        return b"\x3a" + _varint(len(value)) + value
    if value is None:
        return b""
    if t is list or t is tuple:
        elements = []
        for element in value:
            body = _any_value(element)
            elements.append(b"\x0a" + _varint(len(body)) + body)
        array = b"".join(elements)
        return b"\x2a" + _varint(len(array)) + array
    raise _Slow


def _key_value(key: Any, value: Any) -> bytes:
    """The ``KeyValue`` message body for ``key`` = ``value``."""
    if type(key) is not str:
        raise _Slow
    body = _any_value(value)
    key_field = b"\x0a" + _varint(len(data)) + data if (data := key.encode()) else b""
    return key_field + b"\x12" + _varint(len(body)) + body


_CACHE_MAX: Final = 4096
_CACHE_BYTES_MAX: Final = 4 << 20
_cache_bytes = 0
_failures = 0
"""Attributes skipped after the SDK's encoder refused them (the resource and scope caches skip an
encoding that logged: the log then comes with every batch, as with the SDK)."""


def _slow_key_value(key: Any, value: Any) -> bytes | None:
    """The SDK's own encoding of one attribute, or ``None`` (logged) when it refuses it."""
    global _failures
    try:
        return _encode_key_value(key, value).SerializePartialToString()
    except Exception as error:  # the SDK's _encode_attributes: log, skip the key
        _failures += 1
        _logger.exception("Failed to encode key %s: %s", key, error)
        return None


def _attributes(
    items: Iterable[tuple[Any, Any]],
    tag: int,
    cache: dict[tuple[Any, ...], bytes],
    append: Callable[[bytes], None],
) -> None:
    """Append each attribute as a length-delimited field ``tag`` (a ``KeyValue``); str, bool and int
    values through ``cache``, bounded."""
    global _cache_bytes
    tag_byte = _B1[tag]
    for key, value in items:
        t = type(value)
        if t is str:
            ck: tuple[Any, ...] = (key, value)
        elif t is int or t is bool:
            ck = (key, value, t)  # 1 == True: the type tells them apart
        else:
            try:
                kv = _key_value(key, value)
            except Exception:
                slow = _slow_key_value(key, value)
                if slow is None:
                    continue
                kv = slow
            append(tag_byte + _varint(len(kv)) + kv)
            continue
        field = cache.get(ck)
        if field is None:
            try:
                kv = _key_value(key, value)
            except Exception:
                slow = _slow_key_value(key, value)
                if slow is None:
                    continue
                kv = slow
            field = tag_byte + _varint(len(kv)) + kv
            if len(cache) >= _CACHE_MAX or _cache_bytes > _CACHE_BYTES_MAX:
                _clear_caches()
            cache[ck] = field
            _cache_bytes += len(field) + (len(value) if t is str else 0)
        append(field)


_span_attribute_cache: dict[tuple[Any, ...], bytes] = {}
_event_attribute_cache: dict[tuple[Any, ...], bytes] = {}
_other_attribute_cache: dict[tuple[Any, ...], bytes] = {}
_name_cache: dict[str, bytes] = {}


def _clear_caches() -> None:
    global _cache_bytes
    _span_attribute_cache.clear()
    _event_attribute_cache.clear()
    _other_attribute_cache.clear()
    _cache_bytes = 0


def _attribute_fields(
    attributes: Mapping[str, Any] | None, tag: int, cache: dict[tuple[Any, ...], bytes]
) -> bytes:
    if not attributes:
        return b""
    parts: list[bytes] = []
    _attributes(attributes.items(), tag, cache, parts.append)
    return b"".join(parts)


# --- resource and scope ------------------------------------------------------------------------------

_resource_cache: dict[int, tuple[Resource, bytes]] = {}
_scope_cache: dict[int, tuple[InstrumentationScope | None, bytes]] = {}


def _resource_field(resource: Resource) -> bytes:
    """``resource`` (field 1 of ResourceSpans), cached by identity (a resource is immutable)."""
    cached = _resource_cache.get(id(resource))
    if cached is not None and cached[0] is resource:
        return cached[1]
    failures = _failures
    body = _attribute_fields(resource.attributes, 0x0A, _other_attribute_cache)
    field = b"\x0a" + _varint(len(body)) + body
    if failures == _failures:
        if len(_resource_cache) >= 64:
            _resource_cache.clear()
        _resource_cache[id(resource)] = (resource, field)  # keeps it alive: its id is not reused
    return field


def _scope_field(scope: InstrumentationScope | None) -> bytes:
    """``scope`` (field 1 of ScopeSpans; the SDK sends an empty one for no scope), cached by identity."""
    if scope is None:
        return b"\x0a\x00"
    cached = _scope_cache.get(id(scope))
    if cached is not None and cached[0] is scope:
        return cached[1]
    failures = _failures
    parts = []
    if scope.name:
        parts.append(_string_field(b"\x0a", scope.name))
    if scope.version:
        parts.append(_string_field(b"\x12", scope.version))
    parts.append(_attribute_fields(scope.attributes, 0x1A, _other_attribute_cache))
    body = b"".join(parts)
    field = b"\x0a" + _varint(len(body)) + body
    if failures == _failures:
        if len(_scope_cache) >= 256:
            _scope_cache.clear()
        _scope_cache[id(scope)] = (scope, field)
    return field


# --- spans -------------------------------------------------------------------------------------------


def _count(tag: bytes, count: int) -> bytes:
    """A uint32 count field (the SDK's message refuses a count out of range)."""
    if count < 0 or count > _U32_MAX:
        raise ValueError(f"Value out of range: {count}")
    return tag + _varint(count)


_UNSET: Final = StatusCode.UNSET
_ERROR: Final = StatusCode.ERROR
_STATUS_PLAIN: Final = (b"\x7a\x00", b"\x7a\x02\x18\x01", b"\x7a\x02\x18\x02")  # UNSET, OK, ERROR


def _status_field(status: Any) -> bytes:
    message = status.description
    if not message:
        status_code = status.status_code
        if status_code is _UNSET:
            return _STATUS_PLAIN[0]
        if status_code is _ERROR:
            return _STATUS_PLAIN[2]
    code = status.status_code.value
    if not message and 0 <= code <= 2:
        return _STATUS_PLAIN[code]
    body = (_string_field(b"\x12", message) if message else b"") + (b"\x18" + _varint(code) if code else b"")
    return _STATUS + _varint(len(body)) + body


def _events(span_events: Sequence[Any], append: Callable[[bytes], None]) -> None:
    cache = _event_attribute_cache
    for event in span_events:
        parts: list[bytes] = []
        timestamp = event.timestamp
        if timestamp:
            parts.append(_pack_fixed64(0x09, timestamp))
        if event.name:
            parts.append(_string_field(b"\x12", event.name))
        attributes = event.attributes
        if attributes:
            _attributes(attributes.items(), 0x1A, cache, parts.append)
        dropped = event.dropped_attributes
        if dropped:
            parts.append(_count(b"\x20", dropped))
        body = b"".join(parts)
        append(_EVENT + _varint(len(body)) + body)


def _links(span_links: Sequence[Any], append: Callable[[bytes], None]) -> None:
    for link in span_links:
        context = link.context
        parts = [
            _TRACE_ID,
            context.trace_id.to_bytes(16, "big"),
            _SPAN_ID,
            context.span_id.to_bytes(8, "big"),
        ]  # the SDK sends no trace_state on a link
        attributes = link.attributes
        if attributes:
            _attributes(attributes.items(), 0x22, _other_attribute_cache, parts.append)
        dropped = link.dropped_attributes
        if dropped:
            parts.append(_count(b"\x28", dropped))
        parts.append(_LINK_FLAGS_REMOTE if context and context.is_remote else _LINK_FLAGS_LOCAL)
        body = b"".join(parts)
        append(_LINK + _varint(len(body)) + body)


def _span(span: ReadableSpan) -> bytes:
    """One ``Span`` message body, its fields in field-number order (as upb writes them)."""
    context: Any = span.get_span_context()
    parts = [_TRACE_ID, context.trace_id.to_bytes(16, "big"), _SPAN_ID, context.span_id.to_bytes(8, "big")]
    append = parts.append
    trace_state = context.trace_state
    if trace_state:  # None or empty: no field
        append(_string_field(_TRACE_STATE, ",".join([f"{k}={v}" for k, v in trace_state.items()])))
    parent = span.parent
    if parent:
        append(_PARENT_ID)
        append(parent.span_id.to_bytes(8, "big"))
    name = span.name
    if name:
        field = _name_cache.get(name)
        if field is None:
            field = _string_field(_NAME, name)
            if len(_name_cache) >= _CACHE_MAX:
                _name_cache.clear()
            _name_cache[name] = field
        append(field)
    append(_KIND[span.kind])
    start = span.start_time
    end = span.end_time
    if start and end:
        append(_pack_two_fixed64(_START, start, _END, end))
    else:
        if start:
            append(_pack_fixed64(_START, start))
        if end:
            append(_pack_fixed64(_END, end))
    attributes = span.attributes
    if attributes:
        _attributes(attributes.items(), _ATTRIBUTE, _span_attribute_cache, append)
    dropped = span.dropped_attributes
    if dropped:
        append(_count(_DROPPED_ATTRIBUTES, dropped))
    events = span.events
    if events:
        _events(events, append)
    dropped = span.dropped_events
    if dropped:
        append(_count(_DROPPED_EVENTS, dropped))
    links = span.links
    if links:
        _links(links, append)
    dropped = span.dropped_links
    if dropped:
        append(_count(_DROPPED_LINKS, dropped))
    status = span.status
    if status is not None:
        append(_status_field(status))
    append(_FLAGS_REMOTE if parent and parent.is_remote else _FLAGS_LOCAL)
    return b"".join(parts)


_SPAN_FIELD: Final = b"\x12"  # ScopeSpans.spans, field 2
_SPAN_SHORT: Final = [_SPAN_FIELD + _B1[i] for i in range(128)]


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The serialized ``ExportTraceServiceRequest`` of ``spans``, as the SDK's
    ``encode_spans(spans).SerializePartialToString()``: grouped by resource, then by instrumentation
    scope, both in order of first appearance and by equality (as the SDK's dicts group them)."""
    # group ids by object identity first (Resource hashes by dumping its attributes to JSON), then by
    # equality once per distinct object: the same groups, in the same order, as the SDK's dicts
    resources: list[tuple[Resource, list[tuple[InstrumentationScope | None, list[bytes]]]]] = []
    resource_by_id: dict[int, int] = {}
    resource_by_value: dict[Resource, int] = {}
    scope_by_id: dict[tuple[int, int], list[bytes]] = {}
    scope_by_value: list[dict[InstrumentationScope | None, list[bytes]]] = []
    last_resource: Any = None
    last_scope: Any = None
    last_group: list[bytes] = []
    span_body = _span
    for span in spans:
        resource = span.resource
        scope = span.instrumentation_scope or None
        if resource is last_resource and scope is last_scope:
            body = span_body(span)
            last_group.append(
                _SPAN_FIELD + _varint(len(body)) if len(body) >= 0x80 else _SPAN_SHORT[len(body)]
            )
            last_group.append(body)
            continue
        index = resource_by_id.get(id(resource))
        if index is None:
            index = resource_by_value.get(resource)
            if index is None:
                index = resource_by_value[resource] = len(resources)
                resources.append((resource, []))
                scope_by_value.append({})
            resource_by_id[id(resource)] = index
        group = scope_by_id.get((index, id(scope)))
        if group is None:
            by_value = scope_by_value[index]
            group = by_value.get(scope)
            if group is None:
                group = by_value[scope] = []
                resources[index][1].append((scope, group))
            scope_by_id[(index, id(scope))] = group
        last_resource, last_scope, last_group = resource, scope, group
        body = span_body(span)
        group.append(_SPAN_FIELD + _varint(len(body)))
        group.append(body)

    out: list[bytes] = []
    for resource, scopes in resources:
        parts = [_resource_field(resource)]
        for scope, encoded in scopes:
            scope_parts = [_scope_field(scope), *encoded]
            schema_url = scope.schema_url if scope else None
            if schema_url:
                scope_parts.append(_string_field(b"\x1a", schema_url))
            scope_body = b"".join(scope_parts)
            parts.append(b"\x12" + _varint(len(scope_body)) + scope_body)
        if resource.schema_url:
            parts.append(_string_field(b"\x1a", resource.schema_url))
        resource_body = b"".join(parts)
        out.append(b"\x0a" + _varint(len(resource_body)) + resource_body)
    return b"".join(out)


# --- exporters ---------------------------------------------------------------------------------------


class LeanHttpSpanExporter(_SdkHttpSpanExporter):
    """The SDK's OTLP/HTTP span exporter (every ``OTEL_EXPORTER_OTLP_*`` variable and argument as
    before), encoding with :func:`encode_spans`. ``export`` mirrors the SDK's (1.45.2) but for the
    encoding: shutdown check, metrics, size limit, the client's retries and result codes."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            _http_logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE

        with self._metrics.export_operation(len(spans)) as result:
            try:
                serialized_data = encode_spans(spans)
            except Exception as error:
                _http_logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE

            if _is_request_too_large(serialized_data, self._max_request_size):
                _http_logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size %d bytes.",
                    len(serialized_data),
                    self._max_request_size,
                )
                result.error = RequestPayloadTooLargeError(
                    f"Serialized span request size {len(serialized_data)} "
                    f"bytes exceeds max_request_size "
                    f"{self._max_request_size} bytes."
                )
                return SpanExportResult.FAILURE

            export_result = self._client.export(serialized_data)
            if not export_result.success:
                result.error = export_result.error
                result.error_attrs = (
                    {HTTP_RESPONSE_STATUS_CODE: export_result.status_code}
                    if export_result.status_code is not None
                    else None
                )
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


class LeanGrpcSpanExporter(_SdkGrpcSpanExporter):
    """The SDK's OTLP/gRPC span exporter (every ``OTEL_EXPORTER_OTLP_*`` variable and argument as
    before), its request parsed (by upb, in C) from :func:`encode_spans`' bytes instead of built
    field by field."""

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        return ExportTraceServiceRequest.FromString(encode_spans(data))
