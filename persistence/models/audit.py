"""The audit trail (アクセス記録): one row per operation that read or moved personal data.

Append-only: the database refuses UPDATE, DELETE and TRUNCATE (migration 0004's triggers), and each row
carries the hash of the one before it in its chain (16 chains, one per group of database connections,
migration 0005), so a row changed behind the triggers' back breaks its chain (``kaigo audit verify``).
Since migration 0010 each entry is also sealed with a key the database never holds (:class:`AuditSeal`).
Person ids only — never names or numbers: the auditor has no personal data duty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)  # order of writing
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str] = mapped_column(String(200))  # 職員 (the token's sub)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    department: Mapped[str | None] = mapped_column(String(64))
    operation_type: Mapped[str] = mapped_column(String(12))
    operation_name: Mapped[str | None] = mapped_column(String(200))
    document_id: Mapped[str | None] = mapped_column(String(80))
    person_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    number_person_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))  # 個人番号 revealed for these
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{"code", "basis_item"}]
    outcome: Mapped[str] = mapped_column(String(8))
    error_codes: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    chain: Mapped[int] = mapped_column(SmallInteger, server_default="0")  # 0: entries before revision 0005
    link: Mapped[int | None] = mapped_column(BigInteger)  # 1, 2, 3 … in its chain, no gaps (None in chain 0)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'error')", name="outcome_values"),
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint(
            "(chain = 0 AND link IS NULL) OR (chain BETWEEN 1 AND 16 AND link > 0)", name="chain_link"
        ),
        UniqueConstraint("chain", "link"),
        Index("ix_audit_events_subject_seq", "subject", "seq"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_person_ids", "person_ids", postgresql_using="gin"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent seq={self.seq}>"


class AuditSeal(Base):
    """The server's HMAC of an entry's place and hash (persistence.audit.seal), written in batches after
    the entry commits; append-only like the entries (migration 0010)."""

    __tablename__ = "audit_seals"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    link: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seal: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("chain BETWEEN 1 AND 16 AND link > 0", name="place"),
        CheckConstraint("seal ~ '^[0-9a-f]{64}$'", name="seal_hex"),
    )

    def __repr__(self) -> str:
        return f"<AuditSeal chain={self.chain} link={self.link}>"


class AuditSealStart(Base):
    """Per chain, the first link that must carry a seal (the entries before migration 0010 have none)."""

    __tablename__ = "audit_seal_start"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    first_link: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("chain BETWEEN 1 AND 16 AND first_link > 0", name="place"),)

    def __repr__(self) -> str:
        return f"<AuditSealStart chain={self.chain}>"
