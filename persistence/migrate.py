"""Schema migrations (Alembic) and the code tables that come from policies/data/codes.toml."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from policies.codes import code_tables

from .models.base import code_table_name

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def sync_codes(connection: Connection) -> None:
    """Upsert every code of codes.toml into its reference table (codes are added, never dropped here)."""
    for kind, table in code_tables().items():
        name = code_table_name(kind)
        for value in table.values:
            connection.execute(
                text(
                    f"INSERT INTO {name} (code, name, label_ja, label_en) VALUES (:c, :n, :ja, :en) "
                    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
                    "label_ja = EXCLUDED.label_ja, label_en = EXCLUDED.label_en"
                ),
                {"c": value.code, "n": value.name, "ja": value.ja, "en": value.en},
            )


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)
    if revision == "head":
        sync_codes(connection)


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction (PostgreSQL has transactional DDL)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, revision)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the head revision (used by /readyz)."""
    async with engine.connect() as conn:
        current = await conn.run_sync(current_revision)
    return current is not None and current == head_revision()
