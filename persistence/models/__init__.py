"""SQLAlchemy models of the LTCI information file (介護保険関係情報ファイル), one module per record group."""

from .audit import AuditEvent as AuditEvent
from .audit import AuditSeal as AuditSeal
from .audit import AuditSealStart as AuditSealStart
from .base import Base
from .benefits import (
    BenefitRestriction,
    ClaimResult,
    CombinedBenefit,
    CommunityEligibility,
    CostReduction,
    HighCostBenefit,
    RecipientNotice,
    Reimbursement,
)
from .certifications import CarePlanNotification, Certification
from .codes import CODE_TABLES
from .documents import PersistedDocument as PersistedDocument
from .levies import Levy, LevyInstallment, LevyReceipt, LevyRefund, LevyReminder
from .persons import Person, ResidentMove
from .provisions import (
    AutomaticResponseFlag,
    Inquiry,
    ProvisionRecord,
    SubjectRequest,
    SubjectRequestEvent,
    TransferPermission,
)
from .qualifications import (
    CertificateIssuance,
    CopayRatio,
    FacilityAdmission,
    Qualification,
    QualificationEvent,
)
from .writes import ClaimLine, IdentityCheck, RecordHistory, ResidentChange, WriteRequest

__all__ = [
    "CODE_TABLES",
    "AutomaticResponseFlag",
    "Base",
    "BenefitRestriction",
    "CarePlanNotification",
    "CertificateIssuance",
    "Certification",
    "ClaimLine",
    "ClaimResult",
    "CombinedBenefit",
    "CommunityEligibility",
    "CopayRatio",
    "CostReduction",
    "FacilityAdmission",
    "HighCostBenefit",
    "IdentityCheck",
    "Inquiry",
    "Levy",
    "LevyInstallment",
    "LevyReceipt",
    "LevyRefund",
    "LevyReminder",
    "Person",
    "ProvisionRecord",
    "Qualification",
    "QualificationEvent",
    "RecipientNotice",
    "RecordHistory",
    "Reimbursement",
    "ResidentChange",
    "ResidentMove",
    "SubjectRequest",
    "SubjectRequestEvent",
    "TransferPermission",
    "WriteRequest",
]
