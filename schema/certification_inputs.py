"""認定 written step by step: the application, the survey, the doctor's opinion, the judgements, the
decision or its postponement, the cancellation; and the work queue's entries. Each step names the case's
``version`` it read and a ``requestId``.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from .certifications import Certification
from .enums import ApplicantRelationship, ApplicationType, CareLevel, PostponementReason
from .persons import Person

__all__ = [
    "ApplyForCertificationInput",
    "CancelCertificationInput",
    "DecideCertificationInput",
    "PendingCertification",
    "PostponeCertificationInput",
    "RecordCommitteeJudgementInput",
    "RecordDoctorOpinionInput",
    "RecordPrimaryJudgementInput",
    "RecordSurveyInput",
]

_REQUEST = "Idempotency key: the same id and input answer the same"
_VERSION = "The case's version read; CONFLICT when it changed since"


@strawberry.input(
    description="申請 — a new, renewal (from 60 days before expiry) or level-change application."
)
class ApplyForCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID
    type: ApplicationType = strawberry.field(description="NEW, RENEWAL or LEVEL_CHANGE")
    applied_on: dt.date
    received_on: dt.date | None = strawberry.field(
        default=None, description="申請受理日 (default: appliedOn)"
    )
    reason: str | None = strawberry.field(
        default=None, description="申請理由 (a second-category insured person: the specified disease)"
    )
    applicant_name: str | None = None
    applicant_relationship: ApplicantRelationship
    applicant_postal_code: str | None = None
    applicant_address: str | None = None
    applicant_phone: str | None = None


@strawberry.input(description="訪問調査 — the home-visit survey, as received.")
class RecordSurveyInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    requested_on: dt.date | None = strawberry.field(default=None, description="調査委託日")
    contractor: str | None = strawberry.field(default=None, description="調査委託事業者")
    surveyor: str
    place: str | None = None
    surveyed_on: dt.date
    form_number: str | None = strawberry.field(default=None, description="調査票番号")
    received_on: dt.date = strawberry.field(description="調査結果入手日")
    notes: str | None = strawberry.field(default=None, description="訪問調査特記事項")


@strawberry.input(description="主治医意見書 — the attending doctor's opinion, as received.")
class RecordDoctorOpinionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    doctor_name: str
    institution: str
    requested_on: dt.date | None = None
    written_on: dt.date
    received_on: dt.date


@strawberry.input(description="一次判定 — the computer's judgement (needs the survey and the opinion).")
class RecordPrimaryJudgementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    judged_on: dt.date
    level: CareLevel


@strawberry.input(description="二次判定 — the certification committee's (合議体) judgement.")
class RecordCommitteeJudgementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    committee_number: int = strawberry.field(description="合議体番号 (1-999)")
    venue: str | None = None
    judged_on: dt.date
    level: CareLevel
    opinion: str | None = strawberry.field(default=None, description="審査会意見")


@strawberry.input(description="認定 — the decision: the committee's level and the validity, and its notice.")
class DecideCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    decided_on: dt.date
    care_level: CareLevel | None = strawberry.field(
        default=None, description="The committee's level (needed only where none was recorded)"
    )
    valid_from: dt.date | None = strawberry.field(
        default=None, description="Default: the application date (a renewal: the day after the old one ends)"
    )
    valid_to: dt.date | None = strawberry.field(
        default=None, description="A month-end within the law's bounds (default: the standard length)"
    )
    notified_on: dt.date | None = strawberry.field(default=None, description="認定通知書通知日")
    service_types_limited: bool = False


@strawberry.input(
    description="処分延期 — the decision cannot come within 30 days: the reason and the day expected."
)
class PostponeCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    postponed_on: dt.date
    reason: PostponementReason
    expected_on: dt.date = strawberry.field(description="Later than 30 days after the application")
    notice_on: dt.date | None = strawberry.field(default=None, description="処分延期通知書発行日")


@strawberry.input(description="取下げ (an open case) or 認定取消 (a decided one).")
class CancelCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    cancelled_on: dt.date
    reason: str = strawberry.field(description="1-200 characters, kept in the case's history")


@strawberry.type(description="An open case of the work queue and when its decision is due.")
class PendingCertification:
    due_on: dt.date = strawberry.field(
        description="30 days after the application, or the day a postponement expects"
    )
    overdue: bool = strawberry.field(description="Due before the request date")
    certification: Certification
    person: Person
