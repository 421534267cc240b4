"""Benchmark `kaigo seed`: load the full synthetic city into a fresh database and print the figures.

    python bench/seed_city.py [--insured 130000] [--seed 1] [--today 2026-11-01] [--database-url URL]

Without ``--database-url`` a temporary database is created on 127.0.0.1:5432 (user postgres) and
dropped afterwards; if no server answers there, an embedded server is started in a temporary
directory.  A given ``--database-url`` must name an empty database; it is migrated, seeded and kept.
The key is random for the run: the ciphertexts cannot be read afterwards, which suits a benchmark.
Nothing printed contains a name or a number of a person: only counts, timings and shares.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import make_engine  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.seed import SeedReport, seed_city  # noqa: E402
from persistence.seed.figures import TARGETS, city_figures  # noqa: E402

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _reachable(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@asynccontextmanager
async def _temporary_database(maintenance_dsn: str) -> AsyncIterator[str]:
    """A fresh database on the server of ``maintenance_dsn``, dropped when the block ends."""
    name = f"kaigo_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(maintenance_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(maintenance_dsn).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(maintenance_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def _database(url: str | None, embedded: bool) -> AsyncIterator[tuple[str, str]]:
    """(SQLAlchemy URL, description) of the database to seed."""
    if url:
        yield url, "given database"
        return
    if not embedded and await _reachable(LOCAL_SERVER):
        async with _temporary_database(LOCAL_SERVER) as temporary:
            yield temporary, "temporary database on 127.0.0.1:5432"
        return
    from persistence.embedded import start

    data_dir = Path(tempfile.mkdtemp(prefix="kaigo-bench-pg-"))
    server = start(
        data_dir, settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    )
    try:
        maintenance = make_url(server.url("postgres")).set(drivername="postgresql")
        async with _temporary_database(maintenance.render_as_string(hide_password=False)) as temporary:
            yield temporary, "temporary database on an embedded server"
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _pct(x: float) -> str:
    return f"{100 * x:5.1f} %"


def _print_report(report: SeedReport, figures: dict[str, Any], migrate_seconds: float) -> None:
    elapsed = report.elapsed_seconds
    print(f"\nseeded {report.insured:,} insured (seed {report.seed}, as of {report.today.isoformat()})")
    print(f"  migrate: {migrate_seconds:6.1f} s   seed: {elapsed:6.1f} s   CPUs: {os.cpu_count()}")
    print("\nrows per table")
    for name, count in report.counts.items():
        print(f"  {name:28s}{count:>12,}")
    print(f"  {'total':28s}{report.total_rows:>12,}")
    print(f"\n  rows/s overall   {report.total_rows / elapsed:12,.0f}")
    print(f"  persons/s        {report.persons / elapsed:12,.0f}")
    print(f"  households       {report.households:12,}")
    print("\nfigure                                   seeded     target")
    rows = [
        ("65+ share of persons in the file", figures["share_65_plus_of_persons"], None),
        (
            "65+ share of the city (scaled 480,000)",
            figures["share_65_plus_city"],
            TARGETS["share_65_plus_city"],
        ),
        ("first-category share of the insured", figures["first_category_share_of_insured"], None),
        (
            "certified share of active 65+",
            figures["certified_share_of_65_plus"],
            TARGETS["certified_share_of_65_plus"],
        ),
        ("copay 20 % (first category, this year)", figures["copay"].get(20, 0.0), TARGETS["copay_20"]),
        ("copay 30 % (first category, this year)", figures["copay"].get(30, 0.0), TARGETS["copay_30"]),
        (
            "pension deduction share (levies)",
            figures["pension_deduction_share"],
            TARGETS["pension_deduction_share"],
        ),
        (
            "arrears share of direct payers",
            figures["arrears_share_of_direct_payers"],
            TARGETS["arrears_share_of_direct_payers"],
        ),
        ("foreign residents", figures["foreign_share"], TARGETS["foreign_share"]),
        (
            "no automatic response",
            figures["no_automatic_response_share"],
            TARGETS["no_automatic_response_share"],
        ),
        (
            "in a facility now (of insured)",
            figures["facility_share_of_insured"],
            TARGETS["facility_share_of_insured"],
        ),
    ]
    for label, value, target in rows:
        print(f"  {label:38s}{_pct(value):>9s}  {_pct(target) if target is not None else '':>9s}")
    print("\ncare level of the certified             seeded     target")
    labels = {
        "12": "support 1",
        "13": "support 2",
        "21": "care 1",
        "22": "care 2",
        "23": "care 3",
        "24": "care 4",
        "25": "care 5",
    }
    for level, label in labels.items():
        seeded = figures["care_levels"].get(level, 0.0)
        print(f"  {label:38s}{_pct(seeded):>9s}  {_pct(TARGETS['care_levels'][level]):>9s}")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--insured", type=int, default=130_000, help="insured persons (130,000: the full city)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--today", type=date.fromisoformat, default=None, help="reference date (default: today)"
    )
    parser.add_argument("--database-url", default=None, help="an empty database to migrate and seed (kept)")
    parser.add_argument("--embedded", action="store_true", help="use an embedded server even if 5432 answers")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    today = args.today or date.today()
    vault = NumberVault(secrets.token_bytes(32))
    async with _database(args.database_url, args.embedded) as (url, where):
        print(f"database: {where}")
        engine = make_engine(url, pool_size=2)
        try:
            started = time.perf_counter()
            await upgrade(engine)
            migrate_seconds = time.perf_counter() - started
            progress = None if args.quiet else (lambda message: print(f"  … {message}", flush=True))
            report = await seed_city(
                engine, vault, insured=args.insured, seed=args.seed, today=today, progress=progress
            )
            started = time.perf_counter()
            async with engine.connect() as conn:
                figures = await city_figures(conn, today)
            print(f"figures computed in {time.perf_counter() - started:.1f} s")
        finally:
            await engine.dispose()
    _print_report(report, figures, migrate_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
