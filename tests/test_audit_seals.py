"""The audit trail against its own database's owner: keyed seals, signed checkpoints outside the
database, and ``kaigo audit verify`` naming every broken chain (issue 16).

The attacks are the table owner's: triggers off, an entry changed and every later link of its chain
recomputed (the unkeyed hashes allow it), an entry removed and the chain relinked, the newest entries
removed with their seals."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.audit import (
    GENESIS,
    AuditEntry,
    Sealer,
    UnexpectedLink,
    append,
    content_hash,
    link_hash,
    verify,
)
from persistence.audit_checkpoints import (
    CheckpointError,
    DirectoryStore,
    ObjectStore,
    Signer,
    latest_checkpoint,
    write_checkpoint,
)
from persistence.backup import checkpoint_rollback
from persistence.db import Database, make_engine
from persistence.migrate import downgrade, upgrade

pytestmark = pytest.mark.db

KEY = bytes(range(32))


def an_entry(subject: str = "s") -> AuditEntry:
    return AuditEntry(
        occurred_at=dt.datetime.now(dt.UTC),
        subject=subject,
        roles=("kaigo_officer",),
        department="kaigo",
        operation_type="query",
        operation_name="Person",
        person_ids=(1, 2),
    )


@pytest.fixture
async def engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_database_url, pool_size=4)
    yield engine
    await engine.dispose()


async def sealed_entries(engine: AsyncEngine, sealer: Sealer, n: int, subject: str = "s") -> int:
    """``n`` entries written and committed one by one on one connection (one chain); returns the chain."""
    database = Database(engine)
    chain = 0
    for _ in range(n):
        async with database.session() as session:
            chain = (await append(session, an_entry(subject), sealer=sealer)).chain
    await sealer.flush(engine)
    return chain


async def owner(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.begin() as conn:
        for table in ("audit_events", "audit_seals"):
            await conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield conn
        for table in ("audit_events", "audit_seals"):
            await conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


async def relink(conn: AsyncConnection, chain: int) -> None:
    """Recompute every link of ``chain`` as the unkeyed format allows anyone to."""
    rows = (
        (await conn.execute(text("SELECT * FROM audit_events WHERE chain = :c ORDER BY link"), {"c": chain}))
        .mappings()
        .all()
    )
    prev = GENESIS
    for at, row in enumerate(rows, start=1):
        own = link_hash(chain, at, prev, content_hash(row))
        await conn.execute(
            text("UPDATE audit_events SET link = :at, prev_hash = :p, hash = :h WHERE seq = :s"),
            {"at": at, "p": prev, "h": own, "s": row["seq"]},
        )
        prev = own


async def checked(engine: AsyncEngine, **kw: Any) -> Any:
    async with engine.connect() as conn:
        return await verify(conn, key=KEY, **kw)


async def test_a_seal_is_queued_when_its_entry_commits_and_never_for_a_rollback(engine: AsyncEngine) -> None:
    sealer = Sealer(KEY)
    database = Database(engine)
    async with database.session() as session:
        await append(session, an_entry(), sealer=sealer)
        assert sealer.pending == 0  # not before the commit
    assert sealer.pending == 1
    with pytest.raises(RuntimeError):
        async with database.session() as session:
            await append(session, an_entry(), sealer=sealer)
            raise RuntimeError("the request failed")
    assert sealer.pending == 1
    assert await sealer.flush(engine) == 1 and sealer.pending == 0
    result = await checked(engine)
    assert (result.intact, result.count, result.sealed, result.unsealed) == (True, 1, 1, ())


async def test_a_rewritten_and_relinked_entry_no_longer_matches_its_seal(engine: AsyncEngine) -> None:
    chain = await sealed_entries(engine, Sealer(KEY), 5)
    async for conn in owner(engine):
        await conn.execute(
            text("UPDATE audit_events SET subject = 'someone else', person_ids = '{9}' WHERE link = 2")
        )
        await relink(conn, chain)
    async with engine.connect() as conn:
        assert (await verify(conn)).intact  # the unkeyed chain holds: issue 16's finding
    [broken] = (await checked(engine)).broken
    assert (broken.chain, broken.link) == (chain, 2) and "seal does not match" in broken.reason


async def test_a_removed_entry_and_a_relinked_chain_are_found(engine: AsyncEngine) -> None:
    chain = await sealed_entries(engine, Sealer(KEY), 5)
    async for conn in owner(engine):
        await conn.execute(text("DELETE FROM audit_events WHERE link = 3"))
        await relink(conn, chain)
    [broken] = (await checked(engine)).broken
    assert broken.link == 3 and "seal does not match" in broken.reason


async def test_the_newest_entries_removed_with_their_seals_are_found_by_the_checkpoint(
    engine: AsyncEngine, private_tmp_path: Path
) -> None:
    chain = await sealed_entries(engine, Sealer(KEY), 4)
    store, signer = DirectoryStore(private_tmp_path), Signer(KEY)
    await write_checkpoint(engine, store, signer)
    async for conn in owner(engine):
        await conn.execute(text("DELETE FROM audit_events WHERE link > 2"))
    result = await checked(engine)
    [broken] = result.broken
    assert broken.link == 3 and "has a seal" in broken.reason  # the seals outlive their entries

    async for conn in owner(engine):
        await conn.execute(text("DELETE FROM audit_seals WHERE link > 2"))
    assert (await checked(engine)).intact  # without a checkpoint nothing tells
    checkpoint, problems = await latest_checkpoint(store, signer)
    assert checkpoint is not None and problems == []
    [broken] = (await checked(engine, checkpoint=checkpoint)).broken
    assert (broken.chain, broken.link) == (chain, 3) and "the checkpoint saw 4" in broken.reason


async def test_no_checkpoint_is_signed_over_a_cut_trail_unless_it_rolls_back_on_purpose(
    engine: AsyncEngine, private_tmp_path: Path
) -> None:
    """Entries a checkpoint covers, removed with their seals, stay found: the next checkpoint is not
    signed over the cut (else `verify`, which reads the latest, would say intact). A restore or a
    recovery supersedes it on purpose, naming the links it discards."""
    chain = await sealed_entries(engine, Sealer(KEY), 4)
    store, signer = DirectoryStore(private_tmp_path), Signer(KEY)
    covered = await write_checkpoint(engine, store, signer)
    async for conn in owner(engine):
        await conn.execute(text("DELETE FROM audit_events WHERE link > 2"))
        await conn.execute(text("DELETE FROM audit_seals WHERE link > 2"))
    with pytest.raises(CheckpointError, match=f"no longer extends checkpoint {covered}"):
        await write_checkpoint(engine, store, signer)
    checkpoint, _ = await latest_checkpoint(store, signer)
    assert checkpoint is not None and checkpoint.name == covered
    assert "removed" in (await checked(engine, checkpoint=checkpoint)).broken[0].reason

    rollback = await checkpoint_rollback(engine, store, signer, cause={"recovered_at": "test"})
    assert rollback.superseded == covered
    assert [(d.chain, d.first, d.last, d.differs) for d in rollback.discarded] == [(chain, 3, 4, False)]
    checkpoint, _ = await latest_checkpoint(store, signer)
    assert checkpoint is not None and checkpoint.name == rollback.checkpoint
    assert (await checked(engine, checkpoint=checkpoint)).intact
    await sealed_entries(engine, Sealer(KEY), 1)
    assert await write_checkpoint(engine, store, signer)  # the trail extends the rollback's heads


async def test_a_checkpoint_finds_a_chain_relinked_from_an_unsealed_entry(
    engine: AsyncEngine, private_tmp_path: Path
) -> None:
    """An entry whose seal is missing can be rewritten undetected by its seal; once a checkpoint covers
    it, the head the checkpoint signed no longer matches, and an unsealed entry it covers is broken."""
    sealer = Sealer(KEY)
    chain = await sealed_entries(engine, sealer, 2)
    async with engine.begin() as conn:  # written, its seal lost (a crash before the batch)
        await append(conn, an_entry())
    result = await checked(engine)
    assert result.intact and [(u.chain, u.first, u.last) for u in result.unsealed] == [(chain, 3, 3)]

    store, signer = DirectoryStore(private_tmp_path), Signer(KEY)
    await write_checkpoint(engine, store, signer)
    checkpoint, _ = await latest_checkpoint(store, signer)
    [broken] = (await checked(engine, checkpoint=checkpoint)).broken
    assert broken.link == 3 and "older than the checkpoint" in broken.reason

    async for conn in owner(engine):
        await conn.execute(text("UPDATE audit_events SET subject = 'x' WHERE link = 3"))
        await relink(conn, chain)
    [broken] = (await checked(engine, checkpoint=checkpoint)).broken
    assert broken.link == 3 and "differs from the checkpoint" in broken.reason


async def test_every_broken_chain_is_named(engine: AsyncEngine) -> None:
    sealer = Sealer(KEY)
    by_chain: dict[int, AsyncConnection] = {}
    spare = []
    while len(by_chain) < 2:  # connections whose backends append to two different chains
        conn = await engine.connect()
        chain = (await conn.execute(text("SELECT 1 + pg_backend_pid() % 16"))).scalar_one()
        await conn.commit()
        if chain in by_chain:
            spare.append(conn)
        else:
            by_chain[chain] = conn
    for conn in by_chain.values():
        for _ in range(3):
            entry = an_entry()
            appended = await append(conn, entry)
            row = entry.row()
            await conn.commit()
            sealer.add(appended.chain, appended.link, appended.prev_hash, appended.hash, row)
    for conn in [*by_chain.values(), *spare]:
        await conn.close()
    await sealer.flush(engine)
    first, second = sorted(by_chain)
    async for conn in owner(engine):
        await conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND link = 1"), {"c": first})
        await conn.execute(
            text("UPDATE audit_events SET subject = 'x' WHERE chain = :c AND link = 2"), {"c": second}
        )
    broken = (await checked(engine)).broken
    assert [(b.chain, b.link) for b in broken] == [(first, 1), (second, 2)]


async def test_the_server_refuses_to_seal_a_link_it_did_not_compute(engine: AsyncEngine) -> None:
    sealer = Sealer(KEY)
    row = an_entry().row()
    own = link_hash(3, 1, GENESIS, content_hash(row))
    assert sealer.seal_of(3, 1, GENESIS, own, row).seal
    with pytest.raises(UnexpectedLink):
        sealer.seal_of(3, 1, GENESIS, own, {**row, "subject": "someone else"})
    with pytest.raises(UnexpectedLink):
        sealer.seal_of(3, 2, GENESIS, own, row)


async def test_entries_before_the_seals_verify_the_old_way(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        await downgrade(engine, "0007")
        async with engine.begin() as conn:
            for _ in range(3):
                await conn.execute(
                    text(
                        "SELECT audit_append(now(), 's', '{r}', NULL, 'query', NULL, NULL, '{}', '{}',"
                        " '[]'::jsonb, 'ok', '{}', NULL, :h)"
                    ),
                    {"h": content_hash({**an_entry().row(), "subject": "s"})},
                )
        await upgrade(engine)
        result = await checked(engine)
        # the content hash above is not these rows' (occurred_at differs): broken the old way, yet no
        # entry before the seals is called unsealed
        assert result.unsealed == ()
        async with engine.connect() as conn:
            starts = set((await conn.execute(text("SELECT first_link FROM audit_seal_start"))).scalars())
        assert 4 in starts and 1 in starts
    finally:
        await engine.dispose()


async def test_a_lowered_seal_start_is_overruled_by_the_checkpoint(
    engine: AsyncEngine, private_tmp_path: Path
) -> None:
    chain = await sealed_entries(engine, Sealer(KEY), 1)
    async with engine.begin() as conn:
        await append(conn, an_entry())  # unsealed
    store, signer = DirectoryStore(private_tmp_path), Signer(KEY)
    async for conn in owner(engine):
        await conn.execute(text("ALTER TABLE audit_seal_start DISABLE TRIGGER USER"))
    await write_checkpoint(engine, store, signer)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_seal_start SET first_link = 100 WHERE chain = :c"), {"c": chain}
        )
    assert (await checked(engine)).unsealed == ()  # the exemption works on the database's word alone
    checkpoint, _ = await latest_checkpoint(store, signer)
    assert (await checked(engine, checkpoint=checkpoint)).broken  # not on the checkpoint's


async def test_a_checkpoint_that_does_not_verify_is_reported(
    engine: AsyncEngine, private_tmp_path: Path
) -> None:
    await sealed_entries(engine, Sealer(KEY), 1)
    store, signer = DirectoryStore(private_tmp_path), Signer(KEY)
    good = await write_checkpoint(engine, store, signer)
    forged = Signer(bytes(32 * [7]))
    await asyncio.sleep(0.001)
    await write_checkpoint(engine, store, forged)  # newer, signed with another key
    checkpoint, problems = await latest_checkpoint(store, signer)
    assert checkpoint is not None and checkpoint.name == good
    assert len(problems) == 1 and "another format or key" in problems[0]
    name = sorted(store.names())[-1]
    data = store.get(name).replace(b'"link": 1', b'"link": 9')
    (private_tmp_path / name).unlink()
    store.put(name, data)
    assert b'"link": 9' in data
    checkpoint, problems = await latest_checkpoint(store, forged)
    assert checkpoint is None and problems[0] == f"checkpoint {name}: its signature does not verify"


# --- the object store ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 server (a real HTTP S3 API on loopback), as a separate process."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("moto's S3 server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


@pytest.fixture
def s3_store(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "kaigo-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "kaigo-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"kaigo-{secrets.token_hex(4)}"
    store = ObjectStore(bucket, "city/audit", endpoint=s3_server)
    store.client.create_bucket(Bucket=bucket)
    return store


async def test_checkpoints_in_an_s3_compatible_store(engine: AsyncEngine, s3_store: ObjectStore) -> None:
    chain = await sealed_entries(engine, Sealer(KEY), 3)
    signer = Signer(KEY)
    name = await write_checkpoint(engine, s3_store, signer)
    assert s3_store.names() == [name]
    keys = [o["Key"] for o in s3_store.client.list_objects_v2(Bucket=s3_store.bucket)["Contents"]]
    assert keys == [f"city/audit/{name}"]
    checkpoint, problems = await latest_checkpoint(s3_store, signer)
    assert checkpoint is not None and problems == []
    assert [(h.chain, h.link, h.count) for h in checkpoint.heads] == [(chain, 3, 3)]
    async for conn in owner(engine):
        await conn.execute(text("DELETE FROM audit_events WHERE link = 3"))
        await conn.execute(text("DELETE FROM audit_seals WHERE link = 3"))
    [broken] = (await checked(engine, checkpoint=checkpoint)).broken
    assert broken.link == 3 and "removed" in broken.reason
