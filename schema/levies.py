"""保険料 — the annual levy (賦課), its installments (期別) with receipts and reminders, and refunds.

Amounts are yen.  Paid, outstanding, status and arrears come from the receipts (their sum is read
with the installment, so none of these fields needs another statement) as of the request date
(``info.context.today``).
"""

from __future__ import annotations

import datetime as dt

import strawberry

from .context import GraphQLInfo
from .enums import (
    CollectionMethod,
    IncomeStage,
    InstallmentStatus,
    LevyCorrectionReason,
    PensionPayer,
    ReceiptKind,
    RefundKind,
)

__all__ = ["Levy", "LevyInstallment", "LevyReceipt", "LevyRefund", "LevyReminder", "installment_status"]


@strawberry.type(description="収納 — a payment received against an installment.")
class LevyReceipt:
    kind: ReceiptKind = strawberry.field(description="収納種別")
    paid_on: dt.date = strawberry.field(description="領収日")
    received_on: dt.date = strawberry.field(description="収納日")
    reconciled_on: dt.date | None = strawberry.field(description="消込日 (null until reconciled)")
    amount: int = strawberry.field(description="保険料収納金額")
    late_fee: int = strawberry.field(description="延滞金額")


@strawberry.type(description="督促・催告 — a reminder for an overdue installment.")
class LevyReminder:
    sent_on: dt.date
    final_notice: bool = strawberry.field(description="催告 (true) or 督促 (false)")
    fee: int = strawberry.field(description="督促手数料額")


@strawberry.type(description="還付・充当 — an overpayment refunded or applied to other arrears.")
class LevyRefund:
    kind: RefundKind
    amount: int
    decided_on: dt.date
    note: str | None


def installment_status(*, amount: int, paid: int, due_on: dt.date, today: dt.date) -> InstallmentStatus:
    """PAID when nothing is outstanding; OVERDUE when something is outstanding after the due date;
    otherwise PARTIALLY_PAID or UNPAID."""
    if paid >= amount:
        return InstallmentStatus.PAID
    if due_on < today:
        return InstallmentStatus.OVERDUE
    return InstallmentStatus.PARTIALLY_PAID if paid > 0 else InstallmentStatus.UNPAID


@strawberry.type(description="期別 — one installment of a levy with its due date (納期限).")
class LevyInstallment:
    pk: strawberry.Private[int]
    paid: strawberry.Private[int]  # sum of the receipts' amounts, read with the installment
    assessment_year: int = strawberry.field(description="調定年度")
    period: int = strawberry.field(description="期別 (1-12)")
    due_on: dt.date = strawberry.field(description="納期限")
    amount: int = strawberry.field(description="期別保険料額")
    collection_method: CollectionMethod

    @strawberry.field(description="Sum of the receipts (late fees not included).")
    def paid_amount(self) -> int:
        return self.paid

    @strawberry.field(description="amount − paidAmount, never below 0.")
    def outstanding_amount(self) -> int:
        return max(self.amount - self.paid, 0)

    @strawberry.field(description="State on the request date.")
    def status(self, info: GraphQLInfo) -> InstallmentStatus:
        return installment_status(
            amount=self.amount, paid=self.paid, due_on=self.due_on, today=info.context.today
        )

    @strawberry.field(description="収納 — receipts, oldest first.")
    async def receipts(self, info: GraphQLInfo) -> list[LevyReceipt]:
        return await info.context.loaders.levy_receipts.load(self.pk)

    @strawberry.field(description="督促・催告 — reminders, oldest first.")
    async def reminders(self, info: GraphQLInfo) -> list[LevyReminder]:
        return await info.context.loaders.levy_reminders.load(self.pk)


@strawberry.type(description="賦課 — one fiscal year's premium.")
class Levy:
    pk: strawberry.Private[int]
    fiscal_year: int = strawberry.field(description="賦課年度")
    levied_on: dt.date = strawberry.field(description="賦課期日")
    income_stage: IncomeStage = strawberry.field(description="所得段階")
    annual_premium: int = strawberry.field(description="保険料額 (before reduction)")
    reduction_amount: int = strawberry.field(description="減免額")
    collection_method: CollectionMethod = strawberry.field(description="徴収方法")
    pension_payer: PensionPayer | None = strawberry.field(
        description="特別徴収義務者 (pension deduction only)"
    )
    corrected_on: dt.date | None = strawberry.field(description="賦課更正日")
    correction_reason: LevyCorrectionReason | None = strawberry.field(description="賦課更正事由")

    @strawberry.field(description="期別 — installments by period.")
    async def installments(self, info: GraphQLInfo) -> list[LevyInstallment]:
        return await info.context.loaders.levy_installments.load(self.pk)

    @strawberry.field(description="還付・充当, oldest first.")
    async def refunds(self, info: GraphQLInfo) -> list[LevyRefund]:
        return await info.context.loaders.levy_refunds.load(self.pk)

    @strawberry.field(description="滞納額 — outstanding amount of the installments past their due date.")
    async def arrears_amount(self, info: GraphQLInfo) -> int:
        today = info.context.today
        installments = await info.context.loaders.levy_installments.load(self.pk)
        return sum(max(i.amount - i.paid, 0) for i in installments if i.due_on < today)
