"""``persons``: every filter, keyset pagination with opaque cursors, page-size limits, bad input."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.codes import table
from resolvers.context import request_date

pytestmark = pytest.mark.db

PAGE = """
query Page($filter: PersonFilter, $first: Int!, $after: String) {
  persons(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

PAGE_WITH_TOTAL = PAGE.replace("pageInfo {", "totalCount pageInfo {")

ORDER = " ORDER BY name_kana, id"


async def ids(conn: AsyncConnection, where: str = "TRUE", **params: Any) -> list[str]:
    rows = await conn.execute(text(f"SELECT id FROM persons WHERE {where}{ORDER}"), params)
    return [str(r.id) for r in rows]


async def one(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).mappings().first()


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body.get("errors")
    persons: dict[str, Any] = body["data"]["persons"]
    return persons


async def walk(gql: Any, filter_: dict[str, Any] | None, first: int) -> list[str]:
    """Every id the connection gives, page by page, following endCursor."""
    seen: list[str] = []
    after = None
    for _ in range(1000):
        page = data_of(await gql(PAGE, {"filter": filter_, "first": first, "after": after}))
        seen += [e["node"]["id"] for e in page["edges"]]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        if page["edges"]:
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            return seen
        after = info["endCursor"]
    raise AssertionError("pagination does not end")


async def check_filter(
    gql: Any, conn: AsyncConnection, filter_: dict[str, Any], where: str, **params: Any
) -> None:
    expected = await ids(conn, where, **params)
    assert expected, f"the seeded city has persons for {filter_}"
    assert await walk(gql, filter_, 500) == expected


async def test_default_page_size_and_total(gql: Any, seeded_conn: AsyncConnection) -> None:
    everyone = await ids(seeded_conn)
    assert len(everyone) > 50
    page = data_of(await gql("{ persons { totalCount edges { node { id } } pageInfo { hasNextPage } } }"))
    assert [e["node"]["id"] for e in page["edges"]] == everyone[:50]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == len(everyone)


async def test_cursor_round_trip_covers_everyone_once(gql: Any, seeded_conn: AsyncConnection) -> None:
    assert await walk(gql, None, 37) == await ids(seeded_conn)


async def test_cursors_are_opaque_and_carry_no_personal_data(gql: Any, seeded_conn: AsyncConnection) -> None:
    page = data_of(await gql(PAGE, {"first": 5}))
    row = await one(seeded_conn, f"SELECT name_kana, addressee_code FROM persons{ORDER} LIMIT 1")
    cursor = page["edges"][0]["cursor"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert row.name_kana not in decoded and row.addressee_code not in decoded


async def test_last_page(gql: Any, seeded_conn: AsyncConnection) -> None:
    everyone = await ids(seeded_conn)
    page = data_of(await gql(PAGE, {"first": 500}))
    assert len(page["edges"]) == min(500, len(everyone))
    assert page["pageInfo"]["hasNextPage"] is (len(everyone) > 500)


@pytest.mark.parametrize("first", [0, -1, 501, 10_000])
async def test_page_size_out_of_range(gql: Any, first: int) -> None:
    body = await gql(PAGE, {"first": first})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first", "reason": "OUT_OF_RANGE"}
    assert "500" in error["message"]


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "",
        base64.urlsafe_b64encode(b"hello").decode(),
        base64.urlsafe_b64encode(b"person:abc").decode(),
        base64.urlsafe_b64encode(b"person:-1").decode(),
        base64.urlsafe_b64encode(b"person:99999999999999999999").decode(),
        "x" * 200,
    ],
)
async def test_malformed_cursor(gql: Any, cursor: str) -> None:
    body = await gql(PAGE, {"first": 5, "after": cursor})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after", "reason": "FORMAT"}


async def test_filter_by_kana_prefix(gql: Any, seeded_conn: AsyncConnection) -> None:
    row = await one(seeded_conn, f"SELECT name_kana FROM persons{ORDER} LIMIT 1 OFFSET 3")
    prefix = row.name_kana[:2]
    await check_filter(
        gql,
        seeded_conn,
        {"nameKanaPrefix": prefix},
        "(name_kana LIKE :p OR alias_name_kana LIKE :p)",
        p=prefix + "%",
    )


async def test_filter_by_alias_kana(gql: Any, seeded_conn: AsyncConnection) -> None:
    row = await one(seeded_conn, "SELECT id FROM persons ORDER BY id LIMIT 1")
    await seeded_conn.execute(
        text("UPDATE persons SET alias_name = 'ヴォ', alias_name_kana = 'ヴヴヴ　テスト' WHERE id = :id"),
        {"id": row.id},
    )
    page = data_of(await gql(PAGE, {"filter": {"nameKanaPrefix": "ヴヴヴ"}, "first": 10}))
    assert [e["node"]["id"] for e in page["edges"]] == [str(row.id)]


async def test_kana_pages_merge_names_and_aliases(gql: Any, seeded_conn: AsyncConnection) -> None:
    """The search reads 氏名カナ matches and 通称名カナ matches apart and merges them: across small pages
    every match comes once, in (氏名カナ, id) order, a person matching by both included once."""
    row = await one(seeded_conn, f"SELECT name_kana FROM persons{ORDER} LIMIT 1 OFFSET 7")
    prefix = row.name_kana[:2]
    named = await ids(seeded_conn, "name_kana LIKE :p", p=prefix + "%")
    others = await ids(seeded_conn, "name_kana NOT LIKE :p", p=prefix + "%")
    # aliases with the prefix on persons sorted before, among and after the name matches, and on one
    # person whose name matches too
    for pid in (others[0], others[len(others) // 2], others[-1], named[0]):
        await seeded_conn.execute(
            text("UPDATE persons SET alias_name = '通称', alias_name_kana = :k WHERE id = :id"),
            {"k": prefix + "ツウショウ", "id": int(pid)},
        )
    expected = await ids(seeded_conn, "(name_kana LIKE :p OR alias_name_kana LIKE :p)", p=prefix + "%")
    assert len(expected) == len(named) + 3
    for first in (1, 2, 5):
        assert await walk(gql, {"nameKanaPrefix": prefix}, first) == expected
    page = data_of(await gql(PAGE_WITH_TOTAL, {"filter": {"nameKanaPrefix": prefix}, "first": 2}))
    assert page["totalCount"] == len(expected)
    births = sorted(
        r.birth_date
        for r in await seeded_conn.execute(
            text("SELECT birth_date FROM persons WHERE id = ANY(:ids)"), {"ids": [int(i) for i in expected]}
        )
    )
    born = births[len(births) // 2]  # with another filter: about half of the matches
    await check_filter(
        gql,
        seeded_conn,
        {"nameKanaPrefix": prefix, "birthDateTo": born.isoformat()},
        "(name_kana LIKE :p OR alias_name_kana LIKE :p) AND birth_date <= :b",
        p=prefix + "%",
        b=born,
    )


async def test_kana_is_ordered_by_code_point_on_every_server(seeded_conn: AsyncConnection) -> None:
    """Collation "C" (migration 0007): 五十音 order as code points, whatever the server's locale."""
    columns = await seeded_conn.execute(
        text(
            "SELECT column_name, collation_name FROM information_schema.columns"
            " WHERE table_name = 'persons' AND column_name LIKE '%kana'"
        )
    )
    assert dict(columns.all()) == {"name_kana": "C", "alias_name_kana": "C"}
    rows = await seeded_conn.execute(text("SELECT name_kana FROM persons ORDER BY name_kana"))
    kana = [r.name_kana for r in rows]
    assert kana == sorted(kana)  # Python compares strings by code point


async def test_filter_by_birth_date_range(gql: Any, seeded_conn: AsyncConnection) -> None:
    await check_filter(
        gql,
        seeded_conn,
        {"birthDateFrom": "1950-01-01", "birthDateTo": "1955-12-31"},
        "birth_date BETWEEN :a AND :b",
        a=dt.date(1950, 1, 1),
        b=dt.date(1955, 12, 31),
    )
    await check_filter(
        gql, seeded_conn, {"birthDateFrom": "1950-01-01"}, "birth_date >= :a", a=dt.date(1950, 1, 1)
    )
    await check_filter(
        gql, seeded_conn, {"birthDateTo": "1950-01-01"}, "birth_date <= :b", b=dt.date(1950, 1, 1)
    )


async def test_filter_by_insured_number(gql: Any, seeded_conn: AsyncConnection) -> None:
    row = await one(seeded_conn, "SELECT person_id, insured_number FROM qualifications ORDER BY id LIMIT 1")
    page = data_of(await gql(PAGE, {"filter": {"insuredNumber": row.insured_number}, "first": 10}))
    assert [e["node"]["id"] for e in page["edges"]] == [str(row.person_id)]


async def test_filter_by_addressee_code(gql: Any, seeded_conn: AsyncConnection) -> None:
    row = await one(seeded_conn, "SELECT id, addressee_code FROM persons ORDER BY id DESC LIMIT 1")
    page = data_of(await gql(PAGE, {"filter": {"addresseeCode": row.addressee_code}, "first": 10}))
    assert [e["node"]["id"] for e in page["edges"]] == [str(row.id)]


async def test_filter_by_insured_category(gql: Any, seeded_conn: AsyncConnection) -> None:
    for value in table("insured_category").values[:2]:
        await check_filter(
            gql,
            seeded_conn,
            {"insuredCategory": value.name},
            "id IN (SELECT person_id FROM qualifications WHERE category = :c)",
            c=value.code,
        )


async def test_filter_by_care_level(gql: Any, seeded_conn: AsyncConnection) -> None:
    today = request_date()  # the API's request date
    row = await one(
        seeded_conn,
        "SELECT care_level, count(*) AS n FROM certifications WHERE valid_from <= :t AND valid_to >= :t "
        "AND (cancelled_on IS NULL OR cancelled_on > :t) GROUP BY care_level ORDER BY n DESC LIMIT 1",
        t=today,
    )
    assert row is not None, "the seeded city has certifications valid today"
    await check_filter(
        gql,
        seeded_conn,
        {"careLevel": table("care_level").by_code(row.care_level).name},
        "id IN (SELECT person_id FROM certifications WHERE care_level = :l AND valid_from <= :t "
        "AND valid_to >= :t AND (cancelled_on IS NULL OR cancelled_on > :t))",
        l=row.care_level,
        t=today,
    )


async def test_filters_combine_and_paginate(gql: Any, seeded_conn: AsyncConnection) -> None:
    expected = await ids(
        seeded_conn,
        "birth_date >= :a AND id IN (SELECT person_id FROM qualifications WHERE category = '1')",
        a=dt.date(1940, 1, 1),
    )
    assert len(expected) > 3
    got = await walk(gql, {"birthDateFrom": "1940-01-01", "insuredCategory": "FIRST"}, 3)
    assert got == expected
    total = data_of(
        await gql(
            PAGE_WITH_TOTAL,
            {"filter": {"birthDateFrom": "1940-01-01", "insuredCategory": "FIRST"}, "first": 1},
        )
    )["totalCount"]
    assert total == len(expected)


async def test_no_match_is_an_empty_page(gql: Any) -> None:
    page = data_of(await gql(PAGE, {"filter": {"addresseeCode": "000000000000000"}, "first": 10}))
    assert page["edges"] == []
    assert page["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


@pytest.mark.parametrize(
    ("filter_", "field", "reason"),
    [
        ({"nameKanaPrefix": ""}, "filter.nameKanaPrefix", "EMPTY"),
        ({"nameKanaPrefix": "やまだ"}, "filter.nameKanaPrefix", "FORMAT"),
        ({"nameKanaPrefix": "ﾔﾏﾀﾞ"}, "filter.nameKanaPrefix", "FORMAT"),
        ({"nameKanaPrefix": "YAMADA"}, "filter.nameKanaPrefix", "FORMAT"),
        ({"nameKanaPrefix": "ヤ%"}, "filter.nameKanaPrefix", "FORMAT"),
        ({"nameKanaPrefix": "　ヤマ"}, "filter.nameKanaPrefix", "FORMAT"),
        ({"nameKanaPrefix": "ア" * 51}, "filter.nameKanaPrefix", "TOO_LONG"),
        (
            {"birthDateFrom": "1960-01-02", "birthDateTo": "1960-01-01"},
            "filter.birthDateTo",
            "REVERSED_RANGE",
        ),
        ({"insuredNumber": "12345"}, "filter.insuredNumber", "FORMAT"),
        ({"insuredNumber": "１２３４５６７８９０"}, "filter.insuredNumber", "FORMAT"),
        ({"addresseeCode": "abc"}, "filter.addresseeCode", "FORMAT"),
    ],
)
async def test_bad_filters(gql: Any, filter_: dict[str, Any], field: str, reason: str) -> None:
    body = await gql(PAGE, {"filter": filter_, "first": 10})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field, "reason": reason}


async def test_unknown_enum_in_filter_is_refused(gql: Any) -> None:
    body = await gql(PAGE, {"filter": {"careLevel": "CARE_9"}, "first": 10})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in error["message"]
