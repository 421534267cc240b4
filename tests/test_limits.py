"""Limits against abusive operations (resolvers/limits.py) and the statement timeout: each limit just
under (runs) and just over (refused with its own code, HTTP 200 JSON, no data: nothing executed)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.settings import Settings
from persistence.db import make_engine
from resolvers.errors import STATEMENT_TIMEOUT, TIMEOUT_MESSAGE, classify, present
from resolvers.limits import Limits, current

from .persisted_support import apq, code_of, register, sha

Post = Callable[..., Awaitable[httpx.Response]]
Gql = Callable[..., Awaitable[dict[str, Any]]]


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def _refused(gql_response: Post, query: str, code: str) -> dict[str, Any]:
    response = await gql_response(query)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body.get("data") is None  # nothing executed
    assert code in _codes(body)
    return body


def _household_chain(pairs: int, leaf: str = "id") -> str:
    """persons → edges → node, then ``pairs`` × household → members, then ``leaf`` (depth 3 + 2·pairs + leaf)."""
    inner = leaf
    for _ in range(pairs):
        inner = f"household {{ members {{ {inner} }} }}"
    return f"{{ persons(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


def test_defaults() -> None:
    assert current() == Limits(
        max_depth=12, max_aliases=30, max_root_fields=10, max_tokens=5000, max_cost=50_000
    )
    settings = Settings()
    assert (settings.max_depth, settings.max_aliases, settings.max_root_fields) == (12, 30, 10)
    assert (settings.max_tokens, settings.max_cost, settings.statement_timeout_ms) == (5000, 50_000, 5000)


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIGO_MAX_DEPTH", "7")
    monkeypatch.setenv("KAIGO_MAX_COST", "999")
    monkeypatch.setenv("KAIGO_STATEMENT_TIMEOUT_MS", "250")
    settings = Settings.from_env()
    assert (settings.max_depth, settings.max_cost, settings.statement_timeout_ms) == (7, 999, 250)


async def test_depth(gql: Gql, gql_response: Post) -> None:
    under = await gql(_household_chain(4))  # depth 12
    assert "errors" not in under, under
    body = await _refused(gql_response, _household_chain(4, "household { code }"), "QUERY_TOO_DEEP")  # 13
    error = body["errors"][0]
    assert "12" in error["message"] and error["extensions"]["maxDepth"] == 12


async def test_deep_household_nesting(gql_response: Post) -> None:
    await _refused(gql_response, _household_chain(30), "QUERY_TOO_DEEP")


async def test_aliases(gql: Gql, gql_response: Post) -> None:
    def query(n: int) -> str:
        return "{ persons(first: 1) { edges { node { " + " ".join(f"a{i}: id" for i in range(n)) + " } } } }"

    assert "errors" not in await gql(query(30))
    body = await _refused(gql_response, query(31), "TOO_MANY_ALIASES")
    assert "30" in body["errors"][0]["message"]


async def test_alias_bomb(gql_response: Post) -> None:
    fields = " ".join(f"p{i}: persons(first: 500) {{ edges {{ node {{ id name }} }} }}" for i in range(2000))
    body = await _refused(gql_response, "{ " + fields + " }", "QUERY_TOO_LARGE")  # too big to parse
    aliases = " ".join(f"n{i}: id" for i in range(500))
    body = await _refused(
        gql_response, f"{{ persons(first: 1) {{ edges {{ node {{ {aliases} }} }} }} }}", "TOO_MANY_ALIASES"
    )
    assert "n499" not in str(body)  # nothing of the document is echoed


async def test_aliases_counted_through_fragments(gql_response: Post) -> None:
    fragment = "fragment F on Person { " + " ".join(f"a{i}: id" for i in range(20)) + " }"
    query = "{ persons(first: 1) { edges { node { ...F ...F } } } } " + fragment  # 40 aliases
    await _refused(gql_response, query, "TOO_MANY_ALIASES")


async def test_root_fields(gql: Gql, gql_response: Post) -> None:
    assert "errors" not in await gql("{ " + "__typename " * 10 + "}")
    body = await _refused(gql_response, "{ " + "__typename " * 11 + "}", "TOO_MANY_ROOT_FIELDS")
    assert "10" in body["errors"][0]["message"]
    spread = "query { ...R ...R } fragment R on Query { " + "__typename " * 6 + "}"  # 12 through a fragment
    await _refused(gql_response, spread, "TOO_MANY_ROOT_FIELDS")


async def test_tokens(gql: Gql, gql_response: Post) -> None:
    def query(comments: int) -> str:  # 17 tokens, and comments (graphql-core's max_tokens counts them)
        return "{ persons(first: 1) { edges { node { id } } } }" + "\n# padding" * comments

    assert "errors" not in await gql(query(4983))  # 5,000 tokens
    body = await _refused(gql_response, query(4984), "QUERY_TOO_LARGE")
    error = body["errors"][0]
    assert "5000" in error["message"] and error["extensions"]["maxTokens"] == 5000
    assert "Syntax Error" not in error["message"]


def _costly(first: int) -> str:
    """Cost 1 + 163·first: persons × (edges, node, 4 × household, members × 3 (the unpaged estimate))."""
    return _household_chain(4).replace("persons(first: 1)", f"persons(first: {first})")


async def test_cost(gql: Gql, gql_response: Post) -> None:
    under = await gql(_costly(306))  # 49,879
    assert "errors" not in under, under
    body = await _refused(gql_response, _costly(307), "QUERY_TOO_COMPLEX")  # 50,042
    extensions = body["errors"][0]["extensions"]
    assert (extensions["cost"], extensions["maxCost"]) == (50_042, 50_000)


async def test_huge_first(gql: Gql, gql_response: Post) -> None:
    # Within the cost, the resolver's bound answers as before; far beyond it the cost refuses first.
    assert _codes(await gql("{ persons(first: 501) { edges { node { id } } } }")) == ["BAD_USER_INPUT"]
    body = await _refused(
        gql_response, "{ persons(first: 1000000) { edges { node { id } } } }", "QUERY_TOO_COMPLEX"
    )
    assert body["errors"][0]["extensions"]["cost"] == 3_000_001


async def test_a_variable_page_size_is_costed_at_its_value(gql: Gql) -> None:
    query = _costly(1).replace("persons(first: 1)", "persons(first: $n)").replace("{", "query($n: Int!) {", 1)
    assert "errors" not in await gql(query, {"n": 2})
    body = await gql(query, {"n": 307})
    assert _codes(body) == ["QUERY_TOO_COMPLEX"] and body.get("data") is None
    assert body["errors"][0]["extensions"]["cost"] == 50_042  # as the same page written literally
    # left out, a variable counts at the default its operation declares
    declared = query.replace("$n: Int!", "$n: Int = 307")
    assert _codes(await gql(declared)) == ["QUERY_TOO_COMPLEX"]
    # beyond any page a resolver serves: the resolver's own refusal, before any work
    assert _codes(await gql(query, {"n": 10_000})) == ["BAD_USER_INPUT"]


def test_an_input_variable_is_costed_at_its_first() -> None:
    """``transferInformation(input: $input)``: the page size inside the variable's value."""
    from graphql import parse

    from resolvers import build_schema
    from resolvers.limits import operation_errors

    from .test_transfers import TRANSFER

    schema = build_schema()._schema
    document = parse(TRANSFER)
    assert operation_errors(schema, document, {"input": {"first": 100}}) == []
    [error] = operation_errors(schema, document, {"input": {"first": 1000}})
    assert error.extensions is not None and error.extensions["code"] == "QUERY_TOO_COMPLEX"


