"""Fuzzing each role's view over HTTP (hypothesis-graphql): never a 5xx, always well-formed GraphQL JSON
with a code on every error, and nothing hidden reachable.

Operations are generated from the SDL of each role's view (``kaigo schema --role R``, i.e.
``resolvers.schema_for(duties)``) and sent through the real app with a token of that role; then from the
FULL schema and sent with the tokens of roles without the number-use duty: an operation touching a field
the role's view lacks must be refused before anything runs (a validation error, or a limit), never
answered with data. No individual number of the city may appear in any answer to such a role.

Reproducible: derandomized, no example database, no shrinking (a failure reports the operation whole).
The requests go to a small city in a database of the module's own (tests/hostile_support.py) where they
really commit, one connection each: the fuzzing also runs the views' mutations, and an example that
breaks its connection cannot spoil the examples after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries
from sqlalchemy import text

from persistence.crypto import NumberVault
from policies.individual_number import find_valid_numbers
from policies.roles import ROLE_NAMES, duties_for
from resolvers import build_schema, schema_for

from .hostile_support import LEAKS, City, committed_city

pytestmark = pytest.mark.db

DEPARTMENT = {"receiving_department": "seikatsu_fukushi"}
ROLES = sorted(ROLE_NAMES)
NUMBER_ROLES = {r for r in ROLES if "number_use" in duties_for([r], DEPARTMENT.get(r))}
OTHER_ROLES = sorted(set(ROLES) - NUMBER_ROLES)
# The full schema is sent with three tokens without number use, for time: a role that reads persons, a
# machine client with mutations only, and one that sees nothing but the viewer.
FULL_SCHEMA_ROLES = ["intermediate_server", "kaigo_officer", "system_operator"]

# Codes an operation may be refused or answered with before or while running; INTERNAL_SERVER_ERROR is
# not among them: a generated operation is well-formed for its view, so an internal error is a bug.
PRE_EXECUTION = {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "QUERY_TOO_LARGE",
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "TOO_MANY_ROOT_FIELDS",
    "QUERY_TOO_COMPLEX",
}
RUNTIME = {
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "REQUEST_ID_REUSED",
    "NOT_PENDING_REVIEW",
    "ALREADY_CONFIRMED",
    "ALREADY_DECIDED",
    "ALREADY_ANSWERED",
}
ALLOWED_CODES = PRE_EXECUTION | RUNTIME

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    print_blob=False,
    # No shrinking: a failing operation is reported whole, and CI time stays bounded (shrinking a
    # generated document through the HTTP app can take minutes).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


def _date_nodes() -> st.SearchStrategy[graphql.ValueNode]:
    # Valid literals only: a literal the scalar refuses is a validation error, which is right but would
    # hide what the fuzzing is after (the hostile catalogue sends malformed dates as variables).
    dates = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
    return dates.map(lambda d: graphql.StringValueNode(value=d.isoformat()))


def _datetime_nodes() -> st.SearchStrategy[graphql.ValueNode]:
    times = st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))
    return times.map(lambda t: graphql.StringValueNode(value=t.isoformat()))


SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": _date_nodes(),
    "DateTime": _datetime_nodes(),
}


@functools.cache
def view_sdl(role: str) -> str:
    """The SDL of ``role``'s view, as ``kaigo schema --role`` prints it."""
    return schema_for(duties_for([role], DEPARTMENT.get(role))).as_str()


@functools.cache
def view(role: str) -> graphql.GraphQLSchema:
    return graphql.build_schema(view_sdl(role))


@functools.cache
def full() -> graphql.GraphQLSchema:
    return graphql.build_schema(build_schema().as_str())


def operations(schema: graphql.GraphQLSchema) -> st.SearchStrategy[str]:
    found = [queries(schema, custom_scalars=SCALARS)]
    if schema.mutation_type is not None:
        found.append(mutations(schema, custom_scalars=SCALARS))
    return st.one_of(*found)


