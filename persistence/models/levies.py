"""保険料 — levies: the annual levy (賦課), installments (調定), receipts (収納), reminders, refunds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, code, person_fk, pk, yen


class Levy(Base):
    """賦課 — one fiscal year's premium of a first-category insured person."""

    __tablename__ = "levies"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)  # 賦課年度
    levied_on: Mapped[dt.date]  # 賦課期日
    income_stage: Mapped[str] = code("income_stage")  # 所得段階
    annual_premium: Mapped[int] = yen()  # 保険料額
    reduction_amount: Mapped[int] = yen()  # 減免額
    collection_method: Mapped[str] = code("collection_method")
    pension_payer: Mapped[str | None] = code("pension_payer", nullable=True)  # 特徴年金情報
    corrected_on: Mapped[dt.date | None]  # 賦課更正日
    correction_reason: Mapped[str | None] = code("levy_correction_reason", nullable=True)
    version: Mapped[int] = mapped_column(server_default="1")  # optimistic concurrency (record_history)

    __table_args__ = (
        UniqueConstraint("person_id", "fiscal_year"),
        CheckConstraint(
            "annual_premium >= 0 AND reduction_amount BETWEEN 0 AND annual_premium", name="amounts"
        ),
        CheckConstraint("(corrected_on IS NULL) = (correction_reason IS NULL)", name="correction_reason"),
        CheckConstraint(
            "(collection_method = '1') = (pension_payer IS NOT NULL)", name="pension_payer_for_deduction"
        ),
        CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="fiscal_year_range"),
    )


class LevyInstallment(Base):
    """調定 — one installment (期別) of a levy with its due date (納期限)."""

    __tablename__ = "levy_installments"

    id: Mapped[int] = pk()
    levy_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("levies.id", ondelete="CASCADE"), index=True)
    assessment_year: Mapped[int] = mapped_column(SmallInteger)  # 調定年度
    period: Mapped[int] = mapped_column(SmallInteger)  # 期別
    due_on: Mapped[dt.date]  # 納期限
    amount: Mapped[int] = yen()  # 期別保険料額
    collection_method: Mapped[str] = code("collection_method")

    __table_args__ = (
        UniqueConstraint("levy_id", "period"),
        CheckConstraint("period BETWEEN 1 AND 12 AND amount >= 0", name="period_and_amount"),
    )


def installment_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("levy_installments.id", ondelete="CASCADE"), index=True)


class LevyReceipt(Base):
    """収納 — a payment received against an installment, and when it was reconciled (消込)."""

    __tablename__ = "levy_receipts"

    id: Mapped[int] = pk()
    installment_id: Mapped[int] = installment_fk()
    kind: Mapped[str] = code("receipt_kind")  # 収納種別
    paid_on: Mapped[dt.date]  # 領収日
    received_on: Mapped[dt.date]  # 収納日
    reconciled_on: Mapped[dt.date | None]  # 消込日
    amount: Mapped[int] = yen()  # 保険料収納金額
    late_fee: Mapped[int] = yen()  # 延滞金額

    __table_args__ = (
        CheckConstraint("amount > 0 AND late_fee >= 0", name="amounts"),
        CheckConstraint("received_on >= paid_on", name="received_after_paid"),
        CheckConstraint("reconciled_on IS NULL OR reconciled_on >= received_on", name="reconciled_after"),
    )


class LevyReminder(Base):
    """督促・催告 — a reminder sent for an overdue installment, with its fee."""

    __tablename__ = "levy_reminders"

    id: Mapped[int] = pk()
    installment_id: Mapped[int] = installment_fk()
    sent_on: Mapped[dt.date]
    final_notice: Mapped[bool] = mapped_column(default=False, server_default="false")  # 催告 (vs 督促)
    fee: Mapped[int] = yen()  # 督促手数料額

    __table_args__ = (CheckConstraint("fee >= 0", name="fee_non_negative"),)


class LevyRefund(Base):
    """還付・充当 — an overpayment (過誤納) refunded or applied to other arrears."""

    __tablename__ = "levy_refunds"

    id: Mapped[int] = pk()
    levy_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("levies.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = code("refund_kind")
    amount: Mapped[int] = yen()
    decided_on: Mapped[dt.date]
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)
