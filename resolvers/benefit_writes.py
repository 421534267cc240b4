"""給付 written by staff (duty ``write_benefits``): reimbursements and high-cost benefits, applied for and
decided (the amounts computed by policies/benefits.py from the claim results, the copay ratio and the
income class's cap), and the cost-limit certification.

Each locks the person, checks the version of what it decides, writes through a Work (history) and
answers the record as a read would; the request id replays the answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any, Final

from persistence.db import driver_fetch, driver_fetchrow
from persistence.residents import Resident, load_residents
from persistence.writes import Work
from policies.benefits import cost_limit_stage, high_cost, reimbursement, service_month
from policies.qualifications import Problem, certificate_period, certificate_year_of
from schema.benefit_inputs import (
    ApplyForHighCostBenefitInput,
    ApplyForReimbursementInput,
    CertifyCostLimitInput,
    CostLimitDecision,
    DecideHighCostBenefitInput,
    DecideReimbursementInput,
)
from schema.benefits import CostReduction, HighCostApplication, Reimbursement
from schema.conflicts import NotFound
from schema.duties import WRITE_BENEFITS
from schema.errors import BadUserInput
from schema.writes import InvalidTransition

from .context import Context
from .persons import parse_person_id
from .requests import free_text, object_id, request_id
from .writing import check_version, idempotent, object_by_id, plain, work_for

__all__ = [
    "apply_high_cost",
    "apply_reimbursement",
    "certify_cost_limit",
    "decide_high_cost",
    "decide_reimbursement",
]

MAX_YEN: Final = 100_000_000
COPAY_OF_MONTH: Final = (
    "SELECT ratio_percent FROM copay_ratios WHERE qualification_id = $1 AND valid_from <= $3 AND valid_to >= $2"
    " ORDER BY fiscal_year DESC LIMIT 1"
)
CLAIMS_OF_MONTH: Final = """
SELECT COALESCE(sum(c.cost_amount) FILTER (WHERE c.person_id = $1), 0)::bigint AS cost,
       COALESCE(sum(c.copay_amount) FILTER (WHERE c.person_id = $1), 0)::bigint AS copay,
       COALESCE(sum(c.copay_amount), 0)::bigint AS household_copay
