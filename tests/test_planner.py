"""The read planner gives the very answers strawberry's executor gives: byte for byte, status and media
type too, for every registered document and for operations generated from every role view.

Two apps serve one committed city (real commits: the planned statement runs in autocommit on a pooled
connection, as in production): one answers what the planner covers with one statement, the other runs
everything through the executor. Every request goes to both, as an automatic persisted query (so the
document is prepared and the planner may take it), and the answers must be equal. Counts check that the
planner really answered (no vacuous pass) and that its audit entries record what the executor's record.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from sqlalchemy import text

from api.app import create_app
from api.reads import PAGE_CHUNK
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database
from policies.roles import ROLE_NAMES, duties_for
from resolvers import schema_for

from .hostile_support import committed_city
from .persisted_support import apq

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parent.parent
DEPARTMENT = {"receiving_department": "seikatsu_fukushi"}
ROLES = sorted(ROLE_NAMES)
PERSON_ROLES = [r for r in ROLES if "read_persons" in duties_for([r], DEPARTMENT.get(r))]
NUMBER_ROLES = [r for r in ROLES if "number_use" in duties_for([r], DEPARTMENT.get(r))]
MANIFESTS = [
    *sorted((ROOT / "documents").glob("*.json")),
    *sorted((ROOT / "bench" / "documents").glob("*.json")),
]

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@dataclass
class Pair:
    planner: httpx.AsyncClient
    executor: httpx.AsyncClient
    planner_app: Any
    tokens: Callable[..., str]
    planned: int = 0
    sent: int = 0

    async def both(self, role: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send to both apps; the answers must be byte-identical. The answer, parsed."""
        return await self._both(self.tokens(role, DEPARTMENT.get(role)), role, query, variables)

    async def both_department(
        self, department: str, query: str, variables: dict[str, Any], *, executor_first: bool
    ) -> dict[str, Any]:
        """A receiving department's request to both apps (a mutation: whichever goes second replays)."""
        token = self.tokens("receiving_department", department)
        return await self._both(token, department, query, variables, executor_first=executor_first)

    async def _both(
        self,
        token: str,
        who: str,
        query: str,
        variables: dict[str, Any] | None,
        *,
        executor_first: bool = False,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        body: dict[str, Any] = {"query": query, "extensions": apq(query)}
        if variables is not None:
            body["variables"] = variables
        reads = self.planner_app.state.graphql.reads
        before = reads.answered
        if executor_first:
            theirs = await self.executor.post("/graphql", json=body, headers=headers)
            mine = await self.planner.post("/graphql", json=body, headers=headers)
        else:
            mine = await self.planner.post("/graphql", json=body, headers=headers)
            theirs = await self.executor.post("/graphql", json=body, headers=headers)
        self.sent += 1
        self.planned += reads.answered - before
        detail = f"\n--- {who}: {query}\n--- variables: {variables}\n--- planner: {mine.text[:3000]}\n--- executor: {theirs.text[:3000]}"
        assert mine.status_code == theirs.status_code, detail
        assert mine.headers["content-type"] == theirs.headers["content-type"], detail
        assert mine.content == theirs.content, detail
        answer: dict[str, Any] = mine.json()
        return answer


class Hidden(str):
    """An individual number in a drawn example: sent as it is, printed as a placeholder."""

    def __repr__(self) -> str:
        return "<an individual number>"


class Data:
    """Values that find something in the city: person ids, kana prefixes, individual numbers. Not a
    dataclass: hypothesis prints a failing example's arguments, and its repr never shows the numbers."""

    def __init__(self, ids: tuple[str, ...], prefixes: tuple[str, ...], numbers: tuple[str, ...]) -> None:
        self.ids, self.prefixes, self.numbers = ids, prefixes, numbers

    def __repr__(self) -> str:
        return f"<Data {len(self.ids)} ids, {len(self.prefixes)} prefixes, {len(self.numbers)} numbers>"


@pytest.fixture(scope="module")
async def city(
    pg_server: Any, migrated_template: str, vault: NumberVault, authenticator: Any
) -> AsyncIterator[Any]:
    async with committed_city(
        pg_server, migrated_template, vault, authenticator, insured=40, seed=17, trusted=False
    ) as built:
        yield built


@pytest.fixture(scope="module")
async def pair(
    city: Any, vault: NumberVault, authenticator: Any, token_for: Callable[..., str]
) -> AsyncIterator[Pair]:
    executor_app = create_app(
        Runtime(
            Database(city.engine),
            vault,
            authenticator,
            guards=city.app.state.runtime.guards,
            planned_reads=False,
        )
    )

    def client(app: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
        )

    async with client(city.app) as planner, client(executor_app) as executor:
        yield Pair(planner, executor, city.app, token_for)


@pytest.fixture(scope="module")
async def data(city: Any, vault: NumberVault) -> Data:
    async with city.engine.connect() as conn:
        ids = [
            str(i)
            for i in (
                await conn.execute(
                    text(
                        """
                        (SELECT person_id FROM levies GROUP BY person_id ORDER BY count(*) DESC, person_id LIMIT 3)
                        UNION (SELECT person_id FROM certifications ORDER BY person_id LIMIT 2)
                        UNION (SELECT person_id FROM claim_results ORDER BY person_id LIMIT 2)
                        UNION (SELECT id FROM persons WHERE alias_name IS NOT NULL ORDER BY id LIMIT 1)
                        UNION (SELECT id FROM persons WHERE individual_number_enc IS NULL ORDER BY id LIMIT 1)
                        UNION (SELECT min(id) FROM persons GROUP BY household_code HAVING count(*) > 2 ORDER BY 1 LIMIT 2)
                        """
                    )
                )
            ).scalars()
        ]
        kana = (
            await conn.execute(text("SELECT name_kana, alias_name_kana FROM persons ORDER BY id LIMIT 40"))
        ).all()
        rows = (
            await conn.execute(
                text(
                    "SELECT addressee_code, individual_number_enc FROM persons WHERE individual_number_enc IS NOT NULL ORDER BY id LIMIT 3"
                )
            )
        ).all()
        top = (await conn.execute(text("SELECT max(id) FROM persons"))).scalar_one()
    prefixes = sorted({k[:n] for name, alias in kana for k in (name, alias) if k for n in (1, 2)})
    numbers = tuple(Hidden(vault.decrypt(enc, context=code.encode()).reveal()) for code, enc in rows)
    return Data((*ids, str(top + 1)), tuple(prefixes[:12]), numbers)


def _operations(path: Path, kind: str = "query") -> list[tuple[str, str]]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return [(o["name"], o["body"]) for o in manifest["operations"] if o.get("type") == kind]


def _roles_accepting(body: str) -> list[str]:
    document = graphql.parse(body)
    return [r for r in ROLES if not graphql.validate(view(r), document)]


@functools.cache
def view(role: str) -> graphql.GraphQLSchema:
    return schema_for(duties_for([role], DEPARTMENT.get(role)))._schema


async def test_every_registered_query_answers_alike(pair: Pair, data: Data) -> None:
    bench_variables = [
        {"id": i, "fiscalYear": year, "benefitsFrom": start, "benefitsTo": end}
        for i in data.ids
        for year, start, end in [(2026, "2026-04-01", "2026-11-30"), (2025, "2025-01-15", "2026-12-31")]
    ]
    for path in MANIFESTS:
        for name, body in _operations(path):
            roles = _roles_accepting(body)
            assert roles, f"{path.name} {name}: no role's view accepts it"
            for role in roles:
                if name == "BenchPersonDetail":
                    for variables in bench_variables:
                        await pair.both(role, body, variables)
                elif name == "BenchPersonSearch":
                    for prefix in data.prefixes:
                        await pair.both(role, body, {"prefix": prefix})
                else:
                    await pair.both(role, body, {})
    assert pair.planned > 50, (pair.planned, pair.sent)


PAGE = """
query Page($prefix: String, $first: Int!, $after: String, $from: Date, $to: Date, $insured: String) {
  persons(first: $first, after: $after,
          filter: {nameKanaPrefix: $prefix, birthDateFrom: $from, birthDateTo: $to, insuredNumber: $insured}) {
    __typename
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
    edges { cursor __typename node { id nameKana alias { nameKana } } }
    nodes { id }
  }
}
"""


async def test_pages_of_persons_answer_alike(pair: Pair, data: Data) -> None:
    """Every page of a walk through the city, with and without a kana prefix and other conditions."""
    for variables in [
        {"first": 7},
        {"first": 3, "prefix": data.prefixes[0]},
        {"first": 2, "prefix": data.prefixes[-1], "from": "1940-01-01"},
        {"first": 5, "from": "1950-01-01", "to": "1960-12-31"},
        {"first": 1, "to": "1900-01-01"},  # nobody: an empty page
        {"first": 4, "insured": "0000000000"},
    ]:
        after = None
        for _ in range(30):
            answer = await pair.both("kaigo_officer", PAGE, {**variables, "after": after})
            page = answer["data"]["persons"]["pageInfo"]
            if not page["hasNextPage"]:
                break
            after = page["endCursor"]
    # refused values: the executor answers them, and its answer is the one given
    for refused in [
        {"first": 0},
        {"first": 501},
        {"first": 3, "after": "bm90LWEtY3Vyc29y"},
        {"first": 3, "prefix": "abc"},
        # variables graphql-core's coercion refuses: the planner declines them before binding
        {},
        {"first": "three"},
        {"first": 3, "from": "1999-13-01"},
        {"first": 3, "prefix": 5},
        {"first": None},
    ]:
        answer = await pair.both("kaigo_officer", PAGE, refused)
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
    # a variable's declared default, used when the request leaves it out
    defaulted = PAGE.replace("$first: Int!", "$first: Int = 2")
    for variables in [{}, {"first": 3}]:
        await pair.both("kaigo_officer", defaulted, variables)
    # null given for it: graphql-core refuses the argument as it runs the field, the client's fault
    answer = await pair.both("kaigo_officer", defaulted, {"first": None})
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
    assert pair.planned >= 10


# --- operations generated from the views ---------------------------------------------------------------


def _argument(owner: str, name: str) -> st.SearchStrategy[str]:
    if (owner, name) == ("Person", "levies"):
        return st.sampled_from(
            ["", "(fiscalYear: 2026)", "(fiscalYear: 2025)", "(fiscalYear: null)", "(fiscalYear: 1999)"]
        )
    if (owner, name) == ("Benefits", "claimResults"):
        dates = st.sampled_from(["2025-04-01", "2026-01-20", "2026-10-31", "2020-02-29"])
        return st.one_of(
            st.just(""),
            dates.map(lambda d: f'(from: "{d}")'),
            st.tuples(dates, dates).map(lambda p: f'(from: "{p[0]}", to: "{p[1]}")'),
        )
    return st.just("")


def selection(gtype: GraphQLObjectType, depth: int) -> st.SearchStrategy[str]:
    """A selection set of ``gtype`` as a client might write it: fields in any order, aliases, the same
    field twice (merged), ``__typename``, inline fragments and nested objects."""
    names = sorted(gtype.fields)

    @st.composite
    def draw_set(draw: Any) -> str:
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=min(7, len(names))))
        parts: list[str] = []
        for n, name in enumerate(chosen):
            named = get_named_type(gtype.fields[name].type)
            if isinstance(named, GraphQLObjectType) and depth <= 0:
                continue
            alias = draw(st.sampled_from(["", "", f"a{n}: "]))
            args = draw(_argument(gtype.name, name))
            inner = (
                f" {{ {draw(selection(named, depth - 1))} }}" if isinstance(named, GraphQLObjectType) else ""
            )
            parts.append(f"{alias}{name}{args}{inner}")
        if draw(st.integers(0, 5)) == 0:
            parts.append("__typename")
        if parts and draw(st.integers(0, 4)) == 0:
            cut = draw(st.integers(0, len(parts) - 1))
            parts[cut:] = [f"... on {gtype.name} {{ {' '.join(parts[cut:])} }}"]
        return " ".join(parts) or "__typename"

    return draw_set()


