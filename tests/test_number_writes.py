"""The individual number taken in (issue 18 item 6): set or corrected by number-use roles only, the check
digit enforced, a number of another person refused, the identity check recorded, the number encrypted and
found by its blind index, and never echoed to other roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.crypto import NumberVault
from persistence.individual_numbers import find_person_id
from policies.individual_number import IndividualNumber, complete, find_valid_numbers

from .write_support import moved_in

pytestmark = pytest.mark.db
OFFICER = "kaigo_number_officer"
TODAY = dt.date.today()
FIRST = complete("80012345678")
SECOND = complete("80012345679")
RECORD = """mutation N($i: RecordIndividualNumberInput!) { recordIndividualNumber(input: $i) {
  id version individualNumber identityChecks { purpose method checkedOn documents checkedBy }
  history { version field oldValue newValue } } }"""


def given(
    p: dict[str, Any], rid: str, number: str, purpose: str = "NEW", version: int | None = None
) -> dict[str, Any]:
    return {
        "i": {
            "requestId": rid,
            "personId": p["id"],
            "version": version if version is not None else p["version"],
            "purpose": purpose,
            "individualNumber": number,
            "identityCheck": {
                "method": "MY_NUMBER_CARD",
                "checkedOn": TODAY.isoformat(),
                "documents": "個人番号カード提示",
            },
        }
    }


async def test_set_then_correct_with_the_identity_check(
    gql: Any, seeded_conn: AsyncConnection, vault: NumberVault
) -> None:
    p = await moved_in(gql, "8500000001", dt.date(1950, 5, 5))
    body = await gql(RECORD, given(p, "n-1", FIRST), role=OFFICER)
    assert "errors" not in body, body
    answer = body["data"]["recordIndividualNumber"]
    assert (answer["individualNumber"], answer["version"]) == (FIRST, p["version"] + 1)
    assert answer["identityChecks"] == [
        {
            "purpose": "NEW",
            "method": "MY_NUMBER_CARD",
            "checkedOn": TODAY.isoformat(),
            "documents": "個人番号カード提示",
            "checkedBy": "test-kaigo_number_officer",
        }
    ]
    changed = [h for h in answer["history"] if h["version"] == answer["version"]]
    assert changed == [
        {"version": answer["version"], "field": "individual_number", "oldValue": None, "newValue": None}
    ]
    # the stored form: encrypted with the addressee code bound in, found by the blind index
    assert await find_person_id(seeded_conn, vault, IndividualNumber.parse(FIRST)) == int(p["id"])
    stored = (
        await seeded_conn.execute(
            text("SELECT individual_number_enc, addressee_code FROM persons WHERE id = :i"),
            {"i": int(p["id"])},
        )
    ).one()
    assert FIRST.encode() not in bytes(stored.individual_number_enc)
    assert (
        vault.decrypt(stored.individual_number_enc, context=stored.addressee_code.encode()).reveal() == FIRST
    )
    replay = await gql(RECORD, given(p, "n-1", FIRST), role=OFFICER)
    assert (
        replay["data"]["recordIndividualNumber"]["identityChecks"] == answer["identityChecks"]
    )  # one check, not two
    again = await gql(RECORD, given(p, "n-2", SECOND, version=answer["version"]), role=OFFICER)
    assert (again["errors"][0]["extensions"]["code"], again["errors"][0]["extensions"]["state"]) == (
        "INVALID_TRANSITION",
        "HAS_NUMBER",
    )
    same = await gql(RECORD, given(p, "n-3", FIRST, "CORRECTION", answer["version"]), role=OFFICER)
    assert same["errors"][0]["extensions"]["state"] == "SAME_NUMBER"
    corrected = await gql(RECORD, given(p, "n-4", SECOND, "CORRECTION", answer["version"]), role=OFFICER)
    assert corrected["data"]["recordIndividualNumber"]["individualNumber"] == SECOND
    assert [c["purpose"] for c in corrected["data"]["recordIndividualNumber"]["identityChecks"]] == [
        "NEW",
        "CORRECTION",
    ]
    assert await find_person_id(seeded_conn, vault, IndividualNumber.parse(FIRST)) is None
    # another role reads the history: the field changed, never a number
    seen = await gql(
        "query H($id: ID!) { person(id: $id) { history { field oldValue newValue } } }",
        {"id": p["id"]},
        role="kaigo_officer",
    )
    assert {"field": "individual_number", "oldValue": None, "newValue": None} in seen["data"]["person"][
        "history"
    ]
    assert find_valid_numbers(str(seen)) == []


async def test_refusals_never_echo_the_number(
    gql: Any, seeded_conn: AsyncConnection, vault: NumberVault
) -> None:
    p = await moved_in(gql, "8500000002", dt.date(1950, 5, 5))
    wrong = FIRST[:-1] + str((int(FIRST[-1]) + 1) % 10)
    bad = await gql(RECORD, given(p, "b-1", wrong), role=OFFICER)
    assert (
        bad["errors"][0]["extensions"]["code"],
        bad["errors"][0]["extensions"]["reason"],
        bad["errors"][0]["extensions"]["field"],
    ) == (
        "BAD_USER_INPUT",
        "CHECK_DIGIT",
        "input.individualNumber",
    )
    holder = (
        await seeded_conn.execute(
            text(
                "SELECT addressee_code, individual_number_enc FROM persons WHERE individual_number_enc IS NOT NULL ORDER BY id LIMIT 1"
            )
        )
    ).one()
    taken = vault.decrypt(holder.individual_number_enc, context=holder.addressee_code.encode()).reveal()
    duplicate = await gql(RECORD, given(p, "b-2", taken), role=OFFICER)
    assert duplicate["errors"][0]["extensions"] == {
        "code": "NUMBER_IN_USE",
        "field": "input.individualNumber",
    }
    assert duplicate["data"] is None
    none = await gql(RECORD, given(p, "b-3", FIRST, "CORRECTION"), role=OFFICER)
    assert none["errors"][0]["extensions"]["state"] == "NO_NUMBER"
    for body in (bad, duplicate, none):
        assert find_valid_numbers(str(body)) == [] and wrong not in str(body)
    assert (await seeded_conn.execute(text("SELECT count(*) FROM identity_checks"))).scalar_one() == 0


@pytest.mark.parametrize(
    "role", ["kaigo_officer", "kenko_choju_officer", "intermediate_server", "security_auditor"]
)
async def test_only_number_use_roles_may_record_a_number(gql: Any, role: str) -> None:
    body = await gql(
        RECORD,
        {
            "i": {
                "requestId": "r",
                "personId": "1",
                "version": 1,
                "purpose": "NEW",
                "individualNumber": FIRST,
                "identityCheck": {"method": "MY_NUMBER_CARD", "checkedOn": TODAY.isoformat()},
            }
        },
        role=role,
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert FIRST not in str(body)
