"""Writing and checking the audit trail (アクセス記録): hash chains appended under a lock per chain.

Since revision 0005 every database connection appends to chain ``1 + backend pid % 16`` through the
``audit_append`` function: one statement takes the chain's transaction-scoped advisory lock, reads the
chain's last entry and inserts the new one, linked to it. The lock is held to the commit (the chain's
next writer must see this entry), so call it last; writers on other chains never wait for it.

An entry's hash covers its fields (the *content hash*, computed here), its chain, its link number and
the previous entry's hash, so changing, removing or reordering any committed entry breaks every link
after it in its chain. Entries written before revision 0005 form chain 0, hashed the old way
(:func:`entry_hash`), and are verified as they are.

Those hashes are unkeyed: the table's owner, triggers off, could rewrite an entry and every link after
it. So since revision 0010 the server also *seals* each entry it wrote (:class:`Sealer`: an HMAC with a
key the database never holds, written to ``audit_seals`` in batches), and signs the head of every
chain now and then outside the database (persistence/audit_checkpoints.py). :func:`verify` checks all
three: links, seals, the latest checkpoint.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from .db import driver_fetchrow
from .models.audit import AuditEvent, AuditSeal

__all__ = [
    "GENESIS",
    "Appended",
    "AuditEntry",
    "Broken",
    "ChainHead",
    "Checkpoint",
    "Executor",
    "Seal",
    "Sealer",
    "UnexpectedLink",
    "Unsealed",
    "Verification",
    "append",
    "content_hash",
    "entry_hash",
    "link_hash",
    "seal",
    "verify",
]

GENESIS: Final = "0" * 64
"""``prev_hash`` of the first entry of a chain."""
LEGACY_CHAIN: Final = 0
"""The single chain of the entries written before revision 0005 (no link numbers; ordered by seq)."""

_table = AuditEvent.__table__


class Executor(Protocol):
    """An AsyncSession, AsyncConnection or SerialSession: whatever runs the request's statements."""

    async def execute(self, statement: Any, params: Any = None) -> Any: ...


@dataclass(frozen=True)
class AuditEntry:
    """What one audited operation did: who, when, what, about whom, and how it ended."""

    occurred_at: dt.datetime
    subject: str
    roles: tuple[str, ...]
    department: str | None
    operation_type: str
    operation_name: str | None
    document_id: str | None = None
    person_ids: tuple[int, ...] = ()
    number_person_ids: tuple[int, ...] = ()  # 個人番号 revealed in the response for these persons
    decisions: tuple[Mapping[str, str | None], ...] = ()  # {"code", "basis_item"}
    outcome: str = "ok"
    error_codes: tuple[str, ...] = ()
    trace_id: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at.astimezone(dt.UTC),
            "subject": self.subject,
            "roles": sorted(self.roles),
            "department": self.department,
            "operation_type": self.operation_type,
            # a client names its operation as it likes: the column keeps the first 200 characters
            "operation_name": self.operation_name[:200] if self.operation_name is not None else None,
            "document_id": self.document_id,
            "person_ids": sorted(set(self.person_ids) | set(self.number_person_ids)),
            "number_person_ids": sorted(set(self.number_person_ids)),
            "decisions": [{"code": d.get("code"), "basis_item": d.get("basis_item")} for d in self.decisions],
            "outcome": self.outcome,
            "error_codes": sorted(set(self.error_codes)),
            "trace_id": self.trace_id,
        }


def _canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    occurred: dt.datetime = row["occurred_at"]
    return {
        "occurred_at": occurred.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "subject": row["subject"],
        "roles": list(row["roles"]),
        "department": row["department"],
        "operation_type": row["operation_type"],
        "operation_name": row["operation_name"],
        "document_id": row["document_id"],
        "person_ids": [int(i) for i in row["person_ids"]],
        "number_person_ids": [int(i) for i in row["number_person_ids"]],
        "decisions": [{"code": d.get("code"), "basis_item": d.get("basis_item")} for d in row["decisions"]],
        "outcome": row["outcome"],
        "error_codes": list(row["error_codes"]),
        "trace_id": row["trace_id"],
    }


