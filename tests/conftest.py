"""Test fixtures: one PostgreSQL server per session, databases cloned from templates, rollback per test.

The server is the embedded one (a temporary data dir) unless KAIGO_TEST_SERVER_URL names another
server (CI runs the database tests a second time against 127.0.0.1:5432 that way). Every database
the session creates carries a random suffix and is dropped at the end.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from persistence.migrate import upgrade

TEST_KEY = base64.b64decode("a2FpZ28tZ3JhcGgtdGVzdC1rZXktMzItYnl0ZXMhISE=")  # 32 bytes, tests only
SEED_TODAY = date(2026, 11, 1)
SEED_INSURED = 300
SEED = 7
RUN = secrets.token_hex(3)


class PgServer:
    """A PostgreSQL server the session may create and drop databases on."""

    def __init__(self, maintenance_url: str) -> None:
        self.maintenance = make_url(maintenance_url).set(drivername="postgresql")

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return self.maintenance.set(drivername=driver, database=database).render_as_string(
            hide_password=False
        )

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url("postgres", "postgresql"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}"' if template else ""
        await self._admin(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    async def drop(self, name: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    external = os.environ.get("KAIGO_TEST_SERVER_URL")
    if external:
        yield PgServer(external)
        return
    from persistence.embedded import start

    data_dir = Path(tempfile.mkdtemp(prefix="kaigo-test-pg-"))
    server = start(
        data_dir, settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    )
    try:
        yield PgServer(server.url("postgres"))
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def private_tmp_path() -> Iterator[Path]:
    """A directory of the test's own outside pytest's base directory: every pytest session that starts on
    the machine resets that base to mode 0700, which would lock the embedded server's system user out of
    a data directory in the middle of a test."""
    path = Path(tempfile.mkdtemp(prefix="kaigo-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def vault() -> NumberVault:
    return NumberVault(TEST_KEY)


@pytest.fixture(scope="session")
async def migrated_template(pg_server: PgServer) -> AsyncIterator[str]:
    """A database at the head migration, used only as a template (no connections stay open on it)."""
    name = f"kaigo_t_migrated_{RUN}"
    url = await pg_server.create(name)
    engine = make_engine(url, pool_size=1)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    yield name
    await pg_server.drop(name)


@pytest.fixture
async def empty_database_url(pg_server: PgServer, migrated_template: str) -> AsyncIterator[str]:
    """A fresh migrated database of the test's own, for work that must really commit."""
    name = f"kaigo_t_{RUN}_{secrets.token_hex(4)}"
    url = await pg_server.create(name, template=migrated_template)
    yield url
    await pg_server.drop(name)


async def _rollback_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture(scope="session")
async def migrated_engine(pg_server: PgServer, migrated_template: str) -> AsyncIterator[AsyncEngine]:
    name = f"kaigo_t_work_{RUN}"
    engine = make_engine(await pg_server.create(name, template=migrated_template), pool_size=2)
    yield engine
    await engine.dispose()
    await pg_server.drop(name)


@pytest.fixture
async def migrated_conn(migrated_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection to an empty migrated database; everything the test does is rolled back."""
    async for conn in _rollback_connection(migrated_engine):
        yield conn


@pytest.fixture(scope="session")
async def seeded_engine(
    pg_server: PgServer, migrated_template: str, vault: NumberVault
) -> AsyncIterator[AsyncEngine]:
    """A small synthetic city (SEED_INSURED insured, seed SEED, as of SEED_TODAY) for read tests."""
    from persistence.seed import seed_city

    name = f"kaigo_t_seeded_{RUN}"
    engine = make_engine(await pg_server.create(name, template=migrated_template), pool_size=4)
    await seed_city(engine, vault, insured=SEED_INSURED, seed=SEED, today=SEED_TODAY)
    yield engine
    await engine.dispose()
    await pg_server.drop(name)


@pytest.fixture
async def seeded_conn(seeded_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async for conn in _rollback_connection(seeded_engine):
        yield conn


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from api.devkeys import ensure_dev_keys

    return ensure_dev_keys(tmp_path_factory.mktemp("identity"))


@pytest.fixture(scope="session")
def authenticator(dev_keys: Any) -> Any:
    from api.auth import TokenVerifier
    from api.devkeys import DEV_ISSUER

    return TokenVerifier(
        jwks=str(dev_keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
    )


@pytest.fixture(scope="session")
def token_for(dev_keys: Any) -> Callable[..., str]:
    """A signed development token for ``role`` (cached per role and department)."""
    cache: dict[tuple[str, str | None], str] = {}

    def issue(role: str, department: str | None = None) -> str:
        key = (role, department)
        if key not in cache:
            cache[key] = dev_keys.issue_token(role, sub=f"test-{role}", department=department)
        return cache[key]

    return issue


@pytest.fixture
def app_with(
    seeded_engine: AsyncEngine, seeded_conn: AsyncConnection, vault: NumberVault, authenticator: Any
) -> Callable[..., Any]:
    """Builds the application bound to the test's rolled-back connection on the seeded city, with the
    given Runtime options (guards, introspection roles …) over the defaults."""
    from api.app import create_app
    from api.runtime import Runtime

    def build(**options: Any) -> Any:
        return create_app(Runtime(Database(seeded_engine, bind=seeded_conn), vault, authenticator, **options))

    return build


@pytest.fixture
def app(app_with: Callable[..., Any]) -> Any:
    """The application bound to the test's rolled-back connection on the seeded city."""
    return app_with()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def gql_response(
    client: httpx.AsyncClient, token_for: Callable[..., str]
) -> Callable[..., Awaitable[httpx.Response]]:
    async def post(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: str = "kaigo_number_officer",
        department: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {token_for(role, department)}"}
        sent.update(headers or {})
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await client.post("/graphql", json=body, headers=sent)

    return post


@pytest.fixture
def gql(gql_response: Callable[..., Awaitable[httpx.Response]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def run(query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response = await gql_response(query, variables, **kw)
        body: dict[str, Any] = response.json()
        return body

    return run
