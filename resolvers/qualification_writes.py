"""資格 written by staff (duty ``write_qualifications``): acquisition, loss, category change, 住所地特例,
適用除外, certificates issued and the copay ratio of a certificate year.

Each mutation locks the person (their row: writes about one person happen one after another) with the
qualification, checks the version the client read, asks policies/qualifications.py what the law allows,
writes through a Work (the qualification's history: every field, and notes for what has no column of its
own), and answers the qualification as a read would. The request id replays the answer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, Final, cast

from sqlalchemy import Table, select

from persistence.models import CopayRatio as CopayRow
from persistence.models import FacilityAdmission as AdmissionRow
from persistence.residents import Resident, load_residents, qualify, resident_of_qualification
from persistence.writes import Work
from policies.codes import table as code_table
from policies.insured import ACTIVE_STATUSES, Effect, reaches_age, rules
from policies.qualifications import (
    Income,
    Problem,
    acquisition_problem,
    certificate_period,
    certificate_year_of,
    copay_percent,
    copay_validity,
    loss_problem,
    state_of,
)
from schema.conflicts import NotFound
from schema.duties import WRITE_QUALIFICATIONS
from schema.errors import BadUserInput
from schema.persons import FISCAL_YEAR_RANGE
from schema.qualification_inputs import (
    AcquireQualificationInput,
    ChangeInsuredCategoryInput,
    DetermineCopayRatioInput,
    EndDomicileExceptionInput,
    ExemptionInput,
    IssueCertificateInput,
    LoseQualificationInput,
    StartDomicileExceptionInput,
)
from schema.qualifications import Qualification
from schema.writes import InvalidTransition

from .context import Context
from .persons import parse_person_id
from .requests import free_text, object_id, request_id
from .writing import camel, check_version, idempotent, object_by_id, plain, work_for

__all__ = [
    "acquire",
    "change_category",
    "determine_copay_ratio",
    "end_domicile_exception",
    "issue_certificate",
    "lose",
    "set_exemption",
    "start_domicile_exception",
]

copay_t = cast(Table, CopayRow.__table__)
admissions_t = cast(Table, AdmissionRow.__table__)
TABLE: Final = "qualifications"
FACILITY_NUMBER: Final = r"[0-9]{10}"
INSURER_NUMBER: Final = r"[0-9]{6}"
MAX_YEN: Final = 10**11

Step = Callable[[Work, Resident, dict[str, Any]], Awaitable[None]]


def _refuse(problem: Problem | None) -> None:
    if problem is not None:
        raise BadUserInput(problem.message, field=f"input.{problem.field}", reason=problem.reason)


def _values(data: Any) -> dict[str, Any]:
    """The input as the request id's digest takes it."""
    return {k: plain(v) for k, v in asdict(data).items() if k != "request_id"}


def _insured(q: dict[str, Any] | None, *, field: str = "input.qualificationId") -> dict[str, Any]:
    """The qualification, in force (INVALID_TRANSITION otherwise)."""
    state = state_of(q)
    if q is None or state != "INSURED":
        raise InvalidTransition("the person is not insured", state=state, field=field)
    return q


async def _answer(ctx: Context, qualification_id: int) -> Qualification:
    return await object_by_id(ctx, Qualification, qualification_id, what="qualification")


async def _on_qualification(ctx: Context, operation: str, data: Any, step: Step) -> Qualification:
    """Lock the qualification's person, check the version, run ``step`` once per request id, answer."""
    ctx.require(WRITE_QUALIFICATIONS)
    rid = request_id(data.request_id)
    qid = object_id(data.qualification_id, field="input.qualificationId")

    async def write() -> tuple[str, int]:
        resident = await resident_of_qualification(ctx.db, qid)
        if resident is None or resident.qualification is None:
            raise NotFound("qualification", field="input.qualificationId")
        q = resident.qualification
        check_version(q["version"], data.version)
        work = work_for(ctx, operation, rid)
        await step(work, resident, q)
        await work.flush()
        return TABLE, qid

    _, record_id, _ = await idempotent(ctx, rid, operation, _values(data), write)
    return await _answer(ctx, record_id)


async def acquire(ctx: Context, data: AcquireQualificationInput) -> Qualification:
    ctx.require(WRITE_QUALIFICATIONS)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    category, reason = data.category.value, data.reason.value

    async def write() -> tuple[str, int]:
        resident = next(iter((await load_residents(ctx.db, ids=[pid])).values()), None)
        if resident is None:
            raise NotFound("person", field="input.personId")
        status = resident.person["resident_status"]
        if status not in ACTIVE_STATUSES and status != "5":  # 住登外: insured here under 住所地特例
            name = code_table("resident_status").by_code(status).name
            raise InvalidTransition("only a resident acquires", state=name, field="input.personId")
        q = resident.qualification
        if state_of(q) == "INSURED":
            raise InvalidTransition("the person is insured already", state="INSURED", field="input.personId")
        if q is not None:
            check_version(q["version"], data.version)
        _refuse(acquisition_problem(category, reason, resident.person["birth_date"], data.acquired_on))
        _refuse(_notified(data.notified_on, data.acquired_on))
        work = work_for(ctx, "acquireQualification", rid)
        effect = Effect("ACQUIRE", data.acquired_on, reason, category)
        await qualify(work, resident, effect, notified_on=data.notified_on)
        await work.flush()
        assert resident.qualification is not None
        return TABLE, int(resident.qualification["id"])

    _, record_id, _ = await idempotent(ctx, rid, "acquireQualification", _values(data), write)
    return await _answer(ctx, record_id)


