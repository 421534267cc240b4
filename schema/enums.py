"""GraphQL enums built from the code tables of ``policies/data/codes.toml``.

Every code column of the information file becomes an enum whose member names are the table's
``name`` column and whose Python values are the stored codes, so ``CareLevel("21") is
CareLevel.CARE_1`` and ``CareLevel.CARE_1.value == "21"``.  A city that changes a code table changes
the data file; the schema follows on the next start.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import strawberry

from policies.codes import table

__all__ = [
    "ApplicantRelationship",
    "ApplicationType",
    "CareLevel",
    "CertificateKind",
    "CodeEnum",
    "CollectionMethod",
    "IncomeClass",
    "IncomeStage",
    "InstallmentStatus",
    "InsuredCategory",
    "LevyCorrectionReason",
    "MoveReason",
    "PaymentMethod",
    "PensionPayer",
    "PostponementReason",
    "QualificationEventReason",
    "ReceiptKind",
    "RecipientNoticeKind",
    "ReductionKind",
    "RefundKind",
    "ReimbursementKind",
    "Relationship",
    "ResidentStatus",
    "RestrictionKind",
    "ServiceType",
    "Sex",
    "code_enum",
]


class CodeEnum(enum.Enum):
    """Base of the generated enums: the value is the stored code (``"21"``)."""

    @property
    def code(self) -> str:
        return str(self.value)

    @property
    def ja(self) -> str:
        """The value's Japanese name in its code table (``要介護1``), as a document for a person writes it."""
        return table(_KINDS[type(self)]).by_code(self.code).ja


_KINDS: dict[type[CodeEnum], str] = {}  # each generated enum's code table


def code_enum(kind: str, graphql_name: str) -> type[CodeEnum]:
    """The strawberry enum of the code table ``kind``, with descriptions from its labels."""
    tbl = table(kind)
    members = {
        value.name: strawberry.enum_value(
            value.code, description=f"{value.ja} — {value.en} (code {value.code})"
        )
        for value in tbl.values
    }
    functional: Any = CodeEnum  # Enum's functional API: CodeEnum("CareLevel", {"CARE_1": …})
    cls: type[CodeEnum] = functional(graphql_name, members, module=__name__)
    _KINDS[cls] = kind
    description = (
        f"{tbl.ja} — {tbl.about} Values read 和名 — English (code N: what the city's records store)."
    )
    return strawberry.enum(cls, name=graphql_name, description=description)


if TYPE_CHECKING:  # mypy sees one base class; at run time each is its own enum from codes.toml
    Sex = CodeEnum
    Relationship = CodeEnum
    ResidentStatus = CodeEnum
    MoveReason = CodeEnum
    InsuredCategory = CodeEnum
    QualificationEventReason = CodeEnum
    CertificateKind = CodeEnum
    CareLevel = CodeEnum
    ApplicationType = CodeEnum
    ApplicantRelationship = CodeEnum
    PostponementReason = CodeEnum
    ReimbursementKind = CodeEnum
    PaymentMethod = CodeEnum
    IncomeClass = CodeEnum
    ReductionKind = CodeEnum
    RestrictionKind = CodeEnum
    ServiceType = CodeEnum
    RecipientNoticeKind = CodeEnum
    CollectionMethod = CodeEnum
    PensionPayer = CodeEnum
    IncomeStage = CodeEnum
    LevyCorrectionReason = CodeEnum
    ReceiptKind = CodeEnum
    RefundKind = CodeEnum
else:
    Sex = code_enum("sex", "Sex")
    Relationship = code_enum("relationship", "Relationship")
    ResidentStatus = code_enum("resident_status", "ResidentStatus")
    MoveReason = code_enum("move_reason", "MoveReason")
    InsuredCategory = code_enum("insured_category", "InsuredCategory")
    QualificationEventReason = code_enum("qualification_event", "QualificationEventReason")
    CertificateKind = code_enum("certificate_kind", "CertificateKind")
    CareLevel = code_enum("care_level", "CareLevel")
    ApplicationType = code_enum("application_type", "ApplicationType")
    ApplicantRelationship = code_enum("applicant_relationship", "ApplicantRelationship")
    PostponementReason = code_enum("postponement_reason", "PostponementReason")
    ReimbursementKind = code_enum("reimbursement_kind", "ReimbursementKind")
    PaymentMethod = code_enum("payment_method", "PaymentMethod")
    IncomeClass = code_enum("income_class", "IncomeClass")
    ReductionKind = code_enum("reduction_kind", "ReductionKind")
    RestrictionKind = code_enum("restriction_kind", "RestrictionKind")
    ServiceType = code_enum("service_type", "ServiceType")
    RecipientNoticeKind = code_enum("recipient_notice_kind", "RecipientNoticeKind")
    CollectionMethod = code_enum("collection_method", "CollectionMethod")
    PensionPayer = code_enum("pension_payer", "PensionPayer")
    IncomeStage = code_enum("income_stage", "IncomeStage")
    LevyCorrectionReason = code_enum("levy_correction_reason", "LevyCorrectionReason")
    ReceiptKind = code_enum("receipt_kind", "ReceiptKind")
    RefundKind = code_enum("refund_kind", "RefundKind")


@strawberry.enum(description="State of one installment (期別) on the request date.")
class InstallmentStatus(enum.Enum):
    PAID = strawberry.enum_value("PAID", description="完納 — nothing outstanding")
    PARTIALLY_PAID = strawberry.enum_value(
        "PARTIALLY_PAID", description="一部納付 — part paid, not yet past the due date"
    )
    UNPAID = strawberry.enum_value("UNPAID", description="未納 — nothing paid, not yet past the due date")
    OVERDUE = strawberry.enum_value(
        "OVERDUE", description="滞納 — something outstanding after the due date (納期限), paid in part or not"
    )
