"""保険料 written through the API (issue 18 item 4): a person's assessment and its correction, receipts
reconciled (partial, over-payment), reminders, reductions, refunds and appropriations, lapsed claims;
and the whole city's assessment (kaigo assess)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.assessment import assess_city
from persistence.db import Database
from persistence.provision_records import Actor
from policies.premiums import annual_premium

from .write_support import aged, error, moved_in, ok

pytestmark = pytest.mark.db
OFFICER = "kaigo_officer"
TODAY = dt.date.today()
FY = TODAY.year if TODAY.month >= 4 else TODAY.year - 1
L = """id fiscalYear incomeStage annualPremium reductionAmount collectionMethod correctedOn correctionReason version
  overpaidAmount lapsedAmount arrearsAmount
  installments { id period dueOn amount paidAmount status lapsed receipts { kind amount } reminders { finalNotice fee } }
  refunds { kind amount } history { version field newValue }"""
ASSESS = f"mutation A($i: AssessPremiumInput!) {{ assessPremium(input: $i) {{ {L} }} }}"
RECEIPT = f"mutation R($i: PostReceiptInput!) {{ postReceipt(input: $i) {{ {L} }} }}"
REMIND = f"mutation M($i: SendReminderInput!) {{ sendReminder(input: $i) {{ {L} }} }}"
REDUCE = f"mutation D($i: ReducePremiumInput!) {{ reducePremium(input: $i) {{ {L} }} }}"
REFUND = f"mutation F($i: RefundOverpaymentInput!) {{ refundOverpayment(input: $i) {{ {L} }} }}"


async def test_assessment_correction_receipts_and_refund(gql: Any) -> None:
    person = (await moved_in(gql, "8300000001", aged(70)))["id"]
    assess = {"requestId": "a-1", "personId": person, "fiscalYear": FY, "incomeStage": "STAGE_5"}
    levy = await ok(gql, ASSESS, assess)
    months = (FY + 1) * 12 + 4 - (TODAY.year * 12 + TODAY.month)
    assert levy["annualPremium"] == annual_premium("05", FY) * months // 12 // 100 * 100
    assert (levy["collectionMethod"], levy["version"]) == ("DIRECT_PAYMENT", 1)
    assert sum(i["amount"] for i in levy["installments"]) == levy["annualPremium"]
    assert all(
        dt.date.fromisoformat(i["dueOn"]) >= TODAY + dt.timedelta(days=30) for i in levy["installments"]
    )
    assert levy["history"][0]["field"] == "created"
    pension = await error(
        gql,
        ASSESS,
        {**assess, "requestId": "a-2", "fiscalYear": FY + 1, "collectionMethod": "PENSION_DEDUCTION"},
    )
    assert pension["field"] == "input.pensionPayer"
    unversioned = await error(gql, ASSESS, {**assess, "requestId": "a-3", "incomeStage": "STAGE_7"})
    assert (unversioned["code"], unversioned["currentVersion"]) == ("CONFLICT", 1)
    first = levy["installments"][0]
    part = first["amount"] // 2
    paid = await ok(
        gql,
        RECEIPT,
        {
            "requestId": "r-1",
            "levyId": levy["id"],
            "version": 1,
            "kind": "COUNTER",
            "paidOn": TODAY.isoformat(),
            "amount": part,
        },
    )
    assert (
        paid["installments"][0]["paidAmount"] == part
        and paid["installments"][0]["status"] == "PARTIALLY_PAID"
    )
    corrected = await ok(
        gql, ASSESS, {**assess, "requestId": "a-4", "incomeStage": "STAGE_7", "version": paid["version"]}
    )
    assert (corrected["incomeStage"], corrected["correctionReason"], corrected["correctedOn"]) == (
        "STAGE_7",
        "INCOME_CHANGE",
        TODAY.isoformat(),
    )
    assert corrected["installments"][0]["amount"] == first["amount"]  # paid in part: kept
    assert sum(i["amount"] for i in corrected["installments"]) == corrected["annualPremium"]
    rest = corrected["annualPremium"] - part
    over = await ok(
        gql,
        RECEIPT,
        {
            "requestId": "r-2",
            "levyId": levy["id"],
            "version": corrected["version"],
            "kind": "ACCOUNT_TRANSFER",
            "paidOn": TODAY.isoformat(),
            "amount": rest + 5_000,
        },
    )
    assert over["overpaidAmount"] == 5_000 and all(i["status"] == "PAID" for i in over["installments"])
    too_much = await error(
        gql,
        REFUND,
        {
            "requestId": "f-1",
            "levyId": levy["id"],
            "version": over["version"],
            "kind": "REFUND",
            "amount": 5_100,
            "decidedOn": TODAY.isoformat(),
        },
    )
    assert (too_much["field"], too_much["reason"]) == ("input.amount", "OUT_OF_RANGE")
    refunded = await ok(
        gql,
        REFUND,
        {
            "requestId": "f-2",
            "levyId": levy["id"],
            "version": over["version"],
            "kind": "REFUND",
            "amount": 5_000,
            "decidedOn": TODAY.isoformat(),
        },
    )
    assert refunded["overpaidAmount"] == 0 and refunded["refunds"] == [{"kind": "REFUND", "amount": 5_000}]
    assert {"version": refunded["version"], "field": "refund", "newValue": "還付 5000 yen"} in refunded[
        "history"
    ]
    not_due = await error(
        gql,
        REMIND,
        {
            "requestId": "m-1",
            "installmentId": refunded["installments"][0]["id"],
            "version": refunded["version"],
            "sentOn": TODAY.isoformat(),
        },
    )
    assert (not_due["code"], not_due["state"]) == ("INVALID_TRANSITION", "NOT_OVERDUE")


async def test_reduction_lowers_the_unpaid_installments(gql: Any) -> None:
    person = (await moved_in(gql, "8300000002", aged(72)))["id"]
    levy = await ok(
        gql, ASSESS, {"requestId": "d-0", "personId": person, "fiscalYear": FY, "incomeStage": "STAGE_9"}
    )
    too_much = await error(
        gql,
        REDUCE,
        {
            "requestId": "d-1",
            "levyId": levy["id"],
            "version": 1,
            "reductionAmount": levy["annualPremium"] + 100,
            "decidedOn": TODAY.isoformat(),
            "reason": "災害",
        },
    )
    assert (too_much["field"], too_much["reason"]) == ("input.reductionAmount", "OUT_OF_RANGE")
    cut = levy["installments"][-1]["amount"] + 100
    reduced = await ok(
        gql,
        REDUCE,
        {
            "requestId": "d-2",
            "levyId": levy["id"],
            "version": 1,
            "reductionAmount": cut,
            "decidedOn": TODAY.isoformat(),
            "reason": "災害による減免",
        },
    )
    assert (reduced["reductionAmount"], reduced["correctionReason"]) == (cut, "REDUCTION")
    assert reduced["installments"][-1]["amount"] == 0
    assert sum(i["amount"] for i in reduced["installments"]) == reduced["annualPremium"] - cut


async def test_reminders_lapse_and_appropriation(gql: Any, seeded_conn: AsyncConnection) -> None:
    person = (await moved_in(gql, "8300000003", aged(75)))["id"]
    levy = await ok(
        gql, ASSESS, {"requestId": "o-0", "personId": person, "fiscalYear": FY, "incomeStage": "STAGE_5"}
    )
    old = (
        await seeded_conn.execute(
            text(
                "INSERT INTO levies (person_id, fiscal_year, levied_on, income_stage, annual_premium, reduction_amount,"
                " collection_method) VALUES (:p, :y, :d, '05', 16000, 0, '2') RETURNING id"
            ),
            {"p": int(person), "y": FY - 3, "d": dt.date(FY - 3, 4, 1)},
        )
    ).scalar_one()
    await seeded_conn.execute(
        text(
            "INSERT INTO levy_installments (levy_id, assessment_year, period, due_on, amount, collection_method) VALUES"
            " (:l, :y, 1, :lapsed, 8000, '2'), (:l, :y, 2, :overdue, 8000, '2')"
        ),
        {
            "l": old,
            "y": FY - 3,
            "lapsed": TODAY - dt.timedelta(days=800),
            "overdue": TODAY - dt.timedelta(days=10),
        },
    )
    body = await gql(
        f"query Q($id: ID!) {{ person(id: $id) {{ levies {{ {L} }} }} }}", {"id": person}, role=OFFICER
    )
    past = next(x for x in body["data"]["person"]["levies"] if x["fiscalYear"] == FY - 3)
    lapsed, overdue = past["installments"]
    assert (lapsed["lapsed"], overdue["lapsed"], past["lapsedAmount"]) == (True, False, 8_000)
    refused = await error(
        gql,
        REMIND,
        {
            "requestId": "o-1",
            "installmentId": lapsed["id"],
            "version": past["version"],
            "sentOn": TODAY.isoformat(),
        },
    )
    assert (refused["code"], refused["state"]) == ("INVALID_TRANSITION", "LAPSED")
    final = await error(
        gql,
        REMIND,
        {
            "requestId": "o-2",
            "installmentId": overdue["id"],
            "version": past["version"],
            "sentOn": TODAY.isoformat(),
            "finalNotice": True,
        },
    )
    assert final["state"] == "NOT_REMINDED"
    reminded = await ok(
        gql,
        REMIND,
        {
            "requestId": "o-3",
            "installmentId": overdue["id"],
            "version": past["version"],
            "sentOn": TODAY.isoformat(),
        },
    )
    assert reminded["installments"][1]["reminders"] == [{"finalNotice": False, "fee": 100}]
    again = await error(
        gql,
        REMIND,
        {
            "requestId": "o-4",
            "installmentId": overdue["id"],
            "version": reminded["version"],
            "sentOn": TODAY.isoformat(),
        },
    )
    assert again["state"] == "ALREADY_REMINDED"
    # an over-payment of this year's levy pays the old overdue installment (充当); the lapsed one is never paid
    whole = levy["annualPremium"]
    over = await ok(
        gql,
        RECEIPT,
        {
            "requestId": "o-5",
            "levyId": levy["id"],
            "version": levy["version"],
            "kind": "COUNTER",
            "paidOn": TODAY.isoformat(),
            "amount": whole + 8_000,
        },
    )
    assert over["overpaidAmount"] == 8_000
    missing = await error(
        gql,
        REFUND,
        {
            "requestId": "o-6",
            "levyId": levy["id"],
            "version": over["version"],
            "kind": "APPROPRIATION",
            "amount": 8_000,
            "decidedOn": TODAY.isoformat(),
        },
    )
    assert (missing["field"], missing["reason"]) == ("input.installmentId", "REQUIRED")
    on_lapsed = await error(
        gql,
        REFUND,
        {
            "requestId": "o-7",
            "levyId": levy["id"],
            "version": over["version"],
            "kind": "APPROPRIATION",
            "amount": 8_000,
            "decidedOn": TODAY.isoformat(),
            "installmentId": lapsed["id"],
        },
    )
    assert on_lapsed["field"] == "input.installmentId"
    done = await ok(
        gql,
        REFUND,
        {
            "requestId": "o-8",
            "levyId": levy["id"],
            "version": over["version"],
            "kind": "APPROPRIATION",
            "amount": 8_000,
            "decidedOn": TODAY.isoformat(),
            "installmentId": overdue["id"],
        },
    )
    assert done["overpaidAmount"] == 0 and done["refunds"] == [{"kind": "APPROPRIATION", "amount": 8_000}]
    body = await gql(
        f"query Q($id: ID!) {{ person(id: $id) {{ levies {{ {L} }} }} }}", {"id": person}, role=OFFICER
    )
    past = next(x for x in body["data"]["person"]["levies"] if x["fiscalYear"] == FY - 3)
    assert past["installments"][1]["status"] == "PAID" and past["installments"][1]["receipts"] == [
        {"kind": "APPROPRIATION", "amount": 8_000}
    ]


@pytest.mark.parametrize("role", ["kenko_choju_officer", "shido_kansa_officer"])
async def test_roles_without_the_duty(gql: Any, role: str) -> None:
    body = await gql(
        ASSESS,
        {"i": {"requestId": "x", "personId": "1", "fiscalYear": FY, "incomeStage": "STAGE_5"}},
        role=role,
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_the_whole_city_is_assessed_once(
    seeded_engine: AsyncEngine, seeded_conn: AsyncConnection
) -> None:
    year = 2027  # the seeded city has levies up to FY2026
    database = Database(seeded_engine, bind=seeded_conn)
    liable = (
        await seeded_conn.execute(
            text(
                "SELECT count(*) FROM qualifications q WHERE q.category = '1' AND q.first_category_on < make_date(:y + 1, 4, 1)"
                " AND (q.lost_on IS NULL OR q.lost_on > make_date(:y, 4, 1) + interval '1 month')"
                " AND EXISTS (SELECT 1 FROM levies l WHERE l.person_id = q.person_id)"
            ),
            {"y": year},
        )
    ).scalar_one()
    report = await assess_city(database, year, actor=Actor("assess-test", ("kaigo_intake",)), chunk=50)
    assert report.assessed == liable > 0
    rows = (
        await seeded_conn.execute(
            text(
                "SELECT l.annual_premium, l.income_stage, (SELECT sum(amount) FROM levy_installments i WHERE i.levy_id = l.id) AS spread"
                " FROM levies l WHERE l.fiscal_year = :y"
            ),
            {"y": year},
        )
    ).all()
    assert len(rows) == liable and all(r.spread == r.annual_premium for r in rows)
    assert report.premiums == sum(r.annual_premium for r in rows)
    again = await assess_city(database, year, actor=Actor("assess-test", ("kaigo_intake",)), chunk=50)
    assert again.assessed == 0
