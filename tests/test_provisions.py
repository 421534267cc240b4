"""提供 — provideInformation over every shipped provision entry, its denials, the review flow, replays,
malformed input, and the provision records a person's disclosure request finds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.guards import Guards
from policies.bodies import bodies_in
from policies.legal_bases import Direction, LegalBasis, entries, entry, information_items

from .provision_documents import (
    CONFIRM,
    PROVIDE,
    PROVIDE_BRIEF,
    RECORDS_OF,
    Resident,
    insured_resident,
    no_number,
    record_count,
    sentences,
    today,
)

pytestmark = pytest.mark.db


@pytest.fixture
def app(app_with: Callable[..., Any]) -> Any:
    """conftest's app without the per-principal rate limit: the catalogue test sends four requests for
    each of the 33 entries as one principal, faster than the default 20 a second (bursts of 100) allow
    on a quick machine. The limit has tests of its own."""
    return app_with(guards=Guards(rate_per_second=1e6, rate_burst=10**6))


DAY = timedelta(days=1)
LTCI = [i for i, item in information_items().items() if item.ltci]
# ProvidedInformation field of each information item
FIELD = {
    "QUALIFICATION": "qualification",
    "CERTIFICATION": "certification",
    "COPAY_RATIO": "copayRatios",
    "COST_LIMIT": "costLimits",
    "REDUCTION": "reductions",
    "BENEFITS": "benefits",
    "RESTRICTIONS": "restrictions",
    "LEVY": "levies",
    "PAYMENT_STATUS": "paymentStatus",
    "COMMUNITY_PROGRAMME": "communityProgramme",
}
SERVER = "intermediate_server"


def _request(resident: Resident, request_id: str, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "requestId": request_id,
        "permitNumber": f"PERMIT-{request_id}",
        "inquirer": "総社市長",
        "basisItem": "94",
        "subject": {"linkageCode": resident.linkage_code},
        "items": ["QUALIFICATION"],
        "requestDate": today().isoformat(),
    }
    values.update(over)
    return values


def _unpermitted(row: LegalBasis) -> str:
    return sorted(set(LTCI) - row.items)[0] if set(LTCI) - row.items else "LOCAL_TAX"


async def _provide(
    gql: Any, values: dict[str, Any], role: str = SERVER, *, document: str = PROVIDE
) -> dict[str, Any]:
    body = await gql(document, {"input": values}, role=role)
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["provideInformation"]
    return answer


async def test_every_provision_entry_allowed_and_denied(gql: Any, seeded_conn: AsyncConnection) -> None:
    """Each of the 33 entries in force: provided to its counterparty with its items; denied to another
    body, for an item it does not permit, and on the day before it came into force."""
    resident = await insured_resident(seeded_conn)
    rows = entries(Direction.PROVISION, today())
    assert len(rows) == 33
    for n, row in enumerate(rows):
        items = sorted(row.items)
        ok = await _provide(
            gql,
            _request(
                resident,
                f"e{n}",
                basisItem=row.item,
                inquirer=bodies_in(row.counterparty)[0].name,
                items=items,
            ),
        )
        assert ok["__typename"] == "Provided", (row.id, ok)
        record, payload = ok["record"], ok["payload"]
        assert (record["outcome"], record["code"], record["direction"]) == (
            "PROVIDED",
            "PROVIDED",
            "PROVISION",
        )
        assert record["basis"] == {
            "item": row.item,
            "legalBasisId": row.id,
            "instrument": row.instrument,
            "article": row.article,
            "citation": row.citation,
        }
        assert record["items"] == items and record["requestId"] == f"e{n}"
        assert record["actor"]["roles"] == [SERVER]
        assert sorted(payload["items"]) == items
        for item, field in FIELD.items():
            if item in row.items:
                assert payload[field] is not None, (row.id, item)
            else:
                assert payload[field] is None, (row.id, item)
        no_number(ok)

        wrong_body = await _provide(
            gql,
            _request(resident, f"e{n}-body", basisItem=row.item, inquirer="株式会社どこか", items=items),
            document=PROVIDE_BRIEF,
        )
        wrong_item = await _provide(
            gql,
            _request(
                resident,
                f"e{n}-item",
                basisItem=row.item,
                inquirer=bodies_in(row.counterparty)[0].name,
                items=[*items, _unpermitted(row)],
            ),
            document=PROVIDE_BRIEF,
        )
        for answer, code in (
            (wrong_body, "COUNTERPARTY_MISMATCH"),
            (wrong_item, "ITEM_NOT_PERMITTED"),
        ):
            assert answer["__typename"] == "Denied", (row.id, code, answer)
            assert answer["code"] == code and answer["record"]["code"] == code
            assert answer["record"]["outcome"] == "DENIED"
            sentences(answer)
        assert wrong_body["basis"]["id"] == row.id
        assert _unpermitted(row) in wrong_item["reason"]["en"]
    assert await record_count(seeded_conn) == 33 * 3


async def test_unknown_basis_unknown_subject_and_no_items(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    unknown = await _provide(gql, _request(resident, "u1", basisItem="999"))
    assert (unknown["__typename"], unknown["code"]) == ("Denied", "UNKNOWN_BASIS")
    assert unknown["basis"] is None and unknown["record"]["basis"]["legalBasisId"] is None
    sentences(unknown)

    nobody = await _provide(gql, _request(resident, "u2", subject={"linkageCode": "NOSUCHCODE"}))
    assert (nobody["__typename"], nobody["code"]) == ("Denied", "SUBJECT_OUT_OF_SCOPE")
    person = (
        await seeded_conn.execute(
            text("SELECT person_id, subject_kind FROM provision_records WHERE request_id = 'u2'")
        )
    ).one()
    assert person == (None, "LINKAGE_CODE")

    none = await _provide(gql, _request(resident, "u3", items=[]))
    assert none["code"] == "NO_ITEMS_REQUESTED"

    by_addressee = await _provide(
        gql, _request(resident, "u4", subject={"addresseeCode": resident.addressee_code})
    )
    assert by_addressee["__typename"] == "Provided"


async def test_out_of_scope_person_is_denied(gql: Any, seeded_conn: AsyncConnection) -> None:
    outsider = (
        await seeded_conn.execute(
            text(
                "SELECT p.linkage_code FROM persons p WHERE p.linkage_code IS NOT NULL AND NOT EXISTS ("
                " SELECT 1 FROM persons m JOIN qualifications q ON q.person_id = m.id"
                " WHERE m.household_code = p.household_code) LIMIT 1"
            )
        )
    ).first()
    if outsider is None:  # the generator may put every household in scope: make one person an outsider
        outsider = (
            await seeded_conn.execute(
                text(
                    "UPDATE persons SET household_code = '999999999999999' WHERE id = ("
                    " SELECT p.id FROM persons p WHERE p.linkage_code IS NOT NULL AND NOT EXISTS ("
                    "  SELECT 1 FROM qualifications q WHERE q.person_id = p.id) LIMIT 1) RETURNING linkage_code"
                )
            )
        ).one()
    resident = Resident(0, outsider.linkage_code, "")
    answer = await _provide(gql, _request(resident, "scope-1"))
    assert (answer["__typename"], answer["code"]) == ("Denied", "SUBJECT_OUT_OF_SCOPE")


async def test_household_member_of_an_insured_person_is_in_scope(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    member = (
        await seeded_conn.execute(
            text(
                "SELECT p.linkage_code FROM persons p WHERE p.linkage_code IS NOT NULL AND NOT p.no_automatic_response"
                " AND NOT EXISTS (SELECT 1 FROM qualifications q WHERE q.person_id = p.id)"
                " AND EXISTS (SELECT 1 FROM persons m JOIN qualifications q ON q.person_id = m.id"
                "   WHERE m.household_code = p.household_code) LIMIT 1"
            )
        )
    ).one()
    answer = await _provide(gql, _request(Resident(0, member.linkage_code, ""), "member-1"))
    assert answer["__typename"] == "Provided"
    assert answer["payload"]["qualification"] is None  # in scope, but holds no qualification


async def test_request_date_window_and_the_article_in_force(gql: Any, seeded_conn: AsyncConnection) -> None:
    """The network answers a request when it arrives: today or yesterday (procedures.toml), never a
    back-dated one (BAD_USER_INPUT, nothing recorded); decided against the row in force on that day."""
    resident = await insured_resident(seeded_conn)
    for n, day in enumerate((today(), today() - DAY)):
        answer = await _provide(gql, _request(resident, f"w{n}", requestDate=day.isoformat()))
        assert answer["__typename"] == "Provided"
        in_force = entry("94", Direction.PROVISION, day)
        assert in_force is not None and answer["record"]["basis"]["legalBasisId"] == in_force.id
    before = await record_count(seeded_conn)
    for n, day in enumerate((today() - 2 * DAY, date(2022, 1, 10), today() + DAY)):
        body = await gql(
            PROVIDE, {"input": _request(resident, f"back{n}", requestDate=day.isoformat())}, role=SERVER
        )
        assert body["data"] is None
        error = body["errors"][0]["extensions"]
        assert (error["code"], error["field"], error["reason"]) == (
            "BAD_USER_INPUT",
            "input.requestDate",
            "OUT_OF_RANGE",
        )
    assert await record_count(seeded_conn) == before


async def test_same_request_id_replays_and_other_input_is_refused(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    resident = await insured_resident(seeded_conn)
    values = _request(resident, "same-1", items=["CERTIFICATION", "QUALIFICATION", "LEVY"])
    first = await _provide(gql, values)
    again = await _provide(gql, {**values, "items": ["LEVY", "QUALIFICATION", "CERTIFICATION", "LEVY"]})
    assert first == again  # same union member, same record, same payload
    before = await record_count(seeded_conn)
    body = await gql(PROVIDE, {"input": {**values, "inquirer": "厚生労働大臣"}}, role=SERVER)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "REQUEST_ID_REUSED", "field": "input.requestId"}
    assert await record_count(seeded_conn) == before

    denied = _request(resident, "same-2", inquirer="株式会社どこか")
    assert await _provide(gql, denied) == await _provide(gql, denied)
    assert await record_count(seeded_conn) == before + 1


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"requestId": ""}, "input.requestId", "FORMAT"),
        ({"requestId": "a b"}, "input.requestId", "FORMAT"),
        ({"basisItem": "九十四"}, "input.basisItem", "FORMAT"),
        ({"requestDate": "2999-01-01"}, "input.requestDate", "OUT_OF_RANGE"),
        ({"inquirer": " "}, "input.inquirer", "EMPTY"),
        ({"inquirer": "市町村長 123456789018"}, "input.inquirer", "FORMAT"),
        ({"permitNumber": "123456789018"}, "input.permitNumber", "FORMAT"),
        ({"subject": {"addresseeCode": "12ab"}}, "input.subject.addresseeCode", "FORMAT"),
        ({"subject": {"linkageCode": "ー"}}, "input.subject.linkageCode", "FORMAT"),
    ],
)
async def test_malformed_input_is_bad_user_input_and_records_nothing(
    gql: Any, seeded_conn: AsyncConnection, change: dict[str, Any], field: str, reason: str
) -> None:
    resident = await insured_resident(seeded_conn)
    body = await gql(PROVIDE, {"input": _request(resident, "bad-1", **change)}, role=SERVER)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field, "reason": reason}
    assert "123456789018" not in str(body)
    assert await record_count(seeded_conn) == 0


@pytest.mark.parametrize(
    "variables",
    [
        {"items": ["NO_SUCH_ITEM"]},
        {"requestDate": "2026-02-30"},
        {"subject": {"linkageCode": "ABC", "addresseeCode": "1234567890"}},
    ],
)
async def test_unknown_items_bad_dates_and_two_subjects_are_refused(
    gql: Any, seeded_conn: AsyncConnection, variables: dict[str, Any]
) -> None:
    resident = await insured_resident(seeded_conn)
    body = await gql(PROVIDE, {"input": _request(resident, "bad-2", **variables)}, role=SERVER)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await record_count(seeded_conn) == 0


async def _flag(conn: AsyncConnection, resident: Resident) -> None:
    await conn.execute(
        text("UPDATE persons SET no_automatic_response = true WHERE id = :id"), {"id": resident.id}
    )


async def test_review_flow_pending_confirm_provided(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    await _flag(seeded_conn, resident)
    values = _request(resident, "rev-1", items=["QUALIFICATION", "CERTIFICATION"])
    pending = await _provide(gql, values)
    assert pending["__typename"] == "PendingReview"
    assert pending["record"]["outcome"] == pending["record"]["code"] == "PENDING_REVIEW"
    assert "自動応答不可" in pending["reason"]["ja"]
    assert await _provide(gql, values) == pending  # still pending: the same answer

    queue = await gql(
        "{ pendingProvisions { nodes { id person { addresseeCode } } } }", role="kaigo_section_chief"
    )
    assert queue["data"]["pendingProvisions"]["nodes"] == [
        {"id": pending["record"]["id"], "person": {"addresseeCode": resident.addressee_code}}
    ]

    body = await gql(
        CONFIRM,
        {"id": pending["record"]["id"], "approve": True, "note": "送信内容確認済み"},
        role="kaigo_section_chief",
    )
    confirmed = body["data"]["confirmProvision"]
    assert confirmed["__typename"] == "Provided"
    assert confirmed["record"]["outcome"] == "CONFIRMED"
    assert confirmed["record"]["code"] == "CONFIRMED_BY_REVIEWER"
    assert confirmed["record"]["resolvesRecordId"] == pending["record"]["id"]
    assert confirmed["record"]["note"] == "送信内容確認済み"
    assert confirmed["record"]["actor"]["roles"] == ["kaigo_section_chief"]
    assert confirmed["payload"]["qualification"]["insuredNumber"]
    assert confirmed["payload"]["certification"] is not None
    sentences(confirmed["record"])

    # The intermediate server, retrying its request, now gets what was sent.
    assert await _provide(gql, values) == confirmed
    queue = await gql("{ pendingProvisions { nodes { id } } }", role="kaigo_section_chief")
    assert queue["data"]["pendingProvisions"]["nodes"] == []

    again = await gql(CONFIRM, {"id": pending["record"]["id"], "approve": True}, role="kaigo_section_chief")
    assert again["data"] is None
    assert again["errors"][0]["extensions"] == {"code": "ALREADY_CONFIRMED", "field": "recordId"}
    refuse_after = await gql(
        CONFIRM, {"id": pending["record"]["id"], "approve": False}, role="kaigo_section_chief"
    )
    assert refuse_after["errors"][0]["extensions"]["code"] == "ALREADY_CONFIRMED"

    not_pending = await gql(
        CONFIRM, {"id": confirmed["record"]["id"], "approve": True}, role="kaigo_section_chief"
    )
    assert not_pending["errors"][0]["extensions"] == {"code": "NOT_PENDING_REVIEW", "field": "recordId"}
    missing = await gql(CONFIRM, {"id": "999999", "approve": True}, role="kaigo_section_chief")
    assert missing["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "recordId"}
    malformed = await gql(CONFIRM, {"id": "x", "approve": True}, role="kaigo_section_chief")
    assert malformed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_review_flow_refused(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    await _flag(seeded_conn, resident)
    values = _request(resident, "rev-2")
    pending = await _provide(gql, values)
    body = await gql(CONFIRM, {"id": pending["record"]["id"], "approve": False}, role="kaigo_section_chief")
    refused = body["data"]["confirmProvision"]
    assert (refused["__typename"], refused["code"]) == ("Denied", "REFUSED_BY_REVIEWER")
    assert refused["record"]["outcome"] == "REFUSED"
    assert refused["basis"]["id"] == pending["record"]["basis"]["legalBasisId"]
    sentences(refused)
    assert await _provide(gql, values) == refused


async def test_a_denied_provision_cannot_be_confirmed(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    denied = await _provide(gql, _request(resident, "rev-3", inquirer="株式会社どこか"))
    body = await gql(CONFIRM, {"id": denied["record"]["id"], "approve": True}, role="kaigo_section_chief")
    assert body["errors"][0]["extensions"]["code"] == "NOT_PENDING_REVIEW"


async def test_only_the_intermediate_server_provides(gql: Any, seeded_conn: AsyncConnection) -> None:
    """III-6 リスク2: provision goes through the intermediate server automatically; staff only confirm."""
    resident = await insured_resident(seeded_conn)
    answer = await _provide(gql, _request(resident, "server-1"))
    assert answer["__typename"] == "Provided" and answer["record"]["actor"]["roles"] == [SERVER]
    before = await record_count(seeded_conn)
    for n, role in enumerate(("kaigo_number_officer", "kaigo_section_chief")):
        body = await gql(PROVIDE, {"input": _request(resident, f"officer-{n}")}, role=role)
        assert body["data"] is None, role
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", role
    assert await record_count(seeded_conn) == before


async def test_provision_records_of_a_person_newest_first(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    other = await insured_resident(seeded_conn, offset=1)
    for n in range(3):
        await _provide(gql, _request(resident, f"disc-{n}"))
    await _provide(gql, _request(resident, "disc-denied", inquirer="株式会社どこか"))
    await _provide(gql, _request(other, "disc-other"))
    # an older record, inserted as the intermediate server would have written it a year ago
    await seeded_conn.execute(
        text(
            "INSERT INTO provision_records (recorded_at, direction, outcome, code, reason_ja, reason_en, provider,"
            " recipient, basis_item, items, actor_subject, actor_roles, person_id)"
            " VALUES (now() - interval '1 year', 'PROVISION', 'PROVIDED', 'PROVIDED', '提供しました。', 'Provided.',"
            " '倉敷市長', '市町村長', '94', ARRAY['QUALIFICATION'], 'old', ARRAY['intermediate_server'], :id)"
        ),
        {"id": resident.id},
    )
    first = await gql(RECORDS_OF, {"id": str(resident.id), "first": 3})
    page = first["data"]["provisionRecords"]
    ids = [e["node"]["requestId"] for e in page["edges"]]
    assert ids == ["disc-denied", "disc-2", "disc-1"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await gql(
        RECORDS_OF, {"id": str(resident.id), "first": 3, "after": page["pageInfo"]["endCursor"]}
    )
    rest = second["data"]["provisionRecords"]
    assert [e["node"]["requestId"] for e in rest["edges"]] == ["disc-0", None]
    assert rest["pageInfo"]["hasNextPage"] is False
    node = page["edges"][1]["node"]
    assert node["provider"] == "倉敷市長" and node["recipient"] == "総社市長"
    assert node["basis"]["citation"] and node["items"] == ["QUALIFICATION"]

    for role in ("kaigo_officer", "intermediate_server"):
        hidden = await gql(RECORDS_OF, {"id": str(resident.id)}, role=role)
        assert hidden["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    bad = await gql(RECORDS_OF, {"id": str(resident.id), "after": "nope"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_legal_bases_query(gql: Any) -> None:
    body = await gql(
        "{ legalBases(direction: PROVISION) { id item counterparty items autoResponse purpose { ja en } } }",
        role="intermediate_server",
    )
    rows = body["data"]["legalBases"]
    assert len(rows) == 33 and {r["item"] for r in rows} >= {"1", "56の2", "94", "120"}
    old = await gql(
        '{ legalBases(direction: PROVISION, on: "2019-06-01") { item } }', role="kaigo_section_chief"
    )
    assert "119" in {r["item"] for r in old["data"]["legalBases"]}
    everything = await gql("{ legalBases { direction } }", role="kaigo_number_officer")
    assert {r["direction"] for r in everything["data"]["legalBases"]} == {
        "USE",
        "INQUIRY",
        "PROVISION",
        "TRANSFER",
    }
