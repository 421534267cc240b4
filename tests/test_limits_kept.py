"""Limits measured once per document and role view (resolvers/limits.py ``measure_document``, kept by
api/documents/cache.py): evaluated at any request's values, the kept measure gives exactly the errors a
walk of the document with those values gives (codes, messages, extensions, locations), and a prepared
document is walked once per view, not per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, get_introspection_query, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.documents import document_id
from api.documents.cache import prepare_document
from policies.roles import duties_for
from resolvers import build_schema as build_kaigo_schema
from resolvers import limits, schema_for

from .provision_documents import TRANSFER
from .test_limits import _costly, _household_chain

Post = Callable[..., Awaitable[httpx.Response]]

OFFICER = duties_for(["kaigo_officer"])
CHIEF = duties_for(["kaigo_number_officer"])


def _views() -> list[GraphQLSchema]:
    return [build_kaigo_schema()._schema, schema_for(OFFICER)._schema, schema_for(CHIEF)._schema]


def _walked(schema: GraphQLSchema, document: DocumentNode, variables: Any) -> list[GraphQLError]:
    """What ParseLimits finds for a document it walks (a text run once)."""
    return limits._token_errors(document) or limits.operation_errors(schema, document, variables)


def _shown(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    return [dict(error.formatted) for error in errors]


def _aliases(n: int) -> str:
    return "{ persons(first: 1) { edges { node { " + " ".join(f"a{i}: id" for i in range(n)) + " } } } }"


_PAGE = _costly(1).replace("persons(first: 1)", "persons(first: $n)")
_FRAGMENTS = " ".join(f"fragment F{i} on Person {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))

# The documents of tests/test_limits.py, under and over each limit.
CASES = [
    _household_chain(4),
    _household_chain(4, "household { code }"),
    _household_chain(30),
    _aliases(30),
    _aliases(31),
    "{ "
    + " ".join(f"p{i}: persons(first: 500) {{ edges {{ node {{ id name }} }} }}" for i in range(2000))
    + " }",
    "{ persons(first: 1) { edges { node { ...F ...F } } } } fragment F on Person { "
    + " ".join(f"a{i}: id" for i in range(20))
    + " }",
    "{ " + "__typename " * 10 + "}",
    "{ " + "__typename " * 11 + "}",
    "query { ...R ...R } fragment R on Query { " + "__typename " * 6 + "}",
    "{ persons(first: 1) { edges { node { id } } } }" + "\n# padding" * 4983,
    "{ persons(first: 1) { edges { node { id } } } }" + "\n# padding" * 4984,
    _costly(306),
    _costly(307),
    "{ persons(first: 501) { edges { node { id } } } }",
    "{ persons(first: 1000000) { edges { node { id } } } }",
    "query($n: Int!) " + _PAGE,
    "query($n: Int = 307) " + _PAGE,
    TRANSFER,
    "{ persons(first: 1) { edges { node { ...F0 } } } } " + _FRAGMENTS + " fragment F40 on Person { id }",
    "{ persons(first: 1) { edges { node { ...A } } } } "
    "fragment A on Person { household { members { ...B } } } fragment B on Person { ...A }",
    get_introspection_query(descriptions=True, input_value_deprecation=True),
]
VALUES: list[dict[str, Any] | None] = [
    None,
    {},
    {"n": 2},
    {"n": 306},
    {"n": 307},
    {"n": 10_000},
    {"n": None},
    {"input": {"first": 100}},
    {"input": {"first": 1000}},
    {"input": {"first": 1001}},
]


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_the_kept_measure_gives_the_errors_of_a_walk(text: str) -> None:
    document = parse(text)  # without the token limit, as a registered document is parsed
    for schema in _views():
        measure = limits.measure_document(schema, document)
        for variables in VALUES:
            assert _shown(measure.errors(variables)) == _shown(_walked(schema, document, variables))


def test_every_limit_is_met_by_some_case() -> None:
    """The cases above exercise each code, so the comparison covers each error's form."""
    schema = build_kaigo_schema()._schema
    codes = {
        (error.extensions or {}).get("code")
        for text in CASES
        for variables in VALUES
        for error in limits.measure_document(schema, parse(text)).errors(variables)
    }
    assert codes == {
        "QUERY_TOO_LARGE",
        "QUERY_TOO_DEEP",
        "TOO_MANY_ALIASES",
        "TOO_MANY_ROOT_FIELDS",
        "QUERY_TOO_COMPLEX",
    }


