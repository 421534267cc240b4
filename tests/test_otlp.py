"""The lean OTLP trace encoder (api/otlp.py) against the SDK's, and its exporters over real round trips.

Every comparison decodes both encodings with ``ExportTraceServiceRequest.FromString`` and asserts the
messages equal; the bytes are also asserted identical (both write fields in field-number order), the
stricter check.
"""

from __future__ import annotations

import enum
import gzip
import inspect
import logging
import math
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.exporter.otlp.proto.grpc.exporter import OTLPExporterMixin
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as SdkGrpcExporter
from opentelemetry.exporter.otlp.proto.http import _common as http_common
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as SdkHttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from api import otlp
from api.otlp import LeanGrpcSpanExporter, LeanHttpSpanExporter, encode_spans

RESOURCE = Resource.create({"service.name": "kaigo-graph", "service.version": "0.1.0"})
SCOPE = InstrumentationScope("kaigo-graph", "0.1.0", "https://opentelemetry.io/schemas/1.26.0", {"a": 1})


def sdk_bytes(spans: Sequence[ReadableSpan]) -> bytes:
    return sdk_encode_spans(spans).SerializePartialToString()


def assert_same(spans: Sequence[ReadableSpan]) -> bytes:
    lean, sdk = encode_spans(spans), sdk_bytes(spans)
    assert ExportTraceServiceRequest.FromString(lean) == ExportTraceServiceRequest.FromString(sdk)
    assert lean == sdk
    return lean


def context(
    trace_id: int = 0x0AF7651916CD43DD8448EB211C80319C, span_id: int = 0xB7AD6B7169203331, **kw: Any
) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=kw.pop("is_remote", False), **kw)


def span(name: str = "op", **kw: Any) -> ReadableSpan:
    kw.setdefault("context", context())
    kw.setdefault("resource", RESOURCE)
    kw.setdefault("instrumentation_scope", SCOPE)
    kw.setdefault("start_time", 1_764_200_000_000_000_000)
    kw.setdefault("end_time", 1_764_200_000_250_000_000)
    return ReadableSpan(name, **kw)


# --- spans from a real TracerProvider -------------------------------------------------------------------


def provider_spans() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=RESOURCE, span_limits=SpanLimits(max_span_attributes=6, max_events=3, max_links=2)
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("kaigo-graph", "0.1.0", schema_url="https://example.org/schema")
    other = provider.get_tracer("persistence", attributes={"scope.kind": "db"})
    remote = SpanContext(
        0x1234,
        0x5678,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("kaigo", "web"), ("x", "1")]),
    )
    with tracer.start_as_current_span(
        "POST /graphql",
        context=set_span_in_context(NonRecordingSpan(remote)),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": "POST", "server.port": 443, "url.path": "/graphql"},
    ) as server:
        for kind in SpanKind:
            with tracer.start_as_current_span(f"kind {kind.name}", kind=kind) as child:
                child.set_attribute("kaigo.kind", kind.value)
        with other.start_as_current_span(
            "SELECT",
            kind=SpanKind.CLIENT,
            links=[Link(remote, {"link.n": 1}), Link(server.get_span_context())],
        ) as db:
            db.set_attributes({f"a{i}": i for i in range(9)})  # over the limit: dropped attributes
            for i in range(5):  # over the limit: dropped events
                db.add_event(f"e{i}", {"i": i, "s": "イベント", "f": i / 3})
            db.set_status(Status(StatusCode.ERROR, "接続が切れました"))
        with tracer.start_as_current_span("ok") as ok:
            ok.set_status(Status(StatusCode.OK))
            ok.add_link(remote, {"x": [1, 2, 3]})
            ok.add_link(remote)
            ok.add_link(remote)  # over the limit: dropped links
        try:
            with tracer.start_as_current_span("fails"):
                raise ValueError("boom")
        except ValueError:
            pass
        server.set_attributes({
            "bools": [True, False],
            "ints": [1, -1, 2**62],
            "floats": [0.5, -1.25],
            "strs": ["a", "", "日本語"],
            "empty": [],
        })  # fmt: skip
    return list(exporter.get_finished_spans())


