"""Engine and sessions: one pool per process, one session (and transaction) per request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.util import greenlet_spawn

from .tracing import statement_span


class DatabaseUnreachable(Exception):
    """A new connection could not be opened: refused, no socket, or not answered in time.

    The driver raises bare ``OSError``/``TimeoutError`` for these, which SQLAlchemy passes on unwrapped;
    this names them as what they are, so that the HTTP layer answers DATABASE_UNAVAILABLE (and a connect
    timeout is never taken for the request's own time limit). The message names the class only.
    """


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout: float = 30.0,
    connect_timeout: float | None = None,
    pool_pre_ping: bool = False,
    pool_recycle: int = 1800,
    echo: bool = False,
    statement_timeout_ms: int | None = None,
    **kw: Any,
) -> AsyncEngine:
    """An asyncpg engine. ``echo`` stays off by default: SQL echo would print parameter values.

    ``statement_timeout_ms`` (the server's, KAIGO_STATEMENT_TIMEOUT_MS) is set on every connection, so
    PostgreSQL itself cancels a runaway statement; None (migrations, seeding, tools): no timeout.

    Faults (the server passes KAIGO_DB_POOL_TIMEOUT_SECONDS, KAIGO_DB_CONNECT_TIMEOUT_SECONDS and
    KAIGO_DB_PRE_PING; tools keep SQLAlchemy's and asyncpg's defaults): a checkout waits at most
    ``pool_timeout`` seconds for a free connection (then ``sqlalchemy.exc.TimeoutError``), opening one at
    most ``connect_timeout`` (then :class:`DatabaseUnreachable`).

    Dead connections: a pooled connection the server closed (restart, shutdown, ``pg_terminate_backend``)
    is known to asyncpg as soon as the event loop reads the end of its socket, so :func:`_alive` refuses
    it at checkout at no cost, and every older pooled connection with it; a connection lost in the
    middle of a request is invalidated by SQLAlchemy (a disconnect error), again with every older one;
    and none is older than ``pool_recycle`` seconds. ``pool_pre_ping`` (a BEGIN, ``;``, ROLLBACK: three
    round trips per checkout, paid by every request) also catches connections that died
    silently (a network path dropped without a reset, a proxy's idle timeout): off unless asked for.
    """
    connect_args = dict(kw.pop("connect_args", {}))
    if statement_timeout_ms is not None:
        connect_args["server_settings"] = {
            **connect_args.get("server_settings", {}),
            "statement_timeout": str(statement_timeout_ms),
        }
    if connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    if connect_args:
        kw["connect_args"] = connect_args
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=pool_pre_ping,
        pool_recycle=pool_recycle,
        echo=echo,
        hide_parameters=True,  # never put bound values (numbers, names) into exception messages
        json_deserializer=_json_loads,
        **kw,
    )
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "checkout", _alive)
    return engine


def _json_loads(text: str | bytes) -> Any:
    """The json/jsonb columns and a planned read's answer (a whole data tree) through orjson, a few
    times faster than the standard decoder; what orjson refuses (an integer past 64 bits) as before."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _alive(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """Refuse a pooled connection the server has closed; the pool then replaces it and every connection
    opened before it (a restart closed those too), and hands out a fresh one."""
    driver = connection_record.driver_connection
    if driver is not None and driver.is_closed():
        raise InvalidatePoolError("the server closed the connection")


def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
    """The dialect's own connect, with "cannot reach the server" named :class:`DatabaseUnreachable`."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError) as exc:  # refused, reset, no socket file, connect timeout
        raise DatabaseUnreachable(type(exc).__name__) from exc


class Database:
    """Where requests get their session.

    In the server it draws connections from the engine's pool; in tests it can be bound to one
    connection whose outer transaction is rolled back after the test (``bind``), so every request of
    the test runs inside a savepoint of that transaction.
    """

    def __init__(self, engine: AsyncEngine, *, bind: AsyncConnection | None = None) -> None:
        self.engine = engine
        self._bind = bind

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together when the block ends without error."""
        if self._bind is not None:
            session = AsyncSession(bind=self._bind, join_transaction_mode="create_savepoint")
        else:
            session = AsyncSession(bind=self.engine)
        async with session, session.begin():
            yield session

    async def read_one(self, sql: str, arguments: Sequence[Any]) -> Any:
        """One statement in a transaction of its own (autocommit: no BEGIN, no COMMIT round trip), on a
        pooled driver connection: the row it returns. A planned read and its audit entry are such a
        statement, so they commit together or not at all. Bound to a test's connection, the statement
        runs in a savepoint of its transaction instead.

        Shielded like :meth:`SerialSession.execute`: a request cancelled meanwhile (its time limit) lets
        the statement finish rather than leave the connection in the middle of one."""
        return await asyncio.shield(self._read_one(sql, arguments))

    async def _read_one(self, sql: str, arguments: Sequence[Any]) -> Any:
        if self._bind is not None:
            async with self.session() as session:
                raw = await _driver_in_transaction(await session.connection())
                with statement_span(sql):
                    return await raw.fetchrow(sql, *arguments)
        # the pool's connection without SQLAlchemy's Connection around it (half the CPU of a checkout):
        # the same checkout events (``_alive``), faults and reset on return
        pooled = await greenlet_spawn(self.engine.sync_engine.raw_connection)
        try:
            raw = pooled.driver_connection
            assert raw is not None  # a checked-out connection has its driver connection
            with statement_span(sql):
                return await raw.fetchrow(sql, *arguments)
        finally:
            await greenlet_spawn(pooled.close)

    @property
    def bound(self) -> bool:
        """Bound to a test's one connection: nothing runs beside a request's own session."""
        return self._bind is not None

    async def read_value(self, sql: str, arguments: Sequence[Any], *, settings: str) -> Any:
        """One read statement in a read-only transaction of its own on a pooled connection, after
        ``settings`` (a SELECT of ``set_config(…, true)``: they end with the transaction): the value it
        returns. For work beside a request's own transaction (a transfer page's persons); shielded
        like :meth:`read_one`. Not for a bound Database (one connection: nothing runs beside)."""
        if self._bind is not None:
            raise RuntimeError("a bound Database runs nothing beside the request's session")
        return await asyncio.shield(self._read_value(sql, arguments, settings))

    async def _read_value(self, sql: str, arguments: Sequence[Any], settings: str) -> Any:
        pooled = await greenlet_spawn(self.engine.sync_engine.raw_connection)
        try:
            raw = pooled.driver_connection
            assert raw is not None  # a checked-out connection has its driver connection
            async with raw.transaction(readonly=True):
                await raw.fetchval(settings)
                with statement_span(sql):
                    return await raw.fetchval(sql, *arguments)
        finally:
            await greenlet_spawn(pooled.close)


class SerialSession:
    """Serialises statements of one request's session.

    DataLoaders of different fields fire in the same event-loop tick; one asyncpg connection runs one
    statement at a time, so they queue here instead of failing with "concurrent operations".
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lock = asyncio.Lock()
        self.statements = 0  # counted for the round-trip tests and the audit trail
        self._connected = False  # a statement has run: the session holds its connection

    async def execute(self, statement: Any, params: Any = None) -> Any:
        # Shielded: graphql-core cancels a field's resolver when a sibling's error nulls their parent,
        # and a statement cancelled mid-flight would leave the connection unusable for the rest of the
        # request (its audit entry, its commit). The statement finishes; its result is dropped.
        return await asyncio.shield(self._execute(statement, params))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """One statement on the driver's (asyncpg) connection, in the session's transaction: half the
        CPU of SQLAlchemy's path, for the statement every audited request runs (its audit entry).
        Shielded and serialised like :meth:`execute`."""
        return await asyncio.shield(self._driver("fetchval", sql, args))

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        """As :meth:`fetchval`, for a statement answering one row (asyncpg's Record)."""
        return await asyncio.shield(self._driver("fetchrow", sql, args))

    async def fetch(self, sql: str, *args: Any) -> Any:
        """As :meth:`fetchval`, for a statement answering rows (a list of asyncpg's Records)."""
        return await asyncio.shield(self._driver("fetch", sql, args))

    async def _driver(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        async with self.lock:
            self.statements += 1
            raw = await self._driver_connection()
            with statement_span(sql):
                return await getattr(raw, method)(sql, *args)

    async def _driver_connection(self) -> Any:
        """The asyncpg connection in the session's transaction. Once a statement has run, the session
        holds its connection and the lookup does no I/O: taken synchronously, without the greenlet
        round trip of SQLAlchemy's async path."""
        if self._connected:
            raw = self.session.sync_session.connection().connection.driver_connection
            if raw is not None and raw.is_in_transaction():
                return raw
        raw = await _driver_in_transaction(await self.session.connection())
        self._connected = True  # the session holds its connection now (a request of driver statements only)
        return raw

    async def settle(self) -> None:
        """Wait for every statement already sent (a shielded one may outlive its cancelled field): call
        before the commit, which must not overlap a statement on the connection."""
        async with self.lock:
            pass

    async def _execute(self, statement: Any, params: Any) -> Any:
        async with self.lock:
            self.statements += 1
            result = await self.session.execute(statement, params)
            self._connected = True
            return result


async def transaction_aborted(db: SerialSession) -> bool:
    """Whether PostgreSQL has aborted the session's transaction (after a failed statement every further
    one fails until the rollback): probed with ``SELECT 1``, for error paths only."""
    try:
        await db.execute(text("SELECT 1"))
    except DBAPIError:
        return True
    return False


async def driver_fetchval(db: AsyncConnection | AsyncSession | SerialSession, sql: str, *args: Any) -> Any:
    """``fetchval`` on the asyncpg connection under ``db``, inside its transaction (a statement span
    when tracing; asyncpg's own exceptions, which carry the SQLSTATE)."""
    return await _driver_call(db, "fetchval", sql, args)


async def driver_fetchrow(db: AsyncConnection | AsyncSession | SerialSession, sql: str, *args: Any) -> Any:
    """As :func:`driver_fetchval`, for a statement answering one row."""
    return await _driver_call(db, "fetchrow", sql, args)


async def driver_fetch(db: AsyncConnection | AsyncSession | SerialSession, sql: str, *args: Any) -> Any:
    """As :func:`driver_fetchval`, for a statement answering rows."""
    return await _driver_call(db, "fetch", sql, args)


async def _driver_call(
    db: AsyncConnection | AsyncSession | SerialSession, method: str, sql: str, args: tuple[Any, ...]
) -> Any:
    if isinstance(db, SerialSession):
        return await getattr(db, method)(sql, *args)
    raw = await _driver_in_transaction(await db.connection() if isinstance(db, AsyncSession) else db)
    with statement_span(sql):
        return await getattr(raw, method)(sql, *args)


async def _driver_in_transaction(connection: AsyncConnection) -> Any:
    """The asyncpg connection under ``connection``, its transaction begun."""
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None  # a checked-out connection has its driver connection
    if not raw.is_in_transaction():
        # SQLAlchemy sends BEGIN with its first statement; past it, a statement would commit on its own
        await connection.execute(text("SELECT 1"))
    return raw
