"""Benchmark what the security layers cost on the person-detail query: the audit trail, tracing, both.

    python bench/security_overhead.py [--rounds 300] [--concurrency 8] [--seconds 2]

Starts an embedded PostgreSQL in a temporary directory (fsync on: commits are real), seeds a small city,
and serves the same database with the audit trail on and off (``Runtime.audit_enabled`` — for this
benchmark only; production refuses it) and tracing on and off (spans exported in batches, as a server
does, encoded as the OTLP exporter encodes them and then dropped: the network is not measured).

Three figures per variant, each as a ratio to both layers off, all taken in one run with the variants
interleaved (the machine is shared and noisy, so only ratios within the run mean anything):

* latency: the median of sequential requests, going round the four variants request by request;
* CPU per request: the app process's CPU time plus the PostgreSQL server's (postmaster and backends,
  from /proc), over blocks of requests rotated among the variants. On a machine whose cores are all busy
  serving, throughput is cores ÷ CPU per request, so this ratio is the throughput a layer costs, and it
  does not depend on what else the machine is doing;
* throughput: ``--concurrency`` clients in a closed loop for ``--seconds`` per slice, slices rotated among
  the variants.

The issue's target: audit and tracing together cost at most 10 % of the throughput. The query here is
free text, the same each time, so the app keeps it parsed and validated from its second sighting, as a
persisted document; bench/security_http.py measures the persisted document over HTTP.
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
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from harness.machine import postmaster_cpu  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

from api import telemetry  # noqa: E402
from api.app import create_app, settle_long_lived  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.guards import Guards  # noqa: E402
from api.otlp import encode_spans  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import seed_city  # noqa: E402
from persistence.tracing import use_tracer  # noqa: E402

# The per-principal rate limit would throttle the benchmark's single principal.
UNLIMITED = Guards(rate_per_second=1e9, rate_burst=10**9)


class Discard(SpanExporter):
    """Encodes every batch as the OTLP exporter does (api/otlp.py), then drops it: the cost measured is
    making, redacting and encoding spans, not the network."""

    def export(self, spans: Any) -> SpanExportResult:
        encode_spans(spans)
        return SpanExportResult.SUCCESS


# variant → (audit trail on, tracing on)
VARIANTS: dict[str, tuple[bool, bool]] = {
    "off": (False, False),
    "audit": (True, False),
    "tracing": (False, True),
    "both": (True, True),
}

PERSON = """
query Person($id: ID!) {
  person(id: $id) {
    id name nameKana birthDate individualNumber address { line } household { members { id name } }
    qualifications { category acquiredOn } certifications { decision { careLevel validTo } }
  }
}
"""


async def main(rounds: int, concurrency: int, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-audit-"))
    server = start(tmp / "data")
    try:
        admin = await asyncpg.connect(server.url("postgres", "postgresql"))
        await admin.execute('CREATE DATABASE "bench"')
        await admin.close()
        engine = make_engine(server.url("bench"), pool_size=concurrency)
        await upgrade(engine)
        vault = NumberVault(b"b" * 32)
        await seed_city(engine, vault, insured=300, seed=1, today=date(2026, 11, 1))
        async with engine.connect() as conn:
            from sqlalchemy import text

            ids = [r.id for r in await conn.execute(text("SELECT id FROM persons ORDER BY id LIMIT 200"))]
        keys = ensure_dev_keys(tmp / "identity")
        verifier = TokenVerifier(
            jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
        )
        token = keys.issue_token("kaigo_number_officer", sub="bench")
        database = Database(engine)
        apps = {
            name: create_app(Runtime(database, vault, verifier, audit_enabled=audit, guards=UNLIMITED))
            for name, (audit, _) in VARIANTS.items()
        }
        settle_long_lived()  # as `kaigo serve` does at start: the schema views built and frozen
        clients = {
            k: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://bench")
            for k, a in apps.items()
        }
        provider = telemetry.configure(Discard(), batch=True, pseudonym_secret=b"bench")
        assert provider is not None
        tracer = provider.get_tracer("kaigo-graph")
        headers = {"Authorization": f"Bearer {token}"}

        app_cpu_of: dict[str, list[float]] = {k: [] for k in VARIANTS}

        async def once(which: str, pk: int) -> float:
            use_tracer(tracer if VARIANTS[which][1] else None)
            cpu0 = time.process_time()
            began = time.perf_counter()
            r = await clients[which].post(
                "/graphql", json={"query": PERSON, "variables": {"id": str(pk)}}, headers=headers
            )
            elapsed = time.perf_counter() - began
            app_cpu_of[which].append(time.process_time() - cpu0)
            if r.status_code != 200 or "errors" in r.json():
                raise SystemExit(f"request failed: {r.status_code}")
            return elapsed

        for which in VARIANTS:  # warm up every variant (schema views, pools, caches)
            for pk in ids[:20]:
                await once(which, pk)
        names = list(VARIANTS)

        times: dict[str, list[float]] = {k: [] for k in names}
        for v in app_cpu_of.values():
            v.clear()
        for i in range(rounds):
            pk = ids[i % len(ids)]
            for which in names[i % 4 :] + names[: i % 4]:  # rotate the order every round
                times[which].append(await once(which, pk))
        latency = {k: statistics.median(v) for k, v in times.items()}
        app_cpu = {k: statistics.median(v) for k, v in app_cpu_of.items()}  # sequential, per request

        block = 10
        cpu: dict[str, list[float]] = {k: [] for k in names}  # the server's CPU seconds per request
        for b in range(max(4, rounds // block)):
            for which in names[b % 4 :] + names[: b % 4]:
                pg0 = postmaster_cpu(server.pgdata)
                for j in range(block):
                    await once(which, ids[(b * block + j) % len(ids)])
                cpu[which].append((postmaster_cpu(server.pgdata) - pg0) / block)
        # the server's CPU is counted in clock ticks (10 ms): the mean over every block, not a median
        pg_cpu = {k: statistics.fmean(v) for k, v in cpu.items()}
        total_cpu = {k: app_cpu[k] + pg_cpu[k] for k in names}

        done: dict[str, int] = dict.fromkeys(names, 0)
        spent: dict[str, float] = dict.fromkeys(names, 0.0)
        for s in range(2 * len(names)):
            which = names[s % len(names)]
            use_tracer(tracer if VARIANTS[which][1] else None)
            stop_at = time.perf_counter() + seconds

            async def client(offset: int, which: str = which, stop_at: float = stop_at) -> int:
                n = 0
                while time.perf_counter() < stop_at:
                    await once(which, ids[(offset + n) % len(ids)])
                    n += 1
                return n

            began = time.perf_counter()
            done[which] += sum(await asyncio.gather(*(client(17 * c) for c in range(concurrency))))
            spent[which] += time.perf_counter() - began
        rate = {k: done[k] / spent[k] for k in names}

        print(f"person detail, {rounds} sequential requests per variant; ratios to both layers off")
        print(
            f"{'variant':8} {'latency':>10} {'ratio':>6} {'app CPU':>9} {'db CPU':>8} {'CPU ratio':>9} "
            f"{'req/s @' + str(concurrency):>10} {'lost':>6}"
        )
        for k in names:
            print(
                f"{k:8} {latency[k] * 1e3:8.2f}ms ×{latency[k] / latency['off']:.2f} "
                f"{app_cpu[k] * 1e3:7.2f}ms {pg_cpu[k] * 1e3:6.2f}ms ×{total_cpu[k] / total_cpu['off']:8.2f} "
                f"{rate[k]:10.0f} {(1 - rate[k] / rate['off']) * 100:5.1f}%"
            )
        print(
            f"audit + tracing: {(total_cpu['both'] / total_cpu['off'] - 1) * 100:.1f} % more CPU per request "
            f"(= throughput lost when the cores are the limit), {(1 - rate['both'] / rate['off']) * 100:.1f} % "
            f"throughput lost at {concurrency} concurrent in one process; target ≤ 10 %"
        )
        use_tracer(None)
        telemetry.shutdown()
        for c in clients.values():
            await c.aclose()
        await engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one throughput slice")
    args: Any = parser.parse_args()
    asyncio.run(main(args.rounds, args.concurrency, args.seconds))
