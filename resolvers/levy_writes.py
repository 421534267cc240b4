"""保険料 written by staff (duty ``write_levies``): a person's annual assessment or its correction, receipts
reconciled against the installments (消込, partial and over-payments), reminders, reductions (減免),
refunds and appropriations of over-payments; claims lapse after 2 years (policies/premiums.py).

Each locks the person and the levy, checks the levy's version, writes through a Work (the levy keeps the
history of everything under it: its fields, and notes for receipts, reminders, refunds) and answers the
levy as a read would. The request id replays the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, Final

from persistence.assessment import Liable, levy_of, summary
from persistence.db import driver_fetch, driver_fetchrow, driver_fetchval
from persistence.residents import load_residents
from persistence.writes import Work
from policies.premiums import (
    DIRECT,
    PENSION,
    Open,
    allocate,
    installment_amounts,
    lapses_on,
    lower_unpaid,
    premium_rules,
)
from policies.qualifications import Problem
from schema.conflicts import NotFound
from schema.duties import WRITE_LEVIES
from schema.errors import BadUserInput
from schema.levies import Levy
from schema.levy_inputs import (
    AssessPremiumInput,
    PostReceiptInput,
    ReducePremiumInput,
    RefundOverpaymentInput,
    SendReminderInput,
)
from schema.persons import FISCAL_YEAR_RANGE
from schema.writes import InvalidTransition, VersionConflict

from .context import Context
from .persons import parse_person_id
from .requests import free_text, object_id, request_id
from .writing import check_version, idempotent, object_by_id, plain, work_for

__all__ = ["assess", "post_receipt", "reduce", "refund", "send_reminder"]

TABLE: Final = "levies"
MAX_YEN: Final = 10**9
LOCK_LEVY: Final = (
    "SELECT l.* FROM levies l JOIN persons p ON p.id = l.person_id WHERE l.id = $1 FOR UPDATE OF p, l"
)
LOCK_BY_INSTALLMENT: Final = (
    "SELECT l.* FROM levy_installments i JOIN levies l ON l.id = i.levy_id JOIN persons p ON p.id = l.person_id"
    " WHERE i.id = $1 FOR UPDATE OF p, l"
)
INSTALLMENTS: Final = """
SELECT i.*, COALESCE((SELECT sum(r.amount) FROM levy_receipts r WHERE r.installment_id = i.id), 0)::bigint AS paid,
       (SELECT max(m.sent_on) FROM levy_reminders m WHERE m.installment_id = i.id AND NOT m.final_notice) AS reminded
