"""Signed checkpoints of the audit trail, kept outside the database.

A seal proves that the server wrote an entry as it stands; it cannot prove that an entry is still
there: the table's owner can remove the newest entries of a chain together with their seals. So now
and then the server signs the head of every chain — (chain, link, hash, count), and where each chain's
seals start — with Ed25519 and writes the signed checkpoint where the database's owner cannot reach:
a directory (default ``<data dir>/audit-checkpoints``) or an S3-compatible object store
(``s3://bucket/prefix``; ideally with object lock or versioning). ``kaigo audit verify`` checks every
chain against the latest checkpoint: a chain shorter than it, or whose entry at its head differs, is
broken, and so is an entry the checkpoint covers that has no seal.

The signing key is derived from the audit key (persistence/crypto.py ``audit_key``), so whoever
verifies seals can verify checkpoints; its public half is named in each checkpoint by ``key_id``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import unquote, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .audit import LEGACY_CHAIN, ChainHead, Checkpoint, Executor

__all__ = [
    "CheckpointError",
    "CheckpointStore",
    "Checkpointer",
    "Departure",
    "DirectoryStore",
    "ObjectStore",
    "Signer",
    "checkpoint_of",
    "departures",
    "latest_checkpoint",
    "open_store",
    "read_heads",
    "write_checkpoint",
]

FORMAT: Final = "kaigo-audit-checkpoint/v1"
SIGNING_INFO: Final = b"kaigo-graph/audit/checkpoint/ed25519/v1"
_NAME: Final = re.compile(r"checkpoint-(\d{8}T\d{6}\.\d{6}Z)-[0-9a-f]{8}\.json\Z")
_TIME_FORMAT: Final = "%Y%m%dT%H%M%S.%fZ"
_NEWEST_TRIED: Final = 100  # checkpoints read, newest first, looking for one that verifies
log = logging.getLogger("kaigo.audit")


class CheckpointError(Exception):
    """The checkpoint store cannot be read or written, or a checkpoint does not verify."""


class CheckpointStore(Protocol):
    """Where checkpoints are kept: write-once objects named by time."""

    def put(self, name: str, data: bytes) -> None: ...
    def names(self) -> list[str]: ...
    def get(self, name: str) -> bytes: ...
    def describe(self) -> str: ...


class DirectoryStore:
    """Checkpoints as files of a directory (created on first write, mode 0700; files 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return str(self.path)

    def put(self, name: str, data: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, self.path / name)  # never replaces a checkpoint of the same name
        tmp.unlink()

    def names(self) -> list[str]:
        if not self.path.exists():
            return []
        return [entry.name for entry in self.path.iterdir() if _NAME.match(entry.name)]

    def get(self, name: str) -> bytes:
        return (self.path / name).read_bytes()


class ObjectStore:
    """Checkpoints as objects of an S3-compatible bucket under a prefix (boto3; credentials and region
    from boto3's usual sources: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, instance roles)."""

    def __init__(self, bucket: str, prefix: str, *, endpoint: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        # an S3-compatible server of its own (MinIO, Ceph …) is addressed by path, not by bucket host name
        config = Config(
            s3={"addressing_style": "path" if endpoint else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=10,
        )
        self.client = boto3.client("s3", endpoint_url=endpoint, config=config)
        self.endpoint = endpoint

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType="application/json"
        )

    def names(self) -> list[str]:
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", ()):
                name = str(item["Key"])[len(self.prefix) :]
                if _NAME.match(name):
                    found.append(name)
        return found

    def get(self, name: str) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"]
        return bytes(body.read())


def open_store(location: str, *, s3_endpoint: str | None = None) -> CheckpointStore:
    """``s3://bucket/prefix``, ``file:///path`` or a path (KAIGO_AUDIT_CHECKPOINTS)."""
    parsed = urlparse(location)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise CheckpointError("an s3:// checkpoint location names its bucket: s3://bucket/prefix")
        return ObjectStore(parsed.netloc, unquote(parsed.path), endpoint=s3_endpoint)
    if parsed.scheme == "file":
        return DirectoryStore(Path(unquote(parsed.path)))
    if parsed.scheme:
        raise CheckpointError(f"checkpoints are kept in a directory or at s3://, not at {parsed.scheme}://")
    return DirectoryStore(Path(location))


class Signer:
    """Signs and checks checkpoints with the Ed25519 key derived from the audit key."""

    def __init__(self, audit_key: bytes) -> None:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_INFO).derive(audit_key)
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self._private.public_key()
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id})"

    def sign(self, payload: dict[str, Any], *, kind: str = FORMAT) -> bytes:
        """``payload`` signed as a document of format ``kind`` (a checkpoint, or a backup's manifest)."""
        body = {**payload, "format": kind, "key_id": self.key_id}
        signature = self._private.sign(_canonical(body))
        return json.dumps({**body, "signature": base64.b64encode(signature).decode()}, indent=1).encode()

    def open(self, name: str, data: bytes, *, kind: str = FORMAT) -> dict[str, Any]:
        """The document of format ``kind`` in ``data``; :class:`CheckpointError` unless this key signed
        exactly it."""
        try:
            document = json.loads(data)
            signature = base64.b64decode(document.pop("signature"), validate=True)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{name} is not a signed document") from exc
        if document.get("format") != kind or document.get("key_id") != self.key_id:
            raise CheckpointError(f"{name} is of another format or key ({document.get('key_id')})")
        try:
            self.public.verify(signature, _canonical(document))
        except InvalidSignature:
            raise CheckpointError(f"{name}: its signature does not verify") from None
        return dict(document)

    def read(self, name: str, data: bytes) -> Checkpoint:
        """The checkpoint in ``data``; :class:`CheckpointError` unless this key signed exactly it."""
        return checkpoint_of(name, self.open(f"checkpoint {name}", data))