FROM claim_results c JOIN persons p ON p.id = c.person_id
WHERE p.household_code = $2 AND c.service_month = $3
"""
LOCK_RECORD: Final = (
    "SELECT r.* FROM {table} r JOIN persons p ON p.id = r.person_id WHERE r.id = $1 FOR UPDATE OF p, r"
)
CURRENT_CERTIFICATION: Final = (
    "SELECT 1 FROM certifications WHERE person_id = $1 AND status = 'DECIDED' AND care_level <> '01'"
    " AND valid_from <= $2 AND valid_to >= $2"
)
COST_LIMIT_OVERLAP: Final = "SELECT 1 FROM cost_reductions WHERE person_id = $1 AND kind = '01' AND valid_from <= $3 AND valid_to >= $2"


def _refuse(problem: Problem | None) -> None:
    if problem is not None:
        raise BadUserInput(problem.message, field=f"input.{problem.field}", reason=problem.reason)


def _values(data: Any) -> dict[str, Any]:
    return {k: plain(v) for k, v in asdict(data).items() if k != "request_id"}


def _days(today: dt.date, applied: dt.date, received: dt.date | None = None) -> None:
    if applied > today:
        _refuse(Problem("appliedOn", "OUT_OF_RANGE", "`appliedOn` is after today"))
    if received is not None and not applied <= received <= today:
        _refuse(
            Problem("receivedOn", "OUT_OF_RANGE", "`receivedOn` is before the application or after today")
        )


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


async def _insured_in(ctx: Context, pid: int, month: dt.date) -> Resident:
    """The person, locked, insured some day of ``month`` (INVALID_TRANSITION NOT_INSURED otherwise)."""
    resident = next(iter((await load_residents(ctx.db, ids=[pid])).values()), None)
    if resident is None:
        raise NotFound("person", field="input.personId")
    q = resident.qualification
    if (
        q is None
        or q["acquired_on"] > _month_end(month)
        or (q["lost_on"] is not None and q["lost_on"] <= month)
    ):
        raise InvalidTransition(
            "the person was not insured that month", state="NOT_INSURED", field="input.personId"
        )
    return resident


async def apply_reimbursement(ctx: Context, data: ApplyForReimbursementInput) -> Reimbursement:
    ctx.require(WRITE_BENEFITS)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    month = service_month(data.service_month)
    received = data.received_on or data.applied_on
    _days(ctx.today, data.applied_on, received)
    if month > service_month(data.applied_on):
        _refuse(Problem("serviceMonth", "OUT_OF_RANGE", "the service month is after the application"))
    if not 1 <= data.total_cost <= MAX_YEN:
        _refuse(Problem("totalCost", "OUT_OF_RANGE", f"`totalCost` is 1 to {MAX_YEN} yen"))
    name = (
        free_text(data.applicant_name, field="input.applicantName", max_length=100)
        if data.applicant_name
        else None
    )

    async def write() -> tuple[str, int]:
        resident = await _insured_in(ctx, pid, month)
        q = resident.qualification
        assert q is not None
        ratio = await driver_fetchrow(ctx.db, COPAY_OF_MONTH, q["id"], month, _month_end(month))
        copay, claimed = reimbursement(data.total_cost, ratio["ratio_percent"] if ratio else None)
        work = work_for(ctx, "applyForReimbursement", rid)
        pk = await work.new_id("reimbursements")
        row = {
            "id": pk,
            "person_id": pid,
            "application_number": f"R{pk:010d}",
            "kind": data.kind.value,
            "service_month": month,
            "applied_on": data.applied_on,
            "received_on": received,
            "applicant_name": name,
            "applicant_relationship": data.applicant_relationship.value,
            "payment_method": data.payment_method.value,
            "total_cost": data.total_cost,
            "copay_amount": copay,
            "claimed_amount": claimed,
        }
        work.insert("reimbursements", row, person_id=pid)
        await work.flush()
        return "reimbursements", pk

    _, pk, _ = await idempotent(ctx, rid, "applyForReimbursement", _values(data), write)
    return await object_by_id(ctx, Reimbursement, pk, what="reimbursement")


async def _decide(ctx: Context, operation: str, table: str, record_id: int, data: Any, step: Any) -> int:
    rid = request_id(data.request_id)

    async def write() -> tuple[str, int]:
        row = await driver_fetchrow(ctx.db, LOCK_RECORD.format(table=table), record_id)
        if row is None:
            raise NotFound(
                "application",
                field=f"input.{'reimbursementId' if table == 'reimbursements' else 'highCostBenefitId'}",
            )
        record = dict(row)
        check_version(record["version"], data.version)
        if record["decided_on"] is not None:
            raise InvalidTransition("the application is decided", state="DECIDED", field="input.version")
        if not record["applied_on"] <= data.decided_on <= ctx.today:
            _refuse(
                Problem("decidedOn", "OUT_OF_RANGE", "`decidedOn` is before the application or after today")
            )
        work = work_for(ctx, operation, rid)
        await step(work, record)
        await work.flush()
        return table, record_id

    _, pk, _ = await idempotent(ctx, rid, operation, _values(data), write)
    return pk


async def decide_reimbursement(ctx: Context, data: DecideReimbursementInput) -> Reimbursement:
    ctx.require(WRITE_BENEFITS)
    pk = object_id(data.reimbursement_id, field="input.reimbursementId")

    async def step(work: Work, record: dict[str, Any]) -> None:
        paid = data.paid_amount if data.paid_amount is not None else record["claimed_amount"]
        if not 0 <= paid <= record["claimed_amount"]:
            _refuse(
                Problem("paidAmount", "OUT_OF_RANGE", "`paidAmount` is at most the insured share claimed")
            )
        reviewed = service_month(data.reviewed_month or data.decided_on)
        changes = {"paid_amount": paid, "decided_on": data.decided_on, "reviewed_month": reviewed}
        work.update("reimbursements", record, changes, person_id=record["person_id"])

    await _decide(ctx, "decideReimbursement", "reimbursements", pk, data, step)
    return await object_by_id(ctx, Reimbursement, pk, what="reimbursement")


async def _high_cost_values(
    work: Work, person: dict[str, Any], month: dt.date, income_class: str
) -> dict[str, Any]:
    sums = await driver_fetchrow(work.db, CLAIMS_OF_MONTH, person["id"], person["household_code"], month)
    if sums is None or sums["copay"] == 0:
        raise InvalidTransition(
            "no claim results of that month", state="NO_CLAIM_RESULTS", field="input.serviceMonth"
        )
    found = high_cost(income_class, person_copay=sums["copay"], household_copay=sums["household_copay"])
    return {
        "household_code": person["household_code"],
        "income_class": income_class,
        "cost_amount": sums["cost"],
        "copay_amount": sums["copay"],
        "cap_amount": found.cap,
        "paid_amount": found.paid,
    }


async def apply_high_cost(ctx: Context, data: ApplyForHighCostBenefitInput) -> HighCostApplication:
    ctx.require(WRITE_BENEFITS)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    month = service_month(data.service_month)
    _days(ctx.today, data.applied_on)
    if month > service_month(data.applied_on):
        _refuse(Problem("serviceMonth", "OUT_OF_RANGE", "the service month is after the application"))

    async def write() -> tuple[str, int]:
        resident = await _insured_in(ctx, pid, month)
        earlier = await driver_fetch(
            ctx.db, "SELECT 1 FROM high_cost_benefits WHERE person_id = $1 AND service_month = $2", pid, month
        )
        if earlier:
            raise InvalidTransition(
                "that month was applied for", state="ALREADY_APPLIED", field="input.serviceMonth"
            )
        work = work_for(ctx, "applyForHighCostBenefit", rid)
        pk = await work.new_id("high_cost_benefits")
        values = await _high_cost_values(work, resident.person, month, data.income_class.value)
        row = {
            "id": pk,
            "person_id": pid,
            "service_month": month,
            "applied_on": data.applied_on,
            "payment_method": data.payment_method.value,
            "decided_on": None,
            **values,
        }
        work.insert("high_cost_benefits", row, person_id=pid)
        await work.flush()
        return "high_cost_benefits", pk

    _, pk, _ = await idempotent(ctx, rid, "applyForHighCostBenefit", _values(data), write)
    return await object_by_id(ctx, HighCostApplication, pk, what="high-cost benefit")


async def decide_high_cost(ctx: Context, data: DecideHighCostBenefitInput) -> HighCostApplication:
    ctx.require(WRITE_BENEFITS)
    pk = object_id(data.high_cost_benefit_id, field="input.highCostBenefitId")

    async def step(work: Work, record: dict[str, Any]) -> None:
        person = await driver_fetchrow(
            work.db, "SELECT id, household_code FROM persons WHERE id = $1", record["person_id"]
        )
        values = await _high_cost_values(work, dict(person), record["service_month"], record["income_class"])
        changes = {**values, "decided_on": data.decided_on}
        work.update("high_cost_benefits", record, changes, person_id=record["person_id"])

    await _decide(ctx, "decideHighCostBenefit", "high_cost_benefits", pk, data, step)
    return await object_by_id(ctx, HighCostApplication, pk, what="high-cost benefit")


async def certify_cost_limit(ctx: Context, data: CertifyCostLimitInput) -> CostLimitDecision:
    ctx.require(WRITE_BENEFITS)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    _days(ctx.today, data.applied_on)
    for name, value in (("pensionAndOtherIncome", data.pension_and_other_income), ("savings", data.savings)):
        if not 0 <= value <= 10**11:
            _refuse(Problem(name, "OUT_OF_RANGE", f"`{name}` is out of range"))
    stage = cost_limit_stage(
        household_tax_exempt=data.household_tax_exempt,
        welfare=data.welfare,
        pension_and_other_income=data.pension_and_other_income,
        savings=data.savings,
        married=data.married,
    )

    async def write() -> tuple[str, int]:
        await _insured_in(ctx, pid, service_month(data.applied_on))
        if not await driver_fetch(ctx.db, CURRENT_CERTIFICATION, pid, data.applied_on):
            raise InvalidTransition(
                "a cost limit is for certified persons", state="NOT_CERTIFIED", field="input.personId"
            )
        if stage is None:
            return "cost_reductions", 0  # not eligible: nothing recorded, the request id keeps the answer
        valid_from = service_month(data.applied_on)
        valid_to = certificate_period(certificate_year_of(data.applied_on))[1]
        if await driver_fetch(ctx.db, COST_LIMIT_OVERLAP, pid, valid_from, valid_to):
            raise InvalidTransition(
                "a cost limit is in force then", state="ALREADY_CERTIFIED", field="input.appliedOn"
            )
        work = work_for(ctx, "certifyCostLimit", rid)
        pk = await work.new_id("cost_reductions")
        row = {
            "id": pk,
            "person_id": pid,
            "kind": "01",
            "applied_on": data.applied_on,
            "decided_on": ctx.today,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "stage": stage,
            "reduction_percent": None,
            "notice_on": None,
        }
        work.insert("cost_reductions", row, person_id=pid, kept=False)
        await work.flush()
        return "cost_reductions", pk

    _, pk, _ = await idempotent(ctx, rid, "certifyCostLimit", _values(data), write)
    if pk == 0:
        ctx.audit.touch(pid)
        return CostLimitDecision(eligible=False, stage=None, reduction=None)
    reduction = await object_by_id(ctx, CostReduction, pk, what="cost limit")
    return CostLimitDecision(eligible=True, stage=reduction.stage, reduction=reduction)
