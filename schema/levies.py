"""保険料 — the annual levy (賦課), its installments (期別) with receipts and reminders, and refunds.

Amounts are whole yen (円).  Paid, outstanding, status and arrears are computed by SQL from the receipts, as of
the request date, wherever they are read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy import BigInteger, Date, case, cast, func, select

from policies.premiums import premium_rules

from .enums import (
    CollectionMethod,
    IncomeStage,
    InstallmentStatus,
    LevyCorrectionReason,
    PensionPayer,
    ReceiptKind,
    RefundKind,
)
from .history import RecordChange, history_of
from .sources import Env, column, expression, relation, table

__all__ = [
    "Levy",
    "LevyInstallment",
    "LevyReceipt",
    "LevyRefund",
    "LevyReminder",
    "arrears_sql",
    "installment_status",
    "outstanding_sql",
    "paid_sql",
    "status_sql",
]


@strawberry.type(description="収納 — a payment received against an installment.")
@table("levy_receipts")
class LevyReceipt:
    kind: ReceiptKind = column(description="収納種別")
    paid_on: dt.date = column(description="領収日")
    received_on: dt.date = column(description="収納日")
    reconciled_on: dt.date | None = column(description="消込日 (null until reconciled)")
    amount: int = column(description="保険料収納金額 (yen)")
    late_fee: int = column(description="延滞金額 (yen)")


@strawberry.type(description="督促・催告 — a reminder for an overdue installment.")
@table("levy_reminders")
class LevyReminder:
    sent_on: dt.date = column(description="発送日")
    final_notice: bool = column(description="催告 (true) or 督促 (false)")
    fee: int = column(description="督促手数料額 (yen)")


@strawberry.type(description="還付・充当 — an overpayment refunded or applied to other arrears.")
@table("levy_refunds")
class LevyRefund:
    kind: RefundKind = column(description="還付充当区分")
    amount: int = column(description="金額 (yen)")
    decided_on: dt.date = column(description="決定日")
    note: str | None = column(description="備考")


def installment_status(*, amount: int, paid: int, due_on: dt.date, today: dt.date) -> InstallmentStatus:
    """PAID when nothing is outstanding; OVERDUE when something is outstanding after the due date;
    otherwise PARTIALLY_PAID or UNPAID (the same rule as :func:`status_sql`)."""
    if paid >= amount:
        return InstallmentStatus.PAID
    if due_on < today:
        return InstallmentStatus.OVERDUE
    return InstallmentStatus.PARTIALLY_PAID if paid > 0 else InstallmentStatus.UNPAID


def paid_sql(installment: Any, env: Env) -> Any:
    """Sum of an installment's receipts (0 without any)."""
    receipts = env.table("levy_receipts")
    return (
        select(func.coalesce(func.sum(receipts.c.amount), 0))
        .where(receipts.c.installment_id == installment.id)
        .scalar_subquery()
    )


def outstanding_sql(installment: Any, env: Env) -> Any:
    return func.greatest(installment.amount - installment.paid_amount, 0)


def status_sql(installment: Any, env: Env) -> Any:
    """:func:`installment_status` in SQL (InstallmentStatus values are their names)."""
    paid = installment.paid_amount
    return case(
        (paid >= installment.amount, InstallmentStatus.PAID.value),
        (installment.due_on < env.today, InstallmentStatus.OVERDUE.value),
        (paid > 0, InstallmentStatus.PARTIALLY_PAID.value),
        else_=InstallmentStatus.UNPAID.value,
    )


def arrears_sql(levy: Any, env: Env) -> Any:
    """Outstanding amount of a levy's installments past their due date on the request date."""
    installments = env.table("levy_installments")
    outstanding = func.greatest(installments.c.amount - paid_sql(installments.c, env), 0)
    total = func.coalesce(func.sum(outstanding), 0)
    return cast(  # a sum of bigints is numeric in PostgreSQL: yen stay integers
        select(total)
        .where(installments.c.levy_id == levy.id, installments.c.due_on < env.today)
        .scalar_subquery(),
        BigInteger,
    )


def lapses_on_sql(installment: Any, env: Env) -> Any:
    """The first day the installment's claim has lapsed: 2 years (policies/data/premiums.toml) from the day
    after its due date, or after its latest 督促 (which renews the period); policies.premiums.lapses_on."""
    reminders = env.table("levy_reminders")
    reminded = (
        select(func.max(reminders.c.sent_on))
        .where(reminders.c.installment_id == installment.id, reminders.c.final_notice.is_(False))
        .scalar_subquery()
    )
    start = func.greatest(installment.due_on, func.coalesce(reminded, installment.due_on))
    return cast(start + 1 + func.make_interval(premium_rules().lapse_years), Date)


