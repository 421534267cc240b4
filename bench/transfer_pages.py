"""A whole-city transfer, in-process: the department's registered document, pages of 1000, one request id,
through the read planner's transfer path and through strawberry's executor.

    python bench/transfer_pages.py [--insured 10000] [--page 1000]

Starts an embedded PostgreSQL (fsync on), seeds a city, and has 福祉援護課 (fukushi_engo, 別紙2 61, the
department with the most items, whose document `make bench` uses) apply for a permission, the chief
approve it, and the department page through every in-scope person, once per path (a permission each). Prints
persons per second and the CPU a page costs (app and PostgreSQL). Read the ratio: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from harness.machine import postmaster_cpu as server_cpu  # noqa: E402
from security_overhead import UNLIMITED  # noqa: E402

from api.app import create_app, settle_long_lived  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.documents import document_id  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence import documents as store  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import seed_city  # noqa: E402
from policies.clients import client_of_department, clients  # noqa: E402
from policies.legal_bases import Direction, entries  # noqa: E402

DEPARTMENT = "fukushi_engo"  # 福祉援護課 (61): the most items, as `make bench` uses it
OPERATIONS = {
    o["name"]: o for o in json.loads((ROOT / "documents" / f"{DEPARTMENT}.json").read_text())["operations"]
}
DOCUMENT = OPERATIONS["TransferInformation"]["body"]
DECIDE = "mutation($id: ID!) { decideTransferPermission(id: $id, approve: true) { permission { status } } }"


async def main(insured: int, page: int, only: str | None = None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-transfer-"))
    server = start(tmp / "data")
    try:
        admin = await asyncpg.connect(server.url("postgres", "postgresql"))
        await admin.execute('CREATE DATABASE "bench"')
        await admin.close()
        engine = make_engine(server.url("bench"), pool_size=4)
        await upgrade(engine)
        vault = NumberVault(b"b" * 32)
        today = date.today()
        started = time.perf_counter()
        await seed_city(engine, vault, insured=insured, seed=1, today=today - timedelta(days=30))
        print(f"seeded {insured:,} insured in {time.perf_counter() - started:.0f} s")
        keys = ensure_dev_keys(tmp / "identity")
        verifier = TokenVerifier(
            jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
        )
        department = {
            "Authorization": f"Bearer {keys.issue_token('receiving_department', sub='bench-dept', department=DEPARTMENT)}"
        }
        chief = {"Authorization": f"Bearer {keys.issue_token('kaigo_section_chief', sub='bench-chief')}"}
        database = Database(engine)
        row = next(
            e for e in entries(Direction.TRANSFER, today) if e.counterparty == DEPARTMENT and e.item == "61"
        )
        items = sorted(row.items)
        # registered for the department's client, as `kaigo pq import documents/*.json` does: a reviewed
        # document, costed at the defaults it declares (pages of 1000 allowed)
        async with engine.begin() as conn:
            for operation in OPERATIONS.values():
                await store.register(
                    conn,
                    store.StoredDocument(
                        id=operation["id"],
                        client_name=client_of_department(DEPARTMENT) or DEPARTMENT,
                        text=operation["body"],
                        operation_name=operation["name"],
                        operation_type=operation["type"],
                        registered_by="bench",
                    ),
                )
        trusted = clients().trusted_roles
        apps = {
            "planner": create_app(
                Runtime(database, vault, verifier, guards=UNLIMITED, trusted_roles=trusted)
            ),
            "executor": create_app(
                Runtime(
                    database, vault, verifier, guards=UNLIMITED, trusted_roles=trusted, planned_reads=False
                )
            ),
        }
        settle_long_lived()
        reference = f"sha256:{document_id(DOCUMENT)}"
        figures: dict[str, dict[str, float]] = {}
        for which, app in apps.items():
            if only is not None and which != only:
                continue
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
            ) as client:
                applied = await client.post(
                    "/graphql",
                    json={
                        "documentId": f"sha256:{OPERATIONS['RequestTransferPermission']['id']}",
                        "variables": {
                            "input": {
                                "requestId": f"bench-{which}",
                                "basisItem": row.item,
                                "items": items,
                                "purpose": row.purpose[:100],
                                "validFrom": today.isoformat(),
                                "validTo": today.isoformat(),
                            }
                        },
                    },
                    headers=department,
                )
                permission = applied.json()["data"]["requestTransferPermission"]["permission"]["id"]
                await client.post(
                    "/graphql", json={"query": DECIDE, "variables": {"id": permission}}, headers=chief
                )
                after, persons, pages = None, 0, 0
                cpu0, pg0, began = time.process_time(), server_cpu(server.pgdata), time.perf_counter()
                while True:
                    values = {
                        "requestId": f"bench-{which}-pages",
                        "permissionId": permission,
                        "items": items,
                        "first": page,
                        "after": after,
                    }
                    response = await client.post(
                        "/graphql",
                        json={"documentId": reference, "variables": {"input": values}},
                        headers=department,
                    )
                    answer = orjson.loads(response.content)  # as a client would: fast, apart
                    if answer.get("data") is None:
                        raise SystemExit(f"{which}: {answer}")
                    result = answer["data"]["transferInformation"]
                    if result["__typename"] != "TransferPage":
                        raise SystemExit(f"{which}: {result}")
                    persons += len(result["persons"])
                    pages += 1
                    if not result["pageInfo"]["hasNextPage"]:
                        break
                    after = result["pageInfo"]["endCursor"]
                seconds = time.perf_counter() - began
                figures[which] = {
                    "persons": persons,
                    "seconds": seconds,
                    "app_ms_page": (time.process_time() - cpu0) / pages * 1e3,
                    "db_ms_page": (server_cpu(server.pgdata) - pg0) / pages * 1e3,
                }
        print(f"\nwhole-city transfer, {DEPARTMENT} ({', '.join(items)}), pages of {page}")
        for which, f in figures.items():
            print(
                f"{which:9} {f['persons']:,} persons in {f['seconds']:.1f} s: {f['persons'] / f['seconds']:,.0f} persons/s; "
                f"per page app {f['app_ms_page']:.0f} ms, PostgreSQL {f['db_ms_page']:.0f} ms"
            )
        if len(figures) == 2:
            ratio = (figures["planner"]["persons"] / figures["planner"]["seconds"]) / (
                figures["executor"]["persons"] / figures["executor"]["seconds"]
            )
            print(f"planner ÷ executor persons/s ×{ratio:.1f} (target: ≥ 20,000 persons/s)")
        await engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--insured", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--only", choices=["planner", "executor"], help="one path only")
    args: Any = parser.parse_args()
    asyncio.run(main(args.insured, args.page, args.only))
