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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.crypto import NumberVault

from .generate import BASE_PREMIUM, CityGenerator, annual_premium
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
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    @property
    def persons(self) -> int:
        return self.counts.get("persons", 0)


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
                    f"the database already holds {existing} persons; seed an empty database or pass replace=True"
                )
            await _truncate(conn)
            say("truncated the data tables")
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for batch in generator.batches(HOUSEHOLDS_PER_BATCH):
            for name in TABLES:
                rows = batch[name]
                if rows:
                    await raw.copy_records_to_table(name, records=rows, columns=COLUMNS[name])
                    counts[name] += len(rows)
            say(
                f"households {generator.household_index}, insured {generator.insured_made}/{insured}, "
                f"persons {counts['persons']}, rows {sum(counts.values())}"
            )
        for name in TABLES:
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                )
            )
        await conn.commit()
    elapsed = time.perf_counter() - started
    say(f"committed {sum(counts.values())} rows in {elapsed:.1f} s")
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
    """Empty every data table of the model (code tables and alembic_version stay)."""
    from persistence.models import CODE_TABLES, Base

    code_tables = {t.name for t in CODE_TABLES.values()}
    names = sorted(t.name for t in Base.metadata.sorted_tables if t.name not in code_tables)
    await conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY"))
