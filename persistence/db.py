"""Engine and sessions: one pool per process, one session (and transaction) per request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    statement_timeout_ms: int | None = None,
    **kw: Any,
) -> AsyncEngine:
    """An asyncpg engine. ``echo`` stays off by default: SQL echo would print parameter values.

    ``statement_timeout_ms`` (the server's, KAIGO_STATEMENT_TIMEOUT_MS) is set on every connection, so
    PostgreSQL itself cancels a runaway statement; None (migrations, seeding, tools): no timeout.
    """
    if statement_timeout_ms is not None:
        connect_args = dict(kw.pop("connect_args", {}))
        server_settings = {
            **connect_args.get("server_settings", {}),
            "statement_timeout": str(statement_timeout_ms),
        }
        kw["connect_args"] = {**connect_args, "server_settings": server_settings}
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        echo=echo,
        hide_parameters=True,  # never put bound values (numbers, names) into exception messages
        **kw,
    )


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


class SerialSession:
    """Serialises statements of one request's session.

    DataLoaders of different fields fire in the same event-loop tick; one asyncpg connection runs one
    statement at a time, so they queue here instead of failing with "concurrent operations".
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lock = asyncio.Lock()
        self.statements = 0  # counted for the round-trip tests and the audit trail

    async def execute(self, statement: Any, params: Any = None) -> Any:
        async with self.lock:
            self.statements += 1
            return await self.session.execute(statement, params)