def test_tracer_provider_spans() -> None:
    spans = provider_spans()
    assert any(s.dropped_attributes for s in spans)
    assert any(s.dropped_events for s in spans)
    assert any(s.dropped_links for s in spans)
    request = ExportTraceServiceRequest.FromString(assert_same(spans))
    assert len(request.resource_spans) == 1
    assert len(request.resource_spans[0].scope_spans) == 2
    assert sum(len(s.spans) for s in request.resource_spans[0].scope_spans) == len(spans)


def test_each_span_alone_and_empty_batch() -> None:
    for s in provider_spans():
        assert_same([s])
    assert encode_spans([]) == sdk_bytes([]) == b""


# --- hand-made spans: the edge cases ----------------------------------------------------------------------


class Colour(enum.IntEnum):
    RED = 3


class Text(str):
    pass


ATTRIBUTES: dict[str, Any] = {
    "str": "text",
    "empty": "",
    "japanese": "介護保険の被保険者番号",
    "emoji": "👵🏻",
    "long": "SELECT " + "x, " * 2000 + "1",
    "true": True,
    "false": False,
    "zero": 0,
    "one": 1,
    "small": 127,
    "two_bytes": 128,
    "big": 2**62 + 12345,
    "int64_max": 2**63 - 1,
    "int64_min": -(2**63),
    "negative": -1,
    "negative_big": -(2**40),
    "float": 1.5,
    "float_zero": 0.0,
    "negative_zero": -0.0,
    "inf": math.inf,
    "minus_inf": -math.inf,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "bytes": b"\x00\xff",
    "empty_bytes": b"",
    "none": None,
    "str_list": ["a", "", "日本"],
    "str_tuple": ("x", "y"),
    "bool_list": [True, False],
    "int_list": [0, 1, -1, 2**63 - 1, -(2**63), 300],
    "float_list": [0.0, -2.5, math.inf],
    "bytes_list": [b"", b"ab"],
    "empty_list": [],
    "empty_tuple": (),
    "mixed": ["a", 1, 2.0, True, None, b"z"],
    "nested": [[1, 2], ["a"], []],
    "": "empty key",
}
SLOW_ATTRIBUTES: dict[Any, Any] = {  # types the fast path leaves to the SDK's encoder
    "mapping": {"k": 1, "nested": {"x": ["y"]}, 3: "int key"},
    "bytearray": bytearray(b"ab"),
    "range": range(3),
    "int_enum": Colour.RED,
    "str_subclass": Text("sub"),
    "list_of_dicts": [{"a": 1}],
    None: "none key",
}
REFUSED: dict[Any, Any] = {  # the SDK logs "Failed to encode key" and skips each of these
    "too_big": 2**63,
    "too_small": -(2**63) - 1,
    "huge_int": 2**70,
    "big_in_list": [1, 2**64],
    "surrogate": "\ud800",
    "surrogate_in_list": ["ok", "\udfff"],
    "complex": 1j,
    "object": object(),
    "set": {1},
    3: "int key",
}


def test_attribute_values() -> None:
    assert_same([span(attributes=ATTRIBUTES)])
    assert_same([span(attributes=BoundedAttributes(attributes=ATTRIBUTES, max_value_len=None))])
    request = ExportTraceServiceRequest.FromString(encode_spans([span(attributes=ATTRIBUTES)]))
    encoded = request.resource_spans[0].scope_spans[0].spans[0].attributes
    assert [kv.key for kv in encoded] == list(ATTRIBUTES)


def test_slow_path_attributes() -> None:
    assert_same([span(attributes=SLOW_ATTRIBUTES)])
    assert_same([span(attributes={**ATTRIBUTES, **SLOW_ATTRIBUTES})])


