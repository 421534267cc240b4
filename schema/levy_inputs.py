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
_LEVY = "The levy (`Levy.id`); NOT_FOUND when there is none"


@strawberry.input(
    description=(
        "本算定 — a person's levy of a fiscal year from the income stage and the city's table; on a levy that "
        "exists (give its version), a correction (賦課更正) of the stage."
    )
)
class AssessPremiumInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID = strawberry.field(
        description=(
            "The person (`Person.id`), a first-category insured person (INVALID_TRANSITION NOT_FIRST_CATEGORY "
            "otherwise)"
        )
    )
    fiscal_year: int = strawberry.field(
        description=(
            "年度 (April to March, 2000-2100) the person is liable in for at least one month (BAD_USER_INPUT "
            "OUT_OF_RANGE otherwise); liability by months, from the month it began to the month before a loss"
        )
    )
    income_stage: IncomeStage = strawberry.field(
        description="所得段階 (市民税課's data): the annual premium is the base premium times its multiplier"
    )
    collection_method: CollectionMethod | None = strawberry.field(
        default=None, description="Default: pension deduction when last year's was and liable the whole year"
    )
    pension_payer: PensionPayer | None = strawberry.field(
        default=None,
        description=(
            "特別徴収義務者 — the pension payer deducting the premium: required for pension deduction "
            "(default: last year's); with collectionMethod DIRECT_PAYMENT BAD_USER_INPUT FORMAT"
        ),
    )
    version: int | None = strawberry.field(
        default=None,
        description=(
            "The version read of the person's levy of that year, when one exists: then required (a correction; "
            "CONFLICT without it or when it changed since)"
        ),
    )


@strawberry.input(
    description="収納 — a payment, reconciled (消込) against the oldest outstanding installments."
)
class PostReceiptInput:
    request_id: str = strawberry.field(description=_REQUEST)
    levy_id: strawberry.ID = strawberry.field(description=_LEVY)
    version: int = strawberry.field(description=_VERSION)
    kind: ReceiptKind = strawberry.field(description="How it was paid (not APPROPRIATION: refundOverpayment)")
    paid_on: dt.date = strawberry.field(description="領収日")
    received_on: dt.date | None = strawberry.field(default=None, description="収納日 (default: paidOn)")
    amount: int = strawberry.field(
        description="Whole yen, 1 to 1,000,000,000; what exceeds the installments owed stays as 過誤納"
    )


@strawberry.input(description="督促 (a fee) or 催告 (final notice, after a 督促) of an overdue installment.")
class SendReminderInput:
    request_id: str = strawberry.field(description=_REQUEST)
    installment_id: strawberry.ID = strawberry.field(
        description=(
            "The overdue installment (`LevyInstallment.id`); INVALID_TRANSITION NOT_OVERDUE, LAPSED, "
            "ALREADY_REMINDED or NOT_REMINDED when it cannot be reminded so"
        )
    )
    version: int = strawberry.field(
        description="The version read of the installment's levy; CONFLICT when it changed since"
    )
    sent_on: dt.date = strawberry.field(
        description=(
            "発送日: not after today (BAD_USER_INPUT OUT_OF_RANGE); after the installment's due date (else "
            "NOT_OVERDUE)"
        )
    )
    final_notice: bool = strawberry.field(
        default=False,
        description=(
            "false: 督促 (once, with the ordinance's fee; renews the 2-year lapse); true: 催告 (no fee), after a "
            "督促"
        ),
    )


@strawberry.input(
    description="減免 — the levy's reduction in all (yen), taken off the unpaid installments, the last first."
)
class ReducePremiumInput:
    request_id: str = strawberry.field(description=_REQUEST)
    levy_id: strawberry.ID = strawberry.field(description=_LEVY)
    version: int = strawberry.field(description=_VERSION)
    reduction_amount: int = strawberry.field(description="The reduction in all, at most the annual premium")
    decided_on: dt.date = strawberry.field(
        description=(
            "減免決定日: not before the levy's `leviedOn` (BAD_USER_INPUT REVERSED_RANGE) nor after today "
            "(OUT_OF_RANGE)"
        )
    )
    reason: str = strawberry.field(description="1-200 characters, kept in the levy's history")


@strawberry.input(
    description="還付 or 充当 of an over-payment (過誤納); an appropriation pays another overdue installment."
)
class RefundOverpaymentInput:
    request_id: str = strawberry.field(description=_REQUEST)
    levy_id: strawberry.ID = strawberry.field(description=_LEVY)
    version: int = strawberry.field(description=_VERSION)
    kind: RefundKind = strawberry.field(
        description="REFUND (還付: paid back) or APPROPRIATION (充当: pays installmentId)"
    )
    amount: int = strawberry.field(
        description="Whole yen, at most the levy's over-payment (BAD_USER_INPUT OUT_OF_RANGE)"
    )
    decided_on: dt.date = strawberry.field(
        description="還付・充当決定日: not after today (BAD_USER_INPUT OUT_OF_RANGE)"
    )
    installment_id: strawberry.ID | None = strawberry.field(
        default=None, description="APPROPRIATION: the person's overdue installment it pays"
    )
    note: str | None = strawberry.field(
        default=None, description="At most 200 characters, kept with the refund"
    )
