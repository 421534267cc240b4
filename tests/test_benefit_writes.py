"""給付 written through the API (issue 18 item 5): the federation's claim results imported, high-cost
benefits and reimbursements applied for and decided with their amounts computed, cost-limit certification."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.claim_feed import intake_claims, read_claims
from persistence.db import Database
from persistence.provision_records import Actor
from policies.benefits import CLAIM_COLUMNS

from .write_support import aged, error, moved_in, ok

pytestmark = pytest.mark.db
OFFICER = "kaigo_officer"
TODAY = dt.date.today()
MONTH = TODAY.replace(day=1)
ACTOR = Actor("claims-test", ("kaigo_intake",))
HIGH = """id serviceMonth incomeClass costAmount copayAmount capAmount paidAmount decidedOn version history { field newValue }"""
APPLY_HIGH = (
    f"mutation H($i: ApplyForHighCostBenefitInput!) {{ applyForHighCostBenefit(input: $i) {{ {HIGH} }} }}"
)
DECIDE_HIGH = (
    f"mutation D($i: DecideHighCostBenefitInput!) {{ decideHighCostBenefit(input: $i) {{ {HIGH} }} }}"
)
R = "id applicationNumber serviceMonth totalCost copayAmount claimedAmount paidAmount decidedOn reviewedMonth version"
APPLY_R = f"mutation A($i: ApplyForReimbursementInput!) {{ applyForReimbursement(input: $i) {{ {R} }} }}"
DECIDE_R = f"mutation B($i: DecideReimbursementInput!) {{ decideReimbursement(input: $i) {{ {R} }} }}"
COST_LIMIT = """mutation C($i: CertifyCostLimitInput!) { certifyCostLimit(input: $i) { eligible stage
  reduction { kind stage validFrom validTo } } }"""
COPAY = """mutation P($i: DetermineCopayRatioInput!) { determineCopayRatio(input: $i) { version } }"""


def claims_file(*lines: dict[str, str]) -> bytes:
    rows = [",".join(CLAIM_COLUMNS)] + [",".join(line[c] for c in CLAIM_COLUMNS) for line in lines]
    return ("\n".join(rows) + "\n").encode()


def claim(insured_number: str, copay: int, **over: str) -> dict[str, str]:
    cost = copay * 10
    return {
        "service_month": MONTH.strftime("%Y-%m"),
        "insured_number": insured_number,
        "provider_number": "3310000001",
        "service_type": "15",
        "units": str(cost // 10),
        "cost_amount": str(cost),
        "insurer_paid_amount": str(cost - copay),
        "copay_amount": str(copay),
        "reviewed_month": MONTH.strftime("%Y-%m"),
        **over,
    }


async def test_claims_high_cost_and_reimbursement(
    gql: Any, seeded_engine: AsyncEngine, seeded_conn: AsyncConnection
) -> None:
    a = await moved_in(gql, "8400000001", aged(80), on=MONTH, household="8400000001")
    b = await moved_in(gql, "8400000002", aged(80), on=MONTH, household="8400000001")  # the same household
    na, nb = a["qualifications"][0]["insuredNumber"], b["qualifications"][0]["insuredNumber"]
    data = claims_file(
        claim(na, 60_000),
        claim(nb, 30_000),
        claim("9999999999", 1_000),
        claim(na, 1_000, copay_amount="999"),
        claim(na, 1_000, service_month="2001-04", reviewed_month="2001-05"),
    )
    database = Database(seeded_engine, bind=seeded_conn)
    report = await intake_claims(database, read_claims(data), feed_id="kokuhoren-1", actor=ACTOR)
    assert [(x.outcome, x.reason, x.field) for x in report.lines] == [
        ("APPLIED", None, None),
        ("APPLIED", None, None),
        ("QUEUED", "UNKNOWN_INSURED", None),
        ("QUEUED", "INVALID_LINE", "copay_amount"),
        ("QUEUED", "NOT_INSURED_IN_MONTH", None),
    ]
    again = await intake_claims(database, read_claims(data), feed_id="kokuhoren-1", actor=ACTOR)
    assert [x.outcome for x in again.lines] == ["SKIPPED"] * 5
    assert (
        await seeded_conn.execute(
            text("SELECT count(*) FROM claim_results WHERE person_id = :p"), {"p": int(a["id"])}
        )
    ).scalar_one() == 1

    apply = {
        "requestId": "h-1",
        "personId": a["id"],
        "serviceMonth": MONTH.isoformat(),
        "appliedOn": TODAY.isoformat(),
        "incomeClass": "GENERAL",
        "paymentMethod": "BANK_TRANSFER",
    }
    benefit = await ok(gql, APPLY_HIGH, apply)
    assert (benefit["copayAmount"], benefit["capAmount"], benefit["paidAmount"], benefit["decidedOn"]) == (
        60_000,
        44_400,
        30_400,
        None,
    )
    twice = await error(gql, APPLY_HIGH, {**apply, "requestId": "h-2"})
    assert (twice["code"], twice["state"]) == ("INVALID_TRANSITION", "ALREADY_APPLIED")
    none = await error(
        gql,
        APPLY_HIGH,
        {**apply, "requestId": "h-3", "serviceMonth": (MONTH - dt.timedelta(days=1)).isoformat()},
    )
    assert none["state"] in ("NO_CLAIM_RESULTS", "NOT_INSURED")
    await intake_claims(
        database, read_claims(claims_file(claim(na, 15_000))), feed_id="kokuhoren-2", actor=ACTOR
    )
    decided = await ok(
        gql,
        DECIDE_HIGH,
        {
            "requestId": "h-4",
            "highCostBenefitId": benefit["id"],
            "version": benefit["version"],
            "decidedOn": TODAY.isoformat(),
        },
    )
    assert (decided["copayAmount"], decided["paidAmount"], decided["decidedOn"]) == (
        75_000,
        (105_000 - 44_400) * 75_000 // 105_000,  # the household's excess, her share by copay
        TODAY.isoformat(),
    )
    again_decided = await error(
        gql,
        DECIDE_HIGH,
        {
            "requestId": "h-5",
            "highCostBenefitId": benefit["id"],
            "version": decided["version"],
            "decidedOn": TODAY.isoformat(),
        },
    )
    assert (again_decided["code"], again_decided["state"]) == ("INVALID_TRANSITION", "DECIDED")

    year = TODAY.year if (TODAY.month, TODAY.day) >= (8, 1) else TODAY.year - 1
    q = a["qualifications"][0]
    await ok(
        gql,
        COPAY,
        {
            "requestId": "p-1",
            "qualificationId": q["id"],
            "version": q["version"],
            "certificateYear": year,
            "totalIncome": 1_700_000,
            "pensionAndOtherIncome": 2_900_000,
            "householdFirstCategory": 1,
            "householdPensionAndOtherIncome": 2_900_000,
            "taxExempt": False,
            "welfare": False,
        },
    )
    applied = await ok(
        gql,
        APPLY_R,
        {
            "requestId": "r-1",
            "personId": a["id"],
            "kind": "WELFARE_EQUIPMENT",
            "serviceMonth": MONTH.isoformat(),
            "appliedOn": TODAY.isoformat(),
            "applicantRelationship": "SELF",
            "paymentMethod": "BANK_TRANSFER",
            "totalCost": 10_000,
        },
    )
    assert (applied["copayAmount"], applied["claimedAmount"], applied["paidAmount"]) == (2_000, 8_000, None)
    assert applied["applicationNumber"].startswith("R")
    too_much = await error(
        gql,
        DECIDE_R,
        {
            "requestId": "r-2",
            "reimbursementId": applied["id"],
            "version": applied["version"],
            "decidedOn": TODAY.isoformat(),
            "paidAmount": 8_001,
        },
    )
    assert (too_much["field"], too_much["reason"]) == ("input.paidAmount", "OUT_OF_RANGE")
    paid = await ok(
        gql,
        DECIDE_R,
        {
            "requestId": "r-3",
            "reimbursementId": applied["id"],
            "version": applied["version"],
            "decidedOn": TODAY.isoformat(),
        },
    )
    assert (paid["paidAmount"], paid["decidedOn"], paid["reviewedMonth"], paid["version"]) == (
        8_000,
        TODAY.isoformat(),
        MONTH.isoformat(),
        2,
    )
    early = await error(
        gql,
        APPLY_R,
        {
            "requestId": "r-4",
            "personId": a["id"],
            "kind": "WELFARE_EQUIPMENT",
            "serviceMonth": "2001-04-01",
            "appliedOn": TODAY.isoformat(),
            "applicantRelationship": "SELF",
            "paymentMethod": "BANK_TRANSFER",
            "totalCost": 10_000,
        },
    )
    assert (early["code"], early["state"]) == ("INVALID_TRANSITION", "NOT_INSURED")


async def test_cost_limit_certification(gql: Any, seeded_conn: AsyncConnection) -> None:
    certified = (
        await seeded_conn.execute(
            text(
                "SELECT c.person_id FROM certifications c JOIN qualifications q ON q.person_id = c.person_id"
                " WHERE c.status = 'DECIDED' AND c.care_level <> '01' AND c.valid_from <= :d AND c.valid_to >= :d"
                " AND q.lost_on IS NULL AND NOT EXISTS (SELECT 1 FROM cost_reductions r WHERE r.person_id = c.person_id)"
                " ORDER BY c.person_id LIMIT 1"
            ),
            {"d": TODAY},
        )
    ).scalar_one()
    base = {
        "personId": str(certified),
        "appliedOn": TODAY.isoformat(),
        "householdTaxExempt": True,
        "welfare": False,
        "married": False,
    }
    refused = await ok(
        gql,
        COST_LIMIT,
        {**base, "requestId": "c-1", "pensionAndOtherIncome": 1_300_000, "savings": 5_200_000},
    )
    assert refused == {"eligible": False, "stage": None, "reduction": None}
    year = TODAY.year if (TODAY.month, TODAY.day) >= (8, 1) else TODAY.year - 1
    granted = await ok(
        gql, COST_LIMIT, {**base, "requestId": "c-2", "pensionAndOtherIncome": 700_000, "savings": 6_000_000}
    )
    assert granted == {
        "eligible": True,
        "stage": 2,
        "reduction": {
            "kind": "COST_LIMIT",
            "stage": 2,
            "validFrom": MONTH.isoformat(),
            "validTo": f"{year + 1}-07-31",
        },
    }
    overlap = await error(
        gql,
        COST_LIMIT,
        {**base, "requestId": "c-3", "welfare": True, "pensionAndOtherIncome": 0, "savings": 0},
    )
    assert (overlap["code"], overlap["state"]) == ("INVALID_TRANSITION", "ALREADY_CERTIFIED")
    person = await moved_in(gql, "8400000009", aged(80), on=MONTH, household="8400000009")
    uncertified = await error(
        gql,
        COST_LIMIT,
        {**base, "personId": person["id"], "requestId": "c-4", "pensionAndOtherIncome": 0, "savings": 0},
    )
    assert (uncertified["code"], uncertified["state"]) == ("INVALID_TRANSITION", "NOT_CERTIFIED")


@pytest.mark.parametrize("role", ["kenko_choju_officer", "shido_kansa_officer"])
async def test_roles_without_the_duty(gql: Any, role: str) -> None:
    body = await gql(
        COST_LIMIT,
        {
            "i": {
                "requestId": "x",
                "personId": "1",
                "appliedOn": TODAY.isoformat(),
                "householdTaxExempt": True,
                "welfare": False,
                "married": False,
                "pensionAndOtherIncome": 0,
                "savings": 0,
            }
        },
        role=role,
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
