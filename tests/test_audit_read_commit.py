"""KAIGO_AUDIT_READ_COMMIT: whether a read's transaction (its answer's entry) waits for the disk at its
commit. ``async`` sets ``synchronous_commit`` off for that transaction only — in the planned read's
statement, or with the entry on the executor's path — never for a write's. The app runs on the test's
connection (a request in a savepoint of its transaction), so what a request set for its transaction
is still set there when it ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.settings import Settings

pytestmark = pytest.mark.db

PERSON = "query P($id: ID!) { person(id: $id) { id name } }"
SET_FLAG = """mutation F($p: ID!, $on: Boolean!, $r: String!) {
  setNoAutomaticResponse(personId: $p, on: $on, reason: $r) { flag } }"""


async def _send(app: Any, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body


async def _commit_mode(conn: AsyncConnection) -> str:
    return str(await conn.scalar(text("SHOW synchronous_commit")))


@pytest.fixture(autouse=True)
async def _waits_for_the_disk(seeded_conn: AsyncConnection) -> None:
    """The suite's server does not wait for the disk (tests/conftest.py): its transactions here do."""
    await seeded_conn.execute(text("SET LOCAL synchronous_commit = on"))


async def _entries(conn: AsyncConnection) -> int:
    return int(await conn.scalar(text("SELECT count(*) FROM audit_events")) or 0)


async def _a_person(conn: AsyncConnection) -> str:
    return str(await conn.scalar(text("SELECT min(id) FROM persons")))


@pytest.mark.parametrize("planned", [True, False], ids=["planned", "executor"])
async def test_async_reads_commit_without_waiting_for_the_disk(
    app_with: Callable[..., Any], seeded_conn: AsyncConnection, token_for: Callable[..., str], planned: bool
) -> None:
    app = app_with(audit_durable_reads=False, planned_reads=planned)
    before = await _entries(seeded_conn)
    assert await _commit_mode(seeded_conn) == "on"
    await _read_twice(app, seeded_conn, token_for("kaigo_officer"), await _a_person(seeded_conn))
    assert await _entries(seeded_conn) == before + 2  # the entries are written all the same
    assert await _commit_mode(seeded_conn) == "off"
    reads = app.state.graphql.reads
    assert (reads.answered if reads is not None else 0) == int(planned)


async def _read_twice(app: Any, conn: AsyncConnection, token: str, person: str) -> None:
    """A free text is planned from its second sighting (api/documents TextCache): the second read is
    the planner's, the first the executor's. What counts is what the second sets."""
    await _send(app, token, PERSON, {"id": person})
    await conn.execute(text("SET LOCAL synchronous_commit = on"))
    await _send(app, token, PERSON, {"id": person})


async def test_durable_reads_wait_for_the_disk(
    app_with: Callable[..., Any], seeded_conn: AsyncConnection, token_for: Callable[..., str]
) -> None:
    app = app_with()  # the default
    before = await _entries(seeded_conn)
    await _read_twice(app, seeded_conn, token_for("kaigo_officer"), await _a_person(seeded_conn))
    assert await _entries(seeded_conn) == before + 2
    assert app.state.graphql.reads.answered == 1
    assert await _commit_mode(seeded_conn) == "on"


async def test_writes_wait_for_the_disk_whatever_the_reads_do(
    app_with: Callable[..., Any], seeded_conn: AsyncConnection, token_for: Callable[..., str]
) -> None:
    app = app_with(audit_durable_reads=False)
    before = await _entries(seeded_conn)
    variables = {"p": await _a_person(seeded_conn), "on": True, "r": "本人の申出"}
    await _send(app, token_for("kaigo_section_chief"), SET_FLAG, variables)
    assert await _entries(seeded_conn) == before + 1
    assert await _commit_mode(seeded_conn) == "on"


def test_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIGO_AUDIT_READ_COMMIT", raising=False)
    assert Settings.from_env().audit_read_commit == "durable"
    monkeypatch.setenv("KAIGO_AUDIT_READ_COMMIT", "async")
    assert Settings.from_env().audit_read_commit == "async"
    monkeypatch.setenv("KAIGO_AUDIT_READ_COMMIT", "sometimes")
    with pytest.raises(SystemExit, match="KAIGO_AUDIT_READ_COMMIT must be one of: durable, async"):
        Settings.from_env()