def test_refused_attributes_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        lean = assert_same([span(attributes={"before": 1, **REFUSED, "after": "x"})])
    keys = [
        kv.key
        for kv in ExportTraceServiceRequest.FromString(lean)
        .resource_spans[0]
        .scope_spans[0]
        .spans[0]
        .attributes
    ]
    assert keys == ["before", "after"]
    # both encoders log each refusal on the SDK encoder's logger: once each
    logged = [r for r in caplog.records if r.name == "opentelemetry.exporter.otlp.proto.common._internal"]
    assert len(logged) == 2 * len(REFUSED)
    assert all(r.getMessage().startswith("Failed to encode key") for r in logged)


def test_nan() -> None:
    # NaN != NaN: the decoded messages cannot compare equal, the bytes can
    s = span(attributes={"nan": math.nan, "nans": [math.nan, 1.0]})
    assert encode_spans([s]) == sdk_bytes([s])


def test_parents_kinds_and_statuses() -> None:
    spans = [span("root")]  # no parent
    spans.append(span("local child", parent=context(span_id=0x1111)))
    spans.append(span("remote child", parent=context(span_id=0x2222, is_remote=True)))
    spans.append(span("zero parent id", parent=context(span_id=0)))
    spans += [span(f"kind {k.name}", kind=k) for k in SpanKind]
    spans.append(span("error", status=Status(StatusCode.ERROR, "データベースに接続できません")))
    spans.append(span("error, no text", status=Status(StatusCode.ERROR)))
    spans.append(span("error, empty text", status=Status(StatusCode.ERROR, "")))
    spans.append(span("ok", status=Status(StatusCode.OK)))
    spans.append(span("unset", status=Status(StatusCode.UNSET)))
    spans.append(span("no status", status=None))
    spans.append(span(""))  # empty name
    spans.append(span("日本語の名前"))
    spans.append(span("no times", start_time=None, end_time=None))
    spans.append(span("zero times", start_time=0, end_time=0))
    spans.append(span("no end", end_time=None))
    spans.append(span("no start", start_time=None))
    spans.append(span("max times", start_time=2**64 - 1, end_time=2**64 - 1))
    spans.append(span("zero ids", context=context(trace_id=0, span_id=0)))
    spans.append(span("max ids", context=context(trace_id=2**128 - 1, span_id=2**64 - 1)))
    spans.append(
        span("trace state", context=context(trace_state=TraceState([("kaigo", "a=b"), ("vendor", "1")])))
    )
    spans.append(span("empty trace state", context=context(trace_state=TraceState())))
    for s in spans:
        assert_same([s])
    assert_same(spans)


def test_events_and_links() -> None:
    events = [
        Event("plain", timestamp=1),
        Event("with attributes", {"a": "b", "n": [1, 2], "ok": True}, timestamp=2**63),
        Event("", None, timestamp=5),
        Event("no attributes", {}, timestamp=6),
        Event("zero time", {"x": 1.5}, timestamp=0),
        Event(
            "日本語のイベント", BoundedAttributes(maxlen=1, attributes={"a": 1, "b": 2, "c": 3}), timestamp=7
        ),
        Event("refused", {"bad": 2**64, "good": "g"}, timestamp=8),
    ]
    links = [
        Link(context(span_id=0x10)),
        Link(context(span_id=0x11, is_remote=True), {"link": "attr", "n": -5}),
        Link(
            context(span_id=0x12, trace_state=TraceState([("k", "v")])), {"x": [0.5]}
        ),  # the SDK drops trace_state
        Link(context(span_id=0x13), BoundedAttributes(maxlen=2, attributes={"a": 1, "b": 2, "c": 3, "d": 4})),
        Link(context(trace_id=0, span_id=0)),
    ]
    dropped_events: BoundedList[Event] = BoundedList.from_seq(2, events)
    dropped_links: BoundedList[Link] = BoundedList.from_seq(1, links)
    assert dropped_events.dropped and dropped_links.dropped
    assert_same([span(events=events, links=links)])
    assert_same([span(events=dropped_events, links=dropped_links)])
    assert_same([span(events=[events[1]]), span(links=[links[1]])])


