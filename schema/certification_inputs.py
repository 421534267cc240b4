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
_CASE = (
    "The case (`Certification.id`); NOT_FOUND when there is none, INVALID_TRANSITION (with its `state`) "
    "when its state does not allow the step"
)


def _dated(term: str, follows: str) -> str:
    """A step's date: not before the one it follows, not after today."""
    return f"{term}: not before {follows} (BAD_USER_INPUT REVERSED_RANGE) nor after today (OUT_OF_RANGE)"


@strawberry.input(
    description="申請 — a new, renewal (from 60 days before expiry) or level-change application."
)
class ApplyForCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID = strawberry.field(
        description=(
            "The person (`Person.id`), insured on appliedOn (INVALID_TRANSITION NOT_INSURED otherwise); never "
            "beside an open case (INVALID_TRANSITION APPLICATION_OPEN)"
        )
    )
    type: ApplicationType = strawberry.field(
        description=(
            "NEW (none in force, else INVALID_TRANSITION CERTIFIED), RENEWAL or LEVEL_CHANGE (one in force, "
            "else NOT_CERTIFIED); another type is BAD_USER_INPUT FORMAT"
        )
    )
    applied_on: dt.date = strawberry.field(
        description=(
            "申請日: not after today; a renewal from 60 days before the certification in force ends "
            "(BAD_USER_INPUT OUT_OF_RANGE)"
        )
    )
    received_on: dt.date | None = strawberry.field(
        default=None, description="申請受理日 (default: appliedOn)"
    )
    reason: str | None = strawberry.field(
        default=None, description="申請理由 (a second-category insured person: the specified disease)"
    )
    applicant_name: str | None = strawberry.field(
        default=None, description="申請者氏名 (at most 100 characters)"
    )
    applicant_relationship: ApplicantRelationship = strawberry.field(
        description="申請者関係 — who applied: the person, family, an office or facility on their behalf"
    )
    applicant_postal_code: str | None = strawberry.field(
        default=None, description="申請者郵便番号 NNN-NNNN (at most 8 characters)"
    )
    applicant_address: str | None = strawberry.field(
        default=None, description="申請者住所 (at most 200 characters)"
    )
    applicant_phone: str | None = strawberry.field(
        default=None, description="申請者電話番号 (at most 20 characters)"
    )


@strawberry.input(description="訪問調査 — the home-visit survey, as received.")
class RecordSurveyInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    requested_on: dt.date | None = strawberry.field(default=None, description="調査委託日")
    contractor: str | None = strawberry.field(default=None, description="調査委託事業者")
    surveyor: str = strawberry.field(description="訪問調査員 (認定調査員), at most 100 characters")
    place: str | None = strawberry.field(default=None, description="調査実施場所 (at most 200 characters)")
    surveyed_on: dt.date = strawberry.field(
        description=_dated("訪問調査日", "requestedOn (or the application)")
    )
    form_number: str | None = strawberry.field(default=None, description="調査票番号")
    received_on: dt.date = strawberry.field(description="調査結果入手日")
    notes: str | None = strawberry.field(default=None, description="訪問調査特記事項")


@strawberry.input(description="主治医意見書 — the attending doctor's opinion, as received.")
class RecordDoctorOpinionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    doctor_name: str = strawberry.field(
        description="主治医 (かかりつけ医) who wrote it, at most 100 characters"
    )
    institution: str = strawberry.field(description="意見書作成医医療機関 (at most 200 characters)")
    requested_on: dt.date | None = strawberry.field(
        default=None, description=_dated("意見書作成依頼日", "the application")
    )
    written_on: dt.date = strawberry.field(
        description=_dated("意見書作成日", "requestedOn (or the application)")
    )
    received_on: dt.date = strawberry.field(description=_dated("意見書入手日", "writtenOn"))


@strawberry.input(description="一次判定 — the computer's judgement (needs the survey and the opinion).")
class RecordPrimaryJudgementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    judged_on: dt.date = strawberry.field(
        description=_dated("一次判定日", "the survey's and the opinion's receipt")
    )
    level: CareLevel = strawberry.field(description="一次判定結果 — the level the computer found")


@strawberry.input(description="二次判定 — the certification committee's (合議体) judgement.")
class RecordCommitteeJudgementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    committee_number: int = strawberry.field(description="合議体番号 (1-999)")
    venue: str | None = strawberry.field(default=None, description="審査会場 (at most 100 characters)")
    judged_on: dt.date = strawberry.field(description=_dated("二次審査日", "the primary judgement"))
    level: CareLevel = strawberry.field(
        description="二次判定結果 — the committee's level, which the decision takes (要介護状態区分)"
    )
    opinion: str | None = strawberry.field(default=None, description="審査会意見")


@strawberry.input(description="認定 — the decision: the committee's level and the validity, and its notice.")
class DecideCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    decided_on: dt.date = strawberry.field(description=_dated("要介護認定日", "the committee's judgement"))
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
    service_types_limited: bool = strawberry.field(
        default=False, description="サービス種類の指定 — the committee limited the service types"
    )


@strawberry.input(
    description="処分延期 — the decision cannot come within 30 days: the reason and the day expected."
)
class PostponeCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    postponed_on: dt.date = strawberry.field(description=_dated("処分延期決定日", "the application"))
    reason: PostponementReason = strawberry.field(description="処分延期事由")
    expected_on: dt.date = strawberry.field(description="Later than 30 days after the application")
    notice_on: dt.date | None = strawberry.field(default=None, description="処分延期通知書発行日")


@strawberry.input(description="取下げ (an open case) or 認定取消 (a decided one).")
class CancelCertificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    certification_id: strawberry.ID = strawberry.field(description=_CASE)
    version: int = strawberry.field(description=_VERSION)
    cancelled_on: dt.date = strawberry.field(
        description=(
            "取下げ or 認定取消 day: not before the decision (or the application) (BAD_USER_INPUT REVERSED_RANGE)"
        )
    )
    reason: str = strawberry.field(description="1-200 characters, kept in the case's history")


@strawberry.type(description="An open case of the work queue and when its decision is due.")
class PendingCertification:
    due_on: dt.date = strawberry.field(
        description="30 days after the application, or the day a postponement expects"
    )
    overdue: bool = strawberry.field(description="Due before the request date")
    certification: Certification = strawberry.field(description="The open case, as a read answers it")
    person: Person = strawberry.field(description="The person the case is about")
