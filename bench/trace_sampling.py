"""Benchmark what sampling costs: always-on, head sampling at a ratio, and the deferred decision.

    python bench/trace_sampling.py [--blocks 40] [--block 10] [--ratio 0.1]

Starts an embedded PostgreSQL (as bench/security_overhead.py does), seeds a small city and serves the
person-detail query, audit trail on, under four tracing set-ups swapped per block of requests:

* ``off``: no tracing;
* ``always_on``: the default sampler (``parentbased_always_on``; nothing is held);
* ``head``: ``parentbased_traceidratio`` at ``--ratio`` as before deferral: the SDK's sampler alone, an
  unsampled request makes no span;
* ``deferred``: the same variables as configured now (persistence/sampling.py): every request's spans
  are made and held, exported when the ratio keeps the trace or the request was marked to keep.

Spans are exported in batches, encoded as the OTLP exporter encodes them, then dropped.

Two documents: ``plain`` (a person's detail without the individual number: the ratio decides) and
``number`` (with it: the deferred decision keeps every one). CPU per request is the app process's CPU
time plus the PostgreSQL server's, over blocks rotated among the set-ups; printed as ratios to ``off``
within the run (the machine is shared: only ratios mean anything).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio  # noqa: E402
from security_overhead import UNLIMITED, Discard, server_cpu  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api import telemetry  # noqa: E402
from api.app import create_app, settle_long_lived  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.sampling import TraceHold  # noqa: E402
from persistence.seed import seed_city  # noqa: E402
from persistence.tracing import use_tracer  # noqa: E402
from resolvers.tracing import use_pseudonym_key  # noqa: E402

FIELDS = (
    "id name nameKana birthDate address { line } household { members { id name } }"
    " qualifications { category acquiredOn } certifications { decision { careLevel validTo } }"
)
DOCUMENTS = {
    "plain": f"query Person($id: ID!) {{ person(id: $id) {{ {FIELDS} }} }}",
    "number": f"query Person($id: ID!) {{ person(id: $id) {{ individualNumber {FIELDS} }} }}",
}
SETUPS = ("off", "always_on", "head", "deferred")


def _setups(ratio: float) -> tuple[dict[str, tuple[Any, TraceHold | None]], list[TracerProvider]]:
    """Each set-up's (tracer, hold); ``None`` tracer: off."""
    always_on, _ = telemetry.build_provider(Discard(), env={}, batch=True)
    env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": str(ratio)}
    deferred, hold = telemetry.build_provider(Discard(), env=env, batch=True)
    assert hold is not None
    head = TracerProvider(resource=always_on.resource, sampler=ParentBasedTraceIdRatio(ratio))
    head.add_span_processor(telemetry.RedactingSpanProcessor(BatchSpanProcessor(Discard())))
    setups = {
        "off": (None, None),
        "always_on": (always_on.get_tracer("kaigo-graph"), None),
        "head": (head.get_tracer("kaigo-graph"), None),
        "deferred": (deferred.get_tracer("kaigo-graph"), hold),
    }
    return setups, [always_on, deferred, head]


async def main(blocks: int, block: int, ratio: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-sampling-"))
    server = start(tmp / "data")
    try:
        admin = await asyncpg.connect(server.url("postgres", "postgresql"))
        await admin.execute('CREATE DATABASE "bench"')
        await admin.close()
        engine = make_engine(server.url("bench"), pool_size=4)
        await upgrade(engine)
        vault = NumberVault(b"b" * 32)
        await seed_city(engine, vault, insured=300, seed=1, today=date(2026, 11, 1))
        async with engine.connect() as conn:
            ids = [
                r.id
                for r in await conn.execute(
                    text(
                        "SELECT id FROM persons WHERE individual_number_enc IS NOT NULL ORDER BY id LIMIT 200"
                    )
                )
            ]
        keys = ensure_dev_keys(tmp / "identity")
        verifier = TokenVerifier(
            jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
        )
        headers = {"Authorization": f"Bearer {keys.issue_token('kaigo_number_officer', sub='bench')}"}
        app = create_app(Runtime(Database(engine), vault, verifier, guards=UNLIMITED))
        settle_long_lived()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        setups, providers = _setups(ratio)
        use_pseudonym_key(b"bench")

        async def run(setup: str, document: str, pks: list[int]) -> float:
            """App CPU seconds of the requests (one after another)."""
            use_tracer(*setups[setup])
            cpu0 = time.process_time()
            for pk in pks:
                r = await client.post(
                    "/graphql",
                    json={"query": DOCUMENTS[document], "variables": {"id": str(pk)}},
                    headers=headers,
                )
                if r.status_code != 200 or "errors" in r.json():
                    raise SystemExit(f"request failed: {r.status_code} {r.text[:200]}")
            return time.process_time() - cpu0

        for setup in SETUPS:  # warm up (schema views, pools, caches, statement texts)
            for document in DOCUMENTS:
                await run(setup, document, ids[:20])

        per: dict[tuple[str, str], list[float]] = {(s, d): [] for s in SETUPS for d in DOCUMENTS}
        app_only: dict[tuple[str, str], list[float]] = {(s, d): [] for s in SETUPS for d in DOCUMENTS}
        order = [(s, d) for d in DOCUMENTS for s in SETUPS]
        for b in range(blocks):
            for setup, document in order[b % len(order) :] + order[: b % len(order)]:
                pks = [ids[(b * block + j) % len(ids)] for j in range(block)]
                pg0 = server_cpu(server.pgdata)
                app_cpu = await run(setup, document, pks)
                per[setup, document].append((app_cpu + server_cpu(server.pgdata) - pg0) / block)
                app_only[setup, document].append(app_cpu / block)
        use_tracer(None)
        hold = setups["deferred"][1]
        assert hold is not None

        print(f"person detail, audit on, {blocks} blocks of {block} requests per cell; ratio {ratio}")
        print("CPU per request: app + PostgreSQL (mean over blocks), and the app's alone (median of blocks)")
        print(
            f"{'set-up':10} {'document':8} {'CPU':>9} {'× off':>7} {'× head':>7} {'app CPU':>9} {'× off':>7} {'× head':>7}"
        )
        for document in DOCUMENTS:
            mean = {s: statistics.fmean(per[s, document]) for s in SETUPS}
            median = {s: statistics.median(app_only[s, document]) for s in SETUPS}
            for setup in SETUPS:
                print(
                    f"{setup:10} {document:8} {mean[setup] * 1e3:7.2f}ms ×{mean[setup] / mean['off']:6.3f} "
                    f"×{mean[setup] / mean['head']:6.3f} {median[setup] * 1e3:7.2f}ms "
                    f"×{median[setup] / median['off']:6.3f} ×{median[setup] / median['head']:6.3f}"
                )
        print(
            f"hold: {hold.held()} traces held at the end, {hold.lost_traces} traces and {hold.lost_spans} spans lost"
        )
        for provider in providers:
            provider.shutdown()
        await client.aclose()
        await engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument("--ratio", type=float, default=0.1)
    args: Any = parser.parse_args()
    asyncio.run(main(args.blocks, args.block, args.ratio))
