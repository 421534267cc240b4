"""認定 written step by step (duty ``write_certifications``), and the work queue of open cases.

Each step locks the case's person and the case (writes about one person happen one after another),
checks the version, asks policies/certifications.py whether the case's state allows it
(INVALID_TRANSITION otherwise) and what the law bounds, writes through a Work (the case's history) and
answers the case as a read would. The request id replays the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, Final

from persistence.db import driver_fetch, driver_fetchrow
from persistence.residents import load_residents
from persistence.writes import Work
from policies.certifications import (
    APPLICATION_TYPES,
    NOT_APPLICABLE,
    Current,
    application_refusal,
    certification_rules,
    due_on,
    may,
    status_of,
    valid_from_of,
    validity_end,
    validity_problem,
)
from policies.qualifications import Problem
from schema.certification_inputs import (
    ApplyForCertificationInput,
    CancelCertificationInput,
    DecideCertificationInput,
    PendingCertification,
    PostponeCertificationInput,
    RecordCommitteeJudgementInput,
    RecordDoctorOpinionInput,
    RecordPrimaryJudgementInput,
    RecordSurveyInput,
)
from schema.certifications import Certification
from schema.conflicts import NotFound
from schema.duties import WRITE_CERTIFICATIONS
from schema.errors import BadUserInput
from schema.writes import InvalidTransition

from .context import Context
from .persons import parse_person_id
from .requests import free_text, object_id, request_id
from .writing import check_version, idempotent, object_by_id, objects_by_id, plain, work_for

__all__ = [
    "apply",
    "cancel",
    "decide",
    "pending",
    "postpone",
    "record_committee_judgement",
    "record_doctor_opinion",
    "record_primary_judgement",
    "record_survey",
]

TABLE: Final = "certifications"
OPEN: Final = ("APPLIED", "PRIMARY_JUDGED", "COMMITTEE_JUDGED")
LOCK_CASE: Final = (
    "SELECT c.* FROM certifications c JOIN persons p ON p.id = c.person_id WHERE c.id = $1 FOR UPDATE OF p, c"
)
CASES_OF: Final = "SELECT * FROM certifications WHERE person_id = $1 ORDER BY applied_on, id"
MAX_TEXT: Final = 2000
MAX_PAGE: Final = 500

Step = Callable[[Work, dict[str, Any]], Awaitable[None]]


def _refuse(problem: Problem | None) -> None:
    if problem is not None:
        raise BadUserInput(problem.message, field=f"input.{problem.field}", reason=problem.reason)


def _order(
    field: str, day: dt.date | None, *, not_before: dt.date | None, today: dt.date | None = None
) -> None:
    """``day`` (when given) is not before ``not_before`` nor after ``today``."""
    if day is None:
        return
    if not_before is not None and day < not_before:
        _refuse(Problem(field, "REVERSED_RANGE", f"`{field}` is before the step it follows"))
    if today is not None and day > today:
        _refuse(Problem(field, "OUT_OF_RANGE", f"`{field}` is after today"))


def _text(value: str | None, field: str, length: int = 200) -> str | None:
    return free_text(value, field=f"input.{field}", max_length=length) if value is not None else None


def _values(data: Any) -> dict[str, Any]:
    return {k: plain(v) for k, v in asdict(data).items() if k != "request_id"}


async def _answer(ctx: Context, case_id: int) -> Certification:
    return await object_by_id(ctx, Certification, case_id, what="certification")


async def _on_case(ctx: Context, operation: str, action: str, data: Any, step: Step) -> Certification:
    """Lock the case and its person, check the version and the state, run ``step`` once per request id."""
    ctx.require(WRITE_CERTIFICATIONS)
    rid = request_id(data.request_id)
    case_id = object_id(data.certification_id, field="input.certificationId")

    async def write() -> tuple[str, int]:
        row = await driver_fetchrow(ctx.db, LOCK_CASE, case_id)
        if row is None:
            raise NotFound("certification", field="input.certificationId")
        case = dict(row)
        check_version(case["version"], data.version)
        state = status_of(case)
        if not may(action, state):
            raise InvalidTransition(
                f"a case in {state} does not go on this way", state=state, field="input.certificationId"
            )
        work = work_for(ctx, operation, rid)
        await step(work, case)
        await work.flush()
        return TABLE, case_id

    _, record_id, _ = await idempotent(ctx, rid, operation, _values(data), write)
    return await _answer(ctx, record_id)


def _current(cases: list[Any], on: dt.date) -> Any | None:
    """The decided, uncancelled case valid on ``on`` (the latest start wins)."""
    valid = [
        c
        for c in cases
        if c["decided_on"] is not None
        and c["valid_from"] is not None
        and c["valid_from"] <= on <= c["valid_to"]
        and (c["cancelled_on"] is None or c["cancelled_on"] > on)
    ]
    return max(valid, key=lambda c: (c["valid_from"], c["id"]), default=None)


async def apply(ctx: Context, data: ApplyForCertificationInput) -> Certification:
    ctx.require(WRITE_CERTIFICATIONS)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    type_code = data.type.value
    if type_code not in APPLICATION_TYPES:
        _refuse(Problem("type", "FORMAT", "an application is NEW, RENEWAL or LEVEL_CHANGE"))
    received = data.received_on or data.applied_on
    _order("appliedOn", data.applied_on, not_before=None, today=ctx.today)
    _order("receivedOn", received, not_before=data.applied_on, today=ctx.today)
    texts = {
        "application_reason": _text(data.reason, "reason"),
        "applicant_name": _text(data.applicant_name, "applicantName", 100),
        "applicant_postal_code": _text(data.applicant_postal_code, "applicantPostalCode", 8),
        "applicant_address": _text(data.applicant_address, "applicantAddress"),
        "applicant_phone": _text(data.applicant_phone, "applicantPhone", 20),
    }

    async def write() -> tuple[str, int]:
        resident = next(iter((await load_residents(ctx.db, ids=[pid])).values()), None)
        if resident is None:
            raise NotFound("person", field="input.personId")
        q = resident.qualification
        if (
            q is None
            or q["acquired_on"] > data.applied_on
            or (q["lost_on"] is not None and q["lost_on"] <= data.applied_on)
        ):
            raise InvalidTransition(
                "the person is not insured on that day", state="NOT_INSURED", field="input.personId"
            )
        if q["category"] != "1" and texts["application_reason"] is None:
            _refuse(
                Problem("reason", "REQUIRED", "a second-category insured person names the specified disease")
            )
        cases = [dict(c) for c in await driver_fetch(ctx.db, CASES_OF, pid)]
        now = _current(cases, data.applied_on)
        current = Current(now["valid_from"], now["valid_to"], now["care_level"]) if now is not None else None
        refused = application_refusal(
            type_code, data.applied_on, current=current, open_case=any(status_of(c) in OPEN for c in cases)
        )
        if refused is not None:
            state, problem = refused
            _refuse(problem)
            raise InvalidTransition(
                "this application does not fit the person's certification", state=state, field="input.type"
            )
        work = work_for(ctx, "applyForCertification", rid)
        row = {
            "id": await work.new_id(TABLE),
            "person_id": pid,
            "applied_on": data.applied_on,
            "received_on": received,
            "application_type": type_code,
            "applicant_relationship": data.applicant_relationship.value,
            **texts,
        }
        work.insert(TABLE, row, person_id=pid)
        await work.flush()
        return TABLE, int(row["id"])

    _, record_id, _ = await idempotent(ctx, rid, "applyForCertification", _values(data), write)
    return await _answer(ctx, record_id)


async def record_survey(ctx: Context, data: RecordSurveyInput) -> Certification:
    changes = {
        "survey_requested_on": data.requested_on,
        "survey_contractor": _text(data.contractor, "contractor"),
        "surveyor": _text(data.surveyor, "surveyor", 100),
        "survey_place": _text(data.place, "place"),
        "survey_on": data.surveyed_on,
        "survey_form_number": _text(data.form_number, "formNumber", 20),
        "survey_received_on": data.received_on,
        "survey_notes": _text(data.notes, "notes", MAX_TEXT),
    }

    async def step(work: Work, case: dict[str, Any]) -> None:
        _order("requestedOn", data.requested_on, not_before=case["applied_on"], today=ctx.today)
        _order(
            "surveyedOn",
            data.surveyed_on,
            not_before=data.requested_on or case["applied_on"],
            today=ctx.today,
        )
        _order("receivedOn", data.received_on, not_before=data.surveyed_on, today=ctx.today)
        work.update(TABLE, case, changes, person_id=case["person_id"])

    return await _on_case(ctx, "recordSurvey", "record_survey", data, step)


async def record_doctor_opinion(ctx: Context, data: RecordDoctorOpinionInput) -> Certification:
    changes = {
        "doctor_name": _text(data.doctor_name, "doctorName", 100),
        "doctor_institution": _text(data.institution, "institution"),
        "opinion_requested_on": data.requested_on,
        "opinion_written_on": data.written_on,
        "opinion_received_on": data.received_on,
    }

    async def step(work: Work, case: dict[str, Any]) -> None:
        _order("requestedOn", data.requested_on, not_before=case["applied_on"], today=ctx.today)
        _order(
            "writtenOn", data.written_on, not_before=data.requested_on or case["applied_on"], today=ctx.today
        )
        _order("receivedOn", data.received_on, not_before=data.written_on, today=ctx.today)
        work.update(TABLE, case, changes, person_id=case["person_id"])

    return await _on_case(ctx, "recordDoctorOpinion", "record_doctor_opinion", data, step)


async def record_primary_judgement(ctx: Context, data: RecordPrimaryJudgementInput) -> Certification:
    async def step(work: Work, case: dict[str, Any]) -> None:
        for awaited, column in (
            ("AWAITING_SURVEY", "survey_received_on"),
            ("AWAITING_OPINION", "opinion_received_on"),
        ):
            if case[column] is None:
                raise InvalidTransition(
                    "the primary judgement needs the survey and the opinion",
                    state=awaited,
                    field="input.certificationId",
                )
        _order(
            "judgedOn",
            data.judged_on,
            not_before=max(case["survey_received_on"], case["opinion_received_on"]),
            today=ctx.today,
        )
        changes = {"primary_judged_on": data.judged_on, "primary_level": data.level.value}
        work.update(TABLE, case, changes, person_id=case["person_id"])

    return await _on_case(ctx, "recordPrimaryJudgement", "record_primary_judgement", data, step)


async def record_committee_judgement(ctx: Context, data: RecordCommitteeJudgementInput) -> Certification:
    if not 1 <= data.committee_number <= 999:
        _refuse(Problem("committeeNumber", "OUT_OF_RANGE", "`committeeNumber` is 1 to 999"))
    venue, opinion = _text(data.venue, "venue", 100), _text(data.opinion, "opinion", MAX_TEXT)

    async def step(work: Work, case: dict[str, Any]) -> None:
        _order("judgedOn", data.judged_on, not_before=case["primary_judged_on"], today=ctx.today)
        changes = {
            "committee_number": data.committee_number,
            "committee_venue": venue,
            "secondary_judged_on": data.judged_on,
            "secondary_level": data.level.value,
            "committee_opinion": opinion,
        }
        work.update(TABLE, case, changes, person_id=case["person_id"])

    return await _on_case(ctx, "recordCommitteeJudgement", "record_committee_judgement", data, step)


async def decide(ctx: Context, data: DecideCertificationInput) -> Certification:
    async def step(work: Work, case: dict[str, Any]) -> None:
        committee = case["secondary_level"]
        given = data.care_level.value if data.care_level is not None else None
        if given is not None and committee is not None and given != committee:
            _refuse(Problem("careLevel", "FORMAT", "the decision is the committee's level"))
        level = committee or given
        if level is None:
            _refuse(Problem("careLevel", "REQUIRED", "no committee level was recorded: give `careLevel`"))
        _order("decidedOn", data.decided_on, not_before=case["secondary_judged_on"], today=ctx.today)
        _order("notifiedOn", data.notified_on, not_before=data.decided_on)
        changes: dict[str, Any] = {
            "care_level": level,
            "decided_on": data.decided_on,
            "notified_on": data.notified_on,
            "service_types_limited": data.service_types_limited,
        }
        person_id = case["person_id"]
        if level != NOT_APPLICABLE:
            cases = [dict(c) for c in await driver_fetch(work.db, CASES_OF, person_id)]
            previous = _current([c for c in cases if c["id"] != case["id"]], case["applied_on"])
            type_code = case["application_type"] if case["application_type"] in APPLICATION_TYPES else "1"
            start = valid_from_of(type_code, case["applied_on"], previous["valid_to"] if previous else None)
            if data.valid_from is not None and data.valid_from != start:
                _refuse(
                    Problem(
                        "validFrom",
                        "OUT_OF_RANGE",
                        "the validity starts on the application date (a renewal: after the old one)",
                    )
                )
            kind = APPLICATION_TYPES[type_code]
            end = data.valid_to or validity_end(start, certification_rules().validity[kind].standard_months)
            same = previous is not None and previous["care_level"] == level
            _refuse(validity_problem(type_code, start, end, same_level=same))
            changes.update(valid_from=start, valid_to=end)
            if (
                previous is not None and previous["valid_to"] >= start
            ):  # the case it changes ends the day before
                eve = start - dt.timedelta(days=1)  # (one that began that very day is superseded whole)
                cut = {"valid_to": eve} if eve >= previous["valid_from"] else {"cancelled_on": start}
                work.update(
                    TABLE, previous, cut, person_id=person_id, notes={"ended_by": (None, str(case["id"]))}
                )
        elif data.valid_from is not None or data.valid_to is not None:
            _refuse(Problem("validTo", "FORMAT", "非該当 has no validity"))
        work.update(TABLE, case, changes, person_id=person_id)

    return await _on_case(ctx, "decideCertification", "decide", data, step)


async def postpone(ctx: Context, data: PostponeCertificationInput) -> Certification:
    async def step(work: Work, case: dict[str, Any]) -> None:
        if case["postponed_on"] is not None:
            raise InvalidTransition(
                "the case is postponed already", state="POSTPONED", field="input.certificationId"
            )
        _order("postponedOn", data.postponed_on, not_before=case["applied_on"], today=ctx.today)
        _order("noticeOn", data.notice_on, not_before=data.postponed_on)
        if data.expected_on <= due_on(case["applied_on"]):
            _refuse(
                Problem("expectedOn", "OUT_OF_RANGE", "a postponement expects the decision after the 30 days")
            )
        changes = {
            "postponed_on": data.postponed_on,
            "postponement_reason": data.reason.value,
            "postponement_expected_on": data.expected_on,
            "postponement_notice_on": data.notice_on,
        }
        work.update(TABLE, case, changes, person_id=case["person_id"])

    return await _on_case(ctx, "postponeCertification", "postpone", data, step)


async def cancel(ctx: Context, data: CancelCertificationInput) -> Certification:
    why = free_text(data.reason, field="input.reason", max_length=200)

    async def step(work: Work, case: dict[str, Any]) -> None:
        _order("cancelledOn", data.cancelled_on, not_before=case["decided_on"] or case["applied_on"])
        notes = {"cancellation_reason": (None, why)}
        work.update(
            TABLE, case, {"cancelled_on": data.cancelled_on}, person_id=case["person_id"], notes=notes
        )

    return await _on_case(ctx, "cancelCertification", "cancel", data, step)


PENDING: Final = f"""
SELECT c.id, c.person_id, COALESCE(c.postponement_expected_on, c.applied_on + $2::int) AS due
FROM certifications c
WHERE c.status IN {OPEN!r} AND COALESCE(c.postponement_expected_on, c.applied_on + $2::int) < $1
  AND ($3::bigint IS NULL OR (COALESCE(c.postponement_expected_on, c.applied_on + $2::int), c.id) > (
       SELECT COALESCE(a.postponement_expected_on, a.applied_on + $2::int), a.id FROM certifications a WHERE a.id = $3))
ORDER BY due, c.id
LIMIT $4
"""


async def pending(
    ctx: Context, due_before: dt.date, first: int, after: str | None
) -> list[PendingCertification]:
    """Open cases whose decision is due before ``due_before``, the earliest due first (the work queue)."""
    ctx.require(WRITE_CERTIFICATIONS)
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE}", field="first", reason="OUT_OF_RANGE")
    cursor = object_id(after, field="after") if after is not None else None
    rows = await driver_fetch(ctx.db, PENDING, due_before, certification_rules().decision_days, cursor, first)
    cases = await objects_by_id(ctx, Certification, [r["id"] for r in rows])
    persons = await ctx.loaders.person.load_many([r["person_id"] for r in rows])
    return [
        PendingCertification(
            due_on=r["due"], overdue=r["due"] < ctx.today, certification=cases[r["id"]], person=p
        )
        for r, p in zip(rows, persons, strict=True)
        if p is not None
    ]