def _notified(notified_on: dt.date | None, on: dt.date) -> Problem | None:
    if notified_on is not None and notified_on < on - dt.timedelta(days=365):
        return Problem("notifiedOn", "OUT_OF_RANGE", "`notifiedOn` is more than a year before the change")
    return None


async def lose(ctx: Context, data: LoseQualificationInput) -> Qualification:
    reason = data.reason.value
    if reason == "23":
        _refuse(Problem("reason", "FORMAT", "an exemption is recorded with setExemption"))

    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        _insured(q)
        _refuse(loss_problem(q, reason, data.lost_on))
        await qualify(work, resident, Effect("LOSE", data.lost_on, reason), notified_on=data.notified_on)

    return await _on_qualification(ctx, "loseQualification", data, step)


async def change_category(ctx: Context, data: ChangeInsuredCategoryInput) -> Qualification:
    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        _insured(q)
        if q["category"] != "2" or data.category.value != "1":
            name = code_table("insured_category").by_code(q["category"]).name
            raise InvalidTransition(
                "only SECOND turns FIRST", state=f"CATEGORY_{name}", field="input.category"
            )
        reached = reaches_age(resident.person["birth_date"], rules().first_category_age)
        if data.changed_on < max(reached, q["acquired_on"]):
            _refuse(Problem("changedOn", "OUT_OF_RANGE", "`changedOn` is before the person reached 65"))
        effect = Effect("CATEGORY_CHANGE", data.changed_on, "31", "1")
        await qualify(work, resident, effect, notified_on=data.notified_on)

    return await _on_qualification(ctx, "changeInsuredCategory", data, step)


async def start_domicile_exception(ctx: Context, data: StartDomicileExceptionInput) -> Qualification:
    number = _pattern(data.facility_number, FACILITY_NUMBER, "input.facilityNumber")
    name = free_text(data.facility_name, field="input.facilityName", max_length=200)
    insurer = (
        _pattern(data.insurer_number, INSURER_NUMBER, "input.insurerNumber") if data.insurer_number else None
    )

    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        _insured(q)
        if q["domicile_exception"]:
            raise InvalidTransition(
                "住所地特例 is in force", state="DOMICILE_EXCEPTION", field="input.qualificationId"
            )
        if data.admitted_on < q["acquired_on"]:
            _refuse(Problem("admittedOn", "OUT_OF_RANGE", "`admittedOn` is before the acquisition"))
        person_id = int(resident.person["id"])
        stay = {
            "qualification_id": q["id"],
            "facility_number": number,
            "facility_name": name,
            "admitted_on": data.admitted_on,
            "discharged_on": None,
            "domicile_exception": True,
            "insurer_number": insurer,
        }
        work.insert("facility_admissions", stay, person_id=person_id, kept=False)
        effect = Effect("DOMICILE_EXCEPTION_START", data.admitted_on, "33")
        await qualify(work, resident, effect, notified_on=None)

    return await _on_qualification(ctx, "startDomicileException", data, step)


async def end_domicile_exception(ctx: Context, data: EndDomicileExceptionInput) -> Qualification:
    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        _insured(q)
        if not q["domicile_exception"]:
            raise InvalidTransition(
                "住所地特例 is not in force", state="INSURED", field="input.qualificationId"
            )
        stays = await work.db.execute(
            select(admissions_t).where(
                admissions_t.c.qualification_id == q["id"],
                admissions_t.c.domicile_exception.is_(True),
                admissions_t.c.discharged_on.is_(None),
            )
        )
        person_id = int(resident.person["id"])
        for stay in stays:
            if data.discharged_on < stay.admitted_on:
                _refuse(Problem("dischargedOn", "REVERSED_RANGE", "`dischargedOn` is before the admission"))
            work.amend(
                "facility_admissions",
                dict(stay._mapping),
                {"discharged_on": data.discharged_on},
                person_id=person_id,
            )
        effect = Effect("DOMICILE_EXCEPTION_END", data.discharged_on, "34")
        await qualify(work, resident, effect, notified_on=None)

    return await _on_qualification(ctx, "endDomicileException", data, step)


async def set_exemption(ctx: Context, data: ExemptionInput) -> Qualification:
    why = free_text(data.reason, field="input.reason", max_length=200)

    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        if data.exempt:
            _insured(q)
            _refuse(loss_problem(q, "21", data.on))  # the day only: not before the acquisition
            await qualify(
                work, resident, Effect("EXEMPT", data.on, "23"), notified_on=None, exemption_reason=why
            )
            return
        if not q["exempt"]:
            raise InvalidTransition(
                "the person is not exempt", state=state_of(q), field="input.qualificationId"
            )
        if data.on < q["lost_on"]:
            _refuse(Problem("on", "REVERSED_RANGE", "`on` is before the exemption began"))
        await qualify(work, resident, Effect("ACQUIRE", data.on, "14", q["category"]), notified_on=None)

    return await _on_qualification(ctx, "setExemption", data, step)


