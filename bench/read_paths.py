"""The read planner against strawberry's executor, in-process: CPU per request of the same documents.

    python bench/read_paths.py [--insured 2000] [--blocks 40] [--block 10]

Starts an embedded PostgreSQL in a temporary directory (fsync on: commits are real), seeds a city, and
serves it in one process through four apps that differ in one thing each:

* ``executor``: every query through strawberry's executor (``Runtime.planned_reads=False``), audit on;
* ``planner``: what the planner covers answered by one statement, audit on;
* ``planner, audit off`` and ``planner, audit + tracing``: issue 14's overhead target (tracing to a
  discarding exporter that encodes every span as the OTLP exporter does; every request sampled).

For person detail (``BenchPersonDetail``) and a kana search (``BenchPersonSearch``), sent as persisted
documents, it measures the CPU one request costs: the app's (this process) plus PostgreSQL's (postmaster
and backends, from /proc), over blocks of requests rotated among the variants. Read the ratios: the
machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from harness.machine import postmaster_cpu as server_cpu  # noqa: E402
from security_overhead import UNLIMITED, Discard  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api import telemetry  # noqa: E402
from api.app import create_app, settle_long_lived  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.documents import document_id  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import seed_city  # noqa: E402
from persistence.tracing import use_tracer  # noqa: E402

# variant → (planned reads, audit trail, tracing)
VARIANTS: dict[str, tuple[bool, bool, bool]] = {
    "executor": (False, True, False),
    "planner": (True, True, False),
    "planner, audit off": (True, False, False),
    "planner, audit + tracing": (True, True, True),
}
DOCUMENTS = {
    o["name"]: o["body"]
    for o in json.loads((ROOT / "bench/documents/kaigo_web.json").read_text())["operations"]
}


async def main(insured: int, blocks: int, block: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-reads-"))
    server = start(tmp / "data")
    try:
        admin = await asyncpg.connect(server.url("postgres", "postgresql"))
        await admin.execute('CREATE DATABASE "bench"')
        await admin.close()
        engine = make_engine(server.url("bench"), pool_size=4)
        await upgrade(engine)
        vault = NumberVault(b"b" * 32)
        await seed_city(engine, vault, insured=insured, seed=1, today=date(2026, 11, 1))
        async with engine.connect() as conn:
            ids = [
                r.person_id
                for r in await conn.execute(
                    text("SELECT DISTINCT person_id FROM levies ORDER BY 1 LIMIT 200")
                )
            ]
            kana = sorted(
                {
                    r.k
                    for r in await conn.execute(text("SELECT left(name_kana, 2) AS k FROM persons LIMIT 400"))
                }
            )
        keys = ensure_dev_keys(tmp / "identity")
        verifier = TokenVerifier(
            jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
        )
        headers = {"Authorization": f"Bearer {keys.issue_token('kaigo_number_officer', sub='bench')}"}
        database = Database(engine)
        apps = {
            name: create_app(
                Runtime(
                    database, vault, verifier, audit_enabled=audit, planned_reads=planned, guards=UNLIMITED
                )
            )
            for name, (planned, audit, _) in VARIANTS.items()
        }
        settle_long_lived()
        clients = {
            k: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://bench")
            for k, a in apps.items()
        }
        provider = telemetry.configure(Discard(), batch=True, pseudonym_secret=b"bench")
        assert provider is not None
        tracer = provider.get_tracer("kaigo-graph")

        def request(name: str, n: int) -> dict[str, Any]:
            body = DOCUMENTS[name]
            if name == "BenchPersonDetail":
                variables = {
                    "id": str(ids[n % len(ids)]),
                    "fiscalYear": 2026,
                    "benefitsFrom": "2026-01-01",
                    "benefitsTo": "2026-10-31",
                }
            else:
                variables = {"prefix": kana[n % len(kana)]}
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_id(body)}}
            return {"query": body, "variables": variables, "extensions": extensions}

        async def once(which: str, name: str, n: int) -> float:
            use_tracer(tracer if VARIANTS[which][2] else None)
            cpu0 = time.process_time()
            r = await clients[which].post("/graphql", json=request(name, n), headers=headers)
            spent = time.process_time() - cpu0
            if r.status_code != 200 or "errors" in r.json():
                raise SystemExit(f"{which} {name}: {r.status_code} {r.text[:300]}")
            return spent

        names = list(VARIANTS)
        for document in DOCUMENTS:
            if document not in ("BenchPersonDetail", "BenchPersonSearch"):
                continue
            for which in names:  # warm up: documents prepared, statements prepared on every connection
                for n in range(30):
                    await once(which, document, n)
            app: dict[str, list[float]] = {k: [] for k in names}
            db: dict[str, list[float]] = {k: [] for k in names}
            for b in range(blocks):
                for which in names[b % len(names) :] + names[: b % len(names)]:
                    pg0 = server_cpu(server.pgdata)
                    spent = [await once(which, document, b * block + j) for j in range(block)]
                    db[which].append((server_cpu(server.pgdata) - pg0) / block)
                    app[which].extend(spent)
            total = {k: statistics.median(app[k]) + statistics.fmean(db[k]) for k in names}
            print(f"\n{document} ({insured:,} insured; {blocks * block} requests per variant)")
            print(f"{'variant':26} {'app ms':>8} {'db ms':>8} {'total ms':>9} {'÷ planner':>10}")
            for k in names:
                print(
                    f"{k:26} {statistics.median(app[k]) * 1e3:8.3f} {statistics.fmean(db[k]) * 1e3:8.3f} "
                    f"{total[k] * 1e3:9.3f} {total[k] / total['planner']:10.2f}"
                )
            print(
                f"executor ÷ planner ×{total['executor'] / total['planner']:.2f}; audit + tracing ÷ both off "
                f"×{total['planner, audit + tracing'] / total['planner, audit off']:.2f} (target ≤ 1.10)"
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
    parser.add_argument("--insured", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--block", type=int, default=10)
    args: Any = parser.parse_args()
    asyncio.run(main(args.insured, args.blocks, args.block))
