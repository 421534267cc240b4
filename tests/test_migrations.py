"""Migrations go up and down cleanly, and the models and the migrations describe the same schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from persistence.db import make_engine
from persistence.migrate import downgrade, head_revision, is_current, upgrade
from persistence.models import Base
from policies.codes import code_tables

pytestmark = pytest.mark.db


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_down_to_base_and_up_again(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        assert await is_current(engine)
        assert set(Base.metadata.tables) <= await _tables(engine)

        await downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        assert not await is_current(engine)

        await upgrade(engine)
        assert await is_current(engine)
        async with engine.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM code_care_level"))).scalar_one()
        assert count == len(code_tables()["care_level"].values)
    finally:
        await engine.dispose()


async def test_models_match_the_migrations(migrated_conn) -> None:  # type: ignore[no-untyped-def]
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    assert await migrated_conn.run_sync(diff) == []


async def test_every_code_of_the_data_file_is_in_the_database(migrated_conn) -> None:  # type: ignore[no-untyped-def]
    for kind, table in code_tables().items():
        rows = await migrated_conn.execute(text(f"SELECT code, name FROM code_{kind} ORDER BY code"))
        assert sorted((v.code, v.name) for v in table.values) == [tuple(r) for r in rows]


def test_single_head() -> None:
    assert head_revision() == "0015"