def lapsed_sql(installment: Any, env: Env) -> Any:
    return lapses_on_sql(installment, env) <= env.today


def overpaid_sql(levy: Any, env: Env) -> Any:
    """過誤納 — what was received for the levy beyond its premium after reduction, less what was refunded or
    appropriated already; 0 when nothing is over."""
    installments, receipts, refunds = (
        env.table("levy_installments"),
        env.table("levy_receipts"),
        env.table("levy_refunds"),
    )
    received = (
        select(func.coalesce(func.sum(receipts.c.amount), 0))
        .select_from(receipts.join(installments, installments.c.id == receipts.c.installment_id))
        .where(installments.c.levy_id == levy.id)
        .scalar_subquery()
    )
    refunded = (
        select(func.coalesce(func.sum(refunds.c.amount), 0))
        .where(refunds.c.levy_id == levy.id)
        .scalar_subquery()
    )
    over = received - (levy.annual_premium - levy.reduction_amount) - refunded
    return cast(func.greatest(over, 0), BigInteger)


def lapsed_amount_sql(levy: Any, env: Env) -> Any:
    """Outstanding amount of the levy's installments whose claim has lapsed (時効消滅) on the request date."""
    installments = env.table("levy_installments")
    outstanding = func.greatest(installments.c.amount - paid_sql(installments.c, env), 0)
    return cast(
        select(func.coalesce(func.sum(outstanding), 0))
        .where(installments.c.levy_id == levy.id, lapsed_sql(installments.c, env))
        .scalar_subquery(),
        BigInteger,
    )


@strawberry.type(description="期別 — one installment of a levy with its due date (納期限).")
@table("levy_installments", derived={"paid_amount": paid_sql})
class LevyInstallment:
    pk: strawberry.Private[int]
    id: strawberry.ID = column(description="The installment id (what a reminder names).")
    assessment_year: int = column(description="調定年度")
    period: int = column(description="期別 (1-12)")
    due_on: dt.date = column(description="納期限")
    amount: int = column(description="期別保険料額 (yen)")
    collection_method: CollectionMethod = column(description="徴収方法")
    paid_amount: int = column(description="Sum of the receipts, late fees not included (yen).")
    outstanding_amount: int = expression(
        outstanding_sql, description="amount − paidAmount, never below 0 (yen)."
    )
    status: InstallmentStatus = expression(status_sql, description="State on the request date.")
    lapses_on: dt.date = expression(
        lapses_on_sql,
        description="時効 — the claim lapses this day (2 years after the due date or the last 督促).",
    )
    lapsed: bool = expression(lapsed_sql, description="The claim has lapsed on the request date.")
    receipts: list[LevyReceipt] = relation(
        "installment_id", order_by=("paid_on", "id"), description="収納 — receipts, oldest first."
    )
    reminders: list[LevyReminder] = relation(
        "installment_id", order_by=("sent_on", "id"), description="督促・催告 — reminders, oldest first."
    )


@strawberry.type(description="賦課 — one fiscal year's premium.")
@table("levies")
class Levy:
    pk: strawberry.Private[int]
    id: strawberry.ID = column(description="The levy id (what its writes name).")
    fiscal_year: int = column(description="賦課年度")
    levied_on: dt.date = column(description="賦課期日")
    income_stage: IncomeStage = column(description="所得段階")
    annual_premium: int = column(description="保険料額 — the annual premium before reduction (yen)")
    reduction_amount: int = column(description="減免額 (yen)")
    collection_method: CollectionMethod = column(description="徴収方法")
    pension_payer: PensionPayer | None = column(description="特別徴収義務者 (pension deduction only)")
    corrected_on: dt.date | None = column(description="賦課更正日")
    correction_reason: LevyCorrectionReason | None = column(description="賦課更正事由")
    installments: list[LevyInstallment] = relation(
        "levy_id", order_by=("period",), description="期別 — installments by period."
    )
    refunds: list[LevyRefund] = relation(
        "levy_id", order_by=("decided_on", "id"), description="還付・充当, oldest first."
    )
    arrears_amount: int = expression(
        arrears_sql, description="滞納額 — outstanding amount of the installments past their due date (yen)."
    )
    overpaid_amount: int = expression(
        overpaid_sql,
        description="過誤納額 — received beyond the premium after reduction, less refunds (0 if none).",
    )
    lapsed_amount: int = expression(
        lapsed_amount_sql, description="時効消滅額 — outstanding amount whose claim has lapsed."
    )
    version: int = column(description="Changes with every write of the levy or what it holds.")
    history: list[RecordChange] = history_of("levies")