def person_operation(role: str, data: Data) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    person = view(role).get_type("Person")
    assert isinstance(person, GraphQLObjectType)
    by_id = st.tuples(selection(person, 3), st.sampled_from(data.ids)).map(
        lambda s: (f"query($id: ID!) {{ person(id: $id) {{ {s[0]} }} }}", {"id": s[1]})
    )
    page = st.tuples(selection(person, 2), st.sampled_from(data.prefixes), st.integers(1, 4)).map(
        lambda s: (
            "query($p: String, $n: Int!) { persons(first: $n, filter: {nameKanaPrefix: $p}) "
            f"{{ edges {{ cursor node {{ {s[0]} }} }} pageInfo {{ hasNextPage endCursor }} }} }}",
            {"p": s[1], "n": s[2]},
        )
    )
    found = [by_id, page]
    if role in NUMBER_ROLES and data.numbers:
        found.append(
            st.tuples(selection(person, 2), st.sampled_from(data.numbers)).map(
                lambda s: (
                    f"query($n: String!) {{ personByIndividualNumber(individualNumber: $n) {{ {s[0]} }} }}",
                    {"n": s[1]},
                )
            )
        )
    return st.one_of(*found)


@pytest.mark.parametrize("role", PERSON_ROLES)
@SETTINGS
@given(drawn=st.data())
async def test_generated_person_queries_answer_alike(
    role: str, drawn: st.DataObject, pair: Pair, data: Data
) -> None:
    query, variables = drawn.draw(person_operation(role, data), label="operation")
    before = pair.planned
    answer = await pair.both(role, query, variables)
    if "errors" not in answer:
        assert pair.planned == before + 1, query  # an answer without errors came from the planner