def _field_names(node: Any) -> Iterator[str]:
    """Every key of a JSON answer, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _field_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _field_names(item)


def check_answer(response: httpx.Response, query: str) -> dict[str, Any]:
    """The answer is well-formed GraphQL JSON: no 5xx, `data` and/or `errors`, a known code on each error,
    nothing internal in the text."""
    try:
        return _check_answer(response)
    except AssertionError as failed:
        raise AssertionError(f"{failed}\n--- operation sent:\n{query}") from None


# The known bug (see tests/test_hostile_catalogue.py, the strict xfail cases "cancelled sibling …"): when
# an error nulls a non-null parent, graphql-core 3.3 cancels the sibling fields still awaiting a statement;
# the cancelled asyncpg statement invalidates the request's connection, and the request ends as 503
# AUDIT_UNAVAILABLE (the audit entry cannot be written) or as a bare 500 (the commit raises
# PendingRollbackError). Tolerated here, and counted, while it is open: set to False once fixed.
CANCELLED_STATEMENT_BUG_OPEN = False


def known_cancellation_bug(response: httpx.Response | None) -> bool:
    if not CANCELLED_STATEMENT_BUG_OPEN:
        return False
    if response is None:
        return True  # a shared DataLoader future was cancelled: CancelledError escaped the app
    if response.status_code == 500:
        return response.text == "Internal Server Error"  # Starlette's own page: nothing leaked
    if response.status_code == 503:
        return [e["extensions"]["code"] for e in response.json()["errors"]] == ["AUDIT_UNAVAILABLE"]
    return False


def _check_answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = json.loads(response.text)
    assert isinstance(body, dict) and body, body
    assert set(body) <= {"data", "errors", "extensions"}, set(body)
    assert "data" in body or "errors" in body
    for error in body.get("errors") or ():
        assert isinstance(error.get("message"), str), error
        code = (error.get("extensions") or {}).get("code")
        assert code in ALLOWED_CODES, error
    for leak in LEAKS:
        assert leak not in response.text, leak
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"], body
    else:
        assert isinstance(body["data"], dict), body
    return body


class Numbers(frozenset[str]):
    """The city's individual numbers; its repr never shows them (hypothesis prints test arguments)."""

    def __repr__(self) -> str:
        return f"<{len(self)} individual numbers>"


@pytest.fixture(scope="module")
async def city(
    pg_server: Any, migrated_template: str, vault: NumberVault, authenticator: Any
) -> AsyncIterator[City]:
    # Trusted-documents mode off: the receiving department's view itself is fuzzed with free text (the
    # hostile catalogue checks that the mode refuses free text).
    async with committed_city(
        pg_server, migrated_template, vault, authenticator, insured=25, seed=13, trusted=False
    ) as built:
        yield built


@pytest.fixture(scope="module")
async def city_client(city: City) -> AsyncIterator[httpx.AsyncClient]:
    async with city.client() as client:
        yield client


@pytest.fixture(scope="module")
async def city_numbers(city: City, vault: NumberVault) -> Numbers:
    """The individual numbers of the city (never printed: only counts are reported)."""
    async with city.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT addressee_code, individual_number_enc FROM persons"))).all()
    numbers = Numbers(
        vault.decrypt(enc, context=code.encode()).reveal() for code, enc in rows if enc is not None
    )
    assert len(numbers) > 20
    return numbers


@pytest.fixture
def send(city_client: httpx.AsyncClient, token_for: Callable[..., str]) -> Callable[..., Any]:
    async def post(role: str, query: str) -> httpx.Response | None:
        """The answer; None when the app died of the known cancellation bug (CancelledError escaping)."""
        headers = {"Authorization": f"Bearer {token_for(role, DEPARTMENT.get(role))}"}
        try:
            return await city_client.post("/graphql", json={"query": query}, headers=headers)
        except asyncio.CancelledError:
            if not CANCELLED_STATEMENT_BUG_OPEN:
                raise
            return None

    return post


def assert_no_numbers(response: httpx.Response, body: dict[str, Any], numbers: frozenset[str]) -> None:
    names = set(_field_names(body.get("data")))
    assert "individualNumber" not in names
    assert "personByIndividualNumber" not in names
    leaked = len(numbers & set(find_valid_numbers(response.text)))
    assert leaked == 0, f"{leaked} individual numbers of the city in the answer"


