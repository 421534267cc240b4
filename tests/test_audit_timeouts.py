"""A read whose statement PostgreSQL cancels answers STATEMENT_TIMEOUT, and its attempt is still in the
audit trail (the aborted transaction could not take the entry; a fresh one does)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.audit import verify
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from persistence.seed import seed_city

pytestmark = pytest.mark.db

PERSON = "query Person($id: ID!) { person(id: $id) { id name } }"


@pytest.fixture
async def city(empty_database_url: str, vault: NumberVault) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_database_url, pool_size=2, statement_timeout_ms=300)
    await seed_city(engine, vault, insured=10, seed=3, today=date(2026, 11, 1))
    yield engine
    await engine.dispose()


async def test_a_cancelled_read_is_answered_and_recorded(
    city: AsyncEngine, vault: NumberVault, authenticator: Any, token_for: Callable[..., str]
) -> None:
    from api.app import create_app
    from api.runtime import Runtime

    async with city.connect() as conn:
        person = (await conn.execute(text("SELECT min(id) FROM persons"))).scalar_one()
    app = create_app(Runtime(Database(city), vault, authenticator))
    headers = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    blocker = await city.connect()
    try:
        await blocker.begin()
        await blocker.execute(
            text("LOCK TABLE persons IN ACCESS EXCLUSIVE MODE")
        )  # the read waits, then is cancelled
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.post(
                "/graphql", json={"query": PERSON, "variables": {"id": str(person)}}, headers=headers
            )
    finally:
        await blocker.rollback()
        await blocker.close()
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["STATEMENT_TIMEOUT"]
    assert "persons" not in response.text and "LOCK" not in response.text

    async with city.connect() as conn:
        rows = (await conn.execute(text("SELECT subject, outcome, error_codes FROM audit_events"))).all()
        assert [(r.subject, r.outcome, r.error_codes) for r in rows] == [
            ("test-kaigo_officer", "error", ["STATEMENT_TIMEOUT"])
        ]
        assert (await verify(conn)).intact