@pytest.mark.parametrize("role", ROLES)
@settings(SETTINGS, max_examples=15)
@given(drawn=st.data())
async def test_operations_generated_from_each_view_answer_alike(
    role: str, drawn: st.DataObject, pair: Pair
) -> None:
    schema = graphql.build_schema(schema_for(duties_for([role], DEPARTMENT.get(role))).as_str())
    query = drawn.draw(queries(schema), label="operation")
    await pair.both(role, query)


async def test_the_planner_records_what_the_executor_records(pair: Pair, data: Data, city: Any) -> None:
    """The entry a planned read appends in its own statement carries the persons and the numbers the
    executor's entry carries for the same request."""
    query = "query($id: ID!) { person(id: $id) { id individualNumber household { members { id name } } } }"
    for person in data.ids[:4]:
        await pair.both("kaigo_number_officer", query, {"id": person})
        async with city.engine.connect() as conn:
            last = (
                await conn.execute(
                    text(
                        "SELECT person_ids, number_person_ids, outcome, operation_type, document_id"
                        " FROM audit_events ORDER BY seq DESC LIMIT 2"
                    )
                )
            ).all()
        if int(person) > max(int(i) for i in data.ids[:-1]):
            continue  # nobody found: no entry
        executor, planner = last  # the planner's request was sent first
        assert tuple(planner) == tuple(executor)
        assert int(person) in planner.person_ids and len(planner.person_ids) >= 1


