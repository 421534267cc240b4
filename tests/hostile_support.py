"""A small city in a database of its own whose requests really commit, for the fuzzing and the hostile
catalogue: no test-wide transaction to roll back (one request's broken connection cannot spoil the
next), and what changed can be read from another connection.

``snapshot`` fingerprints every table (row count and an md5 over the rows in a fixed order); the audit
trail is fingerprinted on its own, so a test can allow it to grow by the entries of the operations that
ran while everything else must stay byte for byte the same.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.guards import Guards
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from policies.clients import clients

AUDIT_TABLE = "audit_events"
LEAKS = (
    "Traceback",
    'File "',
    "SELECT ",
    "INSERT ",
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "/work/",
    "site-packages",
    '.py"',
    "Did you mean",
)


@dataclass
class City:
    engine: AsyncEngine
    app: Any

    def client(self) -> httpx.AsyncClient:
        # As a real client sees it: an exception escaping the app is an HTTP 500, not a raised error.
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def committed_city(
    pg_server: Any,
    migrated_template: str,
    vault: NumberVault,
    authenticator: Any,
    *,
    insured: int = 40,
    seed: int = 11,
    statement_timeout_ms: int | None = 5000,
    trusted: bool = True,
) -> AsyncIterator[City]:
    """A seeded database of its own and the app over it as ``kaigo serve`` builds it (trusted roles on
    unless ``trusted=False``, statement timeout), with a rate limit high enough for a burst of requests."""
    from persistence.seed import seed_city

    name = f"kaigo_t_hostile_{secrets.token_hex(4)}"
    url = await pg_server.create(name, template=migrated_template)
    seeding = make_engine(url, pool_size=1)
    try:
        await seed_city(seeding, vault, insured=insured, seed=seed, today=date(2026, 11, 1))
    finally:
        await seeding.dispose()
    engine = make_engine(url, pool_size=4, statement_timeout_ms=statement_timeout_ms)
    runtime = Runtime(
        Database(engine),
        vault,
        authenticator,
        trusted_roles=clients().trusted_roles if trusted else frozenset(),
        guards=Guards(rate_per_second=10_000, rate_burst=100_000),
    )
    try:
        yield City(engine, create_app(runtime))
    finally:
        await engine.dispose()
        await pg_server.drop(name)


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, tuple[int, str]]  # every table but the audit trail: (rows, md5 of the rows)
    audit_rows: int
    audit_last_seq: int
    audit_md5: str  # of the entries up to audit_last_seq

    def changed_tables(self, other: Snapshot) -> list[str]:
        names = set(self.tables) | set(other.tables)
        return sorted(n for n in names if self.tables.get(n) != other.tables.get(n))


async def snapshot(engine: AsyncEngine) -> Snapshot:
    async with engine.connect() as conn:
        names = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            )
        ).scalars()
        tables: dict[str, tuple[int, str]] = {}
        for name in list(names):
            row = (
                await conn.execute(
                    text(
                        f"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM \"{name}\" t"
                    )
                )
            ).one()
            tables[name] = (int(row[0]), str(row[1]))
        audit = tables.pop(AUDIT_TABLE)
        last = int(
            (await conn.execute(text(f"SELECT coalesce(max(seq), 0) FROM {AUDIT_TABLE}"))).scalar_one()
        )
    return Snapshot(tables, audit[0], last, await audit_md5(engine, last))


async def audit_md5(engine: AsyncEngine, up_to: int) -> str:
    async with engine.connect() as conn:
        value = (
            await conn.execute(
                text(
                    f"SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.seq)), '') "
                    f"FROM {AUDIT_TABLE} t WHERE t.seq <= :n"
                ),
                {"n": up_to},
            )
        ).scalar_one()
    return str(value)


async def audit_entries_after(engine: AsyncEngine, seq: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT seq, subject, operation_type, outcome, error_codes, person_ids "
                    f"FROM {AUDIT_TABLE} WHERE seq > :n ORDER BY seq"
                ),
                {"n": seq},
            )
        ).mappings()
        return [dict(r) for r in rows]


def deep_query(levels: int) -> str:
    """Persons → household → members, ``levels`` times over: deeper than the limit past a few."""
    inner = "id"
    for _ in range(levels):
        inner = f"household {{ members {{ {inner} }} }}"
    return f"{{ persons(first: 1) {{ nodes {{ {inner} }} }} }}"


def fragment_bomb() -> str:
    """Forty fragments each spreading the next twice: 2**40 fields once expanded."""
    fragments = " ".join(f"fragment F{i} on Person {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    return "{ persons(first: 1) { nodes { ...F0 } } } " + fragments + " fragment F40 on Person { id }"
