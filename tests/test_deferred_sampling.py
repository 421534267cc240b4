"""Deferred sampling (persistence/sampling.py): with a ratio sampler, the trace of a request that revealed
an individual number, moved data, was denied or failed is exported whole whatever the ratio said at its
start; any other request follows the ratio. The hold of undecided traces stays bounded under a flood."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.context import attach, detach
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, set_span_in_context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api import telemetry
from api.otlp import encode_spans
from persistence.sampling import KEPT_BECAUSE, SPANS_LOST, DeferredSampler, TraceHold, sampler_from_env
from persistence.tracing import Leaf, current_tracer, keep_trace, start_leaf, statement_span
from schema.errors import Forbidden

from .provision_documents import PROVIDE_BRIEF, today
from .tracing_support import attrs, traced

NONE_KEPT = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.0"}
ALL_KEPT = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.0"}
NOT_SAMPLED_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"

PLAIN = "query Plain($id: ID!) { person(id: $id) { id name certifications { decision { careLevel } } } }"
NUMBER = "query Number($id: ID!) { person(id: $id) { id name individualNumber } }"


@pytest.fixture
def none_kept() -> Iterator[InMemorySpanExporter]:
    with traced(pseudonym_secret=b"k" * 32, env=NONE_KEPT) as exporter:
        yield exporter


def _hold() -> TraceHold:
    tracer = current_tracer()
    assert tracer is not None
    sampler = tracer.sampler  # type: ignore[attr-defined]
    assert isinstance(sampler, DeferredSampler)
    return sampler.hold


async def _person_with_number(conn: AsyncConnection) -> int:
    return int(
        (
            await conn.execute(
                text(
                    "SELECT p.id FROM persons p JOIN qualifications q ON q.person_id = p.id"
                    " WHERE p.individual_number_enc IS NOT NULL ORDER BY p.id LIMIT 1"
                )
            )
        ).scalar_one()
    )


def _whole(spans: tuple[ReadableSpan, ...], because: str) -> ReadableSpan:
    """The spans are one request's whole trace, exported sampled: its server span (returned) carrying
    ``because``, the operation and statement spans under it, each parent exported too, every span
    starting no earlier than the root and ending after it starts."""
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.parent is None or server.parent.is_remote
    assert because in attrs(server)[KEPT_BECAUSE]
    assert all(s.context.trace_flags.sampled for s in spans)
    assert {s.context.trace_id for s in spans} == {server.context.trace_id}
    ids = {s.context.span_id for s in spans}
    assert len(ids) == len(spans)
    for s in spans:
        if s is not server:
            assert s.parent is not None and s.parent.span_id in ids and not s.parent.is_remote, s.name
            assert KEPT_BECAUSE not in attrs(s)
        assert s.start_time is not None and s.end_time is not None and server.start_time is not None
        assert server.start_time <= s.start_time <= s.end_time
    assert any(s.name.startswith(("query", "mutation")) and s.parent == server.context for s in spans)
    assert any(attrs(s).get("db.system.name") == "postgresql" for s in spans)
    return server


@pytest.mark.db
async def test_a_plain_read_is_dropped_with_the_ratio(
    gql: Any, seeded_conn: AsyncConnection, none_kept: InMemorySpanExporter
) -> None:
    person = await _person_with_number(seeded_conn)
    body = await gql(PLAIN, {"id": str(person)}, role="kaigo_number_officer")
    assert "errors" not in body and body["data"]["person"]["name"], body
    assert none_kept.get_finished_spans() == ()
    assert _hold().held() == 0  # decided and forgotten


@pytest.mark.db
async def test_a_read_that_revealed_a_number_is_exported_whole(
    gql: Any, seeded_conn: AsyncConnection, none_kept: InMemorySpanExporter
) -> None:
    person = await _person_with_number(seeded_conn)
    body = await gql(NUMBER, {"id": str(person)}, role="kaigo_number_officer")
    assert body["data"]["person"]["individualNumber"], body
    spans = none_kept.get_finished_spans()
    server = _whole(spans, "number_revealed")
    assert attrs(server)[KEPT_BECAUSE] == ("number_revealed",)
    assert any(s.name == "query Number" for s in spans)
    assert _hold().held() == 0
    # the spans as rebuilt for export encode as the SDK encodes them (api/otlp.py's own check)
    assert encode_spans(spans) == sdk_encode_spans(spans).SerializePartialToString()


@pytest.mark.db
@pytest.mark.parametrize("basis", ["94", "999"], ids=["provided", "denied"])
async def test_a_provision_is_exported_whole_whether_provided_or_denied(
    gql: Any, seeded_conn: AsyncConnection, none_kept: InMemorySpanExporter, basis: str
) -> None:
    linkage = (
        await seeded_conn.execute(
            text(
                "SELECT p.linkage_code FROM persons p JOIN qualifications q ON q.person_id = p.id"
                " WHERE p.linkage_code IS NOT NULL ORDER BY p.id LIMIT 1"
            )
        )
    ).scalar_one()
    answer = await gql(
        PROVIDE_BRIEF,
        {
            "input": {
                "requestId": f"sampling-{basis}",
                "permitNumber": f"PERMIT-sampling-{basis}",
                "inquirer": "総社市長",  # a body of the entry's group (policies/data/bodies.toml)
                "basisItem": basis,
                "subject": {"linkageCode": linkage},
                "items": ["QUALIFICATION"],
                "requestDate": today().isoformat(),
            }
        },
        role="intermediate_server",
    )
    kind = answer["data"]["provideInformation"]["__typename"]
    assert kind == ("Denied" if basis == "999" else "Provided"), answer
    _whole(none_kept.get_finished_spans(), "legal_basis_decision")


@pytest.mark.db
async def test_a_request_with_a_bad_input_error_is_exported_whole(
    gql: Any, seeded_conn: AsyncConnection, none_kept: InMemorySpanExporter
) -> None:
    person = await _person_with_number(seeded_conn)
    body = await gql(
        'query Two($id: ID!) { good: person(id: $id) { name } bad: person(id: "not-an-id") { id } }',
        {"id": str(person)},
        role="kaigo_officer",
    )
    assert body["data"]["good"]["name"], body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    server = _whole(none_kept.get_finished_spans(), "failed")
    assert attrs(server)["http.response.status_code"] == 200


@pytest.mark.db
async def test_a_forbidden_field_is_exported_as_denied(
    gql: Any, none_kept: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Forbidden("number_use")

    monkeypatch.setattr("resolvers.query.persons_page", refuse)
    body = await gql("{ persons(first: 1) { edges { node { id } } } }", role="kaigo_officer")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    [server] = [s for s in none_kept.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert attrs(server)[KEPT_BECAUSE] == ("denied",)


@pytest.mark.db
async def test_a_401_is_exported(client: Any, none_kept: InMemorySpanExporter) -> None:
    answer = await client.post("/graphql", json={"query": "{ viewer { subject } }"})
    assert answer.status_code == 401
    [server] = none_kept.get_finished_spans()
    assert server.kind is SpanKind.SERVER and server.context.trace_flags.sampled
    assert attrs(server)[KEPT_BECAUSE] == ("denied",)
    assert attrs(server)["http.response.status_code"] == 401


@pytest.mark.db
async def test_a_refusal_is_exported_as_failed(
    client: Any, token_for: Any, none_kept: InMemorySpanExporter
) -> None:
    auth = {"Authorization": f"Bearer {token_for('kaigo_officer')}", "content-type": "text/plain"}
    answer = await client.post("/graphql", content="{ viewer { subject } }", headers=auth)
    assert answer.status_code == 400
    [server] = none_kept.get_finished_spans()
    assert attrs(server)[KEPT_BECAUSE] == ("failed",)


@pytest.mark.db
async def test_with_ratio_one_every_request_is_exported_as_sampled(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await _person_with_number(seeded_conn)
    with traced(env=ALL_KEPT) as exporter:
        await gql(PLAIN, {"id": str(person)}, role="kaigo_number_officer")
        spans = exporter.get_finished_spans()
        assert _hold().held() == 0
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert KEPT_BECAUSE not in attrs(server)  # sampled at the head: nothing had to keep it
    assert len(spans) > 3 and all(s.context.trace_flags.sampled for s in spans)


@pytest.mark.db
async def test_a_not_sampled_parent_is_followed_unless_the_request_is_kept(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await _person_with_number(seeded_conn)
    headers = {"traceparent": NOT_SAMPLED_PARENT}
    with traced(env=ALL_KEPT) as exporter:
        await gql(PLAIN, {"id": str(person)}, role="kaigo_number_officer", headers=headers)
        assert exporter.get_finished_spans() == ()
        await gql(NUMBER, {"id": str(person)}, role="kaigo_number_officer", headers=headers)
        server = _whole(exporter.get_finished_spans(), "number_revealed")
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert server.parent is not None and server.parent.is_remote
    assert format(server.parent.span_id, "016x") == "b7ad6b7169203331"
    assert not server.parent.trace_flags.sampled  # the caller's context, as it came


def test_the_hold_stays_bounded_under_a_flood(
    none_kept: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    hold = _hold()
    now = [1000.0]
    hold.max_traces, hold.max_spans, hold._clock = 4, 5, lambda: now[0]
    tracer = current_tracer()
    assert tracer is not None
    caplog.set_level(logging.WARNING, logger="kaigo.tracing")

    roots = [tracer.start_span(f"root {i}", kind=SpanKind.SERVER) for i in range(50)]
    assert hold.held() == 4 and hold.lost_traces == 46
    assert [r.is_recording() for r in roots] == [True] * 4 + [False] * 46
    lines = [r.getMessage() for r in caplog.records if r.name == "kaigo.tracing"]
    assert len(lines) == 1 and "1 traces" in lines[0]  # the first loss, then one line a minute at most

    token = attach(set_span_in_context(roots[0]))
    try:
        for _ in range(10):
            with statement_span("SELECT 1"):
                pass
        keep_trace("failed")
    finally:
        detach(token)
    for root in roots:
        root.end()
    assert hold.held() == 0
    exported = none_kept.get_finished_spans()
    assert len(exported) == 5  # four statements and the root: the bound, the root's place kept
    [kept] = [s for s in exported if s.kind is SpanKind.SERVER]
    assert attrs(kept)[KEPT_BECAUSE] == ("failed",) and attrs(kept)[SPANS_LOST] == 6
    assert hold.lost_spans == 6

    now[0] += 61  # the next loss a minute later reports what was lost since the first line
    later = [tracer.start_span(f"later {i}", kind=SpanKind.SERVER) for i in range(5)]
    lines = [r.getMessage() for r in caplog.records if r.name == "kaigo.tracing"]
    assert len(lines) == 2 and "46 traces and 6 spans" in lines[1]
    for span in later:
        span.end()


def test_a_leaf_under_a_held_trace_is_held_with_it(none_kept: InMemorySpanExporter) -> None:
    tracer = current_tracer()
    assert tracer is not None
    root = tracer.start_span("root", kind=SpanKind.SERVER)
    token = attach(set_span_in_context(root))
    try:
        leaf = start_leaf("SELECT", SpanKind.CLIENT, {"db.system.name": "postgresql"})
        assert isinstance(leaf, Leaf) and not leaf.context.trace_flags.sampled
        leaf.end()
        assert none_kept.get_finished_spans() == ()  # held, not exported before the root's end
        keep_trace("number_revealed")
    finally:
        detach(token)
    root.end()
    statement, server = none_kept.get_finished_spans()
    assert statement.parent == server.context and server.context.trace_flags.sampled
    assert statement.context.span_id == leaf.context.span_id


def test_keep_trace_is_a_no_op_without_a_hold() -> None:
    keep_trace("failed")  # tracing off
    with traced(env={"OTEL_TRACES_SAMPLER": "always_on"}) as exporter:
        tracer = current_tracer()
        assert tracer is not None
        assert not isinstance(tracer.sampler, DeferredSampler)  # type: ignore[attr-defined]
        with tracer.start_as_current_span("root"):
            keep_trace("failed")
        [root] = exporter.get_finished_spans()
        assert KEPT_BECAUSE not in attrs(root)


@pytest.mark.parametrize(
    ("name", "deferred", "description"),
    [
        (None, False, "ParentBased{root:AlwaysOnSampler"),
        ("always_on", False, "AlwaysOnSampler"),
        ("always_off", False, "AlwaysOffSampler"),
        ("parentbased_always_off", True, "ParentBased{root:AlwaysOffSampler"),
        ("traceidratio", True, "TraceIdRatioBased{0.25}"),
        ("parentbased_traceidratio", True, "ParentBased{root:TraceIdRatioBased{0.25}"),
        ("nonsense", False, "ParentBased{root:AlwaysOnSampler"),
    ],
)
def test_which_samplers_defer(name: str | None, deferred: bool, description: str) -> None:
    env = {"OTEL_TRACES_SAMPLER_ARG": "0.25"} | ({"OTEL_TRACES_SAMPLER": name} if name else {})
    sampler, defers = sampler_from_env(env)
    assert defers is deferred and sampler.get_description().startswith(description)
    provider = telemetry.configure(InMemorySpanExporter(), env=env)
    try:
        assert isinstance(provider, TracerProvider)
        assert isinstance(provider.sampler, DeferredSampler) is deferred
    finally:
        telemetry.shutdown()


def test_a_ratio_that_is_not_one_is_read_as_the_sdk_reads_it() -> None:
    sampler, _ = sampler_from_env({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"})
    assert sampler.get_description() == "TraceIdRatioBased{1.0}"


def test_a_span_ending_after_its_root_follows_the_decision(none_kept: InMemorySpanExporter) -> None:
    tracer = current_tracer()
    assert tracer is not None
    for keep in (True, False):
        root = tracer.start_span("root", kind=SpanKind.SERVER)
        token = attach(set_span_in_context(root))
        try:
            late = tracer.start_span("late")  # a task still running when the answer is sent
            if keep:
                keep_trace("failed")
        finally:
            detach(token)
        root.end()
        late.end()
    kept_root, kept_late = none_kept.get_finished_spans()  # the dropped trace's two: nowhere
    assert kept_late.name == "late" and kept_late.context.trace_flags.sampled
    assert kept_late.parent is not None and kept_late.parent.span_id == kept_root.context.span_id
    assert _hold().held() == 0


def test_a_trace_whose_root_never_ends_is_given_up_for_room(none_kept: InMemorySpanExporter) -> None:
    hold = _hold()
    now = [0.0]
    hold.max_traces, hold._clock = 2, lambda: now[0]
    tracer = current_tracer()
    assert tracer is not None
    stuck = [tracer.start_span(f"stuck {i}", kind=SpanKind.SERVER) for i in range(2)]
    token = attach(set_span_in_context(stuck[0]))
    try:
        tracer.start_span("child").end()
    finally:
        detach(token)
    assert not tracer.start_span("no room yet").is_recording()
    now[0] += 301
    fresh = tracer.start_span("fresh", kind=SpanKind.SERVER)
    assert fresh.is_recording() and hold.held() == 1
    assert hold.lost_traces == 1 and hold.lost_spans == 1  # the refused root; the stuck trace's child
    fresh.end()
    for span in stuck:  # ending them after all is harmless
        span.end()
    assert none_kept.get_finished_spans() == () and hold.held() == 0
