"""The audit chain under concurrent requests that really commit, and ``kaigo audit verify`` on it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.cli import build_parser
from api.settings import Settings
from persistence.audit import Sealer
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from persistence.seed import seed_city

pytestmark = pytest.mark.db

AUDIT_KEY = bytes(range(100, 132))
PERSON = "query Person($id: ID!) { person(id: $id) { id individualNumber } }"


@pytest.fixture
async def city(empty_database_url: str, vault: NumberVault) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_database_url, pool_size=8)
    await seed_city(engine, vault, insured=20, seed=5, today=date(2026, 11, 1))
    yield engine
    await engine.dispose()


async def test_concurrent_requests_make_one_intact_chain(
    city: AsyncEngine,
    empty_database_url: str,
    vault: NumberVault,
    authenticator: Any,
    token_for: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    private_tmp_path: Path,
) -> None:
    from api.app import create_app
    from api.runtime import Runtime

    async with city.connect() as conn:
        ids = [r.id for r in await conn.execute(text("SELECT id FROM persons ORDER BY id LIMIT 12"))]
    sealer = Sealer(AUDIT_KEY)
    app = create_app(Runtime(Database(city), vault, authenticator, sealer=sealer))
    headers = {"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

        async def read(pk: int) -> None:
            response = await client.post(
                "/graphql", json={"query": PERSON, "variables": {"id": str(pk)}}, headers=headers
            )
            assert response.status_code == 200 and "errors" not in response.json()

        await asyncio.gather(*(read(pk) for pk in ids + ids))
        assert sealer.pending == 2 * len(ids)  # each entry's seal, once its request committed
    await sealer.flush(city)

    async with city.connect() as conn:
        rows = (await conn.execute(text("SELECT chain, link, person_ids FROM audit_events"))).all()
    assert len(rows) == 2 * len(ids)
    assert sorted(r.person_ids[0] for r in rows) == sorted(ids + ids)
    links: dict[int, list[int]] = {}
    for r in rows:
        links.setdefault(r.chain, []).append(r.link)
    assert len(links) > 1  # the pool's connections wrote to chains of their own
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in links.values())  # no gaps, no forks
    chain, link = max((c, max(v)) for c, v in links.items() if len(v) >= 2)

    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    monkeypatch.setenv("KAIGO_AUDIT_KEY", base64.b64encode(AUDIT_KEY).decode())
    monkeypatch.setenv("KAIGO_AUDIT_CHECKPOINTS", str(private_tmp_path))
    assert await verify_command() == 0
    out = capsys.readouterr().out
    assert f"intact: {2 * len(ids)} entries in {len(links)} chains ({2 * len(ids)} sealed" in out

    async with city.begin() as conn:  # the owner, behind the trigger's back
        await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        await conn.execute(
            text("UPDATE audit_events SET subject = 'someone else' WHERE chain = :c AND link = :l"),
            {"c": chain, "l": link - 1},
        )
        await conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
    assert await verify_command() == 1
    assert f"broken at chain {chain}, link {link - 1} (seq " in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert await verify_command() == 2  # could not check: not "broken"
    assert "audit trail not checked" in capsys.readouterr().err


async def verify_command() -> int:
    """``kaigo audit verify``'s exit code (in a thread: the command runs its own event loop; without
    ``main``, whose logging configuration would outlive the test)."""

    def run() -> int:
        args = build_parser().parse_args(["audit", "verify"])
        try:
            args.func(args, Settings.from_env())
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    return await asyncio.to_thread(run)
