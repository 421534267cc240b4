"""Writing and checking the audit trail (アクセス記録): hash chains appended under a lock per chain.

Since revision 0005 every database connection appends to chain ``1 + backend pid % 16`` through the
``audit_append`` function: one statement takes the chain's transaction-scoped advisory lock, reads the
chain's last entry and inserts the new one, linked to it. The lock is held to the commit (the chain's
next writer must see this entry), so call it last; writers on other chains never wait for it.

An entry's hash covers its fields (the *content hash*, computed here), its chain, its link number and
the previous entry's hash, so changing, removing or reordering any committed entry breaks every link
after it in its chain. Entries written before revision 0005 form chain 0, hashed the old way
(:func:`entry_hash`), and are verified as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import select, text

from .db import driver_fetchval
from .models.audit import AuditEvent

__all__ = [
    "GENESIS",
    "AuditEntry",
    "Broken",
    "Executor",
    "append",
    "content_hash",
    "entry_hash",
    "link_hash",
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


_APPEND: Final = "SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)"


async def append(db: Executor, entry: AuditEntry) -> int:
    """Append ``entry`` in the caller's transaction and return its seq: one statement, whose chain lock
    is held to the commit. The unique (chain, link) is the backstop should a writer ever skip the lock:
    it fails instead of forking the chain."""
    row = entry.row()
    seq = await driver_fetchval(
        db,  # type: ignore[arg-type]  # an Executor is one of the three driver_fetchval takes
        _APPEND,
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
    return int(seq)


@dataclass(frozen=True)
class Broken:
    """The first link that does not hold in a chain, and why (``link`` is the seq in chain 0)."""

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
class Verification:
    count: int
    broken: Broken | None
    chains: int = 0

    @property
    def intact(self) -> bool:
        return self.broken is None


async def verify(db: Executor, *, batch: int = 5000) -> Verification:
    """Walk every chain from its first entry: each link follows the last, carries the previous entry's
    hash and hashes to its own. Stops at the first broken link; ``count`` is the intact entries before it."""
    chains = [
        int(c)
        for c in (await db.execute(text("SELECT DISTINCT chain FROM audit_events ORDER BY 1"))).scalars()
    ]
    count = 0
    for chain in chains:
        walked, broken = await _walk(db, chain, batch)
        count += walked
        if broken is not None:
            return Verification(count, broken, len(chains))
    return Verification(count, None, len(chains))


async def _walk(db: Executor, chain: int, batch: int) -> tuple[int, Broken | None]:
    t = _table.c
    position = t.seq if chain == LEGACY_CHAIN else t.link
    expected, prev, count = 1, GENESIS, 0
    while True:
        statement = select(*t).where(t.chain == chain, position >= expected).order_by(position).limit(batch)
        rows: Sequence[Any] = (await db.execute(statement)).all()
        if not rows:
            return count, None
        for r in rows:
            at = r.seq if chain == LEGACY_CHAIN else r.link
            if at != expected:
                return count, Broken(chain, expected, f"entry {expected} is missing")
            if r.prev_hash != prev:
                return count, Broken(chain, at, "prev_hash does not match the previous entry", r.seq)
            if chain == LEGACY_CHAIN:
                own = entry_hash(r._mapping, r.seq, r.prev_hash)
            else:
                own = link_hash(chain, r.link, r.prev_hash, content_hash(r._mapping))
            if own != r.hash:
                return count, Broken(chain, at, "hash does not match the entry's fields", r.seq)
            expected, prev, count = at + 1, r.hash, count + 1
