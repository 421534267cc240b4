"""移転 — transfers of LTCI information to other departments of the city (別紙2).

III-5: 「データ提供・移転先からの利用申請を求め、データ提供・移転元が法的根拠等を判断し、承認を得たもののみ、データの
提供・移転を許可する。」 A receiving department applies (`requestTransferPermission`), the section chief
judges (`decideTransferPermission`), and only while an approved permission is valid does the department
receive (`transferInformation`), page by page, one record per page.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry

from .enums import CareLevel, InsuredCategory
from .legal_bases import InformationItem, LegalBasis, LocalizedText
from .persons import PageInfo
from .provisions import Denied, ProvisionRecord, ReviewedTransfer, TransferredPerson

__all__ = [
    "MAX_TRANSFER_PAGE",
    "RequestTransferPermissionInput",
    "ReviewedTransfer",
    "TransferApplicationResult",
    "TransferFilter",
    "TransferInformationInput",
    "TransferPage",
    "TransferPermission",
    "TransferPermissionDecision",
    "TransferPermissionRequested",
    "TransferPermissionStatus",
    "TransferResult",
    "TransferredPerson",
]

MAX_TRANSFER_PAGE = 1000
DEFAULT_TRANSFER_PAGE = 100


@strawberry.enum(description="State of a transfer application (利用申請).")
class TransferPermissionStatus(enum.Enum):
    REQUESTED = strawberry.enum_value("REQUESTED", description="申請中 — waiting for the section's judgement")
    APPROVED = strawberry.enum_value("APPROVED", description="承認 — transfers allowed within the period")
    REJECTED = strawberry.enum_value("REJECTED", description="不承認")


@strawberry.type(description="移転の利用申請 — a department's application and the section's judgement.")
class TransferPermission:
    id: strawberry.ID = strawberry.field(description="The application's id (`permissionId` of a transfer)")
    department: str = strawberry.field(description="The applying department's id (as `Viewer.department`)")
    department_name: str = strawberry.field(description="部署名")
    basis_item: str = strawberry.field(description="別表第2 item of the department's affair")
    basis: LegalBasis | None = strawberry.field(description="The legal basis in force when applied for")
    items: list[InformationItem] = strawberry.field(description="The information items applied for")
    purpose: str = strawberry.field(description="利用目的, the department's words")
    valid_from: dt.date = strawberry.field(description="First day transfers may happen")
    valid_to: dt.date | None = strawberry.field(description="null: until the legal basis ends")
    status: TransferPermissionStatus = strawberry.field(description="Where the application stands")
    request_id: str = strawberry.field(description="The department's application number")
    requested_at: dt.datetime = strawberry.field(description="When it was applied for")
    requested_by: str = strawberry.field(description="Who applied (the token's subject)")
    decided_at: dt.datetime | None = strawberry.field(description="When it was judged (null: not yet)")
    decided_by: str | None = strawberry.field(description="Who judged it (null: not yet)")
    decision_reason: str | None = strawberry.field(description="The judgement's reason, in the chief's words")


@strawberry.type(description="The application was received; the section chief judges it.")
class TransferPermissionRequested:
    permission: TransferPermission = strawberry.field(description="The application, REQUESTED")
    record: ProvisionRecord = strawberry.field(description="The PERMISSION_REQUESTED record")
    reason: LocalizedText = strawberry.field(description="What happens next, in Japanese and English")


TransferApplicationResult = Annotated[
    TransferPermissionRequested | Denied,
    strawberry.union(
        "TransferApplicationResult",
        description="The answer to a transfer application: TransferPermissionRequested, or Denied.",
    ),
]


@strawberry.type(description="The section's judgement of an application, and its record.")
class TransferPermissionDecision:
    permission: TransferPermission = strawberry.field(description="The application, APPROVED or REJECTED")
    record: ProvisionRecord = strawberry.field(
        description="The PERMISSION_APPROVED or PERMISSION_REJECTED record"
    )


@strawberry.input(description="A department's application for a transfer (利用申請).")
class RequestTransferPermissionInput:
    request_id: str = strawberry.field(description="The department's application number; idempotency key")
    basis_item: str = strawberry.field(description='別表第2 item of the affair: "26", "56の2" …')
    items: list[InformationItem] = strawberry.field(
        description="The information items wanted (the basis item must permit each)"
    )
    purpose: str = strawberry.field(description="利用目的 (1-500 characters)")
    valid_from: dt.date = strawberry.field(description="First day of the period (not before today)")
    valid_to: dt.date | None = strawberry.field(
        default=None, description="Last day of the period: at most 31 days after `validFrom`"
    )


@strawberry.input(
    description="Which in-scope persons to transfer when no subjects are listed; all given must hold."
)
class TransferFilter:
    care_level: CareLevel | None = strawberry.field(
        default=None, description="Care level of the certification valid today"
    )
    insured_category: InsuredCategory | None = strawberry.field(default=None, description="被保険者区分")


@strawberry.input(description="One page of a transfer under an approved permission.")
class TransferInformationInput:
    request_id: str = strawberry.field(
        description="Idempotency key of the whole transfer: every page carries it; a page is keyed by `after`"
    )
    permission_id: strawberry.ID = strawberry.field(
        description="The approved application (`TransferPermission.id`)"
    )
    items: list[InformationItem] = strawberry.field(
        description="Information items wanted (granted ones only)"
    )
    subjects: list[str] | None = strawberry.field(
        default=None, description="宛名コード of the persons wanted (at most 1000); not with `filter`"
    )
    filter_: TransferFilter | None = strawberry.field(
        default=None, name="filter", description="Without subjects: every in-scope person matching it"
    )
    first: int = strawberry.field(
        default=DEFAULT_TRANSFER_PAGE, description=f"Persons per page, 1-{MAX_TRANSFER_PAGE}"
    )
    after: str | None = strawberry.field(default=None, description="`endCursor` of the previous page")


@strawberry.type(description="One page of a transfer, in person-id order, and its record.")
class TransferPage:
    record: ProvisionRecord = strawberry.field(description="The TRANSFERRED record of this page")
    persons: list[TransferredPerson] = strawberry.field(
        description="The persons transferred, in person-id order"
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more pages follow; `endCursor` is the next `after`"
    )
    unmatched_subjects: list[str] = strawberry.field(
        description="Listed 宛名コード that name no in-scope person (with `subjects` only)"
    )
    held_back: list[ProvisionRecord] = strawberry.field(
        description=(
            "Persons of this page not transferred: flagged 自動応答不可 (PENDING_REVIEW: the chief confirms, then "
            "`reviewedTransfers` delivers them) or under a suspension (DENIED SUBJECT_SUSPENDED)"
        )
    )


TransferResult = Annotated[
    TransferPage | Denied,
    strawberry.union("TransferResult", description="One page of a transfer (TransferPage), or Denied."),
]
