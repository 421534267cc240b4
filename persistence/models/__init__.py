"""SQLAlchemy models of the LTCI information file (介護保険関係情報ファイル), one module per record group."""

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
from .levies import Levy, LevyInstallment, LevyReceipt, LevyRefund, LevyReminder
from .persons import Person, ResidentMove
from .qualifications import (
    CertificateIssuance,
    CopayRatio,
    FacilityAdmission,
    Qualification,
    QualificationEvent,
)

__all__ = [
    "CODE_TABLES",
    "Base",
    "BenefitRestriction",
    "CarePlanNotification",
    "CertificateIssuance",
    "Certification",
    "ClaimResult",
    "CombinedBenefit",
    "CommunityEligibility",
    "CopayRatio",
    "CostReduction",
    "FacilityAdmission",
    "HighCostBenefit",
    "Levy",
    "LevyInstallment",
    "LevyReceipt",
    "LevyRefund",
    "LevyReminder",
    "Person",
    "Qualification",
    "QualificationEvent",
    "RecipientNotice",
    "Reimbursement",
    "ResidentMove",
]
