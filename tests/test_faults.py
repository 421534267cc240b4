"""Database faults: PostgreSQL going away under running requests, and a saturated pool.

* The server restarts while the app is idle → the next requests are served (no dead pooled connection
  is handed out).
* The server stops while requests wait inside it (reading, or writing their audit entries) → each answers 503 ``DATABASE_UNAVAILABLE`` with
  ``Retry-After`` (never a hang, never a 500, no SQL in the body); while it is down requests and
  /readyz answer 503 at once; once it is back the same app serves again, with no restart.
* Every pooled connection taken → a request waits the pool timeout, then answers 503 ``DATABASE_BUSY``
  with ``Retry-After``; as soon as a connection is free requests succeed again.

The outage runs on a throwaway embedded server of the test's own (the session's server is shared by
every other test and is never stopped). Requests are held inside PostgreSQL deterministically: another
session holds an exclusive lock on ``persons`` (or ``audit_events``), and the test waits until every
request waits for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asyncpg.exceptions import AdminShutdownError, CannotConnectNowError, TooManyConnectionsError
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.app import create_app
from api.faults import refusal_for
from api.guards import timeout_refusal
from api.refusals import Refusal
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database, DatabaseUnreachable, make_engine
from persistence.embedded import EmbeddedServer, start
from persistence.migrate import upgrade
from resolvers.errors import (
    DATABASE_BUSY,
    DATABASE_UNAVAILABLE,
    FAULT_MESSAGES,
    INTERNAL_SERVER_ERROR,
    classify,
    database_fault,
    present,
)

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
PERSONS = "{ persons(first: 5) { edges { node { id nameKana } } } }"
IN_FLIGHT = 4
Client = httpx.AsyncClient


def _headers(token_for: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('kaigo_officer')}"}


def _assert_fault(response: httpx.Response, code: str, retry_after: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == retry_after
    body = response.json()
    assert body == {"data": None, "errors": [{"message": FAULT_MESSAGES[code], "extensions": {"code": code}}]}


# --- classification (no database) -----------------------------------------------------------------


def _wrapped(orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT secret FROM persons", None, orig, connection_invalidated=invalidated)


def _caused(outer: Exception, cause: BaseException) -> Exception:
    try:
        raise outer from cause
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (PoolTimeout("QueuePool limit reached"), DATABASE_BUSY),
        (_wrapped(TooManyConnectionsError("sorry, too many clients")), DATABASE_BUSY),
        (DatabaseUnreachable("ConnectionRefusedError"), DATABASE_UNAVAILABLE),
        (_wrapped(AdminShutdownError("terminating connection")), DATABASE_UNAVAILABLE),
        (_wrapped(CannotConnectNowError("the database system is starting up")), DATABASE_UNAVAILABLE),
        (_wrapped(RuntimeError("connection is closed"), invalidated=True), DATABASE_UNAVAILABLE),
        # the audit trail's refusal raised from a lost database is the database's fault
        (_caused(Refusal(503, "AUDIT_UNAVAILABLE", "…"), DatabaseUnreachable("x")), DATABASE_UNAVAILABLE),
        (_wrapped(ValueError("invalid input")), None),
        (FileNotFoundError("not the database's"), None),  # only connects are named unreachable
        (TimeoutError(), None),
    ],
)
def test_faults_are_classified(exc: Exception, code: str | None) -> None:
    assert database_fault(exc) == code
    refusal = refusal_for(exc)
    assert (refusal.code if refusal else None) == code


def test_a_request_timeout_is_not_a_fault() -> None:
    try:
        try:
            raise DatabaseUnreachable("x")
        except DatabaseUnreachable:
            raise timeout_refusal(30) from None  # as KaigoGraphQL raises it: the context is suppressed
    except Refusal as refused:
        assert refusal_for(refused) is None


def test_a_faulted_field_shows_a_fixed_message() -> None:
    original = _wrapped(AdminShutdownError("terminating connection"))
    error = GraphQLError("SELECT secret FROM persons", path=["persons"], original_error=original)
    assert classify(error) == DATABASE_UNAVAILABLE
    shown = present(error)
    assert shown.message == FAULT_MESSAGES[DATABASE_UNAVAILABLE]
    assert shown.extensions == {"code": DATABASE_UNAVAILABLE}
    plain = GraphQLError("boom", path=["persons"], original_error=RuntimeError("boom"))
    assert classify(plain) == INTERNAL_SERVER_ERROR


# --- PostgreSQL stopped under running requests ---------------------------------------------------


class Outage:
    def __init__(self, data_dir: Path, server: EmbeddedServer) -> None:
        self.data_dir = data_dir
        self.server = server

    def url(self, driver: str = "postgresql+asyncpg") -> str:
        return self.server.url("faults", driver=driver)

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = start(self.data_dir, settings=FAST)


@pytest.fixture
async def outage(private_tmp_path: Path, vault: NumberVault) -> AsyncIterator[Outage]:
    """A throwaway server with a small seeded city in database ``faults``."""
    from persistence.seed import seed_city

    data_dir = private_tmp_path / "data"
    server = await asyncio.to_thread(start, data_dir, settings=FAST)
    handle = Outage(data_dir, server)
    try:
        admin = await asyncpg.connect(server.url("postgres", driver="postgresql"))
        await admin.execute('CREATE DATABASE "faults"')
        await admin.close()
        engine = make_engine(handle.url(), pool_size=1)
        try:
            await upgrade(engine)
            await seed_city(engine, vault, insured=20, seed=3, today=date(2026, 11, 1))
        finally:
            await engine.dispose()
        yield handle
    finally:
        await asyncio.to_thread(handle.stop)


async def _waiting_for_lock(admin: asyncpg.Connection, table: str, count: int, timeout: float = 15) -> None:
    """Until ``count`` sessions wait for the lock ``admin`` holds on ``table``."""
    deadline = time.monotonic() + timeout
    sql = "SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted"
    while await admin.fetchval(sql, table) < count:
        assert time.monotonic() < deadline, "the requests never reached PostgreSQL"
        await asyncio.sleep(0.02)


@pytest.mark.db
async def test_requests_survive_a_postgresql_restart(
    outage: Outage, vault: NumberVault, authenticator: Any, token_for: Callable[..., str]
) -> None:
    engine = make_engine(outage.url(), pool_size=IN_FLIGHT, pool_timeout=2, connect_timeout=2)
    app = create_app(Runtime(Database(engine), vault, authenticator))
    headers = _headers(token_for)
    try:
        async with Client(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

            async def persons() -> httpx.Response:
                return await client.post("/graphql", json={"query": PERSONS}, headers=headers)

            async def all_served(count: int) -> None:
                for answer in await asyncio.gather(*(persons() for _ in range(count))):
                    assert answer.status_code == 200, answer.text
                    assert len(answer.json()["data"]["persons"]["edges"]) == 5

            await all_served(IN_FLIGHT)  # the pool now holds IN_FLIGHT idle connections
            assert (await client.get("/readyz")).status_code == 200

            # Restarted while the app is idle: every pooled connection is dead, none is handed out.
            await asyncio.to_thread(outage.stop)
            await asyncio.to_thread(outage.start)
            await all_served(IN_FLIGHT)

            # Requests held inside PostgreSQL when the server shuts down: reading persons, then (the
            # server back) writing their audit entries: the trail's refusal becomes the database's.
            for table in ("persons", "audit_events"):
                admin = await asyncpg.connect(outage.url("postgresql"))
                await admin.execute(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                running = [asyncio.create_task(persons()) for _ in range(IN_FLIGHT)]
                await _waiting_for_lock(admin, table, IN_FLIGHT)
                began = time.monotonic()
                await asyncio.to_thread(outage.stop)  # pg_ctl stop -m fast: every backend is terminated
                async with asyncio.timeout(10):
                    answers = await asyncio.gather(*running)
                assert time.monotonic() - began < 10
                # A fast shutdown signals every backend at once: the lock holder can exit first and a
                # waiter finish its one statement (read and audit entry together) before its own signal.
                refused = [answer for answer in answers if answer.status_code != 200]
                assert refused, "no request was refused by the shutdown"
                for answer in refused:
                    _assert_fault(answer, DATABASE_UNAVAILABLE, "5")
                for answer in answers:
                    if answer.status_code == 200:
                        assert len(answer.json()["data"]["persons"]["edges"]) == 5
                admin.terminate()
                if table == "persons":
                    await asyncio.to_thread(outage.start)

            # Down: refused at once, by queries, persisted documents (the registry reads the database
            # before execution) and the readiness check alike.
            async with asyncio.timeout(5):
                _assert_fault(await persons(), DATABASE_UNAVAILABLE, "5")
                by_id = {"documentId": "sha256:" + "0" * 64}
                _assert_fault(
                    await client.post("/graphql", json=by_id, headers=headers), DATABASE_UNAVAILABLE, "5"
                )
                ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable", "database": "unreachable"}

            # Back: the same app serves again; no dead pooled connection is handed out.
            await asyncio.to_thread(outage.start)
            assert (await client.get("/readyz")).status_code == 200
            await all_served(IN_FLIGHT * 2)
    finally:
        await engine.dispose()


# --- a saturated pool ----------------------------------------------------------------------------


@pytest.mark.db
async def test_a_saturated_pool_answers_busy_quickly(
    empty_database_url: str, vault: NumberVault, authenticator: Any, token_for: Callable[..., str]
) -> None:
    pool_timeout = 0.5
    engine = make_engine(empty_database_url, pool_size=1, pool_timeout=pool_timeout)  # 1 + 1 overflow
    app = create_app(Runtime(Database(engine), vault, authenticator))
    headers = _headers(token_for)
    held = [await engine.connect() for _ in range(2)]  # every connection the pool may open
    try:
        async with Client(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            began = time.monotonic()
            answer = await client.post("/graphql", json={"query": PERSONS}, headers=headers)
            waited = time.monotonic() - began
            _assert_fault(answer, DATABASE_BUSY, "1")
            assert pool_timeout * 0.9 <= waited < pool_timeout + 1.5
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable", "database": "busy"}

            await held.pop().close()  # one connection free again
            answer = await client.post("/graphql", json={"query": PERSONS}, headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["persons"]["edges"] == []
            assert (await client.get("/readyz")).status_code == 200
    finally:
        for conn in held:
            await conn.close()
        await engine.dispose()