async def test_fragment_bomb(gql_response: Post) -> None:
    fragments = " ".join(f"fragment F{i} on Person {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = (
        "{ persons(first: 1) { edges { node { ...F0 } } } } " + fragments + " fragment F40 on Person { id }"
    )
    started = time.monotonic()
    body = await _refused(gql_response, query, "QUERY_TOO_COMPLEX")
    assert time.monotonic() - started < 10  # memoised: no walk of 2^40 spreads
    assert body["errors"][0]["extensions"]["cost"] > 2**40


async def test_fragment_cycle_is_a_validation_error(gql_response: Post) -> None:
    query = (
        "{ persons(first: 1) { edges { node { ...A } } } } "
        "fragment A on Person { household { members { ...B } } } fragment B on Person { ...A }"
    )
    await _refused(gql_response, query, "GRAPHQL_VALIDATION_FAILED")


async def test_introspection_passes(gql: Gql) -> None:
    from graphql import get_introspection_query

    query = get_introspection_query(descriptions=True, input_value_deprecation=True)
    assert "errors" not in await gql(query)


async def test_statement_timeout(seeded_engine: AsyncEngine) -> None:
    url = seeded_engine.url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1, statement_timeout_ms=50)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar() == "50ms"
            with pytest.raises(DBAPIError) as raised:
                await conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()
    error = GraphQLError(str(raised.value), path=["persons"], original_error=raised.value)
    assert classify(error) == STATEMENT_TIMEOUT
    shown = present(error)
    assert shown.message == TIMEOUT_MESSAGE and "pg_sleep" not in shown.message
    assert shown.extensions == {"code": STATEMENT_TIMEOUT}


async def test_persisted_documents_meet_the_same_limits(
    seeded_conn: AsyncConnection, client: httpx.AsyncClient, token_for: Callable[..., str]
) -> None:
    """A registered document skips parsing and validation (api/documents/), not the limits."""
    headers = {"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
    deep = _household_chain(4, "household { code }")
    large = "{ persons(first: 1) { edges { node { id } } } }" + "\n# padding" * 4984
    fine = _household_chain(4)
    for document in (deep, large, fine):
        await register(seeded_conn, document, "limits-test")
    for document, code in ((deep, "QUERY_TOO_DEEP"), (large, "QUERY_TOO_LARGE"), (fine, None)):
        for _ in range(2):  # the second run takes the cached, already validated document
            response = await client.post("/graphql", json={"documentId": sha(document)}, headers=headers)
            assert response.status_code == 200
            assert code_of(response) == code, response.text
    apq_deep = _household_chain(5, "household { code }")
    response = await client.post(
        "/graphql", json={"query": apq_deep, "extensions": apq(apq_deep)}, headers=headers
    )
    assert code_of(response) == "QUERY_TOO_DEEP"
    apq_large = "{ persons(first: 1) { edges { node { id } } } }" + "\n# padding" * 4990
    response = await client.post(
        "/graphql", json={"query": apq_large, "extensions": apq(apq_large)}, headers=headers
    )
    assert code_of(response) == "QUERY_TOO_LARGE"
    # not registered: the id alone is unknown
    response = await client.post("/graphql", json={"extensions": apq(apq_large)}, headers=headers)
    assert code_of(response) == "PERSISTED_QUERY_NOT_FOUND"