async def issue_certificate(ctx: Context, data: IssueCertificateInput) -> Qualification:
    kind = data.kind.value

    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        if data.issued_on < q["acquired_on"] or data.issued_on > ctx.today:
            _refuse(
                Problem("issuedOn", "OUT_OF_RANGE", "`issuedOn` is before the acquisition or after today")
            )
        valid_to = data.valid_to
        if kind in ("1", "4") and (q["lost_on"] is not None and q["lost_on"] <= data.issued_on):
            raise InvalidTransition(
                "the person is not insured that day", state="LOST", field="input.qualificationId"
            )
        if kind == "2":  # 負担割合証: the ratio of the certificate year must be decided
            year = certificate_year_of(data.issued_on)
            found = await work.db.execute(
                select(copay_t.c.id).where(
                    copay_t.c.qualification_id == q["id"], copay_t.c.fiscal_year == year
                )
            )
            if found.first() is None:
                raise InvalidTransition(
                    "no copay ratio of that year", state="COPAY_RATIO_NOT_DETERMINED", field="input.kind"
                )
            end = certificate_period(year)[1]
            valid_to = valid_to or end
            if valid_to > end:
                _refuse(Problem("validTo", "OUT_OF_RANGE", "`validTo` is after the certificate year"))
        if valid_to is not None and valid_to < data.issued_on:
            _refuse(Problem("validTo", "REVERSED_RANGE", "`validTo` is before `issuedOn`"))
        person_id = int(resident.person["id"])
        issued = {
            "qualification_id": q["id"],
            "kind": kind,
            "issued_on": data.issued_on,
            "valid_to": valid_to,
        }
        work.insert("certificate_issuances", issued, person_id=person_id, kept=False)
        label = f"{code_table('certificate_kind').by_code(kind).name} {data.issued_on.isoformat()}"
        work.update(TABLE, q, {}, person_id=person_id, notes={"certificate_issued": (None, label)})

    return await _on_qualification(ctx, "issueCertificate", data, step)


async def determine_copay_ratio(ctx: Context, data: DetermineCopayRatioInput) -> Qualification:
    low, high = FISCAL_YEAR_RANGE
    if not low <= data.certificate_year <= high:
        _refuse(Problem("certificateYear", "OUT_OF_RANGE", f"`certificateYear` is between {low} and {high}"))
    for name in ("total_income", "pension_and_other_income", "household_pension_and_other_income"):
        if not -MAX_YEN < getattr(data, name) < MAX_YEN:
            _refuse(Problem(camel(name), "OUT_OF_RANGE", f"`{camel(name)}` is out of range"))
    if not 1 <= data.household_first_category <= 50:
        _refuse(
            Problem("householdFirstCategory", "OUT_OF_RANGE", "`householdFirstCategory` counts the person")
        )
    income = Income(
        total_income=data.total_income,
        pension_and_other=data.pension_and_other_income,
        household_first_category=data.household_first_category,
        household_pension_and_other=data.household_pension_and_other_income,
        tax_exempt=data.tax_exempt,
        welfare=data.welfare,
    )

    async def step(work: Work, resident: Resident, q: dict[str, Any]) -> None:
        period = copay_validity(data.certificate_year, q["acquired_on"], q["lost_on"])
        if period is None:
            _refuse(
                Problem(
                    "certificateYear", "OUT_OF_RANGE", "the person is not insured in that certificate year"
                )
            )
        assert period is not None
        percent = copay_percent(q["category"], income)
        person_id = int(resident.person["id"])
        rows = await work.db.execute(
            select(copay_t).where(
                copay_t.c.qualification_id == q["id"], copay_t.c.fiscal_year == data.certificate_year
            )
        )
        existing = rows.first()
        values = {"ratio_percent": percent, "valid_from": period[0], "valid_to": period[1]}
        old = None
        if existing is None:
            work.insert(
                "copay_ratios",
                {"qualification_id": q["id"], "fiscal_year": data.certificate_year, **values},
                person_id=person_id,
                kept=False,
            )
        else:
            old = existing.ratio_percent
            work.amend("copay_ratios", dict(existing._mapping), values, person_id=person_id)
        note = {f"copay_ratio_{data.certificate_year}": (old, percent)}
        work.update(TABLE, q, {}, person_id=person_id, notes=note)

    return await _on_qualification(ctx, "determineCopayRatio", data, step)


def _pattern(value: str, pattern: str, field: str) -> str:
    if re.fullmatch(pattern, value) is None:
        raise BadUserInput(
            f"`{field.rsplit('.', 1)[-1]}` is not in the expected form", field=field, reason="FORMAT"
        )
    return value