async def test_transfer_pages_answer_alike(pair: Pair) -> None:
    """Every transfer entry: a department pages through the city with its registered document, and with
    a document selecting everything that is sent; each page is sent to both apps (one creates the
    record, the other replays it: the answers must be one). What is sent of each person comes from one
    planned statement on the planner's side."""
    before = pair.planned
    chief = {"Authorization": f"Bearer {pair.tokens('kaigo_section_chief')}"}
    reads = pair.planner_app.state.graphql.reads
    reads.page_chunk = 3  # a page of 7 built by three statements beside the mutation, joined in order
    try:
        await _transfer_pages(pair, chief)
    finally:
        reads.page_chunk = PAGE_CHUNK
    assert pair.planned - before >= 12


async def _transfer_pages(pair: Pair, chief: dict[str, str]) -> None:
    from policies.legal_bases import Direction, entries

    from .provision_documents import DECIDE_TRANSFER, REQUEST_TRANSFER, TRANSFER, today

    for n, row in enumerate(entries(Direction.TRANSFER, today())):
        dept, items = row.counterparty, sorted(row.items)
        headers = {"Authorization": f"Bearer {pair.tokens('receiving_department', dept)}"}
        registered = next(
            body
            for name, body in _operations(ROOT / "documents" / f"{dept}.json", kind="mutation")
            if name == "TransferInformation"
        )
        for k, document in enumerate((registered, TRANSFER)):  # a permission serves one request
            apply = {
                "requestId": f"planner-{n}-{k}",
                "basisItem": row.item,
                "items": items,
                "purpose": row.purpose[:100],
                "validFrom": today().isoformat(),
                "validTo": today().isoformat(),
            }
            applied = await pair.planner.post(
                "/graphql", json={"query": REQUEST_TRANSFER, "variables": {"input": apply}}, headers=headers
            )
            permission = applied.json()["data"]["requestTransferPermission"]["permission"]["id"]
            decided = await pair.planner.post(
                "/graphql",
                json={"query": DECIDE_TRANSFER, "variables": {"id": permission, "approve": True}},
                headers=chief,
            )
            assert decided.status_code == 200 and "errors" not in decided.json(), decided.text
            after = None
            for page in range(20):
                values = {
                    "requestId": f"planner-{n}-{k}-pages",
                    "permissionId": permission,
                    "items": items,
                    "first": 7,
                    "after": after,
                }
                answer = await pair.both_department(
                    dept, document, {"input": values}, executor_first=page % 2 == 1
                )
                result = answer["data"]["transferInformation"]
                assert result["__typename"] == "TransferPage", result
                if not result["pageInfo"]["hasNextPage"]:
                    break
                after = result["pageInfo"]["endCursor"]


