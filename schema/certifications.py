"""認定 — certification of care need, from application to decision, and care-plan notifications (居宅)."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from .enums import ApplicantRelationship, ApplicationType, CareLevel, PostponementReason
from .history import RecordChange, history_of
from .sources import column, embedded, table

__all__ = [
    "CarePlan",
    "Certification",
    "CertificationApplication",
    "CertificationDecision",
    "CertificationJudgement",
    "CertificationPostponement",
    "CertificationStatus",
    "DoctorOpinion",
    "HomeVisitSurvey",
]


@strawberry.type(description="申請 — the application that opened the case.")
class CertificationApplication:
    applied_on: dt.date = column(description="申請日")
    received_on: dt.date = column(description="申請受理日")
    type: ApplicationType = column("application_type", description="申請区分")
    reason: str | None = column("application_reason", description="申請理由")
    applicant_name: str | None = column(description="申請者氏名")
    applicant_relationship: ApplicantRelationship = column(description="申請者関係")
    applicant_postal_code: str | None = column(description="申請者郵便番号")
    applicant_address: str | None = column(description="申請者住所")
    applicant_phone: str | None = column(description="申請者電話番号")


@strawberry.type(description="訪問調査 — the home-visit survey.")
class HomeVisitSurvey:
    requested_on: dt.date | None = column("survey_requested_on", description="調査委託日")
    contractor: str | None = column("survey_contractor", description="調査委託事業者")
    surveyor: str | None = column(description="訪問調査員")
    place: str | None = column("survey_place", description="調査実施場所")
    surveyed_on: dt.date | None = column("survey_on", description="訪問調査日")
    form_number: str | None = column("survey_form_number", description="調査票番号")
    due_on: dt.date | None = column("survey_due_on", description="調査票回収予定日")
    received_on: dt.date | None = column("survey_received_on", description="調査結果入手日")
    notes: str | None = column("survey_notes", description="訪問調査特記事項")


@strawberry.type(description="主治医意見書 — the attending doctor's opinion.")
class DoctorOpinion:
    doctor_name: str | None = column(description="かかりつけ医")
    institution: str | None = column("doctor_institution", description="意見書作成医医療機関")
    requested_on: dt.date | None = column("opinion_requested_on", description="意見書作成依頼日")
    written_on: dt.date | None = column("opinion_written_on", description="意見書作成日")
    received_on: dt.date | None = column("opinion_received_on", description="意見書入手日")


@strawberry.type(description="一次判定 and 二次判定 — the computer judgement and the committee (合議体).")
class CertificationJudgement:
    primary_judged_on: dt.date | None = column(description="一次判定日")
    primary_level: CareLevel | None = column(description="一次判定結果")
    committee_number: int | None = column(description="合議体番号")
    committee_venue: str | None = column(description="審査会場")
    review_scheduled_on: dt.date | None = column(description="審査予定日")
    secondary_judged_on: dt.date | None = column(description="二次審査日")
    secondary_level: CareLevel | None = column(description="二次判定結果 — the committee's level")
    committee_opinion: str | None = column(description="審査会意見")


@strawberry.type(description="決定 — the decided care level and its validity.")
class CertificationDecision:
    care_level: CareLevel = column(description="要介護状態区分 (二次判定)")
    decided_on: dt.date = column(description="要介護認定日")
    notified_on: dt.date | None = column(description="認定通知書通知日")
    valid_from: dt.date | None = column(description="認定有効開始日")
    valid_to: dt.date | None = column(description="認定有効終了日 (a month-end)")
    service_types_limited: bool = column(description="サービス種類の指定あり")


@strawberry.type(description="処分延期 — the decision was postponed beyond 30 days.")
class CertificationPostponement:
    postponed_on: dt.date = column(description="処分延期決定日")
    reason: PostponementReason = column("postponement_reason", description="処分延期事由")
    notice_on: dt.date | None = column("postponement_notice_on", description="処分延期通知書発行日")
    expected_on: dt.date | None = column("postponement_expected_on", description="見込み日")


@strawberry.enum(
    description=(
        "The state of a certification case, from its dates: APPLIED → PRIMARY_JUDGED → COMMITTEE_JUDGED → "
        "DECIDED, or CANCELLED from any of them. A step the state does not allow is INVALID_TRANSITION."
    )
)
class CertificationStatus(enum.Enum):
    APPLIED = strawberry.enum_value("APPLIED", description="申請受理 — survey and doctor's opinion under way")
    PRIMARY_JUDGED = strawberry.enum_value("PRIMARY_JUDGED", description="一次判定済")
    COMMITTEE_JUDGED = strawberry.enum_value("COMMITTEE_JUDGED", description="二次判定 (審査会) 済")
    DECIDED = strawberry.enum_value("DECIDED", description="認定 — decided and notified")
    CANCELLED = strawberry.enum_value("CANCELLED", description="取下げ or 認定取消")


@strawberry.type(description="認定 — one certification case.")
@table("certifications")
class Certification:
    pk: strawberry.Private[int]
    id: strawberry.ID = column(description="The certification case id.")
    application: CertificationApplication = embedded(
        description="申請 — the application that opened the case"
    )
    survey: HomeVisitSurvey | None = embedded(
        present_if_any=(
            "survey_requested_on",
            "survey_contractor",
            "surveyor",
            "survey_on",
            "survey_received_on",
        ),
        description="null until a survey is requested",
    )
    doctor_opinion: DoctorOpinion | None = embedded(
        present_if_any=("doctor_name", "doctor_institution", "opinion_requested_on", "opinion_received_on"),
        description="null until an opinion is asked for",
    )
    judgement: CertificationJudgement | None = embedded(
        present_if_any=("primary_judged_on", "primary_level", "review_scheduled_on", "secondary_judged_on"),
        description="null before any judgement",
    )
    decision: CertificationDecision | None = embedded(
        present_if_all=("care_level", "decided_on"), description="null while undecided"
    )
    postponement: CertificationPostponement | None = embedded(
        present_if_all=("postponed_on", "postponement_reason"), description="null if not postponed"
    )
    cancelled_on: dt.date | None = column(description="認定取消日")
    status: CertificationStatus = column(description="The state its dates put it in.")
    version: int = column(description="Changes with every write of the case.")
    history: list[RecordChange] = history_of("certifications")

    def is_valid_on(self, day: dt.date) -> bool:
        """Decided, not cancelled by ``day``, and ``day`` within the validity period."""
        d = self.decision
        if d is None or d.valid_from is None or d.valid_to is None:
            return False
        if self.cancelled_on is not None and self.cancelled_on <= day:
            return False
        return d.valid_from <= day <= d.valid_to


@strawberry.type(description="居宅サービス計画作成依頼届出 — who plans the person's home services.")
@table("care_plan_notifications")
class CarePlan:
    notification_number: str = column(description="居宅サービス届出番号")
    notified_on: dt.date = column(description="届出日")
    received_on: dt.date = column(description="申請受付日")
    office_number: str = column(description="居宅介護支援事業者番号")
    office_name: str = column(description="居宅介護支援事業者名")
    agent_name: str | None = column(description="申請代理人")
    valid_from: dt.date = column(description="適用開始日")
    valid_to: dt.date | None = column(description="適用終了日 (null: open)")
