"""Persisted documents versus free text: the same operation, the same app, measured side by side.

    python bench/persisted_vs_text.py [--rounds 40] [--batch 25] [--insured 300] [--database-url URL]

The app runs in-process (httpx over ASGI, no sockets) on a small seeded city in an embedded PostgreSQL
(or the given empty database, which is migrated, seeded and kept). For each operation, batches of three
modes alternate, so all see the same machine state: persisted requests (Apollo APQ, hash only), the same
free text repeated (kept by its worker from its second sighting, as a front end's operations are), and
one-off texts (the text with a comment of its own, so each is parsed and validated). Each request's
latency is recorded. Prints requests/s, p50 and p99 per mode and the persisted/free ratios. Figures only:
nothing is asserted. Nothing printed names a person.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.guards import Guards  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import seed_city  # noqa: E402

OPERATIONS = {
    "viewer (tiny)": "query Viewer { viewer { subject roles duties department } }",
    "persons page (10 persons, 3 areas)": """
query PersonsPage($first: Int!) {
  persons(first: $first) {
    edges {
      node {
        id addresseeCode name nameKana birthDate sex
        address { postalCode line building }
        qualifications { insuredNumber category acquiredOn lostOn copayRatios { fiscalYear ratioPercent } }
        certifications { decision { careLevel validFrom validTo } }
        levies { fiscalYear incomeStage annualPremium arrearsAmount }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""",
}
VARIABLES: dict[str, dict[str, Any]] = {"persons page (10 persons, 3 areas)": {"first": 10}}
_SERIAL = itertools.count()  # one-off texts: a comment of their own makes each a text never seen before


@asynccontextmanager
async def _database(url: str | None) -> AsyncIterator[str]:
    if url:
        yield url
        return
    import asyncpg

    from persistence.embedded import start

    data_dir = Path(tempfile.mkdtemp(prefix="kaigo-bench-pq-"))
    server = start(
        data_dir, settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    )
    try:
        admin = await asyncpg.connect(server.url("postgres", "postgresql"))
        await admin.execute('CREATE DATABASE "kaigo_bench"')
        await admin.close()
        yield server.url("kaigo_bench")
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def _parse_and_validate_ms(text: str, repeat: int = 200) -> float:
    """What a free-text request pays before execution and a persisted one skips: parse + validate."""
    from graphql import parse, specified_rules
    from strawberry.schema.schema import validate_document

    from policies.roles import duties_for
    from resolvers import schema_for

    schema = schema_for(duties_for(["kaigo_officer"]))._schema
    started = time.perf_counter()
    for _ in range(repeat):
        validate_document(schema, parse(text), tuple(specified_rules))
    return (time.perf_counter() - started) / repeat * 1000


async def _batch(
    client: httpx.AsyncClient,
    body: dict[str, Any] | Callable[[], dict[str, Any]],
    headers: dict[str, str],
    n: int,
) -> list[float]:
    latencies = []
    for _ in range(n):
        request = body() if callable(body) else body
        started = time.perf_counter()
        response = await client.post("/graphql", json=request, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or "errors" in response.json():
            raise SystemExit(f"unexpected answer: {response.status_code} {response.text[:300]}")
    return latencies


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=40, help="alternations of the two modes")
    parser.add_argument("--batch", type=int, default=25, help="requests per batch")
    parser.add_argument("--insured", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="an empty database (migrated, seeded, kept)")
    args = parser.parse_args(argv)

    identity = Path(tempfile.mkdtemp(prefix="kaigo-bench-id-"))
    keys = ensure_dev_keys(identity)
    authenticator = TokenVerifier(jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph")
    headers = {"Authorization": f"Bearer {keys.issue_token('kaigo_officer', sub='bench')}"}
    vault = NumberVault(secrets.token_bytes(32))
    try:
        async with _database(args.database_url) as url:
            engine = make_engine(url, pool_size=4)
            await upgrade(engine)
            await seed_city(engine, vault, insured=args.insured, seed=1)
            # the per-principal rate limit would throttle the benchmark's single principal
            unlimited = Guards(rate_per_second=1e9, rate_burst=10**9)
            app = create_app(Runtime(Database(engine), vault, authenticator, guards=unlimited))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                print(f"{args.rounds} rounds × {args.batch} requests per mode, one at a time, in-process\n")
                print(f"{'operation':38} {'mode':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
                for name, text in OPERATIONS.items():
                    variables = VARIABLES.get(name)
                    digest = hashlib.sha256(text.encode()).hexdigest()
                    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
                    free: dict[str, Any] = {"query": text, "variables": variables}
                    persisted: dict[str, Any] = {"extensions": apq, "variables": variables}
                    await _batch(client, {**free, "extensions": apq}, headers, 1)  # registers it
                    await _batch(client, persisted, headers, args.batch)  # warm both paths
                    await _batch(client, free, headers, args.batch)

                    def one_off(text: str = text, variables: Any = variables) -> dict[str, Any]:
                        return {"query": f"{text}\n# {next(_SERIAL)}", "variables": variables}

                    modes: dict[str, dict[str, Any] | Callable[[], dict[str, Any]]] = {
                        "persisted": persisted,
                        "free text": free,
                        "one-off": one_off,
                    }
                    timings: dict[str, list[float]] = {mode: [] for mode in modes}
                    for _ in range(args.rounds):
                        for mode, body in modes.items():
                            timings[mode] += await _batch(client, body, headers, args.batch)
                    rates = {}
                    for mode, values in timings.items():
                        rates[mode] = len(values) / sum(values)
                        p50, p99 = statistics.median(values) * 1000, _percentile(values, 0.99) * 1000
                        print(f"{name:38} {mode:10} {rates[mode]:8.0f} {p50:8.2f} {p99:8.2f}")
                    print(
                        f"{'':38} {'ratio':10} persisted ÷ free text {rates['persisted'] / rates['free text']:.2f}×, "
                        f"÷ one-off {rates['persisted'] / rates['one-off']:.2f}× (parse + validate alone: "
                        f"{_parse_and_validate_ms(text):.2f} ms)\n"
                    )
            await engine.dispose()
    finally:
        shutil.rmtree(identity, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
