"""保険料 — levy, installment, receipt, reminder and refund rows to schema objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Row

from persistence.models import LevyInstallment as InstallmentRow
from persistence.models import LevyReceipt as ReceiptRow
from schema.enums import (
    CollectionMethod,
    IncomeStage,
    LevyCorrectionReason,
    PensionPayer,
    ReceiptKind,
    RefundKind,
)
from schema.levies import Levy, LevyInstallment, LevyReceipt, LevyRefund, LevyReminder

__all__ = [
    "installment_columns",
    "installment_from_row",
    "levy_from_row",
    "receipt_from_row",
    "refund_from_row",
    "reminder_from_row",
]


def levy_from_row(r: Row[Any]) -> Levy:
    return Levy(
        pk=r.id,
        fiscal_year=r.fiscal_year,
        levied_on=r.levied_on,
        income_stage=IncomeStage(r.income_stage),
        annual_premium=r.annual_premium,
        reduction_amount=r.reduction_amount,
        collection_method=CollectionMethod(r.collection_method),
        pension_payer=PensionPayer(r.pension_payer) if r.pension_payer is not None else None,
        corrected_on=r.corrected_on,
        correction_reason=(
            LevyCorrectionReason(r.correction_reason) if r.correction_reason is not None else None
        ),
    )


def installment_from_row(r: Row[Any]) -> LevyInstallment:
    """From a row of ``levy_installments`` with ``paid_amount`` (see :func:`installment_columns`)."""
    return LevyInstallment(
        pk=r.id,
        paid=r.paid_amount,
        assessment_year=r.assessment_year,
        period=r.period,
        due_on=r.due_on,
        amount=r.amount,
        collection_method=CollectionMethod(r.collection_method),
    )


def receipt_from_row(r: Row[Any]) -> LevyReceipt:
    return LevyReceipt(
        kind=ReceiptKind(r.kind),
        paid_on=r.paid_on,
        received_on=r.received_on,
        reconciled_on=r.reconciled_on,
        amount=r.amount,
        late_fee=r.late_fee,
    )


def reminder_from_row(r: Row[Any]) -> LevyReminder:
    return LevyReminder(sent_on=r.sent_on, final_notice=r.final_notice, fee=r.fee)


def refund_from_row(r: Row[Any]) -> LevyRefund:
    return LevyRefund(kind=RefundKind(r.kind), amount=r.amount, decided_on=r.decided_on, note=r.note)


def installment_columns() -> tuple[ColumnElement[Any], ...]:
    """The installment's columns and ``paid_amount``, the sum of its receipts (0 without any)."""
    installments = InstallmentRow.__table__
    receipts = ReceiptRow.__table__
    paid = (
        select(func.coalesce(func.sum(receipts.c.amount), 0))
        .where(receipts.c.installment_id == installments.c.id)
        .scalar_subquery()
        .label("paid_amount")
    )
    return (*installments.c, paid)