FROM levy_installments i WHERE i.levy_id = ANY($1::bigint[]) ORDER BY i.levy_id, i.period
"""
REFUNDED: Final = "SELECT COALESCE(sum(amount), 0)::bigint FROM levy_refunds WHERE levy_id = $1"
LEVY_OF_YEAR: Final = "SELECT * FROM levies WHERE person_id = $1 AND fiscal_year = $2"
LAST_LEVY: Final = (
    "SELECT * FROM levies WHERE person_id = $1 AND fiscal_year < $2 ORDER BY fiscal_year DESC LIMIT 1"
)

Step = Callable[[Work, dict[str, Any]], Awaitable[None]]


def _refuse(problem: Problem | None) -> None:
    if problem is not None:
        raise BadUserInput(problem.message, field=f"input.{problem.field}", reason=problem.reason)


def _yen(value: int, field: str, *, low: int = 1) -> None:
    if not low <= value <= MAX_YEN:
        _refuse(Problem(field, "OUT_OF_RANGE", f"`{field}` is {low} to {MAX_YEN} yen"))


def _day(field: str, day: dt.date, *, not_before: dt.date | None, today: dt.date) -> None:
    if not_before is not None and day < not_before:
        _refuse(Problem(field, "REVERSED_RANGE", f"`{field}` is before the day it follows"))
    if day > today:
        _refuse(Problem(field, "OUT_OF_RANGE", f"`{field}` is after today"))


def _values(data: Any) -> dict[str, Any]:
    return {k: plain(v) for k, v in asdict(data).items() if k != "request_id"}


async def _installments(db: Any, *levy_ids: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await driver_fetch(db, INSTALLMENTS, list(levy_ids))]


def _lapsed(installment: dict[str, Any], on: dt.date) -> bool:
    return lapses_on(installment["due_on"], installment["reminded"]) <= on


async def _answer(ctx: Context, levy_id: int) -> Levy:
    return await object_by_id(ctx, Levy, levy_id, what="levy")


async def _on_levy(ctx: Context, operation: str, data: Any, lock: tuple[str, int], step: Step) -> Levy:
    ctx.require(WRITE_LEVIES)
    rid = request_id(data.request_id)

    async def write() -> tuple[str, int]:
        row = await driver_fetchrow(ctx.db, lock[0], lock[1])
        if row is None:
            raise NotFound(
                "levy" if lock[0] == LOCK_LEVY else "installment", field=f"input.{_id_field(lock[0])}"
            )
        levy = dict(row)
        check_version(levy["version"], data.version)
        work = work_for(ctx, operation, rid)
        await step(work, levy)
        await work.flush()
        return TABLE, int(levy["id"])

    _, record_id, _ = await idempotent(ctx, rid, operation, _values(data), write)
    return await _answer(ctx, record_id)


def _id_field(lock: str) -> str:
    return "levyId" if lock == LOCK_LEVY else "installmentId"


async def assess(ctx: Context, data: AssessPremiumInput) -> Levy:
    ctx.require(WRITE_LEVIES)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    fy, stage = data.fiscal_year, data.income_stage.value
    if not FISCAL_YEAR_RANGE[0] <= fy <= FISCAL_YEAR_RANGE[1]:
        _refuse(Problem("fiscalYear", "OUT_OF_RANGE", "`fiscalYear` is out of range"))
    method = data.collection_method.value if data.collection_method is not None else None
    payer = data.pension_payer.value if data.pension_payer is not None else None
    if method == DIRECT and payer is not None:
        _refuse(Problem("pensionPayer", "FORMAT", "a pension payer goes with pension deduction only"))

    async def write() -> tuple[str, int]:
        resident = next(iter((await load_residents(ctx.db, ids=[pid])).values()), None)
        if resident is None:
            raise NotFound("person", field="input.personId")
        q = resident.qualification
        if q is None or q["category"] != "1" or q["first_category_on"] is None:
            raise InvalidTransition(
                "only first-category insured persons are levied",
                state="NOT_FIRST_CATEGORY",
                field="input.personId",
            )
        existing = await driver_fetchrow(ctx.db, LEVY_OF_YEAR, pid, fy)
        if existing is not None and data.version is None:  # a correction names the levy's version
            raise VersionConflict(existing["version"])
        check_version(existing["version"] if existing is not None else None, data.version)
        last = await driver_fetchrow(ctx.db, LAST_LEVY, pid, fy)
        liable = Liable(
            pid,
            q["first_category_on"],
            q["lost_on"],
            last["collection_method"] if last else None,
            last["pension_payer"] if last else None,
            last["annual_premium"] if last else None,
        )
        made = levy_of(
            liable,
            fy,
            stage,
            method=method if existing is None else existing["collection_method"],
            payer=payer,
        )
        if made is None:
            _refuse(Problem("fiscalYear", "OUT_OF_RANGE", "the person is liable for no month of that year"))
        assert made is not None
        levy, installments, found = made
        if levy["collection_method"] == PENSION:
            if found.levied_on != dt.date(fy, 4, 1):
                _refuse(Problem("collectionMethod", "FORMAT", "pension deduction starts with a whole year"))
            if levy["pension_payer"] is None:
                _refuse(Problem("pensionPayer", "REQUIRED", "pension deduction names the pension payer"))
        work = work_for(ctx, "assessPremium", rid)
        if existing is None:
            levy["id"] = await work.new_id(TABLE)
            work.insert(TABLE, levy, person_id=pid, summary=summary(levy, found))
            for installment in installments:
                work.insert(
                    "levy_installments", {**installment, "levy_id": levy["id"]}, person_id=None, kept=False
                )
            await work.flush()
            return TABLE, int(levy["id"])
        if method is not None and method != existing["collection_method"]:
            _refuse(Problem("collectionMethod", "FORMAT", "a correction keeps the collection method"))
        current = dict(existing)
        await _correct(ctx, work, current, levy["annual_premium"], stage)
        await work.flush()
        return TABLE, int(current["id"])

    _, record_id, _ = await idempotent(ctx, rid, "assessPremium", _values(data), write)
    return await _answer(ctx, record_id)


async def _correct(ctx: Context, work: Work, levy: dict[str, Any], premium: int, stage: str) -> None:
    """賦課更正: the new premium over the installments not paid yet (those paid in part keep their amount)."""
    reduction = min(levy["reduction_amount"], premium)
    rows = await _installments(work.db, levy["id"])
    kept = [r for r in rows if r["paid"] > 0]
    unpaid = [r for r in rows if r["paid"] == 0]
    rest = premium - reduction - sum(r["amount"] for r in kept)
    person_id = levy["person_id"]
    if unpaid:
        amounts = installment_amounts(max(rest, 0), len(unpaid), method=DIRECT, previous_premium=None)
        for row, amount in zip(unpaid, amounts, strict=True):
            work.amend("levy_installments", row, {"amount": amount}, person_id=person_id)
    elif rest > 0:  # everything paid so far: one more installment for the rest
        due = ctx.today + dt.timedelta(days=30)
        period = max((r["period"] for r in rows), default=0) + 1
        extra = {
            "levy_id": levy["id"],
            "assessment_year": levy["fiscal_year"],
            "period": period,
            "due_on": due,
            "amount": rest,
            "collection_method": levy["collection_method"],
        }
        work.insert("levy_installments", extra, person_id=person_id, kept=False)
    changes = {
        "income_stage": stage,
        "annual_premium": premium,
        "reduction_amount": reduction,
        "corrected_on": ctx.today,
        "correction_reason": "01",
    }
    work.update(TABLE, levy, changes, person_id=person_id)


async def post_receipt(ctx: Context, data: PostReceiptInput) -> Levy:
    levy_id = object_id(data.levy_id, field="input.levyId")
    _yen(data.amount, "amount")
    received = data.received_on or data.paid_on
    _day("paidOn", data.paid_on, not_before=None, today=ctx.today)
    _day("receivedOn", received, not_before=data.paid_on, today=ctx.today)
    if data.kind.value == "5":
        _refuse(Problem("kind", "FORMAT", "an appropriation is made with refundOverpayment"))

    async def step(work: Work, levy: dict[str, Any]) -> None:
        rows = await _installments(work.db, levy["id"])
        if not rows:
            raise InvalidTransition(
                "the levy has no installments", state="NO_INSTALLMENTS", field="input.levyId"
            )
        opens = [Open(r["id"], r["due_on"], r["amount"] - r["paid"], _lapsed(r, data.paid_on)) for r in rows]
        parts, excess = allocate(data.amount, opens)
        if (
            excess
        ):  # an over-payment (過誤納) stays on the last installment whose claim stands, to be refunded
            standing = [r for r in rows if not _lapsed(r, data.paid_on)] or rows
            parts.append((max(standing, key=lambda r: (r["due_on"], r["id"]))["id"], excess))
        for installment_id, part in parts:
            receipt = {
                "installment_id": installment_id,
                "kind": data.kind.value,
                "paid_on": data.paid_on,
                "received_on": received,
                "reconciled_on": received,  # 消込日: reconciled as it is posted
                "amount": part,
                "late_fee": 0,
            }
            work.insert("levy_receipts", receipt, person_id=levy["person_id"], kept=False)
        note = f"{data.amount} yen paid {data.paid_on.isoformat()}" + (f", {excess} over" if excess else "")
        work.update(TABLE, levy, {}, person_id=levy["person_id"], notes={"receipt": (None, note)})

    return await _on_levy(ctx, "postReceipt", data, (LOCK_LEVY, levy_id), step)


async def send_reminder(ctx: Context, data: SendReminderInput) -> Levy:
    installment_id = object_id(data.installment_id, field="input.installmentId")
    _day("sentOn", data.sent_on, not_before=None, today=ctx.today)

    async def step(work: Work, levy: dict[str, Any]) -> None:
        rows = {r["id"]: r for r in await _installments(work.db, levy["id"])}
        installment = rows[installment_id]
        reminders = await driver_fetch(
            work.db, "SELECT final_notice FROM levy_reminders WHERE installment_id = $1", installment_id
        )
        state = None
        if installment["amount"] <= installment["paid"] or installment["due_on"] >= data.sent_on:
            state = "NOT_OVERDUE"
        elif _lapsed(installment, data.sent_on):
            state = "LAPSED"
        elif not data.final_notice and any(not r["final_notice"] for r in reminders):
            state = "ALREADY_REMINDED"
        elif data.final_notice and not any(not r["final_notice"] for r in reminders):
            state = "NOT_REMINDED"
        if state is not None:
            raise InvalidTransition(
                "the installment cannot be reminded so", state=state, field="input.installmentId"
            )
        fee = 0 if data.final_notice else premium_rules().reminder_fee
        reminder = {
            "installment_id": installment_id,
            "sent_on": data.sent_on,
            "final_notice": data.final_notice,
            "fee": fee,
        }
        work.insert("levy_reminders", reminder, person_id=levy["person_id"], kept=False)
        what = "催告" if data.final_notice else "督促"
        note = f"{what} period {installment['period']} {data.sent_on.isoformat()} fee {fee}"
        work.update(TABLE, levy, {}, person_id=levy["person_id"], notes={"reminder": (None, note)})

    return await _on_levy(ctx, "sendReminder", data, (LOCK_BY_INSTALLMENT, installment_id), step)


async def reduce(ctx: Context, data: ReducePremiumInput) -> Levy:
    levy_id = object_id(data.levy_id, field="input.levyId")
    _yen(data.reduction_amount, "reductionAmount", low=0)
    why = free_text(data.reason, field="input.reason", max_length=200)

    async def step(work: Work, levy: dict[str, Any]) -> None:
        if data.reduction_amount > levy["annual_premium"]:
            _refuse(Problem("reductionAmount", "OUT_OF_RANGE", "a reduction is at most the annual premium"))
        _day("decidedOn", data.decided_on, not_before=levy["levied_on"], today=ctx.today)
        rows = await _installments(work.db, levy["id"])
        delta = data.reduction_amount - levy["reduction_amount"]
        person_id = levy["person_id"]
        by_id = {r["id"]: r for r in rows}
        if delta > 0:
            lowered = lower_unpaid([(r["id"], r["amount"], r["paid"]) for r in rows], delta)
            for pk, amount in lowered.items():
                work.amend("levy_installments", by_id[pk], {"amount": amount}, person_id=person_id)
        elif delta < 0 and rows:  # a reduction taken back: the last installment carries it
            last = rows[-1]
            work.amend("levy_installments", last, {"amount": last["amount"] - delta}, person_id=person_id)
        changes = {
            "reduction_amount": data.reduction_amount,
            "corrected_on": data.decided_on,
            "correction_reason": "04",
        }
        work.update(TABLE, levy, changes, person_id=person_id, notes={"reduction_reason": (None, why)})

    return await _on_levy(ctx, "reducePremium", data, (LOCK_LEVY, levy_id), step)


async def refund(ctx: Context, data: RefundOverpaymentInput) -> Levy:
    levy_id = object_id(data.levy_id, field="input.levyId")
    _yen(data.amount, "amount")
    _day("decidedOn", data.decided_on, not_before=None, today=ctx.today)
    note = free_text(data.note, field="input.note", max_length=200, required=False) if data.note else None
    appropriation = data.kind.value == "2"
    if appropriation != (data.installment_id is not None):
        _refuse(
            Problem(
                "installmentId",
                "REQUIRED" if appropriation else "FORMAT",
                "an appropriation, and only it, names the installment it pays",
            )
        )
    target_id = object_id(data.installment_id, field="input.installmentId") if data.installment_id else None

    async def step(work: Work, levy: dict[str, Any]) -> None:
        rows = await _installments(work.db, levy["id"])
        refunded = int(await driver_fetchval(work.db, REFUNDED, levy["id"]))
        over = sum(r["paid"] for r in rows) - (levy["annual_premium"] - levy["reduction_amount"]) - refunded
        if data.amount > max(over, 0):
            _refuse(Problem("amount", "OUT_OF_RANGE", "the amount is more than the over-payment"))
        person_id = levy["person_id"]
        if target_id is not None:
            targets = await driver_fetch(
                work.db,
                INSTALLMENTS.replace("i.levy_id = ANY($1::bigint[])", "i.id = ANY($1::bigint[])"),
                [target_id],
            )
            target = dict(targets[0]) if targets else None
            owner = (
                await driver_fetchrow(
                    work.db, "SELECT person_id FROM levies WHERE id = $1", target["levy_id"]
                )
                if target
                else None
            )
            if target is None or owner is None or owner["person_id"] != person_id:
                raise NotFound("installment of this person", field="input.installmentId")
            if _lapsed(target, data.decided_on) or target["amount"] - target["paid"] < data.amount:
                _refuse(
                    Problem(
                        "installmentId", "OUT_OF_RANGE", "the installment owes less, or its claim has lapsed"
                    )
                )
            receipt = {
                "installment_id": target_id,
                "kind": "5",
                "paid_on": data.decided_on,
                "received_on": data.decided_on,
                "reconciled_on": data.decided_on,
                "amount": data.amount,
                "late_fee": 0,
            }
            work.insert("levy_receipts", receipt, person_id=person_id, kept=False)
        row = {
            "levy_id": levy["id"],
            "kind": data.kind.value,
            "amount": data.amount,
            "decided_on": data.decided_on,
            "note": note,
        }
        work.insert("levy_refunds", row, person_id=person_id, kept=False)
        what = "充当" if appropriation else "還付"
        work.update(
            TABLE, levy, {}, person_id=person_id, notes={"refund": (None, f"{what} {data.amount} yen")}
        )

    return await _on_levy(ctx, "refundOverpayment", data, (LOCK_LEVY, levy_id), step)