# Documents whose cost turns on a page size given by a variable, in each form the cost reads; each
# crosses the cost limit within the page sizes a resolver serves.
_TRANSFER_INPUT = '{requestId: "r", department: "d", items: [QUALIFICATION], first: $n}'
FORMS = {  # DEFAULT: where the variable's declared type and default go
    "first": "query Q($n: IntDEFAULT) " + _PAGE,
    "input": TRANSFER.replace("TransferInformationInput!", "TransferInformationInputDEFAULT"),
    "input.first": TRANSFER.replace("$input: TransferInformationInput!", "$n: IntDEFAULT").replace(
        "input: $input", "input: " + _TRANSFER_INPUT
    ),
    # two operations declaring one variable each their own way (the last declared default counts)
    "two": "query A($n: IntDEFAULT) "
    + _PAGE
    + " query B($n: Int = 200) "
    + _PAGE.replace("persons", "o: persons"),
}
DEFAULTS = {
    "first": ["", "!", " = 5", " = 306", " = 307", " = null", " = -3", ' = "x"', " = true", " = 4000"],
    "input": ["", "!", " = {first: 100}", " = {first: 1000}", " = {first: null}", " = {}", " = 7"],
}
DEFAULTS["input.first"] = DEFAULTS["two"] = DEFAULTS["first"]

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 1005),
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, 1, 306, 307, 999, 1000, 1001, -1]),
    st.text(max_size=4),
    st.floats(allow_nan=False),
    st.lists(st.integers(0, 9), max_size=2),
)
_value = st.one_of(_scalar, st.dictionaries(st.sampled_from(["first", "after", "x"]), _scalar, max_size=3))


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, dict[str, Any] | None, bool]:
    form = draw(st.sampled_from(sorted(FORMS)))
    text = FORMS[form].replace("DEFAULT", draw(st.sampled_from(DEFAULTS[form])))
    name = "input" if form == "input" else "n"
    variables = draw(
        st.one_of(
            st.none(),
            st.just({}),
            st.fixed_dictionaries({name: _value}),
            st.fixed_dictionaries({name: st.fixed_dictionaries({"first": _scalar})}),
            st.fixed_dictionaries({"other": _value}),  # the variable left out
        )
    )
    return text, variables, draw(st.booleans())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=_requests())
def test_variable_page_sizes_cost_the_same_kept_or_walked(request: tuple[str, Any, bool]) -> None:
    text, variables, reviewed = request
    document = parse(text)
    schema = build_kaigo_schema()._schema
    values = None if reviewed else variables  # as ParseLimits costs a reviewed document
    kept = limits.measure_document(schema, document)
    assert _shown(kept.errors(values)) == _shown(_walked(schema, document, values))


def test_costs_crossing_the_limit_are_kept_exactly() -> None:
    """Both sides of the limit in each form (the hypothesis test draws values anywhere)."""
    schema = build_kaigo_schema()._schema
    kept = limits.measure_document(schema, parse(FORMS["first"].replace("DEFAULT", "")))
    [over] = kept.errors({"n": 307})
    assert over.extensions == {"code": "QUERY_TOO_COMPLEX", "cost": 50_042, "maxCost": 50_000}
    assert over.locations is not None and over.locations[0].line == 1
    assert kept.errors({"n": 306}) == [] and kept.errors({"n": 1001}) == []  # 1001: the resolver's refusal
    transfer = limits.measure_document(schema, parse(FORMS["input"].replace("DEFAULT", "")))
    assert transfer.errors({"input": {"first": 100}}) == []
    assert [e.extensions["code"] for e in transfer.errors({"input": {"first": 1000}}) if e.extensions] == [
        "QUERY_TOO_COMPLEX"
    ]


# A schema whose paged fields nest (none of ours do): the cost is a product of page sizes.
NESTED = build_schema("""
type Query { items(first: Int = 10): [Item] }
type Item { id: ID, a(first: Int = 2): [Item], b(first: Int = 3): [Item] }
""")


def _nested(levels: int) -> str:
    names = [f"$a{i}: Int, $b{i}: Int" for i in range(levels)]
    fragments = " ".join(
        f"fragment F{i} on Item {{ id a(first: $a{i}) {{ ...F{i + 1} }} b(first: $b{i}) {{ ...F{i + 1} }} }}"
        for i in range(levels)
    )
    return (
        f"query({', '.join(names)}) {{ items {{ ...F0 }} }} {fragments} fragment F{levels} on Item {{ id }}"
    )


