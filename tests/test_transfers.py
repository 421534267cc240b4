"""移転 — applications, the section's judgement and transfers over every shipped transfer entry; the
permission's life (not approved, rejected, expired, not yet valid, another department); a whole-city
transfer paged with cursors; replays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.legal_bases import Direction, entries, information_items

from .provision_documents import (
    DECIDE_TRANSFER,
    RECORDS_OF,
    REQUEST_TRANSFER,
    TRANSFER,
    no_number,
    sentences,
    today,
)

pytestmark = pytest.mark.db

DAY = timedelta(days=1)
LTCI = [i for i, item in information_items().items() if item.ltci]
DEPARTMENTS = ("seikatsu_fukushi", "kokumin_kenko_hoken", "bosai_kiki_kanri", "fukushi_engo")
CHIEF = "kaigo_section_chief"


async def _apply(gql: Any, department: str, request_id: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "requestId": request_id,
        "basisItem": "56の2",
        "items": ["QUALIFICATION", "CERTIFICATION"],
        "purpose": "被災者台帳の作成",
        "validFrom": today().isoformat(),
        "validTo": (today() + 30 * DAY).isoformat(),
    }
    values.update(over)
    body = await gql(REQUEST_TRANSFER, {"input": values}, role="receiving_department", department=department)
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["requestTransferPermission"]
    return answer


async def _decide(
    gql: Any, permission_id: str, approve: bool = True, reason: str | None = None
) -> dict[str, Any]:
    body = await gql(DECIDE_TRANSFER, {"id": permission_id, "approve": approve, "reason": reason}, role=CHIEF)
    return body


async def _transfer(
    gql: Any, department: str, request_id: str, permission_id: str, **over: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "requestId": request_id,
        "permissionId": permission_id,
        "items": ["QUALIFICATION", "CERTIFICATION"],
        "first": 5,
    }
    values.update(over)
    body = await gql(TRANSFER, {"input": values}, role="receiving_department", department=department)
    return body


async def _approved(gql: Any, department: str = "bosai_kiki_kanri", **over: Any) -> str:
    applied = await _apply(gql, department, f"app-{department}-{len(over)}-{hash(str(over)) % 10**6}", **over)
    assert applied["__typename"] == "TransferPermissionRequested", applied
    decided = await _decide(gql, applied["permission"]["id"])
    assert decided["data"]["decideTransferPermission"]["permission"]["status"] == "APPROVED"
    permission_id: str = applied["permission"]["id"]
    return permission_id


async def test_every_transfer_entry(gql: Any, seeded_conn: AsyncConnection) -> None:
    rows = entries(Direction.TRANSFER, today())
    assert len(rows) == 6
    for n, row in enumerate(rows):
        dept, items = row.counterparty, sorted(row.items)
        other = next(d for d in DEPARTMENTS if d != dept)
        applied = await _apply(gql, dept, f"t{n}", basisItem=row.item, items=items, purpose=row.purpose[:100])
        assert applied["__typename"] == "TransferPermissionRequested", (row.id, applied)
        permission = applied["permission"]
        assert (permission["status"], permission["department"], permission["basis"]["id"]) == (
            "REQUESTED",
            dept,
            row.id,
        )
        assert applied["record"]["outcome"] == "PERMISSION_REQUESTED"
        assert applied["record"]["actor"]["department"] == dept
        sentences(applied)

        body = await _decide(gql, permission["id"], reason="法的根拠を確認")
        decided = body["data"]["decideTransferPermission"]
        assert decided["permission"]["status"] == "APPROVED"
        assert decided["permission"]["decisionReason"] == "法的根拠を確認"
        assert (decided["record"]["outcome"], decided["record"]["code"]) == (
            "PERMISSION_APPROVED",
            "PERMISSION_APPROVED",
        )
        assert row.citation in decided["record"]["reason"]["ja"]

        body = await _transfer(gql, dept, f"t{n}-x", permission["id"], items=items)
        page = body["data"]["transferInformation"]
        assert page["__typename"] == "TransferPage", (row.id, page)
        assert len(page["persons"]) == 5 and page["pageInfo"]["hasNextPage"]
        assert page["record"]["outcome"] == "TRANSFERRED" and page["record"]["page"]["personCount"] == 5
        assert page["record"]["transferPermissionId"] == permission["id"]
        for person in page["persons"]:
            assert sorted(person["information"]["items"]) == items
            assert (person["information"]["levies"] is None) is ("LEVY" not in row.items)
        no_number(page)

        stolen = (await _transfer(gql, other, f"t{n}-y", permission["id"], items=items))["data"][
            "transferInformation"
        ]
        assert (stolen["__typename"], stolen["code"]) == ("Denied", "COUNTERPARTY_MISMATCH")
        extra = sorted(set(LTCI) - row.items)[0]
        too_much = (await _transfer(gql, dept, f"t{n}-z", permission["id"], items=[*items, extra]))["data"][
            "transferInformation"
        ]
        assert (too_much["__typename"], too_much["code"]) == ("Denied", "ITEM_NOT_PERMITTED")
        for denied in (stolen, too_much):
            assert denied["record"]["outcome"] == "DENIED"
            sentences(denied)

        # Applications the law refuses, recorded as denials.
        for k, (over, code) in enumerate(
            (
                ({"basisItem": "999"}, "UNKNOWN_BASIS"),
                ({"items": [*items, extra]}, "ITEM_NOT_PERMITTED"),
                ({"validFrom": "2015-12-01", "validTo": "2015-12-31"}, "BASIS_NOT_IN_FORCE"),
                ({"validTo": (today() + 31 * DAY).isoformat()}, "PERIOD_TOO_LONG"),
                ({"validTo": None}, "PERIOD_TOO_LONG"),
                ({"validTo": (today() - 10 * DAY).isoformat()}, "INVALID_PERIOD"),
            )
        ):
            refused = await _apply(
                gql, dept, f"t{n}-{code}-{k}", **{"basisItem": row.item, "items": items, **over}
            )
            assert (refused["__typename"], refused["code"]) == ("Denied", code), (row.id, refused)
            sentences(refused)
        wrong_dept = await _apply(gql, other, f"t{n}-dept", basisItem=row.item, items=items)
        if row.item not in {r.item for r in rows if r.counterparty == other}:
            assert (wrong_dept["__typename"], wrong_dept["code"]) == ("Denied", "COUNTERPARTY_MISMATCH")


async def test_permission_life(gql: Any, seeded_conn: AsyncConnection) -> None:
    dept = "bosai_kiki_kanri"
    pending = await _apply(gql, dept, "life-1")
    pid = pending["permission"]["id"]
    not_yet = (await _transfer(gql, dept, "life-x1", pid))["data"]["transferInformation"]
    assert not_yet["code"] == "PERMISSION_NOT_APPROVED"

    rejected = await _apply(gql, dept, "life-2")
    body = await _decide(gql, rejected["permission"]["id"], approve=False, reason="目的が不明確")
    assert body["data"]["decideTransferPermission"]["permission"]["status"] == "REJECTED"
    assert body["data"]["decideTransferPermission"]["record"]["outcome"] == "PERMISSION_REJECTED"
    after_reject = (await _transfer(gql, dept, "life-x2", rejected["permission"]["id"]))["data"][
        "transferInformation"
    ]
    assert after_reject["code"] == "PERMISSION_NOT_APPROVED"
    twice = await _decide(gql, rejected["permission"]["id"], approve=True)
    assert twice["data"] is None and twice["errors"][0]["extensions"] == {
        "code": "ALREADY_DECIDED",
        "field": "id",
    }
    missing = await _decide(gql, "987654")
    assert missing["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}

    expired = await _approved(
        gql, validFrom=(today() - 20 * DAY).isoformat(), validTo=(today() - DAY).isoformat()
    )
    answer = (await _transfer(gql, dept, "life-x3", expired))["data"]["transferInformation"]
    assert (answer["__typename"], answer["code"]) == ("Denied", "PERMISSION_EXPIRED")
    sentences(answer)

    last_day = await _approved(gql, validFrom=(today() - 20 * DAY).isoformat(), validTo=today().isoformat())
    assert (await _transfer(gql, dept, "life-x4", last_day))["data"]["transferInformation"][
        "__typename"
    ] == "TransferPage"

    future = await _approved(gql, validFrom=(today() + DAY).isoformat())
    answer = (await _transfer(gql, dept, "life-x5", future))["data"]["transferInformation"]
    assert answer["code"] == "PERMISSION_NOT_YET_VALID"

    unknown = await _transfer(gql, dept, "life-x6", "987654")
    assert unknown["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "input.permissionId"}

    own = await gql(
        "{ departmentTransferPermissions { department status } }",
        role="receiving_department",
        department=dept,
    )
    assert {p["department"] for p in own["data"]["departmentTransferPermissions"]} == {dept}
    none = await gql(
        "{ departmentTransferPermissions { id } }", role="receiving_department", department="fukushi_engo"
    )
    assert none["data"]["departmentTransferPermissions"] == []
    queue = await gql("{ transferPermissions(status: REQUESTED) { id } }", role=CHIEF)
    assert {p["id"] for p in queue["data"]["transferPermissions"]} == {pid}


async def test_whole_city_transfer_pages_through_every_in_scope_person_once(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    dept = "bosai_kiki_kanri"
    pid = await _approved(gql)
    expected = {
        r.addressee_code
        for r in (
            await seeded_conn.execute(
                text(
                    "SELECT p.addressee_code FROM persons p WHERE EXISTS (SELECT 1 FROM persons m"
                    " JOIN qualifications q ON q.person_id = m.id WHERE m.household_code = p.household_code)"
                    " AND NOT p.no_automatic_response"
                )
            )
        ).all()
    }
    flagged = {
        r.id
        for r in (
            await seeded_conn.execute(
                text(
                    "SELECT p.id FROM persons p WHERE p.no_automatic_response AND EXISTS (SELECT 1 FROM persons m"
                    " JOIN qualifications q ON q.person_id = m.id WHERE m.household_code = p.household_code)"
                )
            )
        ).all()
    }
    assert flagged, "the seeded city has persons flagged 自動応答不可"
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        body = await _transfer(gql, dept, "ledger-2026", pid, first=100, after=after)
        page = body["data"]["transferInformation"]
        assert page["__typename"] == "TransferPage", page
        pages += 1
        seen.extend(p["addresseeCode"] for p in page["persons"])
        assert page["record"]["page"]["personCount"] == len(page["persons"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    assert pages == -(-len(expected) // 100)
    stored = (
        await seeded_conn.execute(
            text(
                "SELECT count(*), sum(person_count), sum(cardinality(person_ids)) FROM provision_records"
                " WHERE request_scope = 'TRANSFER:bosai_kiki_kanri:ledger-2026' AND outcome = 'TRANSFERRED'"
            )
        )
    ).one()
    assert tuple(stored) == (pages, len(expected), len(expected))

    # A page asked again (a retry) is the same page and the same record; nothing new is written.
    again = (await _transfer(gql, dept, "ledger-2026", pid, first=100, after=after))["data"][
        "transferInformation"
    ]
    assert again["record"]["id"] == page["record"]["id"]
    assert [p["addresseeCode"] for p in again["persons"]] == [p["addresseeCode"] for p in page["persons"]]
    changed = await _transfer(gql, dept, "ledger-2026", pid, first=50)
    assert changed["errors"][0]["extensions"]["code"] == "REQUEST_ID_REUSED"
    count = (
        await seeded_conn.execute(
            text(
                "SELECT count(*) FROM provision_records WHERE request_scope = 'TRANSFER:bosai_kiki_kanri:ledger-2026'"
            )
        )
    ).scalar_one()
    assert count == pages
    # the flagged persons were never transferred: each waits for review in a PENDING_REVIEW record
    withheld = (
        await seeded_conn.execute(
            text(
                "SELECT person_ids FROM provision_records WHERE request_id = 'ledger-2026'"
                " AND outcome = 'PENDING_REVIEW' AND direction = 'TRANSFER'"
            )
        )
    ).all()
    assert {pid for (ids,) in withheld for pid in ids} == flagged

    # The person's disclosure request finds the page that carried them.
    person_id = (
        await seeded_conn.execute(text("SELECT id FROM persons WHERE addressee_code = :c"), {"c": seen[0]})
    ).scalar_one()
    records = await gql(RECORDS_OF, {"id": str(person_id)})
    outcomes = [e["node"]["outcome"] for e in records["data"]["provisionRecords"]["edges"]]
    assert "TRANSFERRED" in outcomes


async def test_subjects_filter_and_malformed_input(gql: Any, seeded_conn: AsyncConnection) -> None:
    dept = "bosai_kiki_kanri"
    pid = await _approved(gql)
    codes = [
        r.addressee_code
        for r in (
            await seeded_conn.execute(
                text(
                    "SELECT p.addressee_code FROM persons p JOIN qualifications q ON q.person_id = p.id"
                    " WHERE NOT p.no_automatic_response LIMIT 3"
                )
            )
        ).all()
    ]
    body = await _transfer(gql, dept, "subj-1", pid, subjects=[*codes, "9999999999"], first=10)
    page = body["data"]["transferInformation"]
    assert sorted(p["addresseeCode"] for p in page["persons"]) == sorted(codes)
    assert page["unmatchedSubjects"] == ["9999999999"]

    pid = await _approved(gql, purpose="被災者台帳 (filter)")  # one permission per transfer request
    body = await _transfer(gql, dept, "filter-1", pid, filter={"careLevel": "CARE_1"}, first=100)
    page = body["data"]["transferInformation"]
    assert page["persons"], "the seeded city has persons at care level 1"
    assert {p["information"]["certification"]["careLevel"] for p in page["persons"]} == {"CARE_1"}

    # Free text is costed at the page size asked (a department's imported document is not, and the
    # resolver refuses first > 1000: tests/test_persisted_trusted.py).
    pid = await _approved(gql, purpose="被災者台帳 (cost)")
    over_cost = await _transfer(gql, dept, "big-1", pid, first=1000)
    assert over_cost["data"] is None and over_cost["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    for over, field, reason in (
        ({"first": 0}, "input.first", "OUT_OF_RANGE"),
        ({"after": "garbage"}, "input.after", "FORMAT"),
        ({"subjects": ["12"]}, "input.subjects", "FORMAT"),
        ({"subjects": codes, "filter": {"careLevel": "CARE_1"}}, "input.filter", "FORMAT"),
        ({"permissionId": "abc"}, "input.permissionId", "FORMAT"),
        ({"requestId": "no spaces"}, "input.requestId", "FORMAT"),
    ):
        body = await _transfer(gql, dept, "bad-1", pid, **over)
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field, "reason": reason}
    bad_purpose = await gql(
        REQUEST_TRANSFER,
        {
            "input": {
                "requestId": "bad-2",
                "basisItem": "56の2",
                "items": ["QUALIFICATION"],
                "purpose": "",
                "validFrom": today().isoformat(),
            }
        },
        role="receiving_department",
        department=dept,
    )
    assert bad_purpose["errors"][0]["extensions"]["reason"] == "EMPTY"


async def test_application_is_idempotent(gql: Any, seeded_conn: AsyncConnection) -> None:
    dept = "fukushi_engo"
    first = await _apply(gql, dept, "idem-1", basisItem="61", items=["QUALIFICATION"])
    again = await _apply(gql, dept, "idem-1", basisItem="61", items=["QUALIFICATION"])
    assert first == again
    # The same request id of another department is another application.
    other = await _apply(gql, "bosai_kiki_kanri", "idem-1")
    assert other["permission"]["id"] != first["permission"]["id"]
    changed = await gql(
        REQUEST_TRANSFER,
        {
            "input": {
                "requestId": "idem-1",
                "basisItem": "62",
                "items": ["QUALIFICATION"],
                "purpose": "被災者台帳の作成",
                "validFrom": today().isoformat(),
            }
        },
        role="receiving_department",
        department=dept,
    )
    assert changed["errors"][0]["extensions"]["code"] == "REQUEST_ID_REUSED"
    count = (await seeded_conn.execute(text("SELECT count(*) FROM transfer_permissions"))).scalar_one()
    assert count == 2
