"""Introspection per role: each role's own view in development; off in production but for the roles
the deployment names (KAIGO_INTROSPECTION_ROLES)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from api.settings import Settings

from .persisted_support import apq

SCHEMA = "query Schema { __schema { queryType { name } types { name } } }"
TYPE = 'query Type { __type(name: "Person") { name fields { name } } }'
HIDDEN_IN_FRAGMENT = "query F { ...S } fragment S on Query { __schema { queryType { name } } }"
TYPENAME = "query Name { __typename }"


@pytest.fixture
async def production_client(app_with: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """The app as production would build it with KAIGO_INTROSPECTION_ROLES=system_operator."""
    transport = httpx.ASGITransport(app=app_with(introspection_roles=frozenset({"system_operator"})))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _post(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> Any:
    return client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.db
@pytest.mark.parametrize("role", ["kaigo_officer", "kaigo_number_officer", "security_auditor"])
async def test_development_lets_every_role_introspect_its_own_view(
    gql: Any, role: str, token_for: Callable[..., str]
) -> None:
    body = await gql(SCHEMA, role=role)
    assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query"
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert ("AuditEvent" in names) is (role == "security_auditor")  # the role's view, not the schema


@pytest.mark.db
@pytest.mark.parametrize("query", [SCHEMA, TYPE, HIDDEN_IN_FRAGMENT])
async def test_production_refuses_introspection_to_roles_not_named(
    production_client: httpx.AsyncClient, token_for: Callable[..., str], query: str
) -> None:
    response = await _post(production_client, token_for("kaigo_officer"), {"query": query})
    body = response.json()
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTROSPECTION_DISABLED"]
    assert "Person" not in response.text and "queryType" not in body["errors"][0]["message"]


@pytest.mark.db
async def test_production_allows_the_named_roles_and_typename(
    production_client: httpx.AsyncClient, token_for: Callable[..., str]
) -> None:
    allowed = (await _post(production_client, token_for("system_operator"), {"query": SCHEMA})).json()
    assert "errors" not in allowed and allowed["data"]["__schema"]["queryType"]["name"] == "Query"
    name = (await _post(production_client, token_for("kaigo_officer"), {"query": TYPENAME})).json()
    assert name == {"data": {"__typename": "Query"}}


@pytest.mark.db
async def test_a_persisted_introspection_query_meets_the_same_gate(
    production_client: httpx.AsyncClient, token_for: Callable[..., str]
) -> None:
    token = token_for("kaigo_officer")
    # Registered by a role that may introspect, then run by one that may not: still refused.
    sent = {"query": SCHEMA, "extensions": apq(SCHEMA)}
    registered = await _post(production_client, token_for("system_operator"), sent)
    assert "errors" not in registered.json()
    body = (await _post(production_client, token, {"extensions": apq(SCHEMA)})).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTROSPECTION_DISABLED"]


@pytest.mark.db
async def test_a_repeated_free_text_introspection_meets_the_same_gate(
    production_client: httpx.AsyncClient, token_for: Callable[..., str]
) -> None:
    """Kept by the worker once a role that may introspect sent it twice (TextCache): still refused."""
    for _ in range(2):
        allowed = await _post(production_client, token_for("system_operator"), {"query": SCHEMA})
        assert "errors" not in allowed.json()
    for _ in range(3):
        body = (await _post(production_client, token_for("kaigo_officer"), {"query": SCHEMA})).json()
        assert body.get("data") is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INTROSPECTION_DISABLED"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"KAIGO_ENV": "production"}, frozenset()),
        ({"KAIGO_ENV": "production", "KAIGO_INTROSPECTION_ROLES": "*"}, None),
        (
            {"KAIGO_ENV": "production", "KAIGO_INTROSPECTION_ROLES": " system_operator, kaigo_officer "},
            frozenset({"system_operator", "kaigo_officer"}),
        ),
        ({"KAIGO_INTROSPECTION_ROLES": ""}, frozenset()),
    ],
)
def test_the_setting(
    env: dict[str, str], expected: frozenset[str] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("KAIGO_ENV", "KAIGO_INTROSPECTION_ROLES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().introspection_roles == expected