def checkpoint_of(name: str, document: dict[str, Any]) -> Checkpoint:
    """The heads a signed document (a checkpoint, a backup's manifest) names."""
    try:
        heads = tuple(
            ChainHead(int(h["chain"]), int(h["link"]), str(h["hash"]), int(h["count"]))
            for h in document["chains"]
        )
        sealed_from = {int(c): int(link) for c, link in document["sealed_from"].items()}
        return Checkpoint(name, str(document["written_at"]), heads, sealed_from)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{name} lacks a field") from exc


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_HEADS: Final = text(
    "SELECT c.chain, h.link, h.hash FROM generate_series(1, 16) AS c(chain)"
    " CROSS JOIN LATERAL (SELECT link, hash FROM audit_events e"
    " WHERE e.chain = c.chain ORDER BY link DESC LIMIT 1) AS h"
)
_LEGACY_HEAD: Final = text(
    "SELECT max(seq) AS link, count(*) AS count,"
    " (SELECT hash FROM audit_events WHERE chain = 0 ORDER BY seq DESC LIMIT 1) AS hash"
    " FROM audit_events WHERE chain = 0"
)


async def read_heads(db: Executor) -> tuple[list[ChainHead], dict[int, int]]:
    """Every chain's last entry (chain 0: its last seq and its number of entries), and the seal starts."""
    heads = [ChainHead(int(r.chain), int(r.link), r.hash, int(r.link)) for r in await db.execute(_HEADS)]
    legacy = (await db.execute(_LEGACY_HEAD)).one()
    if legacy.count:
        heads.insert(0, ChainHead(LEGACY_CHAIN, int(legacy.link), legacy.hash, int(legacy.count)))
    starts = await db.execute(text("SELECT chain, first_link FROM audit_seal_start"))
    return heads, {int(r.chain): int(r.first_link) for r in starts}


@dataclasses.dataclass(frozen=True)
class Departure:
    """Links of a chain that an earlier head covered and the trail no longer holds (removed, or
    rolled back by a restore), or holds another entry at (``differs``: rewritten, or another trail)."""

    chain: int
    first: int
    last: int
    differs: bool = False

    def describe(self) -> str:
        links = f"link {self.first}" if self.first == self.last else f"links {self.first}–{self.last}"
        return f"chain {self.chain}, {links} {'differ' if self.differs else 'gone'}"


async def departures(db: Executor, before: Iterable[ChainHead]) -> list[Departure]:
    """Where the trail as it is no longer extends the heads ``before`` (a checkpoint's)."""
    heads, _ = await read_heads(db)
    now = {h.chain: h.link for h in heads}
    found = []
    for head in before:
        last = now.get(head.chain, 0)
        if last < head.link:
            found.append(Departure(head.chain, last + 1, head.link))
            continue
        position = "seq" if head.chain == LEGACY_CHAIN else "link"
        entry = await db.execute(
            text(f"SELECT hash FROM audit_events WHERE chain = :c AND {position} = :l"),
            {"c": head.chain, "l": head.link},
        )
        if entry.scalar() != head.hash:
            found.append(Departure(head.chain, head.link, head.link, differs=True))
    return found


