"""Authentication at the HTTP edge: every GraphQL request carries a verified token; health stays open."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.db
QUERY = {"query": "{ viewer { subject } }"}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(kid: str) -> str:
    claims = {"iss": "kaigo-graph-dev", "aud": "kaigo-graph", "sub": "x", "roles": ["kaigo_number_officer"]}
    claims["exp"] = int(time.time()) + 600
    return f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(claims)}."


async def test_health_and_readiness_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


@pytest.mark.parametrize(
    ("headers", "status", "challenge"),
    [
        ({}, 401, 'Bearer realm="kaigo-graph"'),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, 'Bearer realm="kaigo-graph"'),
        ({"Authorization": "Bearer not.a.token"}, 401, 'error="invalid_token"'),
        ({"Authorization": "Bearer "}, 400, 'error="invalid_request"'),
    ],
)
async def test_refused_requests(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, challenge: str
) -> None:
    response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == status
    assert challenge in response.headers["www-authenticate"]
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Traceback" not in response.text


async def test_unsigned_and_duplicated_tokens(
    client: httpx.AsyncClient, dev_keys: Any, token_for: Any
) -> None:
    response = await client.post(
        "/graphql", json=QUERY, headers={"Authorization": f"Bearer {unsigned(dev_keys.kid)}"}
    )
    assert response.status_code == 401
    good = token_for("kaigo_officer")
    two = [("authorization", f"Bearer {good}"), ("authorization", f"Bearer {good}")]
    response = await client.post("/graphql", json=QUERY, headers=two)
    assert response.status_code == 400
    assert good not in response.text


async def test_a_valid_token_names_the_viewer(client: httpx.AsyncClient, token_for: Any) -> None:
    headers = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"subject": "test-kaigo_officer"}}}


async def test_graphiql_page_opens_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_a_mutation_over_get_is_refused(client: httpx.AsyncClient, token_for: Any) -> None:
    headers = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    response = await client.get("/graphql", params={"query": "mutation { x }"}, headers=headers)
    assert response.status_code in (400, 405)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("{not json", "application/json"),
        ("query { viewer { subject } }", "text/plain"),
        ("[1, 2]", "application/json"),
    ],
)
async def test_transport_refusals_are_graphql_shaped(
    client: httpx.AsyncClient, token_for: Any, content: str, content_type: str
) -> None:
    headers = {"Authorization": f"Bearer {token_for('kaigo_officer')}", "Content-Type": content_type}
    response = await client.post("/graphql", content=content, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