def test_dropped_attribute_counts() -> None:
    attributes = BoundedAttributes(maxlen=3, attributes={f"k{i}": i for i in range(10)})
    assert attributes.dropped == 7
    assert_same([span(attributes=attributes)])
    lots = BoundedAttributes(maxlen=1, attributes={f"k{i}": i for i in range(300)})  # a two-byte varint
    assert_same([span(attributes=lots)])


def test_resources_and_scopes_grouped_as_the_sdk_groups_them() -> None:
    other_resource = Resource({"service.name": "batch"}, schema_url="https://example.org/r")
    equal_resource = Resource.create({"service.name": "kaigo-graph", "service.version": "0.1.0"})
    empty_resource = Resource({})
    assert equal_resource == RESOURCE and equal_resource is not RESOURCE
    scope_a = InstrumentationScope("a")
    scope_b = InstrumentationScope("b", "2.0", None, {"lib": "b", "n": 2})
    scope_b_equal = InstrumentationScope("b", "2.0", None, {"lib": "b", "n": 2})
    scope_b_other_attributes = InstrumentationScope("b", "2.0", None, {"lib": "b", "n": 3})
    empty_scope = InstrumentationScope("")
    spans = [
        span("1", resource=RESOURCE, instrumentation_scope=scope_a),
        span("2", resource=other_resource, instrumentation_scope=scope_b),
        span("3", resource=equal_resource, instrumentation_scope=scope_b),
        span("4", resource=RESOURCE, instrumentation_scope=None),
        span("5", resource=other_resource, instrumentation_scope=scope_b_equal),
        span("6", resource=other_resource, instrumentation_scope=scope_b_other_attributes),
        span("7", resource=RESOURCE, instrumentation_scope=scope_a),
        span("8", resource=empty_resource, instrumentation_scope=empty_scope),
        span("9", resource=equal_resource, instrumentation_scope=SCOPE),
        span("10", resource=empty_resource, instrumentation_scope=None),
    ]
    request = ExportTraceServiceRequest.FromString(assert_same(spans))
    assert len(request.resource_spans) == 3
    assert [len(r.scope_spans) for r in request.resource_spans] == [4, 2, 2]
    # the caches by identity: the same bytes in a second batch, and with the objects rebuilt
    assert_same(spans)
    assert_same(list(reversed(spans)))


def test_attribute_cache_keeps_types_apart_and_stays_bounded() -> None:
    spans = [span(attributes={"v": True}), span(attributes={"v": 1}), span(attributes={"v": 1.0})]
    spans += [span(attributes={"v": False}), span(attributes={"v": 0}), span(attributes={"v": "1"})]
    assert_same(spans)
    assert_same(list(reversed(spans)))
    many = [span(attributes={"k": f"value {i}", "i": i}) for i in range(otlp._CACHE_MAX * 2 + 10)]
    assert_same(many)
    assert len(otlp._span_attribute_cache) <= otlp._CACHE_MAX
    assert_same(many)
    assert_same([span(attributes={"same key": "x"}, events=[Event("e", {"same key": "x"}, timestamp=1)])])