async def test_planned_entries_are_sealed_and_verify(
    pg_server: Any,
    migrated_template: str,
    vault: NumberVault,
    authenticator: Any,
    token_for: Callable[..., str],
) -> None:
    """A planned read's entry — appended by its own statement, its content hashed by the database — is
    checked against what the server sent and sealed; `kaigo audit verify` finds every chain intact and
    every such entry sealed."""
    from persistence.audit import Sealer, verify

    key = b"k" * 32
    async with committed_city(pg_server, migrated_template, vault, authenticator, insured=8, seed=5) as city:
        sealer = Sealer(key)
        app = create_app(
            Runtime(
                Database(city.engine),
                vault,
                authenticator,
                guards=city.app.state.runtime.guards,
                sealer=sealer,
            )
        )
        async with city.engine.connect() as conn:
            ids = [
                str(i)
                for i in (await conn.execute(text("SELECT id FROM persons ORDER BY id LIMIT 5"))).scalars()
            ]
        query = (
            "query($id: ID!) { person(id: $id) { id name individualNumber household { members { id } } } }"
        )
        headers = {"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            for person in ids:
                body = {"query": query, "variables": {"id": person}, "extensions": apq(query)}
                assert "errors" not in (await client.post("/graphql", json=body, headers=headers)).json()
        assert app.state.graphql.reads.answered == len(ids)
        assert sealer.pending == len(ids)  # each link was the server's (else UnexpectedLink, no seal)
        assert await sealer.flush(city.engine) == len(ids)
        async with city.engine.connect() as conn:
            found = await verify(conn, key=key)
        assert found.intact and found.count >= len(ids) and found.sealed >= len(ids), found
