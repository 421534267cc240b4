"""照会 — recordInquiry under 別表第2 93 and 94 (the two shipped inquiry entries), its denials, and
recordInquiryResponse."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.legal_bases import Direction, entries, information_items

from .provision_documents import (
    ANSWER_INQUIRY,
    RECORD_INQUIRY,
    insured_resident,
    record_count,
    sentences,
    today,
)

pytestmark = pytest.mark.db

ALL_ITEMS = list(information_items())


async def _ask(gql: Any, values: dict[str, Any], role: str = "kaigo_number_officer") -> dict[str, Any]:
    body = await gql(RECORD_INQUIRY, {"input": values}, role=role)
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["recordInquiry"]
    return answer


async def test_every_inquiry_entry(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    rows = entries(Direction.INQUIRY, today())
    assert sorted(r.item for r in rows) == ["93", "94"]
    providers = {"93": "全国健康保険協会", "94": "岡山市長"}
    for row in rows:
        items = sorted(i for i in row.items if row.provides(providers[row.item], i))
        base = {
            "basisItem": row.item,
            "provider": providers[row.item],
            "addresseeCode": resident.addressee_code,
            "items": items,
        }
        made = await _ask(gql, {**base, "requestId": f"inq-{row.item}", "permitNumber": f"PMT-{row.item}"})
        assert made["__typename"] == "InquiryRecorded", made
        assert made["inquiry"]["status"] == "INQUIRED" and made["inquiry"]["basis"]["id"] == row.id
        record = made["record"]
        assert (record["outcome"], record["code"], record["direction"]) == (
            "INQUIRED",
            "INQUIRY_ALLOWED",
            "INQUIRY",
        )
        assert (record["provider"], record["recipient"]) == (providers[row.item], "倉敷市長")
        assert record["inquiryId"] == made["inquiry"]["id"] and record["permitNumber"] == f"PMT-{row.item}"
        assert (
            await _ask(gql, {**base, "requestId": f"inq-{row.item}", "permitNumber": f"PMT-{row.item}"})
            == made
        )

        no_permit = await _ask(gql, {**base, "requestId": f"inq-{row.item}-p"})
        wrong = sorted(set(ALL_ITEMS) - row.items)[0]
        not_permitted = await _ask(
            gql, {**base, "requestId": f"inq-{row.item}-i", "permitNumber": "P", "items": [*items, wrong]}
        )
        for denied, code in ((no_permit, "PERMIT_REQUIRED"), (not_permitted, "ITEM_NOT_PERMITTED")):
            assert (denied["__typename"], denied["code"]) == ("Denied", code)
            assert denied["record"]["outcome"] == "DENIED"
            sentences(denied)

        response = {"answeredItems": items[:1], "summary": "課税情報あり（所得段階の判定に使用）"}
        body = await gql(ANSWER_INQUIRY, {"id": made["inquiry"]["id"], "response": response})
        answered = body["data"]["recordInquiryResponse"]
        assert answered["inquiry"]["status"] == "ANSWERED"
        assert answered["inquiry"]["answer"]["answeredItems"] == items[:1]
        assert answered["inquiry"]["answer"]["summary"] == response["summary"]
        assert (answered["record"]["outcome"], answered["record"]["items"]) == ("INQUIRY_ANSWERED", items[:1])
        sentences(answered["record"])
        twice = await gql(ANSWER_INQUIRY, {"id": made["inquiry"]["id"], "response": response})
        assert twice["errors"][0]["extensions"] == {"code": "ALREADY_ANSWERED", "field": "inquiryId"}


async def test_inquiry_denials_and_errors(gql: Any, seeded_conn: AsyncConnection) -> None:
    resident = await insured_resident(seeded_conn)
    base = {
        "requestId": "inq-x",
        "permitNumber": "P-1",
        "basisItem": "42",
        "provider": "岡山市長",
        "addresseeCode": resident.addressee_code,
        "items": ["QUALIFICATION"],
    }
    unknown = await _ask(gql, base)
    assert (unknown["code"], unknown["basis"]) == ("UNKNOWN_BASIS", None)  # only 93 and 94 are inquiries
    before = await record_count(seeded_conn)
    nobody = await gql(
        RECORD_INQUIRY, {"input": {**base, "requestId": "inq-y", "addresseeCode": "9999999999"}}
    )
    assert nobody["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "input.addresseeCode"}
    reused = await gql(RECORD_INQUIRY, {"input": {**base, "basisItem": "94"}})
    assert reused["errors"][0]["extensions"]["code"] == "REQUEST_ID_REUSED"
    assert await record_count(seeded_conn) == before

    made = await _ask(
        gql, {**base, "requestId": "inq-z", "basisItem": "94", "items": ["QUALIFICATION", "LEVY"]}
    )
    iid = made["inquiry"]["id"]
    outside = await gql(
        ANSWER_INQUIRY, {"id": iid, "response": {"answeredItems": ["BENEFITS"], "summary": ""}}
    )
    assert outside["errors"][0]["extensions"]["field"] == "response.answeredItems"
    numbered = await gql(
        ANSWER_INQUIRY, {"id": iid, "response": {"answeredItems": ["LEVY"], "summary": "番号 123456789018"}}
    )
    assert numbered["errors"][0]["extensions"]["reason"] == "FORMAT"
    assert "123456789018" not in str(numbered)
    missing = await gql(ANSWER_INQUIRY, {"id": "424242", "response": {"answeredItems": [], "summary": ""}})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    answered_at = (
        await seeded_conn.execute(text("SELECT answered_at FROM inquiries WHERE id = :id"), {"id": int(iid)})
    ).scalar_one()
    assert answered_at is None  # the refused answers left nothing behind

    hidden = await gql(RECORD_INQUIRY, {"input": base}, role="intermediate_server")
    assert hidden["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