def _sha256_json(value: Mapping[str, Any]) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def content_hash(row: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of an entry's recorded fields (what happened, not where)."""
    return _sha256_json(_canonical(row))


def link_hash(chain: int, link: int, prev_hash: str, content: str) -> str:
    """An entry's hash since revision 0005; ``audit_append`` computes the same in the database."""
    return hashlib.sha256(f"kaigo-audit-v2|{chain}|{link}|{prev_hash}|{content}".encode()).hexdigest()


def entry_hash(row: Mapping[str, Any], seq: int, prev_hash: str) -> str:
    """An entry's hash in chain 0 (before revision 0005): its fields, its seq and the previous hash."""
    return _sha256_json({**_canonical(row), "seq": seq, "prev_hash": prev_hash})


def seal(key: bytes, chain: int, link: int, hash_: str) -> str:
    """The keyed seal of an entry (migration 0010): HMAC-SHA256 of its place and its hash, which covers
    its fields and, through ``prev_hash``, every entry before it in its chain. Without the key nobody can
    seal a rewritten entry; the database never holds it."""
    message = f"kaigo-audit-seal-v1|{chain}|{link}|{hash_}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Appended:
    """Where ``audit_append_linked`` put an entry, as the database reports it."""

    seq: int
    chain: int
    link: int
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Seal:
    chain: int
    link: int
    seal: str


class UnexpectedLink(Exception):
    """The database linked an entry otherwise than the server computes it (its hash is not the sha256
    of what was sent, chained to the previous hash): the entry is not sealed. The message names the
    place only."""


_PENDING_SEALS: Final = "kaigo.audit.seals"
_INSERT_SEALS: Final = text(
    "INSERT INTO audit_seals (chain, link, seal)"
    " SELECT * FROM unnest(CAST(:chains AS smallint[]), CAST(:links AS bigint[]), CAST(:seals AS text[]))"
    " ON CONFLICT (chain, link) DO NOTHING"  # a seal, once written, stays the one written first
)
log = logging.getLogger("kaigo.audit")


class Sealer:
    """Seals the entries this process wrote, once they are committed, and writes the seals in batches.

    The entry is appended by the database (``audit_append_linked``, or the read path's own statement),
    which answers with its (chain, link, prev_hash, hash). :meth:`seal_of` recomputes the content hash
    from the fields the server sent and the link hash from the answer, and refuses an entry whose hash
    differs (:class:`UnexpectedLink`); :meth:`queue` keeps the seal of a *committed* entry (a seal of a
    rolled-back one would claim a place a later entry takes); :meth:`add` does both, for an entry
    committed already (autocommit). :meth:`run`, a task of each worker, writes the queue to
    ``audit_seals`` every ``every`` seconds and once more when cancelled (shutdown). A crash loses at
    most the seals of that interval: ``kaigo audit verify`` reports those entries as unsealed.
    """

    def __init__(self, key: bytes, *, max_pending: int = 1_000_000) -> None:
        if len(key) < 32:
            raise ValueError("the audit key must be at least 32 bytes")
        self._key = key
        self._pending: list[Seal] = []
        self.max_pending = max_pending
        self.dropped = 0

    def __repr__(self) -> str:
        return f"Sealer(pending={len(self._pending)})"

    def seal_of(self, chain: int, link: int, prev_hash: str, hash_: str, row: Mapping[str, Any]) -> Seal:
        """The seal of an entry whose fields were ``row`` (:meth:`AuditEntry.row`), linked by the database
        at (chain, link) after ``prev_hash`` with ``hash_``; :class:`UnexpectedLink` if that is not the
        hash of these fields there."""
        if link_hash(chain, link, prev_hash, content_hash(row)) != hash_:
            raise UnexpectedLink(f"the database linked chain {chain}, link {link} unlike the server")
        return Seal(chain, link, seal(self._key, chain, link, hash_))

    def queue(self, sealed: Seal) -> None:
        """Keep a committed entry's seal for the next batch."""
        if len(self._pending) >= self.max_pending:
            self.dropped += 1  # memory before completeness: the entry stays unsealed, verify says so
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error("audit seals not written for %d entries: the queue is full", self.dropped)
            return
        self._pending.append(sealed)

    def add(self, chain: int, link: int, prev_hash: str, hash_: str, row: Mapping[str, Any]) -> None:
        """Check and queue the seal of an entry already committed (the read path's autocommit
        statement): raises :class:`UnexpectedLink` (and seals nothing) when the link is not the
        server's."""
        self.queue(self.seal_of(chain, link, prev_hash, hash_, row))

    def after_commit(self, db: Executor, sealed: Seal) -> None:
        """Queue ``sealed`` when the session ``db`` commits; forget it if it rolls back."""
        session = _sync_session(db)
        session.info.setdefault(_PENDING_SEALS, []).append((self, sealed))

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self, engine: AsyncEngine) -> int:
        """Write the queued seals in one statement; they stay queued if that fails. Returns the count."""
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    _INSERT_SEALS,
                    {
                        "chains": [s.chain for s in batch],
                        "links": [s.link for s in batch],
                        "seals": [s.seal for s in batch],
                    },
                )
        except BaseException:
            self._pending[:0] = batch  # in order, before whatever came meanwhile
            raise
        return len(batch)

    async def run(self, engine: AsyncEngine, *, every: float = 1.0) -> None:
        """Flush every ``every`` seconds until cancelled, then flush what is left (shutdown)."""
        failing = False
        try:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.flush(engine)
                    if failing:
                        log.info("audit seals written again (%d pending)", self.pending)
                    failing = False
                except Exception as exc:  # the database is away: keep the seals, try again
                    if not failing:
                        log.warning("audit seals not written yet: %s", type(exc).__name__)
                    failing = True
        finally:
            try:
                await asyncio.shield(self.flush(engine))
            except Exception as exc:
                log.error("%d audit seals lost at shutdown: %s", self.pending, type(exc).__name__)