def _name(at: dt.datetime) -> str:
    return f"checkpoint-{at.strftime(_TIME_FORMAT)}-{secrets.token_hex(4)}.json"


def _written_at(name: str) -> dt.datetime | None:
    match = _NAME.match(name)
    if match is None:
        return None
    return dt.datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=dt.UTC)


async def write_checkpoint(
    engine: AsyncEngine,
    store: CheckpointStore,
    signer: Signer,
    *,
    settle: float = 0.0,
    extra: dict[str, Any] | None = None,
    supersede: bool = False,
) -> str:
    """Read every chain's head, wait ``settle`` seconds (the seals of those entries, flushed every
    second by every worker, are written meanwhile: an entry a checkpoint covers must carry its seal),
    then sign and store them, with ``extra`` fields. Returns the checkpoint's name.

    Never signs a trail that no longer extends the latest checkpoint (:class:`CheckpointError`): a
    tail removed with its seals would otherwise verify against the next checkpoint. Only a restore
    or a recovery, which rolls the trail back on purpose, ``supersede``s it (persistence/backup.py)."""
    at = dt.datetime.now(dt.UTC)
    async with engine.connect() as conn:
        heads, starts = await read_heads(conn)
        if not supersede:
            latest, _ = await latest_checkpoint(store, signer)
            gone = await departures(conn, latest.heads) if latest is not None else []
            if gone and latest is not None:
                raise CheckpointError(
                    f"not signed: the trail no longer extends checkpoint {latest.name}"
                    f" ({'; '.join(d.describe() for d in gone)}); `kaigo audit verify` names the breaks"
                )
    await asyncio.sleep(settle)
    document = signer.sign(
        {
            "written_at": at.isoformat(timespec="microseconds"),
            "database": engine.url.database,
            "chains": [dataclasses.asdict(h) for h in heads],
            "sealed_from": {str(c): link for c, link in sorted(starts.items())},
            **(extra or {}),
        }
    )
    name = _name(at)
    await asyncio.to_thread(store.put, name, document)
    return name


async def latest_checkpoint(store: CheckpointStore, signer: Signer) -> tuple[Checkpoint | None, list[str]]:
    """The newest checkpoint that verifies, and what is wrong with any newer one (a checkpoint that does
    not verify was planted or damaged: the store itself was written by someone else)."""
    names = sorted(await asyncio.to_thread(store.names), reverse=True)
    problems: list[str] = []
    for name in names[:_NEWEST_TRIED]:
        try:
            return signer.read(name, await asyncio.to_thread(store.get, name)), problems
        except CheckpointError as exc:
            problems.append(str(exc))
    return None, problems


class Checkpointer:
    """A worker's periodic checkpoint. Every worker runs one; a worker skips its turn when the store
    already holds a checkpoint younger than half the interval (another worker's)."""

    def __init__(self, store: CheckpointStore, signer: Signer, *, every: float, settle: float) -> None:
        self.store, self.signer, self.every, self.settle = store, signer, every, settle

    async def due(self) -> bool:
        names: Iterable[str] = await asyncio.to_thread(self.store.names)
        times = [t for t in map(_written_at, names) if t is not None]
        if not times:
            return True
        return (dt.datetime.now(dt.UTC) - max(times)).total_seconds() >= self.every / 2

    async def run(self, engine: AsyncEngine) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.every * (0.9 + 0.2 * secrets.randbelow(1000) / 1000))  # workers apart
            try:
                if await self.due():
                    name = await write_checkpoint(engine, self.store, self.signer, settle=self.settle)
                    log.info("audit checkpoint %s written to %s", name, self.store.describe())
                failing = False
            except CheckpointError as exc:  # the trail was cut: said every turn, loudly
                log.error("audit checkpoint %s", exc)
            except Exception as exc:  # the database or the store is away: the next turn tries again
                if not failing:
                    log.warning(
                        "audit checkpoint not written to %s: %s", self.store.describe(), type(exc).__name__
                    )
                failing = True
