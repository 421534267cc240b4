"""Errors: every one has extensions.code; nothing unexpected leaks a stack, SQL or a number."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

pytestmark = pytest.mark.db


@pytest.fixture
def app(app_with: Any) -> Any:
    """Every query through strawberry's executor (errors raised inside the executor's resolvers are what these tests are about; the planner has its own tests)."""
    return app_with(planned_reads=False)


LEAKS = ("Traceback", 'File "', "SELECT", "sqlalchemy", "asyncpg", "DecryptionError", "Did you mean")


def assert_clean(response_text: str) -> None:
    for leak in LEAKS:
        assert leak not in response_text, leak


@pytest.mark.parametrize(
    "query",
    ["{ persons { edges { node { id } }", "query {", "}{", "{ persons(first: ) { edges { node { id } } } }"],
)
async def test_malformed_graphql(gql_response: Any, query: str) -> None:
    response = await gql_response(query)
    body = response.json()
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_PARSE_FAILED"]
    assert_clean(response.text)


@pytest.mark.parametrize(
    "query",
    [
        "{ persons { edges { node { idd } } } }",
        "{ persons { edges { node { individualNumbr } } } }",
        "{ person { id } }",  # missing required argument
        '{ person(id: "1", foo: 2) { id } }',  # unknown argument
        '{ persons(first: "ten") { edges { node { id } } } }',  # wrong literal type
        "{ persons(filter: {careLevl: CARE_1}) { edges { node { id } } } }",  # unknown input field
        "{ persons(filter: {careLevel: CARE_9}) { edges { node { id } } } }",  # unknown enum value
        "{ persons }",  # object without selection
        "mutation { persons { edges { node { id } } } }",
    ],
)
async def test_invalid_documents(gql_response: Any, query: str) -> None:
    response = await gql_response(query)
    body = response.json()
    assert body.get("data") is None
    assert body["errors"]
    for error in body["errors"]:
        assert error["extensions"]["code"] in {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}, error
    assert_clean(response.text)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($f: Int!) { persons(first: $f) { edges { node { id } } } }", {"f": "ten"}),
        ("query($f: Int!) { persons(first: $f) { edges { node { id } } } }", {}),
        ("query($f: Int!) { persons(first: $f) { edges { node { id } } } }", {"f": 2**40}),
        (
            "query($p: PersonFilter) { persons(filter: $p) { edges { node { id } } } }",
            {"p": {"birthDateFrom": "2000-13-45"}},
        ),
        (
            "query($p: PersonFilter) { persons(filter: $p) { edges { node { id } } } }",
            {"p": {"careLevel": "CARE_9"}},
        ),
        (
            "query($p: PersonFilter) { persons(filter: $p) { edges { node { id } } } }",
            {"p": {"unknownField": 1}},
        ),
    ],
)
async def test_wrong_variables_are_bad_user_input(
    gql_response: Any, query: str, variables: dict[str, Any]
) -> None:
    response = await gql_response(query, variables)
    body = response.json()
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert_clean(response.text)


async def test_undecryptable_number_is_an_internal_error(
    gql_response: Any, seeded_conn: AsyncConnection
) -> None:
    row = (
        await seeded_conn.execute(
            text(
                "SELECT id, individual_number_enc FROM persons "
                "WHERE individual_number_enc IS NOT NULL LIMIT 1"
            )
        )
    ).first()
    assert row is not None
    # A ciphertext copied from another row does not decrypt here (bound to the addressee code).
    other = (
        await seeded_conn.execute(
            text(
                "SELECT individual_number_enc FROM persons "
                "WHERE individual_number_enc IS NOT NULL AND id <> :id LIMIT 1"
            ),
            {"id": row.id},
        )
    ).scalar_one()
    await seeded_conn.execute(
        text("UPDATE persons SET individual_number_enc = :e WHERE id = :id"), {"e": other, "id": row.id}
    )
    response = await gql_response(
        "query($id: ID!) { person(id: $id) { id name individualNumber } }", {"id": str(row.id)}
    )
    body = response.json()
    assert body["data"]["person"]["id"] == str(row.id)  # the rest of the person is still there
    assert body["data"]["person"]["individualNumber"] is None
    (error,) = body["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert re.fullmatch(r"[0-9a-f]{32}", error["extensions"]["correlationId"])
    assert error["path"] == ["person", "individualNumber"]
    assert_clean(response.text)


async def test_unexpected_exception_is_masked(
    gql_response: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM persons WHERE individual_number = '123456789018'")

    monkeypatch.setattr("resolvers.query.persons_page", broken)
    with caplog.at_level(logging.ERROR, logger="kaigo.graphql"):
        response = await gql_response("{ persons { edges { node { id } } } }")
        again = await gql_response("{ persons { edges { node { id } } } }")
    body = response.json()
    (error,) = body["errors"]
    correlation = error["extensions"]["correlationId"]
    assert error == {
        "message": "Internal server error.",
        "locations": [{"line": 1, "column": 3}],
        "path": ["persons"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation},
    }
    # the log line carries the same id (and the details the answer does not); each request its own
    [logged, _] = [r.getMessage() for r in caplog.records if "unexpected error" in r.getMessage()]
    assert f"correlation id {correlation}" in logged and "RuntimeError" in logged
    assert again.json()["errors"][0]["extensions"]["correlationId"] != correlation
    assert "123456789018" not in response.text
    assert_clean(response.text)


async def test_partial_results_keep_other_fields(gql: Any) -> None:
    body = await gql('{ ok: viewer { subject } bad: person(id: "not-an-id") { id } }')
    assert body["data"]["ok"]["subject"]
    assert body["data"]["bad"] is None
    (error,) = body["errors"]
    assert error["path"] == ["bad"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