def _sync_session(db: Executor) -> Session:
    inner = getattr(db, "session", db)  # a SerialSession wraps an AsyncSession
    sync = getattr(inner, "sync_session", None)
    if not isinstance(sync, Session):
        raise TypeError("sealing on commit needs a session; after an autocommit use Sealer.add")
    return sync


@event.listens_for(Session, "after_commit")
def _release_seals(session: Session) -> None:
    for sealer, sealed in session.info.pop(_PENDING_SEALS, ()):
        sealer.queue(sealed)


@event.listens_for(Session, "after_transaction_end")
def _forget_seals(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the session's own transaction ended without a commit
        session.info.pop(_PENDING_SEALS, None)


_ARGUMENTS: Final = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)"
_APPEND: Final = "SELECT seq, chain, link, prev_hash, hash FROM audit_append_linked" + _ARGUMENTS
# The same, its transaction committing without waiting for the disk (set for the transaction only).
_APPEND_ASYNC: Final = (
    "SELECT seq, chain, link, prev_hash, hash, set_config('synchronous_commit', 'off', true) AS commit"
    " FROM audit_append_linked" + _ARGUMENTS
)


async def append(
    db: Executor, entry: AuditEntry, *, sealer: Sealer | None = None, durable: bool = True
) -> Appended:
    """Append ``entry`` in the caller's transaction: one statement, whose chain lock is held to the
    commit. The unique (chain, link) is the backstop should a writer ever skip the lock: it fails
    instead of forking the chain. ``durable=False``: the transaction's commit does not wait for its WAL
    to reach the disk (a read's entry under KAIGO_AUDIT_READ_COMMIT=async). With ``sealer`` (``db`` then a session), the link is checked now
    (:class:`UnexpectedLink` fails the transaction) and the seal queued when the session commits."""
    row = entry.row()
    record = await driver_fetchrow(
        db,  # type: ignore[arg-type]  # an Executor is one of the three driver_fetchrow takes
        _APPEND if durable else _APPEND_ASYNC,
        row["occurred_at"],
        row["subject"],
        row["roles"],
        row["department"],
        row["operation_type"],
        row["operation_name"],
        row["document_id"],
        row["person_ids"],
        row["number_person_ids"],
        json.dumps(row["decisions"], ensure_ascii=False),
        row["outcome"],
        row["error_codes"],
        row["trace_id"],
        content_hash(row),
    )
    appended = Appended(
        int(record["seq"]), int(record["chain"]), int(record["link"]), record["prev_hash"], record["hash"]
    )
    if sealer is not None:
        sealed = sealer.seal_of(appended.chain, appended.link, appended.prev_hash, appended.hash, row)
        sealer.after_commit(db, sealed)
    return appended