# --- hypothesis --------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-(2**70), max_value=2**70),  # some out of the int64 range: skipped
    st.floats(allow_nan=False),
    st.binary(max_size=10),
    st.none(),
)
values = st.one_of(scalars, st.lists(scalars, max_size=5), st.tuples(scalars, scalars))
attribute_dicts = st.dictionaries(st.text(max_size=12), values, max_size=8)
ids64 = st.integers(min_value=0, max_value=2**64 - 1)
times = st.one_of(st.none(), st.integers(min_value=0, max_value=2**64 - 1))
trace_states = st.lists(
    st.tuples(
        st.from_regex(r"[a-z][a-z0-9_\-*/]{0,10}", fullmatch=True),
        st.from_regex(r"[a-zA-Z0-9]{1,8}", fullmatch=True),
    ),
    max_size=3,
    unique_by=lambda kv: kv[0],
).map(TraceState)
contexts = st.builds(
    SpanContext,
    trace_id=st.integers(min_value=0, max_value=2**128 - 1),
    span_id=ids64,
    is_remote=st.booleans(),
    trace_flags=st.sampled_from([TraceFlags(0), TraceFlags(1)]),
    trace_state=trace_states,
)
statuses = st.one_of(
    st.just(Status(StatusCode.UNSET)),
    st.just(Status(StatusCode.OK)),
    st.builds(lambda d: Status(StatusCode.ERROR, d), st.one_of(st.none(), st.text(max_size=20))),
)
events = st.builds(
    Event, name=st.text(max_size=10), attributes=st.one_of(st.none(), attribute_dicts), timestamp=ids64
)
links = st.builds(Link, context=contexts, attributes=st.one_of(st.none(), attribute_dicts))
resources = st.sampled_from([RESOURCE, Resource({"service.name": "x"}, "https://s"), Resource({})])
scopes = st.sampled_from([SCOPE, InstrumentationScope("x", None, None, {"k": [1, 2]}), None])
spans = st.builds(
    ReadableSpan,
    name=st.text(max_size=20),
    context=contexts,
    parent=st.one_of(st.none(), contexts),
    resource=resources,
    attributes=st.one_of(st.none(), attribute_dicts),
    events=st.lists(events, max_size=3),
    links=st.lists(links, max_size=2),
    kind=st.sampled_from(list(SpanKind)),
    status=statuses,
    start_time=times,
    end_time=times,
    instrumentation_scope=scopes,
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(spans, min_size=1, max_size=4))
def test_property_same_as_sdk(batch: list[ReadableSpan]) -> None:
    logging.disable(logging.ERROR)  # refused attributes log once per encoding: noise here
    try:
        assert_same(batch)
    finally:
        logging.disable(logging.NOTSET)


# --- the private SDK members relied upon ------------------------------------------------------------------


def _code_lines(source: str) -> list[str]:
    lines = [re.sub(r"\s+#.*$", "", line).rstrip() for line in inspect.cleandoc(source).splitlines()]
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


def test_sdk_private_members_still_there() -> None:
    """If this fails the SDK moved something the lean exporters rely on: re-read its exporter (and
    ``api/otlp.py``) before upgrading."""
    exporter = SdkHttpExporter(endpoint="http://127.0.0.1:9/v1/traces")
    try:
        for name in ("_shutdown", "_metrics", "_max_request_size", "_client"):
            assert hasattr(exporter, name), f"OTLP/HTTP exporter lost {name}"
        assert callable(exporter._client.export)
        assert callable(exporter._metrics.export_operation)
    finally:
        exporter.shutdown()
    assert callable(http_common._is_request_too_large)
    assert issubclass(http_common.RequestPayloadTooLargeError, Exception)
    # LeanHttpSpanExporter.export is the SDK's export but for the encoding line and the logger's name
    sdk = _code_lines(inspect.getsource(SdkHttpExporter.export))
    sdk = [
        line.replace("encode_spans(spans).SerializePartialToString()", "encode_spans(spans)").replace(
            "_logger.", "_http_logger."
        )
        for line in sdk
    ]
    assert _code_lines(inspect.getsource(LeanHttpSpanExporter.export)) == sdk, "the SDK's export changed"
    # gRPC: the request is still what _translate_data returns
    assert "request=self._translate_data(data)" in inspect.getsource(OTLPExporterMixin._export)
    assert SdkGrpcExporter._translate_data is not LeanGrpcSpanExporter._translate_data
    assert callable(otlp._encode_key_value)


# --- exporters: real round trips ---------------------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answered in turn, then 200


