"""What encoding a batch of spans for OTLP costs: the SDK's encoder against ``api.otlp.encode_spans``.

    python bench/otlp_encoding.py [--spans 512] [--rounds 40] [--batches 8]

Builds ``--batches`` batches of ``--spans`` spans shaped like the server's (per request: the HTTP server
span under a remote parent, the GraphQL operation span with its policy events, loader spans and SQL
statement spans made the way ``persistence.tracing.Leaf`` makes them), from a real ``TracerProvider``.
Then, rounds interleaved (the machine is shared and noisy: only ratios within one run mean anything;
the order rotates, and the garbage collector runs before each timing and is off during it), the median
CPU µs per span of:

* http: ``trace_encoder.encode_spans(batch).SerializePartialToString()`` (the SDK's OTLP/HTTP exporter)
  vs ``api.otlp.encode_spans(batch)``;
* grpc: ``trace_encoder.encode_spans(batch)`` (the SDK's ``_translate_data``: the message the stub
  serializes) vs ``ExportTraceServiceRequest.FromString(api.otlp.encode_spans(batch))``;
* cold: ``api.otlp.encode_spans`` with its caches emptied before each batch (the worst case: no
  attribute seen before).

Each batch is checked to decode to the same message both ways before timing.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from opentelemetry.exporter.otlp.proto.common import trace_encoder  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import (  # noqa: E402
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from api import otlp  # noqa: E402

STATEMENTS = [
    "SELECT persons.id, persons.code, persons.family_name_kana, persons.given_name_kana, persons.birth_date, "
    "persons.sex, persons.municipality_code FROM persons WHERE persons.id = ANY($1::UUID[])",
    "SELECT certifications.id, certifications.person_id, certifications.level, certifications.valid_from, "
    "certifications.valid_until, certifications.decided_on FROM certifications "
    "WHERE certifications.person_id = ANY($1::UUID[]) ORDER BY certifications.valid_from DESC",
    "SELECT care_plans.id, care_plans.person_id, care_plans.office_id, care_plans.starts_on, "
    "care_plans.ends_on "
    "FROM care_plans WHERE care_plans.person_id = ANY($1::UUID[])",
    "SELECT benefits.id, benefits.person_id, benefits.month, benefits.units, benefits.amount_yen "
    "FROM benefits WHERE benefits.person_id = $1::UUID AND benefits.month >= $2::DATE",
    "INSERT INTO audit_events (id, at, principal, action, person_id, basis_id, fields) "
    "VALUES ($1::UUID, $2::TIMESTAMP WITH TIME ZONE, $3::VARCHAR, $4::VARCHAR, $5::UUID, $6::VARCHAR, "
    "$7::JSONB)",
    "SELECT offices.id, offices.name, offices.kind, offices.municipality_code FROM offices "
    "WHERE offices.id = ANY($1::UUID[])",
    "SELECT legal_bases.id, legal_bases.direction, legal_bases.item FROM legal_bases "
    "WHERE legal_bases.id = $1",
    "SELECT set_config('kaigo.principal', $1::VARCHAR, true)",
    "BEGIN",
    "COMMIT",
]
LOADERS = ["persons", "certifications", "care_plans", "benefits", "offices"]
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0"
DEPARTMENTS = ["介護保険課", "高齢福祉課", "地域包括支援センター"]
OPERATIONS = ["PersonDetail", "PersonSearch", "CarePlans", "RecordBenefit"]


def realistic_batch(n: int, seed: int) -> list[ReadableSpan]:
    """``n`` spans as the server ends them: whole requests until there are ``n``."""
    rng = random.Random(seed)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "kaigo-graph"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer: Any = provider.get_tracer("kaigo-graph")
    leaves: list[ReadableSpan] = []
    users = [f"{rng.getrandbits(128):032x}" for _ in range(40)]
    while len(exporter.get_finished_spans()) + len(leaves) < n:
        remote = SpanContext(
            rng.getrandbits(128),
            rng.getrandbits(64),
            is_remote=True,
            trace_flags=TraceFlags(1),
            trace_state=TraceState([("kaigo", "web")]) if rng.random() < 0.3 else TraceState(),
        )
        server = tracer.start_span(
            "POST /graphql",
            context=set_span_in_context(NonRecordingSpan(remote)),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "POST",
                "url.path": "/graphql",
                "http.route": "/graphql",
                "url.scheme": "https",
                "server.address": "kaigo.city.example.jp",
                "server.port": 443,
                "user_agent.original": USER_AGENT,
            },
        )
        operation = tracer.start_span("graphql.operation", context=set_span_in_context(server))
        operation.set_attribute("enduser.pseudo.id", rng.choice(users))
        operation.set_attribute("user.roles", sorted(rng.sample(["caseworker", "auditor", "clerk"], 2)))
        operation.set_attribute("kaigo.department", rng.choice(DEPARTMENTS))
        operation.set_attribute("kaigo.client.name", "kaigo-desk")
        name = rng.choice(OPERATIONS)
        operation.set_attribute("graphql.document.id", f"sha256:{hash(name) & (2**64 - 1):016x}")
        operation.add_event(
            "kaigo.policy.duty_check", {"kaigo.duty": "read_person", "kaigo.duty.allowed": True}
        )
        operation.add_event(
            "kaigo.policy.decision",
            {
                "kaigo.decision.allowed": True,
                "kaigo.decision.code": "ALLOWED",
                "kaigo.decision.needs_review": False,
                "kaigo.legal_basis.id": "LB-115-45",
                "kaigo.legal_basis.direction": "provide",
                "kaigo.legal_basis.item": "介護保険法第115条の45",
            },
        )
        parent = operation.get_span_context()
        for _ in range(rng.randint(1, 3)):
            loader = rng.choice(LOADERS)
            loader_context = SpanContext(parent.trace_id, rng.getrandbits(64), False, parent.trace_flags)
            now = time.time_ns()
            loader_attributes = {"kaigo.loader.name": loader, "kaigo.loader.batch_size": rng.randint(1, 40)}
            loader_name = f"dataloader {loader}"
            leaves.append(
                _leaf(tracer, loader_name, SpanKind.INTERNAL, parent, loader_context, now, loader_attributes)
            )
            for statement in rng.sample(STATEMENTS, rng.randint(2, 4)):
                verb = statement.split(None, 1)[0].upper()
                context = SpanContext(parent.trace_id, rng.getrandbits(64), False, parent.trace_flags)
                sql = {"db.system.name": "postgresql", "db.operation.name": verb, "db.query.text": statement}
                leaves.append(_leaf(tracer, verb, SpanKind.CLIENT, loader_context, context, now, sql))
        operation.set_attribute("graphql.operation.type", "query")
        operation.update_name(f"query {name}")
        operation.set_attribute("graphql.operation.name", name)
        operation.set_attribute("graphql.document.hash", f"{rng.getrandbits(256):064x}")
        operation.set_attribute("kaigo.persons.count", rng.randint(0, 30))
        if rng.random() < 0.05:
            operation.set_status(Status(StatusCode.ERROR))
        operation.end()
        server.set_attribute("http.response.status_code", 200)
        server.end()
    spans = [*leaves, *exporter.get_finished_spans()]
    rng.shuffle(spans)
    return spans[:n]


def _leaf(
    tracer: Any,
    name: str,
    kind: SpanKind,
    parent: SpanContext,
    context: SpanContext,
    start: int,
    attributes: dict[str, Any],
) -> ReadableSpan:
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=tracer.resource,
        attributes=attributes,
        kind=kind,
        status=Status(StatusCode.UNSET),
        start_time=start,
        end_time=start + 250_000,
        instrumentation_scope=tracer._instrumentation_scope,
    )


def _sdk_http(batch: Sequence[ReadableSpan]) -> object:
    return trace_encoder.encode_spans(batch).SerializePartialToString()


def _sdk_grpc(batch: Sequence[ReadableSpan]) -> object:
    return trace_encoder.encode_spans(batch)


def _lean_grpc(batch: Sequence[ReadableSpan]) -> object:
    return ExportTraceServiceRequest.FromString(otlp.encode_spans(batch))


def _lean_cold(batch: Sequence[ReadableSpan]) -> object:
    otlp._clear_caches()
    otlp._name_cache.clear()
    return otlp.encode_spans(batch)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batches", type=int, default=8)
    args = parser.parse_args()

    batches = [realistic_batch(args.spans, seed) for seed in range(args.batches)]
    for batch in batches:
        lean = otlp.encode_spans(batch)
        sdk = trace_encoder.encode_spans(batch).SerializePartialToString()
        assert ExportTraceServiceRequest.FromString(lean) == ExportTraceServiceRequest.FromString(sdk)
        assert lean == sdk, "not byte-identical"

    variants: dict[str, Callable[[Sequence[ReadableSpan]], object]] = {
        "http sdk": _sdk_http,
        "http lean": otlp.encode_spans,
        "grpc sdk": _sdk_grpc,
        "grpc lean": _lean_grpc,
        "cold lean": _lean_cold,
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    clock = time.process_time_ns if sys.platform.startswith("linux") else time.perf_counter_ns
    order = list(variants.items())
    for _ in range(args.rounds):
        for batch in batches:
            order.append(order.pop(0))  # each variant in turn first: no position favoured
            for name, encode in order:
                gc.collect()  # a collection owed to the previous variant's garbage is not charged here
                gc.disable()
                started = clock()
                encode(batch)
                elapsed = clock() - started
                gc.enable()
                timings[name].append(elapsed / 1000 / len(batch))
    del clock
    us = {name: statistics.median(values) for name, values in timings.items()}
    size = statistics.mean(len(otlp.encode_spans(b)) / len(b) for b in batches)
    print(
        f"{args.spans} spans × {args.batches} batches × {args.rounds} rounds, {size:.0f} bytes/span encoded"
    )
    for path in ("http", "grpc"):
        sdk_us, lean_us = us[f"{path} sdk"], us[f"{path} lean"]
        print(
            f"{path:5} SDK {sdk_us:6.2f} µs/span   lean {lean_us:6.2f} µs/span   ratio {lean_us / sdk_us:.3f}"
        )
    cold = us["cold lean"]
    print(
        f"cold  lean {cold:6.2f} µs/span (caches emptied per batch)   "
        f"ratio {cold / us['http sdk']:.3f} of http SDK"
    )


if __name__ == "__main__":
    main()