# --- verification -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainHead:
    """A chain's last entry as a checkpoint saw it (``link`` is the seq in chain 0)."""

    chain: int
    link: int
    hash: str
    count: int


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint already checked (persistence.audit_checkpoints): the chains' heads and where
    their seals start, at ``written_at``."""

    name: str
    written_at: str
    heads: tuple[ChainHead, ...]
    sealed_from: Mapping[int, int]


@dataclass(frozen=True)
class Broken:
    """The first thing that does not hold in a chain, and why (``link`` is the seq in chain 0)."""

    chain: int
    link: int
    reason: str
    seq: int | None = None  # the entry's seq, when the entry exists

    def describe(self) -> str:
        where = (
            f"entry {self.link}" if self.chain == LEGACY_CHAIN else f"chain {self.chain}, link {self.link}"
        )
        entry = f" (seq {self.seq})" if self.seq is not None and self.chain != LEGACY_CHAIN else ""
        return f"{where}{entry}: {self.reason}"


@dataclass(frozen=True)
class Unsealed:
    """Links ``first``..``last`` of a chain that carry no seal (written, but their batch of seals was
    lost: a crash, or a seal removed)."""

    chain: int
    first: int
    last: int

    def describe(self) -> str:
        links = f"link {self.first}" if self.first == self.last else f"links {self.first}–{self.last}"
        return f"chain {self.chain}, {links}"


@dataclass(frozen=True)
class Verification:
    count: int
    broken: tuple[Broken, ...]
    chains: int = 0
    unsealed: tuple[Unsealed, ...] = ()
    sealed: int = 0  # entries whose seal was checked
    checkpoint: Checkpoint | None = None

    @property
    def intact(self) -> bool:
        return not self.broken


async def verify(
    db: Executor, *, key: bytes | None = None, checkpoint: Checkpoint | None = None, batch: int = 5000
) -> Verification:
    """Walk every chain from its first entry: each link follows the last, carries the previous entry's
    hash and hashes to its own; with ``key``, each entry from its chain's seal start carries its seal;
    with ``checkpoint``, each chain still reaches the head the checkpoint signed, through that very
    entry. A chain's walk stops at its first break; every chain is walked."""
    chains = {int(c) for c in (await db.execute(text("SELECT DISTINCT chain FROM audit_events"))).scalars()}
    heads = {h.chain: h for h in checkpoint.heads} if checkpoint is not None else {}
    sealed_from = await _sealed_from(db, checkpoint) if key is not None else {}
    count, sealed, broken, unsealed = 0, 0, [], []
    for chain in sorted(chains | set(heads)):
        walk = _Walk(chain, key, sealed_from.get(chain), heads.get(chain))
        await walk.run(db, batch)
        count += walk.count
        sealed += walk.sealed
        broken.extend(walk.broken[:1])
        unsealed.extend(walk.unsealed)
    return Verification(count, tuple(broken), len(chains), tuple(unsealed), sealed, checkpoint)


async def _sealed_from(db: Executor, checkpoint: Checkpoint | None) -> dict[int, int]:
    """Per chain, the first link that must be sealed: the database's, unless a checkpoint signed another
    (a value lowered later would exempt entries from their seals: the signed one wins)."""
    rows = await db.execute(text("SELECT chain, first_link FROM audit_seal_start"))
    found = {int(r.chain): int(r.first_link) for r in rows}
    if checkpoint is not None:
        found.update(checkpoint.sealed_from)
    return found


