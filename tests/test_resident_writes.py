"""住民異動 through the API (issue 18 item 1): one change applied as the feed's line, its answer, version,
history, idempotency, the review queue and who may write."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

pytestmark = pytest.mark.db
OFFICER = "kaigo_officer"

RECORD = """mutation R($i: ResidentChangeInput!) { recordResidentChange(input: $i) {
  __typename
  ... on ResidentChangeApplied { change { id outcome effect note requestId }
    person { id version address { line building postalCode } residentStatus
      history { version field oldValue newValue changedBy operation source }
      qualifications { acquiredOn acquisitionReason lostOn category version events { occurredOn reason } } } }
  ... on ResidentChangeQueued { change { id outcome reason version values { column value } } } } }"""
REVIEWS = "query { residentChangeReviews { id reason version addresseeCode } }"
CLOSE = """mutation C($id: ID!, $v: Int!) { closeResidentChangeReview(id: $id, version: $v, note: "市民課に確認済") {
  id closedBy closeNote version } }"""
HISTORY = "query H($id: ID!) { person(id: $id) { version history { field newValue } } }"


async def insured(conn: AsyncConnection, offset: int = 0) -> Any:
    return (
        await conn.execute(
            text(
                "SELECT p.id, p.addressee_code, p.version FROM persons p JOIN qualifications q ON q.person_id = p.id"
                " WHERE p.resident_status = '1' AND q.lost_on IS NULL AND q.category = '1'"
                " ORDER BY p.id OFFSET :o LIMIT 1"
            ),
            {"o": offset},
        )
    ).one()


def move_within(person: Any, rid: str, **over: Any) -> dict[str, Any]:
    return {
        "i": {
            "requestId": rid,
            "kind": "MOVE_WITHIN",
            "movedOn": "2026-11-25",
            "addresseeCode": person.addressee_code,
            "postalCode": "710-0055",
            "addressCode": "33202055",
            "address": "倉敷市阿知3-3",
            "version": person.version,
            **over,
        }
    }


async def ok(gql: Any, document: str, variables: dict[str, Any], role: str = OFFICER) -> dict[str, Any]:
    body = await gql(document, variables, role=role)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def error(gql: Any, document: str, variables: dict[str, Any], role: str = OFFICER) -> dict[str, Any]:
    body = await gql(document, variables, role=role)
    assert body["data"] is None, body
    return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


async def count(conn: AsyncConnection, table: str) -> int:
    return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_a_move_within_the_city_answers_the_person_with_history(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await insured(seeded_conn)
    answer = await ok(gql, RECORD, move_within(person, "mw-1"))
    assert answer["__typename"] == "ResidentChangeApplied"
    assert answer["change"]["effect"] == "ADDRESS_CHANGE"
    p = answer["person"]
    assert p["version"] == person.version + 1
    assert p["address"] == {"line": "倉敷市阿知3-3", "building": None, "postalCode": "710-0055"}
    changed = {h["field"]: h for h in p["history"] if h["version"] == person.version + 1}
    assert changed["address"]["newValue"] == "倉敷市阿知3-3" and changed["address"]["oldValue"]
    assert changed["address"]["changedBy"] == "test-kaigo_officer"
    assert (changed["address"]["operation"], changed["address"]["source"]) == ("recordResidentChange", "mw-1")
    assert {"occurredOn": "2026-11-25", "reason": "ADDRESS_CHANGE"} in p["qualifications"][0]["events"]
    # the audit entry of the mutation names the person
    persons = (
        await seeded_conn.execute(
            text("SELECT person_ids FROM audit_events WHERE operation_name = 'R' ORDER BY seq DESC LIMIT 1")
        )
    ).scalar_one()
    assert int(p["id"]) in persons
    # a role reading persons reads the history too
    seen = await ok(gql, HISTORY, {"id": p["id"]}, role="kenko_choju_officer")
    assert (
        seen["version"] == person.version + 1
        and {"field": "address", "newValue": "倉敷市阿知3-3"} in seen["history"]
    )


async def test_same_request_answers_the_same_and_other_input_is_refused(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await insured(seeded_conn, 1)
    first = await ok(gql, RECORD, move_within(person, "mw-2"))
    rows = await count(seeded_conn, "record_history"), await count(seeded_conn, "resident_moves")
    again = await ok(gql, RECORD, move_within(person, "mw-2"))
    assert again == first
    assert (await count(seeded_conn, "record_history"), await count(seeded_conn, "resident_moves")) == rows
    refused = await error(gql, RECORD, move_within(person, "mw-2", address="倉敷市阿知4-4"))
    assert refused["code"] == "REQUEST_ID_REUSED"


async def test_a_stale_version_is_a_conflict_and_changes_nothing(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await insured(seeded_conn, 2)
    await ok(gql, RECORD, move_within(person, "mw-3"))
    before = await count(seeded_conn, "record_history")
    conflict = await error(gql, RECORD, move_within(person, "mw-4", address="倉敷市阿知5-5"))
    assert (conflict["code"], conflict["field"], conflict["currentVersion"]) == (
        "CONFLICT",
        "input.version",
        person.version + 1,
    )
    assert await count(seeded_conn, "record_history") == before


@pytest.mark.parametrize(
    ("over", "field", "reason"),
    [
        ({"nameKana": "あらい"}, "input.nameKana", "FORMAT"),
        ({"kind": "NAME_CHANGE"}, "input.name", "REQUIRED"),
        ({"postalCode": "7100055"}, "input.postalCode", "FORMAT"),
        ({"addresseeCode": "12"}, "input.addresseeCode", "FORMAT"),
        ({"address": "倉敷市 123456789018"}, "input.address", "FORMAT"),
        ({"address": " "}, "input.address", "EMPTY"),
        ({"requestId": "@@"}, "input.requestId", "FORMAT"),
    ],
)
async def test_bad_input_is_refused_with_its_field(
    gql: Any, seeded_conn: AsyncConnection, over: dict[str, Any], field: str, reason: str
) -> None:
    person = await insured(seeded_conn, 3)
    before = await count(seeded_conn, "resident_changes")
    refused = await error(gql, RECORD, move_within(person, "bad-1", **over))
    assert (refused["code"], refused["field"], refused["reason"]) == ("BAD_USER_INPUT", field, reason)
    assert await count(seeded_conn, "resident_changes") == before


async def test_moving_in_at_70_acquires_and_an_unknown_move_out_is_queued(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    born = dt.date(1956, 5, 5)
    moved_in = await ok(
        gql,
        RECORD,
        {
            "i": {
                "requestId": "in-1",
                "kind": "MOVE_IN",
                "movedOn": "2026-11-20",
                "addresseeCode": "8800000001",
                "householdCode": "8800000001",
                "relationship": "HEAD",
                "name": "転入　太郎",
                "nameKana": "テンニュウ　タロウ",
                "sex": "MALE",
                "birthDate": born.isoformat(),
                "postalCode": "710-0001",
                "addressCode": "33202001",
                "address": "倉敷市本町9-9",
            }
        },
    )
    q = moved_in["person"]["qualifications"][0]
    assert (q["acquiredOn"], q["acquisitionReason"], q["category"], q["version"]) == (
        "2026-11-20",
        "ACQUIRED_MOVE_IN",
        "FIRST",
        1,
    )
    queued = await ok(
        gql,
        RECORD,
        {
            "i": {
                "requestId": "out-1",
                "kind": "MOVE_OUT",
                "movedOn": "2026-11-20",
                "addresseeCode": "8800000999",
            }
        },
    )
    assert queued["__typename"] == "ResidentChangeQueued"
    change = queued["change"]
    assert (change["outcome"], change["reason"]) == ("QUEUED", "UNKNOWN_PERSON")
    assert {"column": "kind", "value": "MOVE_OUT"} in change["values"]
    listed = await ok(gql, REVIEWS, {})
    assert change["id"] in {r["id"] for r in listed}
    closed = await ok(gql, CLOSE, {"id": change["id"], "v": change["version"]})
    assert (closed["closedBy"], closed["version"]) == ("test-kaigo_officer", change["version"] + 1)
    again = await error(gql, CLOSE, {"id": change["id"], "v": closed["version"]})
    assert (again["code"], again["state"]) == ("INVALID_TRANSITION", "CLOSED")
    assert change["id"] not in {r["id"] for r in await ok(gql, REVIEWS, {})}


@pytest.mark.parametrize(
    "role", ["kenko_choju_officer", "shido_kansa_officer", "security_auditor", "intermediate_server"]
)
async def test_roles_without_the_duty_have_no_such_mutation(
    gql: Any, seeded_conn: AsyncConnection, role: str
) -> None:
    person = await insured(seeded_conn, 4)
    body = await gql(RECORD, move_within(person, "no-1"), role=role)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await count(seeded_conn, "resident_changes") == 0
