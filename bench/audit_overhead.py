"""Benchmark the audit trail's cost on the person-detail query (in-process, httpx ASGITransport).

    python bench/audit_overhead.py [--rounds 300] [--concurrency 8]

Starts an embedded PostgreSQL in a temporary directory (fsync on: commits are real), seeds a small city,
and serves two apps on the same database: one with the audit trail, one without (``Runtime.audit_enabled``
— for this benchmark only; production refuses it). Sequential runs alternate between them request by
request; the concurrent part sends batches of ``--concurrency`` requests to one app at a time, to show
the cost of the chain's lock (held from the entry's insert to the commit). Prints medians and ratios only.
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

from api.app import create_app  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import seed_city  # noqa: E402

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
            "on": create_app(Runtime(database, vault, verifier, audit_enabled=True)),
            "off": create_app(Runtime(database, vault, verifier, audit_enabled=False)),
        }
        clients = {
            k: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://bench")
            for k, a in apps.items()
        }
        headers = {"Authorization": f"Bearer {token}"}

        async def once(which: str, pk: int) -> float:
            began = time.perf_counter()
            r = await clients[which].post(
                "/graphql", json={"query": PERSON, "variables": {"id": str(pk)}}, headers=headers
            )
            elapsed = time.perf_counter() - began
            if r.status_code != 200 or "errors" in r.json():
                raise SystemExit(f"request failed: {r.status_code}")
            return elapsed

        for which in ("on", "off"):  # warm up both (schema views, pools, caches)
            for pk in ids[:20]:
                await once(which, pk)
        times: dict[str, list[float]] = {"on": [], "off": []}
        for i in range(rounds):
            pk = ids[i % len(ids)]
            order = ("on", "off") if i % 2 == 0 else ("off", "on")
            for which in order:
                times[which].append(await once(which, pk))
        on, off = statistics.median(times["on"]), statistics.median(times["off"])
        print(
            f"sequential, {rounds} requests each: audit on {on * 1e3:.2f} ms, off {off * 1e3:.2f} ms, "
            f"ratio {on / off:.2f}"
        )

        batches = max(1, rounds // concurrency)
        wall: dict[str, list[float]] = {"on": [], "off": []}
        for b in range(batches):
            for which in ("on", "off") if b % 2 == 0 else ("off", "on"):
                began = time.perf_counter()
                await asyncio.gather(
                    *(once(which, ids[(b * concurrency + j) % len(ids)]) for j in range(concurrency))
                )
                wall[which].append(time.perf_counter() - began)
        con, coff = statistics.median(wall["on"]), statistics.median(wall["off"])
        print(
            f"concurrent, batches of {concurrency}: audit on {concurrency / con:.0f} req/s, "
            f"off {concurrency / coff:.0f} req/s, time ratio {con / coff:.2f}"
        )
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
