"""Writing and checking the audit trail (アクセス記録): a hash chain appended under one lock.

Each entry's ``hash`` is the sha256 of a canonical JSON of its fields, its sequence number and the
previous entry's hash, so changing, removing or reordering any committed entry breaks every link after
it. Writers serialise on a transaction-scoped advisory lock taken right before reading the last entry:
the next writer waits until this transaction commits, then sees its entry. Take it as late as possible
(after the request's work): it is held until commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import insert, select, text

from .models.audit import AuditEvent

__all__ = [
    "AUDIT_LOCK",
    "GENESIS",
    "AuditEntry",
    "Broken",
    "Executor",
    "append",
    "entry_hash",
    "verify",
]

AUDIT_LOCK: Final = 0x6B6169676F417564  # "kaigoAud": the key of pg_advisory_xact_lock for writers
GENESIS: Final = "0" * 64
"""``prev_hash`` of the first entry."""

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
            "operation_name": self.operation_name,
            "document_id": self.document_id,
            "person_ids": sorted(set(self.person_ids) | set(self.number_person_ids)),
            "number_person_ids": sorted(set(self.number_person_ids)),
            "decisions": [{"code": d.get("code"), "basis_item": d.get("basis_item")} for d in self.decisions],
            "outcome": self.outcome,
            "error_codes": sorted(set(self.error_codes)),
            "trace_id": self.trace_id,
        }


def entry_hash(row: Mapping[str, Any], seq: int, prev_hash: str) -> str:
    """sha256 (hex) of the canonical JSON of an entry's stored fields, its seq and the previous hash."""
    occurred: dt.datetime = row["occurred_at"]
    canonical = {
        "seq": seq,
        "prev_hash": prev_hash,
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
    data = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


async def append(db: Executor, entry: AuditEntry) -> int:
    """Append ``entry`` in the caller's transaction and return its sequence number.

    Three statements: the lock (held to commit), the last entry, the insert. The unique ``seq`` primary
    key is the backstop should a writer ever skip the lock: it fails instead of forking the chain.
    """
    await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
    last = (await db.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"))).first()
    seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
    row = entry.row()
    await db.execute(
        insert(AuditEvent), [{**row, "seq": seq, "prev_hash": prev, "hash": entry_hash(row, seq, prev)}]
    )
    return seq


@dataclass(frozen=True)
class Broken:
    """The first link that does not hold, and why."""

    seq: int
    reason: str


@dataclass(frozen=True)
class Verification:
    count: int
    broken: Broken | None

    @property
    def intact(self) -> bool:
        return self.broken is None


async def verify(db: Executor, *, batch: int = 5000) -> Verification:
    """Walk the chain from seq 1: every seq follows the last, links to its hash, and hashes to its own."""
    columns = [c for c in _table.c]
    expected_seq, prev, count = 1, GENESIS, 0
    while True:
        statement = select(*columns).where(_table.c.seq >= expected_seq).order_by(_table.c.seq).limit(batch)
        rows: Sequence[Any] = (await db.execute(statement)).all()
        if not rows:
            return Verification(count, None)
        for r in rows:
            if r.seq != expected_seq:
                return Verification(count, Broken(expected_seq, f"entry {expected_seq} is missing"))
            if r.prev_hash != prev:
                return Verification(count, Broken(r.seq, "prev_hash does not match the previous entry"))
            if entry_hash(r._mapping, r.seq, r.prev_hash) != r.hash:
                return Verification(count, Broken(r.seq, "hash does not match the entry's fields"))
            expected_seq, prev, count = r.seq + 1, r.hash, count + 1
