"""給付 — benefits: reimbursements, high-cost and combined benefits, reductions, restrictions,
claim results and recipient notices from the federation (国保連), and community programme eligibility."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, code, person_fk, pk, yen

FIRST_OF_MONTH = "EXTRACT(DAY FROM {col}) = 1"


def _month(col: str) -> CheckConstraint:
    return CheckConstraint(FIRST_OF_MONTH.format(col=col), name=f"{col}_first_of_month")


class Reimbursement(Base):
    """償還払 — the person paid in full and claims the insured share back."""

    __tablename__ = "reimbursements"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    application_number: Mapped[str] = mapped_column(String(20), unique=True)  # 申請書番号
    kind: Mapped[str] = code("reimbursement_kind")  # 申請給付種類
    service_month: Mapped[dt.date]  # サービス提供年月 (first of month)
    applied_on: Mapped[dt.date]
    received_on: Mapped[dt.date]  # 受付日
    applicant_name: Mapped[str | None] = mapped_column(String(100))
    applicant_relationship: Mapped[str] = code("applicant_relationship")
    payment_method: Mapped[str] = code("payment_method")
    total_cost: Mapped[int] = yen()
    copay_amount: Mapped[int] = yen()  # 利用者負担額
    claimed_amount: Mapped[int] = yen()  # 保険請求額
    paid_amount: Mapped[int | None] = yen(nullable=True)  # 支払金額
    reviewed_month: Mapped[dt.date | None]  # 審査年月
    decided_on: Mapped[dt.date | None]  # 支給決定日
    version: Mapped[int] = mapped_column(server_default="1")  # optimistic concurrency (record_history)

    __table_args__ = (
        _month("service_month"),
        CheckConstraint("received_on >= applied_on", name="received_after_applied"),
        CheckConstraint("decided_on IS NULL OR decided_on >= applied_on", name="decided_after_applied"),
        CheckConstraint(
            "total_cost >= 0 AND copay_amount >= 0 AND claimed_amount >= 0 AND coalesce(paid_amount, 0) >= 0",
            name="amounts_non_negative",
        ),
        CheckConstraint("copay_amount + claimed_amount <= total_cost", name="amounts_add_up"),
    )


class HighCostBenefit(Base):
    """高額介護サービス費 — the copay above the monthly cap of the income class is paid back."""

    __tablename__ = "high_cost_benefits"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    service_month: Mapped[dt.date]
    applied_on: Mapped[dt.date]
    household_code: Mapped[str] = mapped_column(String(15))  # 算定世帯コード
    income_class: Mapped[str] = code("income_class")  # 所得区分
    cost_amount: Mapped[int] = yen()  # サービス費用額
    copay_amount: Mapped[int] = yen()  # 利用者負担額
    cap_amount: Mapped[int] = yen()  # 算定基準額
    paid_amount: Mapped[int] = yen()  # 高額支給額
    payment_method: Mapped[str] = code("payment_method")
    decided_on: Mapped[dt.date | None]
    version: Mapped[int] = mapped_column(server_default="1")  # optimistic concurrency (record_history)

    __table_args__ = (
        _month("service_month"),
        CheckConstraint("paid_amount >= 0 AND paid_amount <= copay_amount", name="paid_within_copay"),
        CheckConstraint("cost_amount >= copay_amount AND cap_amount > 0", name="amounts_plausible"),
    )


class CombinedBenefit(Base):
    """高額医療合算介護サービス費 — medical and care copays combined over a year (Aug – Jul)."""

    __tablename__ = "combined_benefits"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    period_year: Mapped[int] = mapped_column(SmallInteger)  # 計算期間 starting Aug 1 of this year
    applied_on: Mapped[dt.date]  # 高額合算申請
    self_pay_amount: Mapped[int] = yen()  # 自己負担額確認
    paid_amount: Mapped[int | None] = yen(nullable=True)  # 支給決定
    decided_on: Mapped[dt.date | None]

    __table_args__ = (
        CheckConstraint("self_pay_amount >= 0 AND coalesce(paid_amount, 0) >= 0", name="amounts"),
    )


class CostReduction(Base):
    """減免 / 負担限度額認定 — reductions of the copay or of food and housing costs."""

    __tablename__ = "cost_reductions"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    kind: Mapped[str] = code("reduction_kind")
    applied_on: Mapped[dt.date]  # 減額申請日
    decided_on: Mapped[dt.date | None]  # 減額認定日
    valid_from: Mapped[dt.date]  # 減額開始日
    valid_to: Mapped[dt.date]  # 減額終了日
    stage: Mapped[int | None] = mapped_column(SmallInteger)  # 負担限度額段階
    reduction_percent: Mapped[int | None] = mapped_column(SmallInteger)
    notice_on: Mapped[dt.date | None]  # 減額結果通知書作成日

    __table_args__ = (
        CheckConstraint("valid_to >= valid_from", name="valid_order"),
        CheckConstraint("reduction_percent IS NULL OR reduction_percent BETWEEN 1 AND 100", name="percent"),
    )


class BenefitRestriction(Base):
    """制限 — payment-method change, suspension, deduction or reduction for unpaid premiums."""

    __tablename__ = "benefit_restrictions"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    kind: Mapped[str] = code("restriction_kind")
    decided_on: Mapped[dt.date]
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]
    arrears_amount: Mapped[int] = yen()
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),
        CheckConstraint("arrears_amount >= 0", name="arrears_non_negative"),
    )


class ClaimResult(Base):
    """給付実績 — a service the federation (国保連) paid for, one row per provider, month and type."""

    __tablename__ = "claim_results"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    service_month: Mapped[dt.date]
    provider_number: Mapped[str] = mapped_column(String(10))  # 事業所番号
    service_type: Mapped[str] = code("service_type")
    units: Mapped[int] = mapped_column(Integer)  # 単位数
    cost_amount: Mapped[int] = yen()
    insurer_paid_amount: Mapped[int] = yen()
    copay_amount: Mapped[int] = yen()
    reviewed_month: Mapped[dt.date]  # 審査年月

    __table_args__ = (
        _month("service_month"),
        CheckConstraint(
            "units >= 0 AND insurer_paid_amount + copay_amount = cost_amount", name="amounts_add_up"
        ),
    )


class RecipientNotice(Base):
    """受給者異動連絡 — what the city told the federation about a recipient's certification."""

    __tablename__ = "recipient_notices"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    kind: Mapped[str] = code("recipient_notice_kind")
    changed_on: Mapped[dt.date]  # 異動年月日
    sent_on: Mapped[dt.date]
    care_level: Mapped[str | None] = code("care_level", nullable=True)

    __table_args__ = (CheckConstraint("sent_on >= changed_on - 31", name="sent_plausible"),)


class CommunityEligibility(Base):
    """事業対象者 — eligible for the community programme (総合事業) after the basic checklist."""

    __tablename__ = "community_eligibilities"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    checked_on: Mapped[dt.date]  # 基本チェックリスト実施日
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]

    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),)
