"""Benchmark what the security layers cost on the person-detail query: the audit trail, tracing, both.

    python bench/security_overhead.py [--rounds 300] [--concurrency 8]

Starts an embedded PostgreSQL in a temporary directory (fsync on: commits are real), seeds a small city,
and serves the same database with the audit trail on and off (``Runtime.audit_enabled`` — for this
benchmark only; production refuses it) and tracing on and off (spans exported in batches, as a server
does, to an exporter that drops them). Sequential runs go round the four variants request by request;
the concurrent part sends batches of ``--concurrency`` requests to one variant at a time, to show the
cost of the chain's lock (held from the entry's insert to the commit). Prints medians and ratios only;
the issue's target is at most 10 % (audit and tracing together against both off).
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
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

from api import telemetry  # noqa: E402
from api.app import create_app  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import seed_city  # noqa: E402
from persistence.tracing import use_tracer  # noqa: E402


class Discard(SpanExporter):
    """Takes every span and keeps none: the cost measured is making spans, not shipping them."""

    def export(self, spans: Any) -> SpanExportResult:
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


async def main(rounds: int, concurrency: int) -> None:
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
            name: create_app(Runtime(database, vault, verifier, audit_enabled=audit))
            for name, (audit, _) in VARIANTS.items()
        }
        clients = {
            k: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://bench")
            for k, a in apps.items()
        }
        provider = telemetry.configure(Discard(), batch=True, pseudonym_secret=b"bench")
        assert provider is not None
        tracer = provider.get_tracer("kaigo-graph")
        headers = {"Authorization": f"Bearer {token}"}

        async def once(which: str, pk: int) -> float:
            use_tracer(tracer if VARIANTS[which][1] else None)
            began = time.perf_counter()
            r = await clients[which].post(
                "/graphql", json={"query": PERSON, "variables": {"id": str(pk)}}, headers=headers
            )
            elapsed = time.perf_counter() - began
            if r.status_code != 200 or "errors" in r.json():
                raise SystemExit(f"request failed: {r.status_code}")
            return elapsed

        for which in VARIANTS:  # warm up every variant (schema views, pools, caches)
            for pk in ids[:20]:
                await once(which, pk)
        names = list(VARIANTS)
        times: dict[str, list[float]] = {k: [] for k in names}
        for i in range(rounds):
            pk = ids[i % len(ids)]
            for which in names[i % 4 :] + names[: i % 4]:  # rotate the order every round
                times[which].append(await once(which, pk))
        medians = {k: statistics.median(v) for k, v in times.items()}
        print(f"sequential, {rounds} requests per variant (median ms, ratio to off):")
        for which in names:
            print(f"  {which:8} {medians[which] * 1e3:7.2f} ms  ×{medians[which] / medians['off']:.2f}")
        print(
            f"  overhead of audit + tracing: {(medians['both'] / medians['off'] - 1) * 100:.0f} % (target ≤ 10 %)"
        )

        batches = max(1, rounds // concurrency)
        wall: dict[str, list[float]] = {k: [] for k in names}
        for b in range(batches):
            for which in names[b % 4 :] + names[: b % 4]:
                use_tracer(tracer if VARIANTS[which][1] else None)
                began = time.perf_counter()
                await asyncio.gather(
                    *(once(which, ids[(b * concurrency + j) % len(ids)]) for j in range(concurrency))
                )
                wall[which].append(time.perf_counter() - began)
        rates = {k: concurrency / statistics.median(v) for k, v in wall.items()}
        print(f"concurrent, batches of {concurrency} (req/s, throughput lost against off):")
        for which in names:
            print(f"  {which:8} {rates[which]:7.0f} req/s  {(1 - rates[which] / rates['off']) * 100:5.1f} %")
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
    args: Any = parser.parse_args()
    asyncio.run(main(args.rounds, args.concurrency))