@settings(max_examples=60, deadline=None)
@given(
    levels=st.sampled_from([2, 3, 9]),
    sizes=st.lists(st.one_of(st.none(), st.integers(-3, 1200)), min_size=18),
)
def test_products_of_page_sizes_are_kept_or_walked(levels: int, sizes: list[int | None]) -> None:
    """2 and 3 levels keep a product of page sizes; 9 levels (2^9 terms) are not kept: each request walks."""
    document = parse(_nested(levels))
    variables = {f"{side}{i}": sizes[2 * i + (side == "b")] for i in range(levels) for side in "ab"}
    kept = limits.measure_document(NESTED, document)
    assert (kept.operations is None) == (levels == 9)
    assert _shown(kept.errors(variables)) == _shown(_walked(NESTED, document, variables))


# ---- walked once per document and view -----------------------------------------------------------


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """One entry per walk of a document's selections: True when walked for every request (kept)."""
    seen: list[bool] = []

    class Counted(limits._Measure):
        def __init__(self, schema: Any, fragments: Any, variables: Any) -> None:
            seen.append(variables is None)
            super().__init__(schema, fragments, variables)

    monkeypatch.setattr(limits, "_Measure", Counted)
    yield seen


def test_a_prepared_document_is_measured_once_per_view(walks: list[bool]) -> None:
    text = "query($n: Int) " + _PAGE
    document = prepare_document(document_id(text), text)
    officer, chief = schema_for(OFFICER), schema_for(CHIEF)
    for n in (1, 306, 307, 5000, None):
        for schema, duties in ((officer, OFFICER), (chief, CHIEF)):
            errors = document.limit_errors(schema, duties, {"n": n}, reviewed=False)
            assert _shown(errors) == _shown(_walked(schema._schema, document.node, {"n": n}))
        assert _shown(document.limit_errors(chief, CHIEF, {"n": 307}, reviewed=True)) == []
    assert walks.count(True) == 2  # once per view
    measures = [document.measure(OFFICER), document.measure(CHIEF)]
    assert measures[0] is not measures[1]
    assert [m.schema if m else None for m in measures] == [officer._schema, chief._schema]


def test_limit_errors_needs_a_view_that_accepts_the_document() -> None:
    text = "query Numbers { persons(first: 1) { edges { node { individualNumber } } } }"
    document = prepare_document(document_id(text), text)
    with pytest.raises(ValueError, match="not valid for this view"):
        document.limit_errors(schema_for(OFFICER), OFFICER, {}, reviewed=False)
    assert document.limit_errors(schema_for(CHIEF), CHIEF, {}, reviewed=False) == []
    over = prepare_document(document_id(_costly(307)), _costly(307))  # over the cost at its defaults
    with pytest.raises(ValueError):
        over.limit_errors(schema_for(CHIEF), CHIEF, {}, reviewed=True)


async def test_a_repeated_text_is_walked_once_per_view(gql_response: Post, walks: list[bool]) -> None:
    """Over HTTP: a free text is walked with its values the first time (seen once), measured once for
    its view the second (kept from then on, api/documents/cache.py TextCache), then only evaluated."""
    text = "query Page($n: Int) " + _PAGE

    async def run(n: int, role: str = "kaigo_number_officer") -> dict[str, Any]:
        response = await gql_response(text, {"n": n}, role=role)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    first = await run(307)  # seen once: walked with n = 307
    assert walks == [False]
    assert first["data"] is None and first["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert await run(307) == first  # kept now: measured for the view, the same answer
    assert walks == [False, True]
    for n in (2, 307, 10_000, 306, 307):
        body = await run(n)
        assert ("errors" in body and body["errors"][0]["extensions"]["code"]) == {
            2: False,
            306: False,
            307: "QUERY_TOO_COMPLEX",
            10_000: "BAD_USER_INPUT",  # the resolver's own refusal, as before
        }[n], body
    assert await run(307) == first
    assert walks == [False, True]  # no walk per request
    await run(2, role="kaigo_officer")  # another view: measured for it once
    await run(307, role="kaigo_officer")
    assert walks == [False, True, True]
