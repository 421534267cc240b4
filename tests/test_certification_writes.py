"""認定 written step by step through the API (issue 18 item 3): the state machine and its refusals, the
validity bounds, renewal and level change, postponement, cancellation, and the work queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.certifications import validity_end

from .write_support import aged, error, moved_in, ok

pytestmark = pytest.mark.db
OFFICER = "kaigo_officer"
TODAY = dt.date.today()
DAY = dt.timedelta(days=1)
C = """id status version application { type appliedOn } survey { surveyedOn receivedOn }
  doctorOpinion { receivedOn } judgement { primaryLevel secondaryLevel secondaryJudgedOn }
  decision { careLevel decidedOn validFrom validTo } postponement { reason expectedOn } cancelledOn
  history { version field oldValue newValue }"""


def m(name: str, input_type: str) -> str:
    return f"mutation X($i: {input_type}!) {{ {name}(input: $i) {{ {C} }} }}"


APPLY = m("applyForCertification", "ApplyForCertificationInput")
SURVEY = m("recordSurvey", "RecordSurveyInput")
OPINION = m("recordDoctorOpinion", "RecordDoctorOpinionInput")
PRIMARY = m("recordPrimaryJudgement", "RecordPrimaryJudgementInput")
COMMITTEE = m("recordCommitteeJudgement", "RecordCommitteeJudgementInput")
DECIDE = m("decideCertification", "DecideCertificationInput")
POSTPONE = m("postponeCertification", "PostponeCertificationInput")
CANCEL = m("cancelCertification", "CancelCertificationInput")
PENDING = """query P($d: Date!) { pendingCertifications(dueBefore: $d) { dueOn overdue certification { id status }
  person { id } } }"""


def step(case: dict[str, Any], rid: str, **values: Any) -> dict[str, Any]:
    return {"requestId": rid, "certificationId": case["id"], "version": case["version"], **values}


async def judged(gql: Any, case: dict[str, Any], tag: str, level: str = "CARE_2") -> dict[str, Any]:
    t = TODAY.isoformat()
    case = await ok(gql, SURVEY, step(case, f"{tag}-s", surveyor="調査　員", surveyedOn=t, receivedOn=t))
    case = await ok(
        gql,
        OPINION,
        step(case, f"{tag}-o", doctorName="医師　一", institution="倉敷病院", writtenOn=t, receivedOn=t),
    )
    case = await ok(gql, PRIMARY, step(case, f"{tag}-p", judgedOn=t, level="CARE_1"))
    return await ok(gql, COMMITTEE, step(case, f"{tag}-c", committeeNumber=3, judgedOn=t, level=level))


async def test_a_new_certification_step_by_step(gql: Any) -> None:
    person = (await moved_in(gql, "8200000001", aged(80)))["id"]
    apply = {
        "requestId": "n-1",
        "personId": person,
        "type": "NEW",
        "appliedOn": TODAY.isoformat(),
        "applicantRelationship": "FAMILY",
        "applicantName": "家族　一",
    }
    case = await ok(gql, APPLY, apply)
    assert (case["status"], case["version"], case["application"]["type"]) == ("APPLIED", 1, "NEW")
    assert (await ok(gql, APPLY, apply)) == case  # the same request again
    again = await error(gql, APPLY, {**apply, "requestId": "n-2"})
    assert (again["code"], again["state"]) == ("INVALID_TRANSITION", "APPLICATION_OPEN")
    early = await error(gql, PRIMARY, step(case, "n-3", judgedOn=TODAY.isoformat(), level="CARE_1"))
    assert (early["code"], early["state"]) == ("INVALID_TRANSITION", "AWAITING_SURVEY")
    skipped = await error(gql, DECIDE, step(case, "n-4", decidedOn=TODAY.isoformat()))
    assert (skipped["code"], skipped["state"]) == ("INVALID_TRANSITION", "APPLIED")
    backwards = await error(
        gql,
        SURVEY,
        step(
            case,
            "n-5",
            surveyor="調査　員",
            surveyedOn=(TODAY - DAY).isoformat(),
            receivedOn=TODAY.isoformat(),
        ),
    )
    assert (backwards["field"], backwards["reason"]) == ("input.surveyedOn", "REVERSED_RANGE")
    case = await judged(gql, case, "n")
    assert (case["status"], case["judgement"]["secondaryLevel"]) == ("COMMITTEE_JUDGED", "CARE_2")
    decide = step(case, "n-6", decidedOn=TODAY.isoformat())
    too_long = await error(gql, DECIDE, {**decide, "validTo": validity_end(TODAY, 13).isoformat()})
    assert (too_long["field"], too_long["reason"]) == ("input.validTo", "OUT_OF_RANGE")
    not_month_end = await error(
        gql, DECIDE, {**decide, "validTo": (validity_end(TODAY, 6) - DAY).isoformat()}
    )
    assert (not_month_end["field"], not_month_end["reason"]) == ("input.validTo", "FORMAT")
    later = await error(gql, DECIDE, {**decide, "validFrom": (TODAY + DAY).isoformat()})
    assert later["field"] == "input.validFrom"
    other = await error(gql, DECIDE, {**decide, "careLevel": "CARE_5"})
    assert other["field"] == "input.careLevel"
    decided = await ok(gql, DECIDE, decide)
    assert decided["status"] == "DECIDED"
    assert decided["decision"] == {
        "careLevel": "CARE_2",
        "decidedOn": TODAY.isoformat(),
        "validFrom": TODAY.isoformat(),  # effective from the application date
        "validTo": validity_end(TODAY, 6).isoformat(),
    }
    assert {
        "version": decided["version"],
        "field": "care_level",
        "oldValue": None,
        "newValue": "22",
    } in decided["history"]
    twice = await error(gql, DECIDE, step(decided, "n-7", decidedOn=TODAY.isoformat()))
    assert (twice["code"], twice["state"]) == ("INVALID_TRANSITION", "DECIDED")
    renewal = await error(gql, APPLY, {**apply, "requestId": "n-8", "type": "RENEWAL"})
    assert (renewal["field"], renewal["reason"]) == (
        "input.appliedOn",
        "OUT_OF_RANGE",
    )  # not yet 60 days before
    revoked = await ok(gql, CANCEL, step(decided, "n-9", cancelledOn=TODAY.isoformat(), reason="認定取消"))
    assert (revoked["status"], revoked["cancelledOn"]) == ("CANCELLED", TODAY.isoformat())
    gone = await error(gql, CANCEL, step(revoked, "n-10", cancelledOn=TODAY.isoformat(), reason="再"))
    assert (gone["code"], gone["state"]) == ("INVALID_TRANSITION", "CANCELLED")


async def test_not_insured_and_second_category_need(gql: Any) -> None:
    person = (await moved_in(gql, "8200000002", aged(50)))["id"]
    refused = await error(
        gql,
        APPLY,
        {
            "requestId": "u-1",
            "personId": person,
            "type": "NEW",
            "appliedOn": TODAY.isoformat(),
            "applicantRelationship": "SELF",
        },
    )
    assert (refused["code"], refused["state"]) == ("INVALID_TRANSITION", "NOT_INSURED")


async def test_level_change_ends_the_certification_it_changes(gql: Any, seeded_conn: AsyncConnection) -> None:
    row = (
        await seeded_conn.execute(
            text(
                "SELECT c.id, c.person_id, c.valid_to FROM certifications c JOIN qualifications q ON q.person_id = c.person_id"
                " WHERE c.status = 'DECIDED' AND c.care_level NOT IN ('01') AND c.valid_from < CAST(:d AS date) - 30 AND c.valid_to > CAST(:d AS date) + 90"
                " AND q.lost_on IS NULL AND NOT EXISTS (SELECT 1 FROM certifications o WHERE o.person_id = c.person_id"
                " AND o.status IN ('APPLIED', 'PRIMARY_JUDGED', 'COMMITTEE_JUDGED')) ORDER BY c.id LIMIT 1"
            ),
            {"d": TODAY},
        )
    ).one()
    apply = {
        "requestId": "lc-1",
        "personId": str(row.person_id),
        "type": "LEVEL_CHANGE",
        "appliedOn": TODAY.isoformat(),
        "applicantRelationship": "CARE_MANAGER_OFFICE",
    }
    case = await ok(gql, APPLY, apply)
    case = await judged(gql, case, "lc", level="CARE_4")
    decided = await ok(
        gql,
        DECIDE,
        step(case, "lc-d", decidedOn=TODAY.isoformat(), validTo=validity_end(TODAY, 12).isoformat()),
    )
    assert decided["decision"]["validFrom"] == TODAY.isoformat()
    old = (
        await seeded_conn.execute(
            text("SELECT valid_to, version FROM certifications WHERE id = :i"), {"i": row.id}
        )
    ).one()
    assert old.valid_to == TODAY - DAY
    current = await gql(
        "query Q($id: ID!) { person(id: $id) { currentCertification { id decision { careLevel } } } }",
        {"id": str(row.person_id)},
        role=OFFICER,
    )
    assert current["data"]["person"]["currentCertification"] == {
        "id": decided["id"],
        "decision": {"careLevel": "CARE_4"},
    }


async def test_postponement_and_the_work_queue(gql: Any) -> None:
    person = (await moved_in(gql, "8200000003", aged(77)))["id"]
    case = await ok(
        gql,
        APPLY,
        {
            "requestId": "p-1",
            "personId": person,
            "type": "NEW",
            "appliedOn": TODAY.isoformat(),
            "applicantRelationship": "SELF",
        },
    )
    queue = await gql(PENDING, {"d": (TODAY + dt.timedelta(days=31)).isoformat()}, role=OFFICER)
    mine = [e for e in queue["data"]["pendingCertifications"] if e["certification"]["id"] == case["id"]]
    assert mine == [
        {
            "dueOn": (TODAY + dt.timedelta(days=30)).isoformat(),
            "overdue": False,
            "certification": {"id": case["id"], "status": "APPLIED"},
            "person": {"id": person},
        }
    ]
    soon = await error(
        gql,
        POSTPONE,
        step(
            case,
            "p-2",
            postponedOn=TODAY.isoformat(),
            reason="SURVEY_DELAYED",
            expectedOn=(TODAY + dt.timedelta(days=30)).isoformat(),
        ),
    )
    assert (soon["field"], soon["reason"]) == ("input.expectedOn", "OUT_OF_RANGE")
    expected = TODAY + dt.timedelta(days=45)
    postponed = await ok(
        gql,
        POSTPONE,
        step(
            case,
            "p-3",
            postponedOn=TODAY.isoformat(),
            reason="SURVEY_DELAYED",
            expectedOn=expected.isoformat(),
        ),
    )
    assert postponed["postponement"] == {"reason": "SURVEY_DELAYED", "expectedOn": expected.isoformat()}
    again = await error(
        gql,
        POSTPONE,
        step(
            postponed, "p-4", postponedOn=TODAY.isoformat(), reason="OTHER", expectedOn=expected.isoformat()
        ),
    )
    assert (again["code"], again["state"]) == ("INVALID_TRANSITION", "POSTPONED")
    queue = await gql(PENDING, {"d": (TODAY + dt.timedelta(days=31)).isoformat()}, role=OFFICER)
    assert case["id"] not in {e["certification"]["id"] for e in queue["data"]["pendingCertifications"]}
    later = await gql(PENDING, {"d": (expected + DAY).isoformat()}, role=OFFICER)
    assert {"id": case["id"], "status": "APPLIED"} in [
        e["certification"] for e in later["data"]["pendingCertifications"]
    ]
    withdrawn = await ok(gql, CANCEL, step(postponed, "p-5", cancelledOn=TODAY.isoformat(), reason="取下げ"))
    assert withdrawn["status"] == "CANCELLED"
    after = await gql(PENDING, {"d": (expected + DAY).isoformat()}, role=OFFICER)
    assert case["id"] not in {e["certification"]["id"] for e in after["data"]["pendingCertifications"]}
    stale = await error(
        gql,
        SURVEY,
        {
            **step(
                postponed,
                "p-6",
                surveyor="調査　員",
                surveyedOn=TODAY.isoformat(),
                receivedOn=TODAY.isoformat(),
            )
        },
    )
    assert (stale["code"], stale["currentVersion"]) == ("CONFLICT", withdrawn["version"])


@pytest.mark.parametrize("role", ["kenko_choju_officer", "shido_kansa_officer", "security_auditor"])
async def test_roles_without_the_duty(gql: Any, role: str) -> None:
    body = await gql(PENDING, {"d": TODAY.isoformat()}, role=role)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
