"""認定 — certifications of care need, from application to decision, and care-plan notifications (居宅)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Computed, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, code, person_fk, pk

STATUS_SQL = (  # the case's state from its dates (policies/certifications.py status_of: the same rule)
    "CASE WHEN cancelled_on IS NOT NULL THEN 'CANCELLED' WHEN decided_on IS NOT NULL THEN 'DECIDED'"
    " WHEN secondary_judged_on IS NOT NULL THEN 'COMMITTEE_JUDGED'"
    " WHEN primary_judged_on IS NOT NULL THEN 'PRIMARY_JUDGED' ELSE 'APPLIED' END"
)


class Certification(Base):
    """One certification case: application → survey and doctor's opinion → judgements → decision."""

    __tablename__ = "certifications"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    # 申請
    applied_on: Mapped[dt.date]  # 申請日
    received_on: Mapped[dt.date]  # 申請受理日
    application_type: Mapped[str] = code("application_type")  # 申請区分
    application_reason: Mapped[str | None] = mapped_column(String(200))  # 申請理由
    applicant_name: Mapped[str | None] = mapped_column(String(100))  # 申請者氏名
    applicant_relationship: Mapped[str] = code("applicant_relationship")  # 申請者関係
    applicant_postal_code: Mapped[str | None] = mapped_column(String(8))
    applicant_address: Mapped[str | None] = mapped_column(String(200))
    applicant_phone: Mapped[str | None] = mapped_column(String(20))
    # 訪問調査
    survey_requested_on: Mapped[dt.date | None]  # 調査委託日
    survey_contractor: Mapped[str | None] = mapped_column(String(200))  # 調査委託事業者
    surveyor: Mapped[str | None] = mapped_column(String(100))  # 訪問調査員
    survey_place: Mapped[str | None] = mapped_column(String(200))  # 調査実施場所
    survey_on: Mapped[dt.date | None]  # 訪問調査日
    survey_form_number: Mapped[str | None] = mapped_column(String(20))  # 調査票番号
    survey_due_on: Mapped[dt.date | None]  # 調査票回収予定日
    survey_received_on: Mapped[dt.date | None]  # 調査結果入手日
    survey_notes: Mapped[str | None] = mapped_column(Text)  # 訪問調査特記事項
    # 主治医意見書
    doctor_name: Mapped[str | None] = mapped_column(String(100))  # かかりつけ医
    doctor_institution: Mapped[str | None] = mapped_column(String(200))  # 意見書作成医医療機関
    opinion_requested_on: Mapped[dt.date | None]  # 意見書作成依頼日
    opinion_written_on: Mapped[dt.date | None]  # 意見書作成日
    opinion_received_on: Mapped[dt.date | None]  # 意見書入手日
    # 一次判定 and 審査会 (二次判定)
    primary_judged_on: Mapped[dt.date | None]  # 一次判定日
    primary_level: Mapped[str | None] = code("care_level", nullable=True)  # 一次判定結果
    committee_number: Mapped[int | None] = mapped_column(SmallInteger)  # 合議体番号
    committee_venue: Mapped[str | None] = mapped_column(String(100))  # 審査会場
    review_scheduled_on: Mapped[dt.date | None]  # 審査予定日
    secondary_judged_on: Mapped[dt.date | None]  # 二次審査日
    committee_opinion: Mapped[str | None] = mapped_column(Text)  # 審査会意見
    secondary_level: Mapped[str | None] = code("care_level", nullable=True)  # 二次判定結果 (until decided)
    # 決定
    care_level: Mapped[str | None] = code("care_level", nullable=True, index=True)  # 二次審査要介護区分
    decided_on: Mapped[dt.date | None]  # 要介護認定日
    notified_on: Mapped[dt.date | None]  # 認定通知書通知日
    valid_from: Mapped[dt.date | None]  # 認定有効開始日
    valid_to: Mapped[dt.date | None]  # 認定有効終了日
    service_types_limited: Mapped[bool] = mapped_column(default=False, server_default="false")
    # 処分延期
    postponed_on: Mapped[dt.date | None]  # 処分延期決定日
    postponement_reason: Mapped[str | None] = code("postponement_reason", nullable=True)  # 処分延期事由
    postponement_notice_on: Mapped[dt.date | None]  # 処分延期通知書発行日
    postponement_expected_on: Mapped[dt.date | None]
    cancelled_on: Mapped[dt.date | None]  # 認定取消日
    version: Mapped[int] = mapped_column(server_default="1")  # optimistic concurrency (record_history)
    status: Mapped[str] = mapped_column(String(20), Computed(STATUS_SQL, persisted=True))

    __table_args__ = (
        CheckConstraint("received_on >= applied_on", name="received_after_applied"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NOT NULL AND valid_to >= valid_from", name="valid_order"
        ),
        CheckConstraint(
            "secondary_judged_on IS NULL OR primary_judged_on IS NULL"
            " OR secondary_judged_on >= primary_judged_on",
            name="judgement_order",
        ),
        CheckConstraint("decided_on IS NULL OR decided_on >= applied_on", name="decided_after_applied"),
        CheckConstraint("(care_level IS NULL) = (decided_on IS NULL)", name="level_with_decision"),
        CheckConstraint(
            "(postponed_on IS NULL) = (postponement_reason IS NULL)", name="postponement_reason_with_date"
        ),
        CheckConstraint("cancelled_on IS NULL OR cancelled_on >= applied_on", name="cancelled_after_applied"),
        Index("ix_certifications_person_valid", "person_id", "valid_from"),
        # the work queue: open cases by application day (pendingCertifications)
        Index(
            "ix_certifications_open",
            "applied_on",
            postgresql_where="status IN ('APPLIED', 'PRIMARY_JUDGED', 'COMMITTEE_JUDGED')",
        ),
    )


class CarePlanNotification(Base):
    """居宅サービス計画作成依頼届出 — which care manager office plans the person's home services."""

    __tablename__ = "care_plan_notifications"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    notification_number: Mapped[str] = mapped_column(String(20))  # 居宅サービス届出番号
    notified_on: Mapped[dt.date]  # 届出日
    received_on: Mapped[dt.date]  # 申請受付日
    office_number: Mapped[str] = mapped_column(String(10))  # 居宅介護支援事業者番号
    office_name: Mapped[str] = mapped_column(String(200))
    agent_name: Mapped[str | None] = mapped_column(String(100))  # 申請代理人
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),
        CheckConstraint(r"office_number ~ '^[0-9]{10}$'", name="office_number_digits"),
    )
