"""Tracing: the HTTP, operation, loader and statement spans, their attributes, W3C trace context,
off-by-default, and the redaction net in front of every exporter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import parse
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api import telemetry
from persistence.tracing import current_tracer
from policies.decisions import decide_use
from resolvers import tracing
from resolvers.tracing import document_hash, pseudonym, record_decision, record_duty_check

from .tracing_support import attrs, by_name, traced

NUMBER = "123456789018"  # a valid individual number (check digit 8), planted where it must not stay

PERSON = """
query PersonDetail($id: ID!) {
  person(id: $id) {
    id name nameKana birthDate address { line }
    household { members { id name } }
    qualifications { insuredNumber events { reason } }
    certifications { decision { careLevel } }
    levies { fiscalYear installments { period } }
  }
}
"""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with traced(pseudonym_secret=b"k" * 32) as exporter:
        yield exporter


async def _person_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT max(person_id) FROM qualifications"))).scalar_one())


def _one(spans: list[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


@pytest.mark.db
async def test_spans_of_a_person_detail_query(
    gql: Any, seeded_conn: AsyncConnection, spans: InMemorySpanExporter
) -> None:
    person_id = await _person_id(seeded_conn)
    body = await gql(PERSON, {"id": str(person_id)}, role="kaigo_officer")
    assert "errors" not in body, body
    finished = spans.get_finished_spans()

    server = _one(by_name(finished, "POST /graphql"))
    assert server.kind is SpanKind.SERVER
    http = attrs(server)
    assert http["http.request.method"] == "POST"
    assert http["url.path"] == "/graphql"
    assert http["http.response.status_code"] == 200
    assert http["server.address"] == "testserver"
    assert "url.query" not in http and "url.full" not in http

    operation = _one(by_name(finished, "query PersonDetail"))
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id
    op = attrs(operation)
    assert op["graphql.operation.type"] == "query"
    assert op["graphql.operation.name"] == "PersonDetail"
    assert op["graphql.document.hash"] == document_hash(parse(PERSON))
    assert op["enduser.pseudo.id"] == pseudonym("test-kaigo_officer") != "test-kaigo_officer"
    assert op["user.roles"] == ("kaigo_officer",)
    assert op["kaigo.persons.count"] >= 1  # the person and its household members
    assert operation.status.status_code is StatusCode.UNSET

    loaders = by_name(finished, "dataloader ")
    names = {attrs(s)["kaigo.loader.name"] for s in loaders}
    assert {"person", "members", "qualifications", "certifications", "levies"} <= names
    assert all(s.parent is not None and s.parent.span_id == operation.context.span_id for s in loaders)

    statements = [
        s
        for s in finished
        if attrs(s).get("db.system.name") == "postgresql" and s.context.trace_id == server.context.trace_id
    ]
    assert statements and all(s.kind is SpanKind.CLIENT for s in statements)
    for s in statements:
        a = attrs(s)
        assert a["db.operation.name"] == s.name
        assert len(a["db.query.text"]) <= 2048
        assert not re.search(rf"(?<!\d){person_id}(?!\d)", a["db.query.text"])  # a bound value
    assert all(s.parent is not None for s in statements)
    # each loader batch's statement nests under its batch's span
    loader_ids = {s.context.span_id for s in loaders}
    under = {s.parent.span_id for s in statements if s.parent is not None and s.parent.span_id in loader_ids}
    assert under == loader_ids
    # the audit entry, sent on the driver connection past SQLAlchemy's hooks, has its span too
    [audit] = [s for s in statements if "audit_append_linked(" in attrs(s)["db.query.text"]]
    assert audit.parent is not None and audit.parent.span_id == server.context.span_id


@pytest.mark.db
async def test_statement_text_is_parameterized(
    gql: Any, spans: InMemorySpanExporter, seeded_conn: AsyncConnection
) -> None:
    kana = (await seeded_conn.execute(text("SELECT name_kana FROM persons LIMIT 1"))).scalar_one()
    body = await gql(
        "query($p: String!) { persons(filter: {nameKanaPrefix: $p}, first: 3) { edges { node { id } } } }",
        {"p": kana[:2]},
        role="kaigo_officer",
    )
    assert "errors" not in body, body
    statements = [attrs(s) for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert any(a["db.operation.name"] == "SELECT" for a in statements)
    assert not any(kana[:2] in a["db.query.text"] for a in statements)


@pytest.mark.db
async def test_errors_mark_the_operation_span(gql: Any, spans: InMemorySpanExporter) -> None:
    await gql("{ persons(first: 1) { edges { node { nope } } } }", role="kaigo_officer")
    await gql("{ persons(", role="kaigo_officer")
    operations = by_name(spans.get_finished_spans(), "graphql.operation") + by_name(
        spans.get_finished_spans(), "query"
    )
    codes = [attrs(s).get("kaigo.graphql.error_codes") for s in operations]
    assert ("GRAPHQL_VALIDATION_FAILED",) in codes and ("GRAPHQL_PARSE_FAILED",) in codes
    assert all(s.status.status_code is StatusCode.ERROR for s in operations)


def test_document_hash_ignores_literal_values() -> None:
    a = document_hash(parse('{ persons(filter: {nameKanaPrefix: "ヤマ"}, first: 3) { totalCount } }'))
    b = document_hash(parse('{ persons(filter: {nameKanaPrefix: "スズキ"}, first: 50) { totalCount } }'))
    c = document_hash(parse('{ persons(filter: {nameKanaPrefix: "ヤマ"}, first: 3) { edges { cursor } } }'))
    assert a == b != c
    assert document_hash(parse(f'{{ personByIndividualNumber(individualNumber: "{NUMBER}") {{ id }} }}')) == (
        document_hash(parse('{ personByIndividualNumber(individualNumber: "000000000000") { id } }'))
    )


def test_a_text_holding_a_number_is_never_a_cache_key() -> None:
    """The hash is remembered per document text, except for a text with a literal 個人番号."""
    with_number = f'{{ personByIndividualNumber(individualNumber: "{NUMBER}") {{ id }} }}'
    without = "{ persons(first: 1) { totalCount } }"
    for text_ in (with_number, without):
        assert tracing._cached_hash(text_, parse(text_)) == document_hash(parse(text_))
    assert without in tracing._hashes
    assert not any(NUMBER in key for key in tracing._hashes)


@pytest.mark.db
async def test_w3c_trace_context_is_continued(gql: Any, spans: InMemorySpanExporter) -> None:
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    await gql(
        "{ viewer { subject } }",
        role="kaigo_officer",
        headers={"traceparent": f"00-{trace_id}-{parent_id}-01", "tracestate": "vendor=x"},
    )
    server = _one(by_name(spans.get_finished_spans(), "POST /graphql"))
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.parent is not None and format(server.parent.span_id, "016x") == parent_id
    assert server.parent.is_remote


@pytest.mark.db
async def test_an_internal_error_is_correlated_by_the_trace_id(
    gql: Any, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("resolvers.query.persons_page", broken)
    body = await gql("{ persons { edges { node { id } } } }", role="kaigo_officer")
    server = _one(by_name(spans.get_finished_spans(), "POST /graphql"))
    assert body["errors"][0]["extensions"]["correlationId"] == format(server.context.trace_id, "032x")


@pytest.mark.db
async def test_health_probes_make_no_span(client: Any, gql: Any, spans: InMemorySpanExporter) -> None:
    for path in ("/healthz", "/readyz"):
        assert (await client.get(path)).status_code == 200
    assert spans.get_finished_spans() == ()
    await gql("{ viewer { subject } }", role="kaigo_officer")
    assert [s.name for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER] == ["POST /graphql"]


@pytest.mark.db
async def test_off_by_default_creates_no_span(gql: Any) -> None:
    assert telemetry.configure(env={}) is None
    assert current_tracer() is None and not telemetry.tracing_enabled()
    with traced() as exporter:
        pass  # configured and shut down again: nothing may reach it from now on
    body = await gql("{ viewer { subject } }", role="kaigo_officer")
    assert body["data"]["viewer"]["subject"] == "test-kaigo_officer"
    assert exporter.get_finished_spans() == ()
    assert current_tracer() is None


def test_configuration_from_the_environment() -> None:
    assert not telemetry.configured_by_env({})
    assert not telemetry.configured_by_env(
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}
    )
    assert telemetry.configured_by_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert telemetry.configured_by_env({"OTEL_TRACES_EXPORTER": "console"})
    assert not telemetry.configured_by_env({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"})
    try:
        for env, kind in [
            ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"}, "LeanHttpSpanExporter"),
            ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "LeanGrpcSpanExporter"),
            ({"OTEL_TRACES_EXPORTER": "console"}, "ConsoleSpanExporter"),
        ]:
            provider = telemetry.configure(env=env)
            assert provider is not None and current_tracer() is not None
            processor = provider._active_span_processor._span_processors[0]
            assert isinstance(processor, telemetry.RedactingSpanProcessor)  # the last one, always
            exporter = processor.inner.span_exporter  # type: ignore[attr-defined]
            assert kind in type(exporter).__module__ + type(exporter).__name__
            assert provider.resource.attributes["service.name"] == "kaigo-graph"
        with pytest.raises(SystemExit):
            telemetry.configure(env={"OTEL_TRACES_EXPORTER": "zipkin"})
    finally:
        telemetry.shutdown()
    assert current_tracer() is None


def test_the_redacting_processor_drops_planted_numbers(spans: InMemorySpanExporter) -> None:
    tracer = current_tracer()
    assert tracer is not None
    with tracer.start_as_current_span(f"lookup {NUMBER}") as span:
        span.set_attribute("kaigo.note", f"asked for {NUMBER}")
        span.set_attribute("kaigo.list", ["ok", f"x{NUMBER}x"])
        span.set_attribute("kaigo.fine", "no number here 12345")
        span.add_event("found", {"kaigo.value": NUMBER})
    exported = _one(list(spans.get_finished_spans()))
    got = attrs(exported)
    assert got["kaigo.note"] == telemetry.REDACTED
    assert got["kaigo.list"] == ("ok", telemetry.REDACTED)
    assert got["kaigo.fine"] == "no number here 12345"
    assert dict(exported.events[0].attributes or {}) == {"kaigo.value": telemetry.REDACTED}
    assert NUMBER not in exported.name
    assert NUMBER not in exported.to_json()


def test_a_resource_holding_a_number_is_redacted_on_every_span() -> None:
    """Resources are checked once and remembered when clean; a dirty one is cleaned on each span."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan

    clean = Resource({"service.name": "kaigo-graph", "host.name": "city-hall-1"})
    dirty = Resource({"service.name": "kaigo-graph", "deployment.note": f"owner {NUMBER}"})
    for _ in range(2):
        span = ReadableSpan(name="GET", resource=clean, attributes={"a": "b"})
        assert telemetry.redacted(span) is span
        out = telemetry.redacted(ReadableSpan(name="GET", resource=dirty, attributes={"a": "b"}))
        assert out.resource.attributes["deployment.note"] == telemetry.REDACTED
        assert out.resource.attributes["service.name"] == "kaigo-graph"


