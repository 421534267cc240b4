"""Find or create the database the application uses: DATABASE_URL, or an embedded server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger("kaigo.bootstrap")

DEFAULT_DATABASE = "kaigo"


STATE_FILE = "pg.state"  # the supervisor's state, under the data dir (persistence/supervisor.py)


@contextmanager
def embedded_database(data_dir: Path, *, attach: bool = False, supervise: bool = False) -> Iterator[str]:
    """Start (or take over) the embedded PostgreSQL under ``data_dir/pg``; stop it when the block ends.

    ``attach``: when a running ``kaigo serve`` owns that server, use it as it is (and leave it running)
    instead of refusing: the commands that run beside the server (``kaigo audit verify``, ``pq``, …).
    ``supervise`` (``kaigo serve``): start it again whenever it dies, until the block ends."""
    from .embedded import InUse, running, start  # lazily: production never loads the embedded binaries

    try:
        server = start(data_dir, log=log)
    except InUse as busy:
        attached = running(data_dir) if attach else None
        if attached is None:
            raise
        log.info("using the embedded PostgreSQL of the running server (process %d)", busy.owner)
        yield attached.url(DEFAULT_DATABASE)
        return
    supervisor = None
    if supervise:
        from .supervisor import Supervisor

        supervisor = Supervisor(server, data_dir, data_dir / STATE_FILE)
        supervisor.start()
    try:
        yield server.url(DEFAULT_DATABASE)
    finally:
        if supervisor is not None:
            supervisor.stop()  # first: the server must not be brought back once stopped
            server = supervisor.server
        server.stop()


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist yet (connecting to `postgres`)."""
    target = make_url(url)
    name = target.database
    assert name, "the database URL names no database"
    maintenance = target.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(maintenance.render_as_string(hide_password=False))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
            log.info("created database %s", name)
    finally:
        await conn.close()
