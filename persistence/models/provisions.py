"""提供・移転・照会 — provision records (情報提供等記録), transfer permissions (利用申請) and inquiries (情報照会).

``provision_records`` is evidence: one row per attempt and per outcome, written in the transaction of
the work it records, never changed. Triggers of migration 0002 refuse UPDATE, refuse DELETE of rows
younger than the retention period (7 years, ``policies.decisions.RETENTION_YEARS``) and refuse a
TRUNCATE that would take such rows with it; ``persistence.provision_records.purge`` removes the rest.

A record never holds an individual number, a name or the subject's linkage or addressee code as
given: the person is the ``person_id`` (null when the subject was not found), the parties are bodies
and departments, and free text is refused upstream if it contains a valid individual number.

``transfer_permissions`` and ``inquiries`` are the business objects behind some records: an
application changes state once (REQUESTED → APPROVED | REJECTED), an inquiry gets one answer; their
triggers refuse any other change and every DELETE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from policies.outcomes import RECORD_OUTCOMES

from .base import Base, pk

DIRECTIONS = ("PROVISION", "TRANSFER", "INQUIRY")
PERMISSION_STATUSES = ("REQUESTED", "APPROVED", "REJECTED")


def _one_of(column: str, values: tuple[str, ...] | list[str], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def _stamp(*, nullable: bool = False, default_now: bool = True) -> Mapped[Any]:
    return mapped_column(
        DateTime(timezone=True), nullable=nullable, server_default=func.now() if default_now else None
    )


class TransferPermission(Base):
    """移転の利用申請 — a department's application to receive LTCI information, and the judgement (III-5).

    「データ提供・移転先からの利用申請を求め、データ提供・移転元が法的根拠等を判断し、承認を得たもののみ、データの
    提供・移転を許可する。」 Only an APPROVED permission, inside its period, lets its department receive.
    """

    __tablename__ = "transfer_permissions"

    id: Mapped[int] = pk()
    department: Mapped[str] = mapped_column(String(64))  # 移転先 (roles.toml department id, from the token)
    basis_item: Mapped[str] = mapped_column(String(16))  # 別表第2 item of the department's affair
    basis_id: Mapped[str] = mapped_column(String(64))  # LegalBasis.id in force on the application day
    items: Mapped[list[str]] = mapped_column(ARRAY(String(32)))  # information items applied for
    purpose: Mapped[str] = mapped_column(Text)  # 利用目的, the department's words
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
    status: Mapped[str] = mapped_column(String(16), server_default="REQUESTED")
    request_id: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = _stamp()
    requested_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = _stamp(nullable=True, default_now=False)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        _one_of("status", PERMISSION_STATUSES, "status_values"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),
        CheckConstraint("(status = 'REQUESTED') = (decided_at IS NULL)", name="decided_with_status"),
        Index("ix_transfer_permissions_department_request", "department", "request_id", unique=True),
    )


class Inquiry(Base):
    """情報照会 — the city asks another body over the network (別表第2 93, 94) and records the answer."""

    __tablename__ = "inquiries"

    id: Mapped[int] = pk()
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    permit_number: Mapped[str] = mapped_column(String(64))  # 情報提供許可証
    basis_item: Mapped[str] = mapped_column(String(16))
    basis_id: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(200))  # 情報提供者: the body asked
    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    items: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    requested_at: Mapped[dt.datetime] = _stamp()
    requested_by: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None] = _stamp(nullable=True, default_now=False)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_items: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    response_summary: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the answer's items, typed (0009)

    __table_args__ = (
        CheckConstraint(
            "(answered_at IS NULL) = (answered_items IS NULL) AND (answered_at IS NULL) = (answered_by IS NULL)",
            name="answer_complete",
        ),
    )


class ProvisionRecord(Base):
    """情報提供等記録 — one immutable row per attempt and per outcome (provided, pending, denied, confirmed,
    refused, applied, approved, rejected, transferred, inquired, answered).

    Idempotency: ``request_key`` is unique — ``PROVISION:<request id>``, ``INQUIRY:<request id>``,
    ``TRANSFER_APPLICATION:<department>:<request id>``, ``TRANSFER:<department>:<request id>:<page start>``
    — and ``request_scope`` groups the pages of one transfer; ``request_hash`` is the SHA-256 of the
    normalised input, so a request id reused with other input is told apart from a retry.
    """

    __tablename__ = "provision_records"

    id: Mapped[int] = pk()
    recorded_at: Mapped[dt.datetime] = _stamp()  # an insert may set it (tests create old rows)
    direction: Mapped[str] = mapped_column(String(16))  # PROVISION / TRANSFER / INQUIRY
    outcome: Mapped[str] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(40))  # the decision's or the step's code
    reason_ja: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(200))  # 情報提供者 / 移転元 / 照会先
    recipient: Mapped[str] = mapped_column(String(200))  # 情報照会者 / 移転先 / the city
    basis_item: Mapped[str] = mapped_column(String(16))
    basis_id: Mapped[str | None] = mapped_column(String(64))  # LegalBasis.id in force (null: none)
    basis_instrument: Mapped[str | None] = mapped_column(Text)
    basis_article: Mapped[str | None] = mapped_column(String(40))
    basis_citation: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    request_id: Mapped[str | None] = mapped_column(String(64))
    request_scope: Mapped[str | None] = mapped_column(String(200), index=True)
    request_key: Mapped[str | None] = mapped_column(String(220), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    request_date: Mapped[dt.date | None]
    permit_number: Mapped[str | None] = mapped_column(String(64))  # 情報提供許可証
    subject_kind: Mapped[str | None] = mapped_column(String(16))  # LINKAGE_CODE / ADDRESSEE_CODE
    person_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    person_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))  # a transfer page
    person_count: Mapped[int | None] = mapped_column(Integer)
    page_after: Mapped[int | None] = mapped_column(BigInteger)  # page start (exclusive person id)
    page_last: Mapped[int | None] = mapped_column(BigInteger)  # last person id of the page
    permission_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("transfer_permissions.id", ondelete="RESTRICT"), index=True
    )
    inquiry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inquiries.id", ondelete="RESTRICT"), index=True
    )
    # The pending record a confirmation or refusal resolves; no foreign key, so the two may be purged
    # on different days; unique, so a pending provision is resolved once.
    resolves_record_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    actor_subject: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    actor_department: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # reviewer's note, rejection reason
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # what was sent (provisions)

    __table_args__ = (
        _one_of("direction", DIRECTIONS, "direction_values"),
        _one_of("outcome", list(RECORD_OUTCOMES), "outcome_values"),
        CheckConstraint("person_count IS NULL OR person_count >= 0", name="person_count_non_negative"),
        CheckConstraint("request_key IS NULL OR request_hash IS NOT NULL", name="key_with_hash"),
        Index("ix_provision_records_person_ids", "person_ids", postgresql_using="gin"),
        Index("ix_provision_records_recorded_at", "recorded_at"),  # purge by age
    )


AUTOMATIC_RESPONSE_COLUMNS = ("person_id", "flag", "reason", "set_by", "set_roles", "set_at")
SUBJECT_REQUEST_KINDS = ("DISCLOSURE", "CORRECTION", "SUSPENSION", "INQUIRY")
SUBJECT_REQUEST_EVENTS = ("RECEIVED", "DISCLOSED", "APPROVED", "REJECTED", "APPLIED", "LIFTED", "ANSWERED")


class AutomaticResponseFlag(Base):
    """自動応答不可 — every setting and clearing of a person's flag, with who and why (III-6 リスク2 ③).

    ``persons.no_automatic_response`` holds the flag in force; this table is its history, append-only
    (migration 0009 refuses UPDATE and DELETE).
    """

    __tablename__ = "automatic_response_flags"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    flag: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    set_at: Mapped[dt.datetime] = _stamp()


class SubjectRequest(Base):
    """本人からの請求 — a disclosure, correction or suspension request (IV-1) or an inquiry (問合せ, IV-2).

    Immutable once received; what happens to it is :class:`SubjectRequestEvent` rows. ``received_on`` is
    the day the law's time limit runs from and ``due_on`` its last day (policies/data/procedures.toml).
    """

    __tablename__ = "subject_requests"

    id: Mapped[int] = pk()
    request_id: Mapped[str] = mapped_column(String(64), unique=True)  # the form's number; idempotency
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("persons.id", ondelete="RESTRICT"), index=True
    )
    received_on: Mapped[dt.date]
    due_on: Mapped[dt.date]
    received_by: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = _stamp()
    summary: Mapped[str] = mapped_column(Text)  # the request in the staff's words (never a number)
    correction_field: Mapped[str | None] = mapped_column(String(40))
    correction_value: Mapped[str | None] = mapped_column(Text)  # the value the person asks for

    __table_args__ = (
        _one_of("kind", SUBJECT_REQUEST_KINDS, "kind_values"),
        CheckConstraint(
            "(kind = 'CORRECTION') = (correction_field IS NOT NULL AND correction_value IS NOT NULL)",
            name="correction_complete",
        ),
        CheckConstraint("due_on >= received_on", name="due_after_received"),
    )


class SubjectRequestEvent(Base):
    """One step of a person's request: decided, disclosed, applied (old and new value), lifted, answered."""

    __tablename__ = "subject_request_events"

    id: Mapped[int] = pk()
    subject_request_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("subject_requests.id", ondelete="RESTRICT"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[dt.date]  # the day in Japan (time limits count days)
    occurred_at: Mapped[dt.datetime] = _stamp()
    actor: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    note: Mapped[str | None] = mapped_column(Text)
    old_value: Mapped[str | None] = mapped_column(Text)  # APPLIED: the value before the correction
    new_value: Mapped[str | None] = mapped_column(Text)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # DISCLOSED: what was disclosed

    __table_args__ = (_one_of("event", SUBJECT_REQUEST_EVENTS, "event_values"),)
