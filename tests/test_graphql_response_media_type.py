"""`application/graphql-response+json`: the GraphQL-over-HTTP media type and its status codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.media import accepts_graphql_response

pytestmark = pytest.mark.db
GQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GQL_RESPONSE, True),
        (f"{GQL_RESPONSE}, application/json;q=0.9", True),
        (f"application/json, {GQL_RESPONSE};q=0.5", True),
        (f"{GQL_RESPONSE};q=0", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_accept_header(accept: str, expected: bool) -> None:
    assert accepts_graphql_response(accept) is expected


async def _post(
    client: httpx.AsyncClient, token: str, query: str, accept: str, **extra: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    return await client.post("/graphql", json={"query": query, **extra}, headers=headers)


@pytest.mark.parametrize(
    ("query", "variables", "status_new"),
    [
        ("{ viewer { subject } }", None, 200),  # data
        ("{ viewer { subject }", None, 400),  # does not parse
        ("{ viewer { nope } }", None, 400),  # does not validate
        ("query($id: ID!) { person(id: $id) { id } }", {"id": {"x": 1}}, 400),  # variables do not fit
        ('{ person(id: "not-an-id") { id } }', None, 200),  # ran: a field error with a path
    ],
)
async def test_status_codes(
    client: httpx.AsyncClient, token_for: Any, query: str, variables: Any, status_new: int
) -> None:
    token = token_for("kaigo_officer")
    extra = {"variables": variables} if variables is not None else {}
    legacy = await _post(client, token, query, "application/json", **extra)
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")
    new = await _post(client, token, query, GQL_RESPONSE, **extra)
    assert new.status_code == status_new, new.text
    assert new.headers["content-type"].startswith(GQL_RESPONSE)
    expected = legacy.json()
    if status_new == 400:  # a request that never ran: no `data` entry at all
        assert "data" not in new.json()
        expected.pop("data")
    assert new.json() == expected


async def test_refusals_keep_their_status(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ viewer { subject } }"}, headers={"Accept": GQL_RESPONSE}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(GQL_RESPONSE)
    assert "www-authenticate" in response.headers
