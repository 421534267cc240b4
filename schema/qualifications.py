"""資格 — whether and how a person is insured, with its history, copay ratios, certificates and
facility admissions."""

from __future__ import annotations

import datetime as dt

import strawberry

from .enums import CertificateKind, InsuredCategory, QualificationEventReason
from .history import RecordChange, history_of
from .sources import column, relation, table

__all__ = ["CertificateIssuance", "CopayRatio", "FacilityAdmission", "Qualification", "QualificationEvent"]


@strawberry.type(description="資格異動 — one change of the insured status.")
@table("qualification_events")
class QualificationEvent:
    occurred_on: dt.date = column(description="資格異動日")
    reason: QualificationEventReason = column(description="資格異動事由")
    notified_on: dt.date | None = column(description="届出日")


@strawberry.type(description="負担割合 — the copay ratio of one certificate year (Aug 1 – Jul 31).")
@table("copay_ratios")
class CopayRatio:
    fiscal_year: int = column(description="Year in which the certificate year starts (Aug 1)")
    ratio_percent: int = column(description="10, 20 or 30 (%)")
    valid_from: dt.date = column(description="有効開始日")
    valid_to: dt.date = column(description="有効終了日")


@strawberry.type(description="証発行 — a certificate issued to the insured.")
@table("certificate_issuances")
class CertificateIssuance:
    kind: CertificateKind = column(description="証種別")
    issued_on: dt.date = column(description="交付日")
    valid_to: dt.date | None = column(description="有効期限 (null: none printed)")


@strawberry.type(description="施設入所 — admission to a care facility (住所地特例 when domicileException).")
@table("facility_admissions")
class FacilityAdmission:
    facility_number: str = column(description="事業所番号")
    facility_name: str = column(description="施設名")
    admitted_on: dt.date = column(description="入所日")
    discharged_on: dt.date | None = column(description="退所日 (null while admitted)")
    domicile_exception: bool = column(description="住所地特例")
    insurer_number: str | None = column(description="保険者番号 holding the domicile exception")


@strawberry.type(description="資格 — the insured status of a person.")
@table("qualifications")
class Qualification:
    pk: strawberry.Private[int]
    id: strawberry.ID = column(description="The qualification id (what its writes name).")
    insured_number: str = column(description="被保険者番号 (10 digits)")
    category: InsuredCategory = column(description="被保険者区分")
    first_category_on: dt.date | None = column(description="一号該当日")
    acquired_on: dt.date = column(description="資格取得日")
    acquisition_reason: QualificationEventReason = column(description="資格取得事由")
    notified_on: dt.date | None = column(description="資格届出日")
    lost_on: dt.date | None = column(description="資格喪失日 (null while insured)")
    loss_reason: QualificationEventReason | None = column(description="資格喪失事由 (null while insured)")
    exempt: bool = column(description="適用除外")
    exemption_reason: str | None = column(description="適用除外の理由")
    boundary_layer: bool = column(description="境界層該当")
    boundary_layer_since: dt.date | None = column(description="境界層該当日")
    domicile_exception: bool = column(description="住所地特例")
    version: int = column(description="Changes with every write of the qualification.")

    events: list[QualificationEvent] = relation(
        "qualification_id", order_by=("occurred_on", "id"), description="資格異動 — changes, oldest first."
    )
    copay_ratios: list[CopayRatio] = relation(
        "qualification_id",
        order_by=("fiscal_year desc",),
        description="負担割合 by certificate year, newest first.",
    )
    certificates: list[CertificateIssuance] = relation(
        "qualification_id",
        order_by=("issued_on desc", "id desc"),
        description="証発行 — certificates issued, newest first.",
    )
    facility_admissions: list[FacilityAdmission] = relation(
        "qualification_id",
        order_by=("admitted_on desc", "id desc"),
        description="施設入所 — admissions, newest first.",
    )
    history: list[RecordChange] = history_of("qualifications")
