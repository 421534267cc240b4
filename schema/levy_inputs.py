"""保険料 written by staff: a person's annual assessment, receipts, reminders, reductions and refunds. Each
names the levy's ``version`` it read (the levy keeps the history of everything under it) and a
``requestId``. Amounts are yen.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from .enums import CollectionMethod, IncomeStage, PensionPayer, ReceiptKind, RefundKind

__all__ = [
    "AssessPremiumInput",
    "PostReceiptInput",
    "ReducePremiumInput",
    "RefundOverpaymentInput",
    "SendReminderInput",
]

_REQUEST = "Idempotency key: the same id and input answer the same"
_VERSION = "The levy's version read; CONFLICT when it changed since"


@strawberry.input(
    description=(
        "本算定 — a person's levy of a fiscal year from the income stage and the city's table; on a levy that "
        "exists (give its version), a correction (賦課更正) of the stage."
    )
)
class AssessPremiumInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID
    fiscal_year: int
    income_stage: IncomeStage
    collection_method: CollectionMethod | None = strawberry.field(
        default=None, description="Default: pension deduction when last year's was and liable the whole year"
    )
    pension_payer: PensionPayer | None = None
    version: int | None = strawberry.field(default=None, description="The levy's version, when it exists")


@strawberry.input(
    description="収納 — a payment, reconciled (消込) against the oldest outstanding installments."
)
class PostReceiptInput:
    request_id: str = strawberry.field(description=_REQUEST)
    levy_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    kind: ReceiptKind = strawberry.field(description="How it was paid (not APPROPRIATION: refundOverpayment)")
    paid_on: dt.date = strawberry.field(description="領収日")
    received_on: dt.date | None = strawberry.field(default=None, description="収納日 (default: paidOn)")
    amount: int


@strawberry.input(description="督促 (a fee) or 催告 (final notice, after a 督促) of an overdue installment.")
class SendReminderInput:
    request_id: str = strawberry.field(description=_REQUEST)
    installment_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    sent_on: dt.date
    final_notice: bool = False


@strawberry.input(
    description="減免 — the levy's reduction in all (yen), taken off the unpaid installments, the last first."
)
class ReducePremiumInput:
    request_id: str = strawberry.field(description=_REQUEST)
    levy_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    reduction_amount: int = strawberry.field(description="The reduction in all, at most the annual premium")
    decided_on: dt.date
    reason: str = strawberry.field(description="1-200 characters, kept in the levy's history")


@strawberry.input(
    description="還付 or 充当 of an over-payment (過誤納); an appropriation pays another overdue installment."
)
class RefundOverpaymentInput:
    request_id: str = strawberry.field(description=_REQUEST)
    levy_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    kind: RefundKind
    amount: int
    decided_on: dt.date
    installment_id: strawberry.ID | None = strawberry.field(
        default=None, description="APPROPRIATION: the person's overdue installment it pays"
    )
    note: str | None = None
