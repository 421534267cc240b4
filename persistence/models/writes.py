"""What the write side keeps beside the records it changes: every change of a record (its history), the
request ids of the write mutations (idempotency), and the resident register's changes as received.

``record_history`` is evidence like the audit trail: one row per changed field and version, with who,
when, which operation and the old and new value as text; append-only (migration 0011 refuses UPDATE and
DELETE). An individual number never enters it (the field is named, its values are not kept).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, pk

CHANGE_OUTCOMES = ("APPLIED", "QUEUED")


def _stamp(*, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(
        DateTime(timezone=True), nullable=nullable, server_default=None if nullable else func.now()
    )


def _person_ref(*, nullable: bool) -> Mapped[Any]:
    # RESTRICT: history and received changes are evidence, a person with any is not deleted
    return mapped_column(BigInteger, ForeignKey("persons.id", ondelete="RESTRICT"), nullable=nullable)


class RecordHistory(Base):
    """One field of one record changed (or set when the record was made), at one version."""

    __tablename__ = "record_history"

    id: Mapped[int] = pk()
    record_table: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = _person_ref(nullable=False)
    version: Mapped[int] = mapped_column(Integer)  # the record's version this change made
    field: Mapped[str] = mapped_column(String(64))  # the column
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = _stamp()
    changed_by: Mapped[str] = mapped_column(String(200))  # the token's subject, or the feed
    changed_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    operation: Mapped[str] = mapped_column(String(64))  # the mutation, or the feed's command
    source: Mapped[str | None] = mapped_column(String(200))  # request id, or feed id and line

    __table_args__ = (
        Index("ix_record_history_record", "record_table", "record_id", "id"),
        Index("ix_record_history_person_id", "person_id"),
        CheckConstraint("version >= 1", name="version_positive"),
    )


class WriteRequest(Base):
    """A write mutation's request id (idempotency): a retry with the same input answers the record it
    made; the same id with other input is REQUEST_ID_REUSED."""

    __tablename__ = "write_requests"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    record_table: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _stamp()


class ResidentChange(Base):
    """住民異動 received — one line of the register's daily feed, or one change sent through the API —
    and what became of it: APPLIED, or QUEUED for staff with the reason (closed once they dealt with it).

    ``payload``: the change as received (the register's own data; never an individual number).
    """

    __tablename__ = "resident_changes"

    id: Mapped[int] = pk()
    feed_id: Mapped[str | None] = mapped_column(String(120))
    line_no: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(24))
    moved_on: Mapped[dt.date | None] = mapped_column(Date)
    addressee_code: Mapped[str | None] = mapped_column(String(15))
    person_id: Mapped[int | None] = _person_ref(nullable=True)
    outcome: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(64))
    effect: Mapped[str | None] = mapped_column(String(40))  # the qualification's change, if any
    note: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[dt.datetime] = _stamp()
    received_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    closed_at: Mapped[dt.datetime | None] = _stamp(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    close_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("feed_id", "line_no"),
        Index("ix_resident_changes_open", "id", postgresql_where="outcome = 'QUEUED' AND closed_at IS NULL"),
        Index("ix_resident_changes_person_id", "person_id"),
        CheckConstraint("(feed_id IS NULL) = (line_no IS NULL)", name="feed_line_together"),
        CheckConstraint("feed_id IS NOT NULL OR request_id IS NOT NULL", name="has_a_source"),
        CheckConstraint("outcome IN ('APPLIED', 'QUEUED')", name="outcome_values"),
        CheckConstraint("(outcome = 'QUEUED') = (reason IS NOT NULL)", name="queued_with_reason"),
        CheckConstraint("closed_at IS NULL OR outcome = 'QUEUED'", name="only_queued_close"),
    )


class ClaimLine(Base):
    """給付実績 received — one line of the federation's (国保連) monthly claim results file, and what became of
    it: APPLIED (the claim result it made) or QUEUED for staff with the reason. Kept as received."""

    __tablename__ = "claim_lines"

    id: Mapped[int] = pk()
    feed_id: Mapped[str] = mapped_column(String(120))
    line_no: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[int | None] = _person_ref(nullable=True)
    claim_result_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("claim_results.id", ondelete="RESTRICT")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[dt.datetime] = _stamp()
    received_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("feed_id", "line_no"),
        CheckConstraint("outcome IN ('APPLIED', 'QUEUED')", name="outcome_values"),
        CheckConstraint("(outcome = 'QUEUED') = (reason IS NOT NULL)", name="queued_with_reason"),
        CheckConstraint("(outcome = 'APPLIED') = (claim_result_id IS NOT NULL)", name="applied_with_result"),
    )


class IdentityCheck(Base):
    """本人確認 — the check an individual number was taken in (or corrected) with: how, when, by whom.
    Never the number itself; append-only (migration 0015)."""

    __tablename__ = "identity_checks"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = _person_ref(nullable=False)
    purpose: Mapped[str] = mapped_column(String(12))  # NEW or CORRECTION of the number
    method: Mapped[str] = mapped_column(String(40))  # policies/data/identity.toml [methods]
    checked_on: Mapped[dt.date] = mapped_column(Date)
    documents: Mapped[str | None] = mapped_column(Text)  # what was shown, in the staff's words
    checked_by: Mapped[str] = mapped_column(String(200))
    checked_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    request_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = _stamp()

    __table_args__ = (
        Index("ix_identity_checks_person_id", "person_id"),
        CheckConstraint("purpose IN ('NEW', 'CORRECTION')", name="purpose_values"),
    )
