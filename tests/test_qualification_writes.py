"""資格 written through the API (issue 18 item 2): acquisition, loss, category change, 住所地特例, 適用除外,
certificates and copay ratios — each rule positive and negative, versions, history, replays, roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.insured import reaches_age

from .write_support import aged, error, moved_in, ok

pytestmark = pytest.mark.db
OFFICER = "kaigo_officer"
Q = """id insuredNumber category firstCategoryOn acquiredOn acquisitionReason lostOn lossReason exempt exemptionReason
  domicileException version events { occurredOn reason } certificates { kind issuedOn validTo }
  copayRatios { fiscalYear ratioPercent validFrom validTo } facilityAdmissions { facilityNumber dischargedOn domicileException }
  history { version field oldValue newValue operation source }"""
ACQUIRE = f"mutation A($i: AcquireQualificationInput!) {{ acquireQualification(input: $i) {{ {Q} }} }}"
LOSE = f"mutation L($i: LoseQualificationInput!) {{ loseQualification(input: $i) {{ {Q} }} }}"
CATEGORY = f"mutation C($i: ChangeInsuredCategoryInput!) {{ changeInsuredCategory(input: $i) {{ {Q} }} }}"
START = f"mutation S($i: StartDomicileExceptionInput!) {{ startDomicileException(input: $i) {{ {Q} }} }}"
END = f"mutation E($i: EndDomicileExceptionInput!) {{ endDomicileException(input: $i) {{ {Q} }} }}"
EXEMPT = f"mutation X($i: ExemptionInput!) {{ setExemption(input: $i) {{ {Q} }} }}"
ISSUE = f"mutation I($i: IssueCertificateInput!) {{ issueCertificate(input: $i) {{ {Q} }} }}"
COPAY = f"mutation P($i: DetermineCopayRatioInput!) {{ determineCopayRatio(input: $i) {{ {Q} }} }}"
TODAY = dt.date.today()


async def test_acquire_second_then_first_at_65(gql: Any) -> None:
    person = await moved_in(gql, "8100000001", aged(65, days=-20))  # 65 in 20 days
    too_young = await error(
        gql,
        ACQUIRE,
        {
            "requestId": "a-0",
            "personId": person["id"],
            "category": "FIRST",
            "acquiredOn": TODAY.isoformat(),
            "reason": "ACQUIRED_AGE",
        },
    )
    assert (too_young["code"], too_young["field"], too_young["reason"]) == (
        "BAD_USER_INPUT",
        "input.acquiredOn",
        "OUT_OF_RANGE",
    )
    q = await ok(
        gql,
        ACQUIRE,
        {
            "requestId": "a-1",
            "personId": person["id"],
            "category": "SECOND",
            "acquiredOn": TODAY.isoformat(),
            "reason": "ACQUIRED_SECOND",
        },
    )
    assert (q["category"], q["firstCategoryOn"], q["version"], len(q["insuredNumber"])) == (
        "SECOND",
        None,
        1,
        10,
    )
    assert {h["field"] for h in q["history"]} >= {"category", "acquired_on", "insured_number"}
    again = await error(
        gql,
        ACQUIRE,
        {
            "requestId": "a-2",
            "personId": person["id"],
            "category": "SECOND",
            "acquiredOn": TODAY.isoformat(),
            "reason": "ACQUIRED_SECOND",
        },
    )
    assert (again["code"], again["state"]) == ("INVALID_TRANSITION", "INSURED")
    at65 = reaches_age(dt.date.fromisoformat(aged(65, days=-20).isoformat()), 65)
    early = await error(
        gql,
        CATEGORY,
        {
            "requestId": "c-1",
            "qualificationId": q["id"],
            "version": 1,
            "category": "FIRST",
            "changedOn": (at65 - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert (early["code"], early["field"]) == ("BAD_USER_INPUT", "input.changedOn")
    first = await ok(
        gql,
        CATEGORY,
        {
            "requestId": "c-2",
            "qualificationId": q["id"],
            "version": 1,
            "category": "FIRST",
            "changedOn": at65.isoformat(),
        },
    )
    assert (first["category"], first["firstCategoryOn"], first["version"]) == ("FIRST", at65.isoformat(), 2)
    assert {"occurredOn": at65.isoformat(), "reason": "CATEGORY_CHANGE"} in first["events"]
    back = await error(
        gql,
        CATEGORY,
        {
            "requestId": "c-3",
            "qualificationId": q["id"],
            "version": 2,
            "category": "FIRST",
            "changedOn": at65.isoformat(),
        },
    )
    assert (back["code"], back["state"]) == ("INVALID_TRANSITION", "CATEGORY_FIRST")


async def test_loss_with_version_replay_and_state(gql: Any, seeded_conn: AsyncConnection) -> None:
    person = await moved_in(gql, "8100000002", aged(70, days=0))
    q = person["qualifications"][0]
    lose = {
        "requestId": "l-1",
        "qualificationId": q["id"],
        "version": q["version"],
        "lostOn": "2000-01-01",
        "reason": "LOST_DEATH",
    }
    reversed_ = await error(gql, LOSE, lose)
    assert (reversed_["field"], reversed_["reason"]) == ("input.lostOn", "REVERSED_RANGE")
    stale = await error(
        gql, LOSE, {**lose, "requestId": "l-2", "version": q["version"] + 5, "lostOn": TODAY.isoformat()}
    )
    assert (stale["code"], stale["currentVersion"]) == ("CONFLICT", q["version"])
    done = {**lose, "requestId": "l-3", "lostOn": TODAY.isoformat()}
    lost = await ok(gql, LOSE, done)
    assert (lost["lostOn"], lost["lossReason"], lost["version"]) == (
        TODAY.isoformat(),
        "LOST_DEATH",
        q["version"] + 1,
    )
    history = (await seeded_conn.execute(text("SELECT count(*) FROM record_history"))).scalar_one()
    assert await ok(gql, LOSE, done) == lost  # the same request: the same answer, nothing written
    assert (await seeded_conn.execute(text("SELECT count(*) FROM record_history"))).scalar_one() == history
    reused = await error(gql, LOSE, {**done, "reason": "LOST_MOVE_OUT"})
    assert reused["code"] == "REQUEST_ID_REUSED"
    twice = await error(gql, LOSE, {**done, "requestId": "l-4", "version": lost["version"]})
    assert (twice["code"], twice["state"]) == ("INVALID_TRANSITION", "LOST")
    exemption = await error(gql, LOSE, {**done, "requestId": "l-5", "reason": "LOST_EXEMPTION"})
    assert exemption["field"] == "input.reason"


async def test_domicile_exception_and_exemption(gql: Any) -> None:
    person = await moved_in(gql, "8100000003", aged(80, days=0))
    q = person["qualifications"][0]
    start = {
        "requestId": "d-1",
        "qualificationId": q["id"],
        "version": q["version"],
        "facilityNumber": "3310000001",
        "facilityName": "特別養護老人ホーム　岡山",
        "admittedOn": TODAY.isoformat(),
        "insurerNumber": "331000",
    }
    bad = await error(gql, START, {**start, "requestId": "d-0", "facilityNumber": "33-1"})
    assert (bad["field"], bad["reason"]) == ("input.facilityNumber", "FORMAT")
    started = await ok(gql, START, start)
    assert started["domicileException"] is True
    assert started["facilityAdmissions"][0] == {
        "facilityNumber": "3310000001",
        "dischargedOn": None,
        "domicileException": True,
    }
    twice = await error(gql, START, {**start, "requestId": "d-2", "version": started["version"]})
    assert (twice["code"], twice["state"]) == ("INVALID_TRANSITION", "DOMICILE_EXCEPTION")
    ended = await ok(
        gql,
        END,
        {
            "requestId": "d-3",
            "qualificationId": q["id"],
            "version": started["version"],
            "dischargedOn": TODAY.isoformat(),
        },
    )
    assert (
        ended["domicileException"] is False
        and ended["facilityAdmissions"][0]["dischargedOn"] == TODAY.isoformat()
    )
    assert [e["reason"] for e in ended["events"]][-2:] == [
        "DOMICILE_EXCEPTION_START",
        "DOMICILE_EXCEPTION_END",
    ]
    exempt = await ok(
        gql,
        EXEMPT,
        {
            "requestId": "x-1",
            "qualificationId": q["id"],
            "version": ended["version"],
            "exempt": True,
            "on": TODAY.isoformat(),
            "reason": "障害者支援施設に入所",
        },
    )
    assert (exempt["exempt"], exempt["lostOn"], exempt["lossReason"], exempt["exemptionReason"]) == (
        True,
        TODAY.isoformat(),
        "LOST_EXEMPTION",
        "障害者支援施設に入所",
    )
    back = await ok(
        gql,
        EXEMPT,
        {
            "requestId": "x-2",
            "qualificationId": q["id"],
            "version": exempt["version"],
            "exempt": False,
            "on": TODAY.isoformat(),
            "reason": "退所",
        },
    )
    assert (back["exempt"], back["lostOn"], back["acquisitionReason"]) == (
        False,
        None,
        "ACQUIRED_EXEMPTION_END",
    )
    not_exempt = await error(
        gql,
        EXEMPT,
        {
            "requestId": "x-3",
            "qualificationId": q["id"],
            "version": back["version"],
            "exempt": False,
            "on": TODAY.isoformat(),
            "reason": "退所",
        },
    )
    assert (not_exempt["code"], not_exempt["state"]) == ("INVALID_TRANSITION", "INSURED")


async def test_certificates_and_copay_ratio(gql: Any) -> None:
    person = await moved_in(gql, "8100000004", aged(75, days=0))
    q = person["qualifications"][0]
    year = TODAY.year if (TODAY.month, TODAY.day) >= (8, 1) else TODAY.year - 1
    issued = await ok(
        gql,
        ISSUE,
        {
            "requestId": "i-1",
            "qualificationId": q["id"],
            "version": q["version"],
            "kind": "INSURED_CERTIFICATE",
            "issuedOn": TODAY.isoformat(),
        },
    )
    assert issued["certificates"] == [
        {"kind": "INSURED_CERTIFICATE", "issuedOn": TODAY.isoformat(), "validTo": None}
    ]
    assert any(h["field"] == "certificate_issued" for h in issued["history"])
    copay_card = {
        "requestId": "i-2",
        "qualificationId": q["id"],
        "version": issued["version"],
        "kind": "COPAY_CERTIFICATE",
        "issuedOn": TODAY.isoformat(),
    }
    undecided = await error(gql, ISSUE, copay_card)
    assert (undecided["code"], undecided["state"]) == ("INVALID_TRANSITION", "COPAY_RATIO_NOT_DETERMINED")
    income = {
        "requestId": "p-1",
        "qualificationId": q["id"],
        "version": issued["version"],
        "certificateYear": year,
        "totalIncome": 2_300_000,
        "pensionAndOtherIncome": 3_500_000,
        "householdFirstCategory": 1,
        "householdPensionAndOtherIncome": 3_500_000,
        "taxExempt": False,
        "welfare": False,
    }
    thirty = await ok(gql, COPAY, income)
    assert (
        thirty["copayRatios"][0]["ratioPercent"] == 30
        and thirty["copayRatios"][0]["validTo"] == f"{year + 1}-07-31"
    )
    two = {
        **income,
        "requestId": "p-2",
        "version": thirty["version"],
        "householdFirstCategory": 2,
        "householdPensionAndOtherIncome": 4_000_000,
    }
    twenty = await ok(gql, COPAY, two)
    assert twenty["copayRatios"][0]["ratioPercent"] == 20
    note = next(
        h
        for h in twenty["history"]
        if h["field"] == f"copay_ratio_{year}" and h["version"] == twenty["version"]
    )
    assert (note["oldValue"], note["newValue"]) == ("30", "20")
    exempt = await ok(
        gql, COPAY, {**income, "requestId": "p-3", "version": twenty["version"], "taxExempt": True}
    )
    assert exempt["copayRatios"][0]["ratioPercent"] == 10
    card = await ok(gql, ISSUE, {**copay_card, "requestId": "i-3", "version": exempt["version"]})
    assert {
        "kind": "COPAY_CERTIFICATE",
        "issuedOn": TODAY.isoformat(),
        "validTo": f"{year + 1}-07-31",
    } in card["certificates"]
    future = await error(
        gql,
        ISSUE,
        {
            **copay_card,
            "requestId": "i-4",
            "version": card["version"],
            "issuedOn": (TODAY + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert (future["field"], future["reason"]) == ("input.issuedOn", "OUT_OF_RANGE")
    before = await error(
        gql, COPAY, {**income, "requestId": "p-4", "version": card["version"], "certificateYear": 2001}
    )
    assert (before["field"], before["reason"]) == ("input.certificateYear", "OUT_OF_RANGE")


@pytest.mark.parametrize("role", ["kenko_choju_officer", "shido_kansa_officer", "receiving_department"])
async def test_roles_without_the_duty_cannot_write_qualifications(gql: Any, role: str) -> None:
    body = await gql(
        ACQUIRE,
        {
            "i": {
                "requestId": "r-1",
                "personId": "1",
                "category": "FIRST",
                "acquiredOn": "2026-01-01",
                "reason": "ACQUIRED_AGE",
            }
        },
        role=role,
        department="fukushi_engo" if role == "receiving_department" else None,
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_the_qualification_history_is_read_by_its_readers(gql: Any) -> None:
    person = await moved_in(gql, "8100000005", aged(68, days=0))
    body = await gql(
        "query Q($id: ID!) { person(id: $id) { qualifications { id version history { field newValue operation } } } }",
        {"id": person["id"]},
        role="kenko_choju_officer",
    )
    history = body["data"]["person"]["qualifications"][0]["history"]
    assert {"field": "acquisition_reason", "newValue": "12", "operation": "recordResidentChange"} in history
