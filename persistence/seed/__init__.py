"""``kaigo seed``: load a deterministic synthetic city into an empty, migrated database.

    report = await seed_city(engine, vault, insured=130_000, seed=1, today=date(2026, 11, 1))

``insured`` is the number of qualification rows (insured persons, including those who died or moved
out during the last year); the household members who are not insured come on top.  The same
``seed``, ``insured`` and ``today`` always give the same rows, except the AES-GCM ciphertexts of the
individual numbers (random nonces); their blind index is deterministic for a given key.

Loading uses COPY on one asyncpg connection inside ONE transaction: if anything fails, nothing stays.
Individual numbers only ever leave this package encrypted; the progress callback receives counts.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.crypto import NumberVault

from .generate import CityGenerator
from .levies import BASE_PREMIUM, annual_premium
from .tables import COLUMNS, TABLES

__all__ = ["BASE_PREMIUM", "SeedError", "SeedReport", "annual_premium", "seed_city"]

HOUSEHOLDS_PER_BATCH = 2000


class SeedError(RuntimeError):
    """The database cannot be seeded as asked (already holds persons, or its schema does not match)."""


@dataclass(frozen=True)
class SeedReport:
    """What one seeding run wrote: rows per table (in load order) and how long it took."""

    counts: dict[str, int]
    elapsed_seconds: float
    seed: int
    insured: int
    today: date
    households: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    @property
    def persons(self) -> int:
        return self.counts.get("persons", 0)

    def summary(self) -> str:
        """A few lines for the terminal: what was written, how fast (counts only, never data)."""
        lines = [
            f"seeded {self.insured} insured ({self.persons} persons, {self.households} households) "
            f"with seed {self.seed} as of {self.today.isoformat()}: {self.total_rows} rows "
            f"in {self.elapsed_seconds:.1f} s"
        ]
        lines += [f"  {name:26} {count:>10,}" for name, count in self.counts.items()]
        return "\n".join(lines)


async def seed_city(
    engine: AsyncEngine,
    vault: NumberVault,
    *,
    insured: int,
    seed: int = 1,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    replace: bool = False,
) -> SeedReport:
    """Generate the city and COPY it into the database behind ``engine`` in one transaction.

    Raises :class:`SeedError` when persons already exist, unless ``replace`` is true: then every data
    table of the model (not the code tables) is truncated first, inside the same transaction.
    """
    started = time.perf_counter()
    today = today or date.today()
    say = progress or (lambda _message: None)
    generator = CityGenerator(vault, insured=insured, seed=seed, today=today)
    counts = dict.fromkeys(TABLES, 0)
    async with engine.connect() as conn:
        await conn.begin()
        await _check_schema(conn)
        existing = (await conn.execute(text("SELECT count(*) FROM persons"))).scalar_one()
        if existing:
            if not replace:
                raise SeedError(
                    f"the database already holds {existing} persons; seed an empty database or replace what it holds"
                )
            await _truncate(conn)
            say("truncated the data tables")
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        restore = await _drop_foreign_keys(conn)
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        # Generate the next batch in a worker thread while the server digests the current one.
        batches = generator.batches(HOUSEHOLDS_PER_BATCH)
        loop = asyncio.get_running_loop()
        switch = sys.getswitchinterval()
        # The event loop must get the GIL back quickly from the generating thread whenever the server
        # answers; the default switch interval would leave the COPY stream idle most of the time.
        sys.setswitchinterval(min(switch, 0.0005))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kaigo-seed") as worker:
            pending = loop.run_in_executor(worker, next, batches, None)
            try:
                while (batch := await pending) is not None:
                    pending = loop.run_in_executor(worker, next, batches, None)
                    for name in TABLES:
                        rows = batch[name]
                        if rows:
                            await raw.copy_records_to_table(name, records=rows, columns=COLUMNS[name])
                            counts[name] += len(rows)
                    say(
                        f"persons {counts['persons']}, insured {counts['qualifications']}/{insured}, "
                        f"rows {sum(counts.values())}"
                    )
            finally:
                await asyncio.gather(pending, return_exceptions=True)
                sys.setswitchinterval(switch)
        say(f"checking {len(restore)} foreign keys")
        for statement in restore:
            await conn.execute(text(statement))
        for name in TABLES:
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                )
            )
        await conn.commit()
        # Planner statistics now, not whenever autovacuum gets to it: without them the first minutes
        # plan one person's lookups as parallel scans instead of index scans.
        say("analyzing the seeded tables")
        for name in TABLES:
            await conn.execute(text(f"ANALYZE {name}"))
        await conn.commit()
    elapsed = time.perf_counter() - started
    say(f"committed and analyzed {sum(counts.values())} rows in {elapsed:.1f} s")
    return SeedReport(
        counts=counts,
        elapsed_seconds=elapsed,
        seed=seed,
        insured=insured,
        today=today,
        households=generator.household_index,
    )


async def _check_schema(conn: AsyncConnection) -> None:
    rows = (
        await conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ANY(:tables)"
            ),
            {"tables": list(TABLES)},
        )
    ).all()
    present: dict[str, list[str]] = {}
    for table_name, column in rows:
        present.setdefault(table_name, []).append(column)
    for name, columns in COLUMNS.items():
        missing = [c for c in columns if c not in present.get(name, [])]
        if missing:
            raise SeedError(f"table {name} lacks columns {missing}: is the database migrated to head?")


async def _truncate(conn: AsyncConnection) -> None:
    """Empty every table that holds the city's records or refers to its persons. The code tables, the
    persisted-document registry and the audit trail stay: they are not demo data. Provision records
    younger than 7 years refuse to go (their trigger), and then nothing is replaced."""
    from persistence.models import CODE_TABLES, Base

    trail = {"audit_events", "audit_seals", "audit_seal_start"}
    kept = {t.name for t in CODE_TABLES.values()} | trail | {"persisted_documents"}
    names = sorted(t.name for t in Base.metadata.sorted_tables if t.name not in kept)
    await conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY"))


async def _drop_foreign_keys(conn: AsyncConnection) -> list[str]:
    """Drop the foreign keys of the seeded tables; return the statements that put them back.

    Checking a foreign key row by row (a trigger per row and key) is what makes a bulk load slow;
    re-adding the constraint at the end validates all rows in one join.  Both happen inside the seed's
    transaction, so other sessions never see the tables without their keys.
    """
    rows = (
        await conn.execute(
            text(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                "WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace "
                "AND t.relname = ANY(:tables) ORDER BY 1, 2"
            ),
            {"tables": list(TABLES)},
        )
    ).all()
    restore = []
    for table_name, constraint, definition in rows:
        await conn.execute(text(f'ALTER TABLE {table_name} DROP CONSTRAINT "{constraint}"'))
        restore.append(f'ALTER TABLE {table_name} ADD CONSTRAINT "{constraint}" {definition}')
    return restore
