"""The nested record groups of a person over HTTP: qualifications, certifications, benefits, levies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.codes import table
from resolvers.context import request_date

pytestmark = pytest.mark.db


async def one(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).mappings().first()


async def all_rows(conn: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await conn.execute(text(sql), params)).mappings().all())


def name_of(kind: str, code: str | None) -> str | None:
    return None if code is None else table(kind).by_code(code).name


def iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


async def person(gql: Any, person_id: int, selection: str, **variables: Any) -> dict[str, Any]:
    params = "".join(f", ${k}: {v[1]}" for k, v in variables.items())
    query = f"query Q($id: ID!{params}) {{ person(id: $id) {{ {selection} }} }}"
    body = await gql(query, {"id": str(person_id), **{k: v[0] for k, v in variables.items()}})
    assert not body.get("errors"), body.get("errors")
    found: dict[str, Any] = body["data"]["person"]
    assert found is not None
    return found


async def someone_with(conn: AsyncConnection, sql: str) -> int:
    row = await one(conn, sql)
    assert row is not None, f"the seeded city has a person for: {sql}"
    return int(row[next(iter(row.keys()))])


# --- qualifications -----------------------------------------------------------------------------


async def test_qualifications(gql: Any, seeded_conn: AsyncConnection) -> None:
    pid = await someone_with(
        seeded_conn,
        "SELECT q.person_id FROM qualifications q JOIN qualification_events e ON e.qualification_id = q.id "
        "ORDER BY q.id LIMIT 1",
    )
    q = await one(seeded_conn, "SELECT * FROM qualifications WHERE person_id = :p", p=pid)
    got = await person(
        gql,
        pid,
        """qualifications {
             insuredNumber category firstCategoryOn acquiredOn acquisitionReason notifiedOn lostOn
             lossReason exempt exemptionReason boundaryLayer boundaryLayerSince domicileException
             events { occurredOn reason notifiedOn }
             copayRatios { fiscalYear ratioPercent validFrom validTo }
             certificates { kind issuedOn validTo }
             facilityAdmissions {
               facilityNumber facilityName admittedOn dischargedOn domicileException insurerNumber
             }
           }""",
    )
    (qual,) = got["qualifications"]
    assert qual["insuredNumber"] == q.insured_number
    assert qual["category"] == name_of("insured_category", q.category)
    assert qual["acquiredOn"] == iso(q.acquired_on)
    assert qual["acquisitionReason"] == name_of("qualification_event", q.acquisition_reason)
    assert qual["lostOn"] == iso(q.lost_on)
    assert qual["lossReason"] == name_of("qualification_event", q.loss_reason)
    assert qual["exempt"] is q.exempt and qual["domicileException"] is q.domicile_exception

    events = await all_rows(
        seeded_conn,
        "SELECT * FROM qualification_events WHERE qualification_id = :q ORDER BY occurred_on, id",
        q=q.id,
    )
    assert qual["events"] == [
        {
            "occurredOn": iso(e.occurred_on),
            "reason": name_of("qualification_event", e.reason),
            "notifiedOn": iso(e.notified_on),
        }
        for e in events
    ]
    ratios = await all_rows(
        seeded_conn,
        "SELECT * FROM copay_ratios WHERE qualification_id = :q ORDER BY fiscal_year DESC",
        q=q.id,
    )
    assert [(r["fiscalYear"], r["ratioPercent"]) for r in qual["copayRatios"]] == [
        (r.fiscal_year, r.ratio_percent) for r in ratios
    ]
    certs = await all_rows(
        seeded_conn, "SELECT * FROM certificate_issuances WHERE qualification_id = :q", q=q.id
    )
    assert sorted(c["kind"] for c in qual["certificates"]) == sorted(
        table("certificate_kind").by_code(c.kind).name for c in certs
    )


async def test_facility_admissions(gql: Any, seeded_conn: AsyncConnection) -> None:
    pid = await someone_with(
        seeded_conn,
        "SELECT q.person_id FROM qualifications q JOIN facility_admissions f ON f.qualification_id = q.id "
        "ORDER BY q.id LIMIT 1",
    )
    rows = await all_rows(
        seeded_conn,
        "SELECT f.* FROM facility_admissions f JOIN qualifications q ON q.id = f.qualification_id "
        "WHERE q.person_id = :p ORDER BY f.admitted_on DESC, f.id DESC",
        p=pid,
    )
    got = await person(
        gql, pid, "qualifications { facilityAdmissions { facilityNumber admittedOn dischargedOn } }"
    )
    assert got["qualifications"][0]["facilityAdmissions"] == [
        {
            "facilityNumber": r.facility_number,
            "admittedOn": iso(r.admitted_on),
            "dischargedOn": iso(r.discharged_on),
        }
        for r in rows
    ]


async def test_person_without_qualification_has_empty_list(gql: Any, seeded_conn: AsyncConnection) -> None:
    pid = await someone_with(
        seeded_conn, "SELECT id FROM persons WHERE id NOT IN (SELECT person_id FROM qualifications) LIMIT 1"
    )
    got = await person(gql, pid, "qualifications { insuredNumber }")
    assert got["qualifications"] == []


# --- certifications -----------------------------------------------------------------------------

CERTIFICATIONS = """
certifications {
  id
  application { appliedOn receivedOn type reason applicantName applicantRelationship }
  survey { requestedOn surveyedOn }
  doctorOpinion { requestedOn receivedOn }
  judgement { primaryJudgedOn primaryLevel committeeNumber committeeVenue reviewScheduledOn
              secondaryJudgedOn committeeOpinion }
  decision { careLevel decidedOn notifiedOn validFrom validTo }
  postponement { postponedOn reason noticeOn expectedOn }
  cancelledOn
}
currentCertification { id decision { careLevel validFrom validTo } }
carePlans { notificationNumber officeNumber officeName validFrom validTo }
"""


async def test_certifications_newest_first_with_nested_objects(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    pid = await someone_with(
        seeded_conn, "SELECT person_id FROM certifications GROUP BY person_id HAVING count(*) > 1 LIMIT 1"
    )
    rows = await all_rows(
        seeded_conn,
        "SELECT * FROM certifications WHERE person_id = :p ORDER BY applied_on DESC, id DESC",
        p=pid,
    )
    got = await person(gql, pid, CERTIFICATIONS)
    cases = got["certifications"]
    assert [c["id"] for c in cases] == [str(r.id) for r in rows]
    for case, row in zip(cases, rows, strict=True):
        assert case["application"]["appliedOn"] == iso(row.applied_on)
        assert case["application"]["type"] == name_of("application_type", row.application_type)
        assert case["application"]["applicantRelationship"] == name_of(
            "applicant_relationship", row.applicant_relationship
        )
        assert case["cancelledOn"] == iso(row.cancelled_on)
        if row.care_level is None:
            assert case["decision"] is None  # undecided
        else:
            assert case["decision"] == {
                "careLevel": name_of("care_level", row.care_level),
                "decidedOn": iso(row.decided_on),
                "notifiedOn": iso(row.notified_on),
                "validFrom": iso(row.valid_from),
                "validTo": iso(row.valid_to),
            }
        if row.postponed_on is None:
            assert case["postponement"] is None
        else:
            assert case["postponement"]["postponedOn"] == iso(row.postponed_on)
            assert case["postponement"]["reason"] == name_of("postponement_reason", row.postponement_reason)
        if case["judgement"] is not None:
            assert case["judgement"]["primaryLevel"] == name_of("care_level", row.primary_level)
            assert case["judgement"]["committeeNumber"] == row.committee_number


async def test_current_certification(gql: Any, seeded_conn: AsyncConnection) -> None:
    today = request_date()  # the API's request date
    current = await one(
        seeded_conn,
        "SELECT id, person_id, care_level FROM certifications WHERE valid_from <= :t AND valid_to >= :t "
        "AND (cancelled_on IS NULL OR cancelled_on > :t) "
        "ORDER BY person_id, valid_from DESC, id DESC LIMIT 1",
        t=today,
    )
    assert current is not None
    got = await person(gql, current.person_id, CERTIFICATIONS)
    assert got["currentCertification"]["id"] == str(current.id)
    assert got["currentCertification"]["decision"]["careLevel"] == name_of("care_level", current.care_level)

    nobody = await someone_with(
        seeded_conn,
        "SELECT id FROM persons WHERE id NOT IN (SELECT person_id FROM certifications WHERE valid_from <= "
        f"DATE '{today.isoformat()}' AND valid_to >= DATE '{today.isoformat()}') ORDER BY id LIMIT 1",
    )
    assert (await person(gql, nobody, "currentCertification { id }"))["currentCertification"] is None


async def test_undecided_certification_has_null_decision(gql: Any, seeded_conn: AsyncConnection) -> None:
    case = await one(seeded_conn, "SELECT id, person_id FROM certifications ORDER BY id LIMIT 1")
    await seeded_conn.execute(
        text(
            "UPDATE certifications SET care_level = NULL, decided_on = NULL, notified_on = NULL, "
            "valid_from = NULL, valid_to = NULL, postponed_on = DATE '2026-10-20', "
            "postponement_reason = '1', "
            "postponement_expected_on = DATE '2026-11-30' WHERE id = :id"
        ),
        {"id": case.id},
    )
    got = await person(gql, case.person_id, CERTIFICATIONS)
    (mine,) = [c for c in got["certifications"] if c["id"] == str(case.id)]
    assert mine["decision"] is None
    assert mine["postponement"] == {
        "postponedOn": "2026-10-20",
        "reason": name_of("postponement_reason", "1"),
        "noticeOn": None,
        "expectedOn": "2026-11-30",
    }


async def test_care_plans(gql: Any, seeded_conn: AsyncConnection) -> None:
    pid = await someone_with(seeded_conn, "SELECT person_id FROM care_plan_notifications ORDER BY id LIMIT 1")
    rows = await all_rows(
        seeded_conn,
        "SELECT * FROM care_plan_notifications WHERE person_id = :p ORDER BY valid_from DESC, id DESC",
        p=pid,
    )
    got = await person(gql, pid, "carePlans { notificationNumber officeNumber validFrom validTo }")
    assert got["carePlans"] == [
        {
            "notificationNumber": r.notification_number,
            "officeNumber": r.office_number,
            "validFrom": iso(r.valid_from),
            "validTo": iso(r.valid_to),
        }
        for r in rows
    ]


# --- benefits -----------------------------------------------------------------------------------

BENEFIT_LISTS = {
    "reimbursements": ("reimbursements", "kind serviceMonth totalCost copayAmount claimedAmount paidAmount"),
    "highCost": ("high_cost_benefits", "incomeClass serviceMonth capAmount paidAmount"),
    "combined": ("combined_benefits", "periodYear periodFrom periodTo selfPayAmount paidAmount"),
    "reductions": ("cost_reductions", "kind validFrom validTo stage"),
    "restrictions": ("benefit_restrictions", "kind validFrom validTo arrearsAmount"),
    "recipientNotices": ("recipient_notices", "kind changedOn sentOn careLevel"),
    "communityEligibility": ("community_eligibilities", "checkedOn validFrom validTo"),
}


@pytest.mark.parametrize("field", sorted(BENEFIT_LISTS))
async def test_benefit_lists(gql: Any, seeded_conn: AsyncConnection, field: str) -> None:
    table_name, selection = BENEFIT_LISTS[field]
    pid = await someone_with(
        seeded_conn, f"SELECT person_id FROM {table_name} GROUP BY person_id ORDER BY count(*) DESC LIMIT 1"
    )
    rows = await all_rows(seeded_conn, f"SELECT * FROM {table_name} WHERE person_id = :p", p=pid)
    got = (await person(gql, pid, f"benefits {{ {field} {{ {selection} }} }}"))["benefits"][field]
    assert len(got) == len(rows)
    if field == "reimbursements":
        assert sorted(r["claimedAmount"] for r in got) == sorted(r.claimed_amount for r in rows)
        assert all(r["kind"] in {v.name for v in table("reimbursement_kind").values} for r in got)
    if field == "highCost":
        assert sorted(r["incomeClass"] for r in got) == sorted(
            table("income_class").by_code(r.income_class).name for r in rows
        )
    if field == "combined":
        for r in got:
            assert r["periodFrom"] == f"{r['periodYear']}-08-01"
            assert r["periodTo"] == f"{r['periodYear'] + 1}-07-31"
    if field == "restrictions":
        assert sorted(r["arrearsAmount"] for r in got) == sorted(r.arrears_amount for r in rows)


async def test_claim_results_by_month_range(gql: Any, seeded_conn: AsyncConnection) -> None:
    pid = await someone_with(
        seeded_conn,
        "SELECT person_id FROM claim_results GROUP BY person_id HAVING count(DISTINCT service_month) > 1 "
        "ORDER BY count(*) DESC LIMIT 1",
    )
    months = [
        r.service_month
        for r in await all_rows(
            seeded_conn,
            "SELECT DISTINCT service_month FROM claim_results WHERE person_id = :p ORDER BY service_month",
            p=pid,
        )
    ]
    selection = (
        "benefits { claimResults(from: $from, to: $to) { serviceMonth serviceType units costAmount } }"
    )

    async def months_between(first: dt.date | None, last: dt.date | None) -> list[str]:
        got = await person(gql, pid, selection, **{"from": (iso(first), "Date"), "to": (iso(last), "Date")})
        return [r["serviceMonth"] for r in got["benefits"]["claimResults"]]

    everything = await months_between(None, None)
    count = await one(seeded_conn, "SELECT count(*) AS n FROM claim_results WHERE person_id = :p", p=pid)
    assert len(everything) == count.n
    assert everything == sorted(everything, reverse=True)  # newest month first

    # Only the last month; `from` in the middle of a month still takes that month.
    last = months[-1]
    only_last = await months_between(last.replace(day=15), None)
    assert set(only_last) == {last.isoformat()}
    only_first = await months_between(None, months[0].replace(day=28))
    assert set(only_first) == {months[0].isoformat()}


async def test_claim_results_reversed_range(gql: Any, seeded_conn: AsyncConnection) -> None:
    pid = await someone_with(seeded_conn, "SELECT id FROM persons ORDER BY id LIMIT 1")
    body = await gql(
        'query($id: ID!) { person(id: $id) { benefits { claimResults(from: "2026-05-01", to: "2026-04-30") '
        "{ serviceMonth } } } }",
        {"id": str(pid)},
    )
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "to", "reason": "REVERSED_RANGE"}


# --- levies -------------------------------------------------------------------------------------

LEVIES = """
levies(fiscalYear: $fy) {
  fiscalYear leviedOn incomeStage annualPremium reductionAmount collectionMethod pensionPayer
  correctedOn correctionReason arrearsAmount
  installments { period dueOn amount paidAmount outstandingAmount status
                 receipts { kind paidOn amount lateFee } reminders { sentOn finalNotice fee } }
  refunds { kind amount decidedOn }
}
"""


def expected_status(amount: int, paid: int, due: dt.date, today: dt.date) -> str:
    if paid >= amount:
        return "PAID"
    if due < today:
        return "OVERDUE"
    return "PARTIALLY_PAID" if paid > 0 else "UNPAID"


async def test_levies_installments_receipts(gql: Any, seeded_conn: AsyncConnection) -> None:
    today = request_date()
    pid = await someone_with(
        seeded_conn,
        "SELECT l.person_id FROM levies l JOIN levy_installments i ON i.levy_id = l.id "
        "JOIN levy_receipts r ON r.installment_id = i.id GROUP BY l.person_id ORDER BY count(*) DESC LIMIT 1",
    )
    levies = await all_rows(
        seeded_conn, "SELECT * FROM levies WHERE person_id = :p ORDER BY fiscal_year DESC", p=pid
    )
    got = (await person(gql, pid, LEVIES, fy=(None, "Int")))["levies"]
    assert [lv["fiscalYear"] for lv in got] == [lv.fiscal_year for lv in levies]
    for levy, row in zip(got, levies, strict=True):
        assert levy["incomeStage"] == name_of("income_stage", row.income_stage)
        assert levy["collectionMethod"] == name_of("collection_method", row.collection_method)
        assert levy["pensionPayer"] == name_of("pension_payer", row.pension_payer)
        assert levy["annualPremium"] == row.annual_premium
        installments = await all_rows(
            seeded_conn,
            "SELECT i.*, coalesce((SELECT sum(amount) FROM levy_receipts r "
            "WHERE r.installment_id = i.id), 0) AS paid "
            "FROM levy_installments i WHERE levy_id = :l ORDER BY period",
            l=row.id,
        )
        assert [i["period"] for i in levy["installments"]] == [i.period for i in installments]
        arrears = 0
        for inst, irow in zip(levy["installments"], installments, strict=True):
            assert inst["dueOn"] == iso(irow.due_on)
            assert inst["paidAmount"] == irow.paid
            assert inst["outstandingAmount"] == max(irow.amount - irow.paid, 0)
            assert inst["status"] == expected_status(irow.amount, irow.paid, irow.due_on, today)
            assert sum(r["amount"] for r in inst["receipts"]) == irow.paid
            if irow.due_on < today:
                arrears += max(irow.amount - irow.paid, 0)
        assert levy["arrearsAmount"] == arrears
        refunds = await all_rows(seeded_conn, "SELECT * FROM levy_refunds WHERE levy_id = :l", l=row.id)
        assert len(levy["refunds"]) == len(refunds)

    year = levies[-1].fiscal_year
    only = (await person(gql, pid, LEVIES, fy=(year, "Int")))["levies"]
    assert [lv["fiscalYear"] for lv in only] == [year]
    assert (await person(gql, pid, LEVIES, fy=(2099, "Int")))["levies"] == []


async def test_reminders_and_refunds(gql: Any, seeded_conn: AsyncConnection) -> None:
    reminder = await one(
        seeded_conn,
        "SELECT l.person_id, m.fee, m.sent_on FROM levy_reminders m JOIN levy_installments i "
        "ON i.id = m.installment_id JOIN levies l ON l.id = i.levy_id ORDER BY m.id LIMIT 1",
    )
    assert reminder is not None
    got = (await person(gql, reminder.person_id, LEVIES, fy=(None, "Int")))["levies"]
    sent = [r for lv in got for i in lv["installments"] for r in i["reminders"]]
    assert {"sentOn": iso(reminder.sent_on), "fee": reminder.fee} in [
        {"sentOn": r["sentOn"], "fee": r["fee"]} for r in sent
    ]

    refund = await one(
        seeded_conn,
        "SELECT l.person_id, f.kind, f.amount FROM levy_refunds f JOIN levies l ON l.id = f.levy_id "
        "ORDER BY f.id LIMIT 1",
    )
    if refund is None:  # the seed may have no refunds: add one inside the test's transaction
        levy = await one(seeded_conn, "SELECT id, person_id FROM levies ORDER BY id LIMIT 1")
        await seeded_conn.execute(
            text(
                "INSERT INTO levy_refunds (levy_id, kind, amount, decided_on) "
                "VALUES (:l, '1', 1234, '2026-06-01')"
            ),
            {"l": levy.id},
        )
        refund = await one(
            seeded_conn,
            "SELECT l.person_id, f.kind, f.amount FROM levy_refunds f JOIN levies l ON l.id = f.levy_id "
            "WHERE f.levy_id = :l",
            l=levy.id,
        )
    got = (await person(gql, refund.person_id, LEVIES, fy=(None, "Int")))["levies"]
    refunds = [r for lv in got for r in lv["refunds"]]
    assert {"kind": name_of("refund_kind", refund.kind), "amount": refund.amount} in [
        {"kind": r["kind"], "amount": r["amount"]} for r in refunds
    ]


@pytest.mark.parametrize("year", [1999, 2101, -1])
async def test_levies_fiscal_year_out_of_range(gql: Any, seeded_conn: AsyncConnection, year: int) -> None:
    pid = await someone_with(seeded_conn, "SELECT person_id FROM levies ORDER BY id LIMIT 1")
    body = await gql(
        "query($id: ID!, $fy: Int) { person(id: $id) { levies(fiscalYear: $fy) { fiscalYear } } }",
        {"id": str(pid), "fy": year},
    )
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "fiscalYear", "reason": "OUT_OF_RANGE"}
