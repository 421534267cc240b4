"""資格 — qualifications: whether and how a person is insured."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, code, person_fk, pk


def qualification_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("qualifications.id", ondelete="CASCADE"), index=True)


class Qualification(Base):
    """The insured status of one person (one row per person; its changes are QualificationEvents)."""

    __tablename__ = "qualifications"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk(unique=True)
    insured_number: Mapped[str] = mapped_column(String(10), unique=True)  # 被保険者番号
    category: Mapped[str] = code("insured_category", index=True)  # 被保険者区分
    first_category_on: Mapped[dt.date | None]  # 一号該当日
    acquired_on: Mapped[dt.date]  # 資格取得日
    acquisition_reason: Mapped[str] = code("qualification_event")
    notified_on: Mapped[dt.date | None]  # 資格届出日
    lost_on: Mapped[dt.date | None]  # 資格喪失日
    loss_reason: Mapped[str | None] = code("qualification_event", nullable=True)
    exempt: Mapped[bool] = mapped_column(default=False, server_default="false")  # 適用除外
    exemption_reason: Mapped[str | None] = mapped_column(String(200))
    boundary_layer: Mapped[bool] = mapped_column(default=False, server_default="false")  # 境界層該当
    boundary_layer_since: Mapped[dt.date | None]
    domicile_exception: Mapped[bool] = mapped_column(default=False, server_default="false")  # 住所地特例
    version: Mapped[int] = mapped_column(server_default="1")  # optimistic concurrency (record_history)

    __table_args__ = (
        CheckConstraint(r"insured_number ~ '^[0-9]{10}$'", name="insured_number_digits"),
        CheckConstraint("lost_on IS NULL OR lost_on >= acquired_on", name="lost_after_acquired"),
        CheckConstraint("(lost_on IS NULL) = (loss_reason IS NULL)", name="loss_reason_with_date"),
        CheckConstraint("notified_on IS NULL OR notified_on >= acquired_on - 365", name="notified_plausible"),
        CheckConstraint(
            "(NOT boundary_layer) OR boundary_layer_since IS NOT NULL", name="boundary_layer_since"
        ),
    )


class QualificationEvent(Base):
    """資格異動 — one change of the insured status, with its date and notification."""

    __tablename__ = "qualification_events"

    id: Mapped[int] = pk()
    qualification_id: Mapped[int] = qualification_fk()
    occurred_on: Mapped[dt.date]  # 資格異動日
    reason: Mapped[str] = code("qualification_event")  # 資格異動事由
    notified_on: Mapped[dt.date | None]  # 届出日


class CopayRatio(Base):
    """負担割合 — the copay ratio for one certificate year (Aug 1 – Jul 31)."""

    __tablename__ = "copay_ratios"

    id: Mapped[int] = pk()
    qualification_id: Mapped[int] = qualification_fk()
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)  # year in which the certificate starts
    ratio_percent: Mapped[int] = mapped_column(SmallInteger)
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date]

    __table_args__ = (
        CheckConstraint("ratio_percent IN (10, 20, 30)", name="ratio_values"),
        CheckConstraint("valid_to >= valid_from", name="valid_order"),
        UniqueConstraint("qualification_id", "fiscal_year"),
    )


class CertificateIssuance(Base):
    """証発行 — a certificate issued to the insured (被保険者証, 負担割合証, …)."""

    __tablename__ = "certificate_issuances"

    id: Mapped[int] = pk()
    qualification_id: Mapped[int] = qualification_fk()
    kind: Mapped[str] = code("certificate_kind")
    issued_on: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]

    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to >= issued_on", name="valid_order"),)


class FacilityAdmission(Base):
    """施設入所 — admission to a care facility, possibly under the domicile exception (住所地特例)."""

    __tablename__ = "facility_admissions"

    id: Mapped[int] = pk()
    qualification_id: Mapped[int] = qualification_fk()
    facility_number: Mapped[str] = mapped_column(String(10))  # 事業所番号
    facility_name: Mapped[str] = mapped_column(String(200))
    admitted_on: Mapped[dt.date]
    discharged_on: Mapped[dt.date | None]
    domicile_exception: Mapped[bool] = mapped_column(default=False, server_default="false")
    insurer_number: Mapped[str | None] = mapped_column(String(6))  # 保険者番号 holding the exception

    __table_args__ = (
        CheckConstraint("discharged_on IS NULL OR discharged_on >= admitted_on", name="discharge_order"),
        CheckConstraint(r"insurer_number IS NULL OR insurer_number ~ '^[0-9]{6}$'", name="insurer_digits"),
    )