@pytest.mark.parametrize(
    "where",
    [
        "name",
        "attribute",
        "bytes",
        "sequence",
        "mapping value",
        "mapping key",
        "status",
        "event name",
        "event attribute",
        "str subclass",
    ],
)
def test_each_place_a_number_can_hide_is_looked_at(where: str) -> None:
    """The clean path looks at every text once: a number in any one place alone makes a cleaned copy,
    also after the same span without it has been seen (and its texts remembered as clean)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status

    class Text(str):
        pass

    def span(number: str) -> ReadableSpan:
        return ReadableSpan(
            name=f"GET {number}" if where == "name" else "GET",
            resource=Resource({"service.name": "kaigo-graph"}),
            attributes={
                "kaigo.plain": "a long clean text that gets remembered as clean",
                "kaigo.count": 7,
                "kaigo.value": f"x {number}" if where == "attribute" else "x",
                "kaigo.bytes": f"b {number}".encode() if where == "bytes" else b"b",
                "kaigo.list": ("ok", f"{number}") if where == "sequence" else ("ok",),
                "kaigo.subclass": Text(f"s {number}" if where == "str subclass" else "s"),
                "kaigo.mapping": {
                    f"k{number}" if where == "mapping key" else "k": f"v {number}"
                    if where == "mapping value"
                    else "v"
                },
            },
            events=[
                Event(
                    f"e {number}" if where == "event name" else "e",
                    {"kaigo.event": f"v {number}" if where == "event attribute" else "v"},
                )
            ],
            status=Status(StatusCode.ERROR, f"failed {number}" if where == "status" else "failed"),
        )

    clean = span("")
    assert telemetry.redacted(clean) is clean
    out = telemetry.redacted(span(NUMBER))
    text = repr(
        (out.name, dict(out.attributes or {}), [(e.name, dict(e.attributes or {})) for e in out.events])
    )
    assert NUMBER not in text and NUMBER not in (out.status.description or "")
    assert NUMBER.encode() not in repr(out.attributes).encode()


def test_policy_decisions_and_duty_checks_are_span_events(spans: InMemorySpanExporter) -> None:
    tracer = current_tracer()
    assert tracer is not None
    with tracer.start_as_current_span("decide"):
        record_decision(decide_use("94", __import__("datetime").date(2026, 11, 1)))
        record_duty_check("number_use", allowed=False)
    exported = _one(list(spans.get_finished_spans()))
    decision, duty = exported.events
    assert decision.name == "kaigo.policy.decision"
    assert {"kaigo.decision.allowed", "kaigo.decision.code"} <= set(decision.attributes or {})
    assert attrs(duty) == {"kaigo.duty": "number_use", "kaigo.duty.allowed": False}


def test_pseudonyms_are_keyed() -> None:
    from persistence.crypto import NumberVault

    a, b = NumberVault(b"a" * 32), NumberVault(b"b" * 32)
    assert telemetry.pseudonym_key(a) != telemetry.pseudonym_key(b)
    assert len(telemetry.pseudonym_key(a)) == 32


@pytest.mark.db
async def test_a_persisted_document_is_named_by_its_id(
    client: Any, token_for: Any, spans: InMemorySpanExporter
) -> None:
    from api.documents import document_id

    from .persisted_support import apq

    doc = "query FirstPersons { persons(first: 2) { edges { node { id } } } }"
    auth = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    await client.post("/graphql", json={"query": doc, "extensions": apq(doc)}, headers=auth)
    spans.clear()
    answer = await client.post("/graphql", json={"documentId": document_id(doc)}, headers=auth)
    assert answer.status_code == 200, answer.text
    operation = _one(by_name(spans.get_finished_spans(), "query FirstPersons"))
    assert attrs(operation)["graphql.document.id"] == document_id(doc)
    assert attrs(operation)["graphql.document.hash"] == document_hash(parse(doc))


@pytest.mark.db
async def test_a_document_holding_a_string_literal_is_named_by_its_hash_alone(
    client: Any, token_for: Any, spans: InMemorySpanExporter
) -> None:
    """Its id is the sha256 of its text: knowing the rest of the text, the literal (a kana prefix, a
    name) could be found by guessing. The literal-blind hash still names the operation."""
    from api.documents import document_id

    from .persisted_support import apq

    doc = 'query Yamada { persons(filter: {nameKanaPrefix: "ヤマダ"}, first: 2) { edges { node { id } } } }'
    auth = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    for body in ({"query": doc, "extensions": apq(doc)}, {"documentId": document_id(doc)}):
        await _named_by_its_hash_alone(client, auth, body, doc, spans)


async def _named_by_its_hash_alone(
    client: Any, auth: dict[str, str], body: dict[str, Any], doc: str, spans: InMemorySpanExporter
) -> None:
    """Run ``body`` (``doc`` by some protocol); its operation span carries the hash and no id."""
    spans.clear()
    answer = await client.post("/graphql", json=body, headers=auth)
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    operation = _one([s for s in spans.get_finished_spans() if s.name.startswith("query ")])
    assert "graphql.document.id" not in attrs(operation)
    assert attrs(operation)["graphql.document.hash"] == document_hash(parse(doc))


@pytest.mark.db
async def test_a_repeated_free_text_is_not_named_by_an_id(
    client: Any, token_for: Any, spans: InMemorySpanExporter
) -> None:
    """Kept by its worker from its second sighting (api/documents/cache.py TextCache), but never named."""
    doc = "query FirstOne { persons(first: 1) { edges { node { id } } } }"
    auth = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    for _ in range(3):
        await _named_by_its_hash_alone(client, auth, {"query": doc}, doc, spans)


@pytest.mark.db
async def test_an_unsampled_request_makes_no_span(
    gql: Any, seeded_conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The standard sampler variables: a plain read the ratio leaves out is exported as nothing (its
    spans were held until its end, tests/test_deferred_sampling.py); the answer is the same."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    person_id = await _person_id(seeded_conn)
    with traced(pseudonym_secret=b"k" * 32) as exporter:
        body = await gql(PERSON, {"id": str(person_id)}, role="kaigo_officer")
        assert "errors" not in body, body
        assert body["data"]["person"]["qualifications"]
        assert exporter.get_finished_spans() == ()


@pytest.mark.db
async def test_a_client_chosen_operation_name_is_masked_on_spans_and_in_the_trail(
    gql: Any, seeded_conn: AsyncConnection, spans: InMemorySpanExporter
) -> None:
    """`query Q0632774135 {…}` (an insured number as the name) was the span's name verbatim (issue 16)."""
    person_id = await _person_id(seeded_conn)
    name = "Q0632774135" + "x" * 80
    body = await gql(f"query {name}($id: ID!) {{ person(id: $id) {{ id }} }}", {"id": str(person_id)})
    assert "errors" not in body, body
    masked = ("Q#" + "x" * 80)[:64]
    operation = _one(by_name(spans.get_finished_spans(), f"query {masked}"))
    assert attrs(operation)["graphql.operation.name"] == masked
    recorded = await seeded_conn.execute(text("SELECT operation_name FROM audit_events"))
    assert recorded.scalars().all() == [masked]
    assert not any(
        "0632774135" in s.name or "0632774135" in str(attrs(s)) for s in spans.get_finished_spans()
    )