@pytest.fixture
def http_collector() -> Iterator[tuple[Collector, str]]:
    collector = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            encoding = self.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            collector.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = collector.statuses.pop(0) if collector.statuses else 200
            payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            if status == 503:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield collector, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_http_exporter_round_trip(http_collector: tuple[Collector, str]) -> None:
    collector, base = http_collector
    batch = [*provider_spans(), span(attributes=ATTRIBUTES)]
    exporter = LeanHttpSpanExporter(endpoint=f"{base}/v1/traces", timeout=5)
    try:
        assert exporter.export(batch) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((path, headers, body),) = collector.requests
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceRequest.FromString(body) == sdk_encode_spans(batch)
    assert body == sdk_bytes(batch)
    assert exporter.export(batch) is SpanExportResult.FAILURE  # shut down
    assert len(collector.requests) == 1


def test_http_exporter_environment(
    http_collector: tuple[Collector, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector, base = http_collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-kaigo-tenant=city,authorization=Bearer%20t")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "4")
    batch = provider_spans()
    exporter = LeanHttpSpanExporter()
    try:
        assert exporter._client is not None
        assert exporter.export(batch) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((path, headers, body),) = collector.requests
    assert path == "/v1/traces"
    assert headers["content-encoding"] == "gzip"
    assert headers["x-kaigo-tenant"] == "city"
    assert headers["authorization"] == "Bearer t"
    assert ExportTraceServiceRequest.FromString(body) == sdk_encode_spans(batch)


def test_http_exporter_retries_refusals_and_size_limit(http_collector: tuple[Collector, str]) -> None:
    collector, base = http_collector
    batch = [span(attributes={"n": 1})]
    exporter = LeanHttpSpanExporter(endpoint=f"{base}/v1/traces", timeout=5)
    try:
        collector.statuses = [503]  # retried by the SDK's client (Retry-After: 0), then accepted
        assert exporter.export(batch) is SpanExportResult.SUCCESS
        assert len(collector.requests) == 2
        collector.statuses = [400]  # not retryable
        assert exporter.export(batch) is SpanExportResult.FAILURE
        assert len(collector.requests) == 3
    finally:
        exporter.shutdown()
    small = LeanHttpSpanExporter(endpoint=f"{base}/v1/traces", timeout=5, max_request_size=16)
    try:
        assert small.export(provider_spans()) is SpanExportResult.FAILURE  # dropped before sending
        assert small.export([]) is SpanExportResult.SUCCESS
    finally:
        small.shutdown()
    assert len(collector.requests) == 4
    assert collector.requests[-1][2] == b""


class TraceCollector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[tuple[ExportTraceServiceRequest, dict[str, str]]] = []

    def Export(self, request: ExportTraceServiceRequest, context: Any) -> ExportTraceServiceResponse:
        self.requests.append((request, {m.key: m.value for m in context.invocation_metadata()}))
        return ExportTraceServiceResponse()


@pytest.fixture
def grpc_collector() -> Iterator[tuple[TraceCollector, int]]:
    collector = TraceCollector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield collector, port
    finally:
        server.stop(None)


def test_grpc_exporter_round_trip(grpc_collector: tuple[TraceCollector, int]) -> None:
    collector, port = grpc_collector
    batch = [*provider_spans(), span(attributes=ATTRIBUTES)]
    exporter = LeanGrpcSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=5)
    try:
        assert exporter.export(batch) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((request, _),) = collector.requests
    assert request == sdk_encode_spans(batch)
    assert request.SerializeToString() == sdk_bytes(batch)


def test_grpc_exporter_environment(
    grpc_collector: tuple[TraceCollector, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector, port = grpc_collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-kaigo-tenant=city")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    batch = provider_spans()
    exporter = LeanGrpcSpanExporter()
    try:
        assert exporter.export(batch) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    ((request, metadata),) = collector.requests
    assert metadata["x-kaigo-tenant"] == "city"
    assert request == sdk_encode_spans(batch)