def test_the_views_differ_and_hide_the_number() -> None:
    """The strategies below really draw from different schemas (no tautology: a view leaking the number
    field would be caught here before any fuzzing)."""
    for role in ROLES:
        fields = view(role).query_type.fields  # type: ignore[union-attr]
        assert ("personByIndividualNumber" in fields) is (role in NUMBER_ROLES), role
        person = view(role).get_type("Person")
        if isinstance(person, graphql.GraphQLObjectType):
            assert ("individualNumber" in person.fields) is (role in NUMBER_ROLES), role
    assert "individualNumber" in full().get_type("Person").fields  # type: ignore[union-attr]
    assert OTHER_ROLES and NUMBER_ROLES and set(FULL_SCHEMA_ROLES) <= set(OTHER_ROLES)


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[dict[str, int]]:
    """Counts over a test's examples, checked once they all ran (so the fuzzing cannot pass vacuously):
    examples answered normally, some with data, and from the full schema some touching hidden fields."""
    counts = {"examples": 0, "data": 0, "hidden": 0, "known_bug": 0}
    yield counts
    if counts["examples"] == 0:
        return  # the test failed on its first example: that failure is the report
    if "full_schema" in request.node.name:
        assert counts["hidden"] > 0, counts
    else:
        assert counts["data"] > 0, counts


@pytest.mark.parametrize("role", ROLES)
@FUZZ
@given(data=st.data())
async def test_operations_of_each_view(
    role: str, data: st.DataObject, send: Callable[..., Any], city_numbers: Numbers, tally: dict[str, int]
) -> None:
    query = data.draw(operations(view(role)), label="operation")
    response = await send(role, query)
    if known_cancellation_bug(response):
        tally["known_bug"] += 1
        return
    assert response is not None
    body = check_answer(response, query)
    codes = {e["extensions"]["code"] for e in body.get("errors") or ()}
    assert "GRAPHQL_PARSE_FAILED" not in codes, (body, query)
    if graphql.validate(view(role), graphql.parse(query)):
        # hypothesis-graphql 0.13 sometimes fills a @oneOf input with two members or a null one. The
        # server refuses that before anything runs: strawberry checks @oneOf while coercing (validation
        # for some shapes, the argument's coercion for others), so either code, and no data.
        assert body.get("data") is None and codes <= {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}, (
            body,
            query,
        )
    else:
        # Generated against the view: it validates there (the server may still refuse it by a limit or
        # a value, never as an unknown field).
        assert "GRAPHQL_VALIDATION_FAILED" not in codes, (body, query)
    if role not in NUMBER_ROLES:
        assert_no_numbers(response, body, city_numbers)
    tally["examples"] += 1
    tally["data"] += bool(body.get("data"))


@pytest.mark.parametrize("role", FULL_SCHEMA_ROLES)
@FUZZ
@given(data=st.data())
async def test_full_schema_operations_with_a_role_without_number_use(
    role: str, data: st.DataObject, send: Callable[..., Any], city_numbers: Numbers, tally: dict[str, int]
) -> None:
    query = data.draw(operations(full()), label="operation")
    response = await send(role, query)
    if known_cancellation_bug(response):
        assert not graphql.validate(view(role), graphql.parse(query)), query  # it ran: valid for the view
        tally["known_bug"] += 1
        return
    assert response is not None
    body = check_answer(response, query)
    assert_no_numbers(response, body, city_numbers)
    tally["examples"] += 1
    document = graphql.parse(query)
    if not graphql.validate(full(), document) and graphql.validate(view(role), document):
        # Valid for the full schema, not for the role's view: it touches something the view lacks.
        # Refused before anything ran, with a code, no data.
        tally["hidden"] += 1
        assert body.get("data") is None, (body, query)
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes <= PRE_EXECUTION - {"BAD_USER_INPUT"}, (codes, query)
        assert all("path" not in e for e in body["errors"]), (body, query)