_seals = AuditSeal.__table__


class _Walk:
    """One chain's walk: its count of intact entries, its breaks and its runs of unsealed links."""

    def __init__(self, chain: int, key: bytes | None, sealed_from: int | None, head: ChainHead | None):
        self.chain, self.key, self.head = chain, key, head
        # chain 0 and a chain without a seal start (a database before revision 0010) carry no seals
        self.sealed_from = sealed_from if key is not None and chain != LEGACY_CHAIN else None
        self.count = self.sealed = 0
        self.broken: list[Broken] = []
        self.unsealed: list[Unsealed] = []
        self.head_hash: str | None = None  # the hash of the entry at the checkpoint's link

    async def run(self, db: Executor, batch: int) -> None:
        last = await self._links(db, batch)
        if self.broken:
            return
        await self._tail(db, last)

    async def _links(self, db: Executor, batch: int) -> int:
        """Walk the links; returns the last one reached."""
        t = _table.c
        legacy = self.chain == LEGACY_CHAIN
        position = t.seq if legacy else t.link
        expected, prev = 1, GENESIS
        while True:
            statement = (
                select(*t, _seals.c.seal)
                .outerjoin(_seals, (_seals.c.chain == t.chain) & (_seals.c.link == t.link))
                .where(t.chain == self.chain, position >= expected)
                .order_by(position)
                .limit(batch)
            )
            rows: Sequence[Any] = (await db.execute(statement)).all()
            if not rows:
                return expected - 1
            for r in rows:
                at = r.seq if legacy else r.link
                if at != expected:
                    return self._break(expected, f"entry {expected} is missing")
                if r.prev_hash != prev:
                    return self._break(at, "prev_hash does not match the previous entry", r.seq)
                if legacy:
                    own = entry_hash(r._mapping, r.seq, r.prev_hash)
                else:
                    own = link_hash(self.chain, r.link, r.prev_hash, content_hash(r._mapping))
                if own != r.hash:
                    return self._break(at, "hash does not match the entry's fields", r.seq)
                if self.sealed_from is not None and at >= self.sealed_from:
                    if r.seal is None:
                        self._unsealed(at)
                    elif not hmac.compare_digest(r.seal, seal(self.key or b"", self.chain, at, r.hash)):
                        return self._break(
                            at, "seal does not match: changed or relinked after sealing", r.seq
                        )
                    else:
                        self.sealed += 1
                if self.head is not None and at == self.head.link:
                    self.head_hash = r.hash
                expected, prev, self.count = at + 1, r.hash, self.count + 1

    async def _tail(self, db: Executor, last: int) -> None:
        """What the walk cannot see from the entries: seals past the last entry, the checkpoint's head."""
        head = self.head
        if head is not None:
            if last < head.link:
                self._break(
                    last + 1, f"entries {last + 1}–{head.link} removed: the checkpoint saw {head.link}"
                )
                return
            if self.head_hash != head.hash:
                self._break(head.link, "differs from the checkpoint: rewritten or relinked")
                return
            early = [u for u in self.unsealed if u.first <= head.link]
            if early:
                first = early[0].first
                self._break(first, f"unsealed, though older than the checkpoint (link {head.link})")
                return
        if self.sealed_from is not None:
            beyond = await db.execute(
                select(func.min(_seals.c.link)).where(_seals.c.chain == self.chain, _seals.c.link > last)
            )
            orphan = beyond.scalar()
            if orphan is not None:
                self._break(last + 1, f"entries removed from the end: link {orphan} has a seal")

    def _break(self, link: int, reason: str, seq: int | None = None) -> int:
        self.broken.append(Broken(self.chain, link, reason, seq))
        return link - 1

    def _unsealed(self, link: int) -> None:
        if self.unsealed and self.unsealed[-1].last == link - 1:
            self.unsealed[-1] = Unsealed(self.chain, self.unsealed[-1].first, link)
        else:
            self.unsealed.append(Unsealed(self.chain, link, link))
