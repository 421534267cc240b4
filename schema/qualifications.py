"""資格 — whether and how a person is insured, with its history, copay ratios, certificates and
facility admissions."""

from __future__ import annotations

import datetime as dt

import strawberry

from .context import GraphQLInfo
from .enums import CertificateKind, InsuredCategory, QualificationEventReason

__all__ = ["CertificateIssuance", "CopayRatio", "FacilityAdmission", "Qualification", "QualificationEvent"]


@strawberry.type(description="資格異動 — one change of the insured status.")
class QualificationEvent:
    occurred_on: dt.date = strawberry.field(description="資格異動日")
    reason: QualificationEventReason = strawberry.field(description="資格異動事由")
    notified_on: dt.date | None = strawberry.field(description="届出日")


@strawberry.type(description="負担割合 — the copay ratio of one certificate year (Aug 1 – Jul 31).")
class CopayRatio:
    fiscal_year: int = strawberry.field(description="Year in which the certificate year starts (Aug 1)")
    ratio_percent: int = strawberry.field(description="10, 20 or 30 (%)")
    valid_from: dt.date
    valid_to: dt.date


@strawberry.type(description="証発行 — a certificate issued to the insured.")
class CertificateIssuance:
    kind: CertificateKind
    issued_on: dt.date
    valid_to: dt.date | None


@strawberry.type(description="施設入所 — admission to a care facility (住所地特例 when domicileException).")
class FacilityAdmission:
    facility_number: str = strawberry.field(description="事業所番号")
    facility_name: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    domicile_exception: bool = strawberry.field(description="住所地特例")
    insurer_number: str | None = strawberry.field(description="保険者番号 holding the domicile exception")


@strawberry.type(description="資格 — the insured status of a person.")
class Qualification:
    pk: strawberry.Private[int]
    insured_number: str = strawberry.field(description="被保険者番号 (10 digits)")
    category: InsuredCategory = strawberry.field(description="被保険者区分")
    first_category_on: dt.date | None = strawberry.field(description="一号該当日")
    acquired_on: dt.date = strawberry.field(description="資格取得日")
    acquisition_reason: QualificationEventReason
    notified_on: dt.date | None = strawberry.field(description="資格届出日")
    lost_on: dt.date | None = strawberry.field(description="資格喪失日 (null while insured)")
    loss_reason: QualificationEventReason | None
    exempt: bool = strawberry.field(description="適用除外")
    exemption_reason: str | None
    boundary_layer: bool = strawberry.field(description="境界層該当")
    boundary_layer_since: dt.date | None
    domicile_exception: bool = strawberry.field(description="住所地特例")

    @strawberry.field(description="資格異動 — changes, oldest first.")
    async def events(self, info: GraphQLInfo) -> list[QualificationEvent]:
        return await info.context.loaders.qualification_events.load(self.pk)

    @strawberry.field(description="負担割合 by certificate year, newest first.")
    async def copay_ratios(self, info: GraphQLInfo) -> list[CopayRatio]:
        return await info.context.loaders.copay_ratios.load(self.pk)

    @strawberry.field(description="証発行 — certificates issued, newest first.")
    async def certificates(self, info: GraphQLInfo) -> list[CertificateIssuance]:
        return await info.context.loaders.certificate_issuances.load(self.pk)

    @strawberry.field(description="施設入所 — admissions, newest first.")
    async def facility_admissions(self, info: GraphQLInfo) -> list[FacilityAdmission]:
        return await info.context.loaders.facility_admissions.load(self.pk)
