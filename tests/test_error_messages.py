"""Errors a UI can show: Japanese or English by Accept-Language with the same codes, `field` and `reason`
on variable and literal errors as on resolver errors, no value of the client's echoed, a 401 that says how
to get a token, `kaigo token` refusing a key no server uses, and answers in UTF-8 (no \\u escapes)."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import httpx
import pytest

import api.audit
import api.guards
import api.refusals
import resolvers.errors
import resolvers.introspection
import resolvers.limits
import schema.conflicts
import schema.errors
import schema.writes
from api.cli import main
from api.http_surface import preferred_language
from schema.errors import JA_BY_CODE, JA_BY_REASON, InputReason

pytestmark = pytest.mark.db

FIRST = "query($first: Int!) { persons(first: $first) { edges { node { name } } } }"
NUMBER = "123456789018"  # a valid individual number (check digit 8)
WIDE_NUMBER = "１２３４５６７８９０１８"
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龯]")


def _codes() -> set[str]:
    """Every error code the server answers with: the constants of the modules that define them."""
    modules = (
        schema.errors,
        schema.conflicts,
        schema.writes,
        resolvers.errors,
        resolvers.limits,
        resolvers.introspection,
    )
    found = {"UNAUTHENTICATED"}
    for module in (*modules, api.refusals, api.guards, api.audit):
        found |= {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str) and v == k}
    return found - {"ENV_VAR"}


def test_every_code_and_reason_has_its_japanese() -> None:
    codes = _codes()
    assert {"BAD_USER_INPUT", "QUERY_TOO_DEEP", "PERSISTED_QUERY_NOT_FOUND", "DATABASE_BUSY"} <= codes
    assert codes <= set(JA_BY_CODE), codes - set(JA_BY_CODE)
    assert set(typing.get_args(InputReason)) == set(JA_BY_REASON)
    assert all(JAPANESE.search(message) for message in (*JA_BY_CODE.values(), *JA_BY_REASON.values()))


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "en"),
        ("ja", "ja"),
        ("ja-JP", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("en;q=0.5, ja;q=0.8", "ja"),
        ("fr, ja;q=0.1", "ja"),
        ("ja;q=0, en", "en"),
        ("ja;q=0", "en"),
        ("en, ja", "en"),
        ("*", "en"),
        ("ja;q=nan", "en"),
        ("ja;q=2", "en"),
    ],
)
def test_accept_language(header: str, language: str) -> None:
    assert preferred_language(header) == language


async def _both(gql_response: Any, query: str, variables: Any = None, **kw: Any) -> tuple[Any, Any]:
    """The answer in English (no Accept-Language) and in Japanese."""
    english = (await gql_response(query, variables, **kw)).json()
    japanese = (
        await gql_response(query, variables, headers={"Accept-Language": "ja;q=0.9, en;q=0.3"}, **kw)
    ).json()
    return english, japanese


def _same_but_the_message(english: Any, japanese: Any) -> None:
    assert [e["extensions"] for e in english["errors"]] == [e["extensions"] for e in japanese["errors"]]
    for en, ja in zip(english["errors"], japanese["errors"], strict=True):
        assert not JAPANESE.search(en["message"]) or "ァ" in en["message"], en  # (a kana range may be named)
        assert JAPANESE.search(ja["message"]), ja


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ persons(filter: {nameKanaPrefix: "abc"}) { edges { node { name } } } }', None),  # resolver
        ("{ persons { edges { node { nam } } } }", None),  # validation
        ("{ persons { edges { node { name } }", None),  # syntax
        (FIRST, {"first": "ten"}),  # variable coercion
        ('{ persons(first: "ten") { edges { node { name } } } }', None),  # literal
        (
            "{ a: viewer { subject } b: viewer { subject } c: viewer { subject } d: viewer { subject } "
            "e: viewer { subject } f: viewer { subject } g: viewer { subject } h: viewer { subject } "
            "i: viewer { subject } j: viewer { subject } k: viewer { subject } }",
            None,
        ),  # a limit
    ],
)
async def test_japanese_by_accept_language_with_the_same_codes(
    gql_response: Any, query: str, variables: Any
) -> None:
    english, japanese = await _both(gql_response, query, variables)
    _same_but_the_message(english, japanese)


async def test_refusals_and_401_in_japanese(client: httpx.AsyncClient, token_for: Any) -> None:
    ja = {"Accept-Language": "ja"}
    unauthenticated = await client.post("/graphql", json={"query": "{ viewer { subject } }"}, headers=ja)
    assert unauthenticated.status_code == 401
    message = unauthenticated.json()["errors"][0]["message"]
    assert message.startswith("認証が必要です。") and "kaigo token --role" in message
    refused = await client.post(
        "/graphql",
        content=b"{not json",
        headers={
            **ja,
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token_for('kaigo_officer')}",
        },
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"message": "リクエスト本文を JSON として解析できません。", "extensions": {"code": "BAD_REQUEST"}}
    ]
    assert "リクエスト本文".encode() in refused.content  # UTF-8, not \u escapes


async def test_a_variable_error_names_the_argument_and_why(gql_response: Any) -> None:
    answer = (await gql_response(FIRST, {"first": "ten"})).json()
    (error,) = answer["errors"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "first",
        "reason": "FORMAT",
        "variable": "first",
    }
    assert "ten" not in error["message"] and "`first`" in error["message"]

    missing = (await gql_response(FIRST, {})).json()["errors"][0]["extensions"]
    assert (missing["field"], missing["reason"]) == ("first", "REQUIRED")
    huge = (await gql_response(FIRST, {"first": 2**40})).json()["errors"][0]["extensions"]
    assert (huge["field"], huge["reason"]) == ("first", "OUT_OF_RANGE")

    nested = (
        await gql_response(
            "query($f: PersonFilter) { persons(filter: $f) { edges { node { name } } } }",
            {"f": {"birthDateFrom": "昭和16年", "bornIn": "昭和", "careLevel": "CARE_9"}},
        )
    ).json()["errors"]
    assert {(e["extensions"]["field"], e["extensions"]["reason"]) for e in nested} == {
        ("filter.birthDateFrom", "FORMAT"),
        ("filter.bornIn", "UNKNOWN_FIELD"),
        ("filter.careLevel", "FORMAT"),
    }


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ persons(filter: {birthDateFrom: "昭和16年"}) { edges { node { name } } } }', None),
        (
            "query($d: Date) { persons(filter: {birthDateFrom: $d}) { edges { node { name } } } }",
            {"d": "昭和16年"},
        ),
        (
            "query($f: PersonFilter) { persons(filter: $f) { edges { node { name } } } }",
            {"f": {"昭和16年": 1}},
        ),
        (
            "query($c: CareLevel) { persons(filter: {careLevel: $c}) { edges { node { name } } } }",
            {"c": "昭和16年"},
        ),
        ('{ persons(filter: {careLevel: "昭和16年"}) { edges { node { name } } } }', None),
        ('{ persons(filter: "昭和16年" "x") { edges { node { name } } } }', None),  # a syntax error
        (
            '{ persons(filter: {nameKanaPrefix: "ア"} first: """昭和16年""" 1) { edges { node { name } } } }',
            None,
        ),
    ],
)
async def test_no_message_echoes_the_value(gql_response: Any, query: str, variables: Any) -> None:
    for language in ("en", "ja"):
        response = await gql_response(query, variables, headers={"Accept-Language": language})
        body = response.json()
        assert body["errors"]
        assert "昭和" not in response.text.replace(query, ""), body
    literal = (await gql_response(*_first_case())).json()["errors"][0]
    assert literal["extensions"] == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "field": "filter.birthDateFrom",
        "reason": "FORMAT",
    }
    assert literal["message"] == "`filter.birthDateFrom` is not a valid Date."


def _first_case() -> tuple[str, None]:
    return ('{ persons(filter: {birthDateFrom: "昭和16年"}) { edges { node { name } } } }', None)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            "query($n: String!) { personByIndividualNumber(individualNumber: $n) { name } }",
            {"n": int(NUMBER)},
        ),
        (f"{{ personByIndividualNumber(individualNumber: {NUMBER}) {{ name }} }}", None),
        ("query($f: Int!) { persons(first: $f) { edges { node { name } } } }", {"f": WIDE_NUMBER}),
        (
            "query($f: PersonFilter) { persons(filter: $f) { edges { node { name } } } }",
            {"f": {f"_{NUMBER}": 1}},
        ),
        (
            "query($n: String!) { personByIndividualNumber(individualNumber: $n) { name } }",
            {"n": WIDE_NUMBER},
        ),
        (
            f'{{ persons(filter: {{nameKanaPrefix: "ア"}} first: "{WIDE_NUMBER}" 1) {{ edges {{ node {{ name }} }} }} }}',
            None,
        ),
    ],
)
async def test_unescaped_answers_still_hold_no_individual_number(
    gql_response: Any, query: str, variables: Any
) -> None:
    for language in ("en", "ja"):
        response = await gql_response(query, variables, headers={"Accept-Language": language})
        assert response.json()["errors"]
        shown = response.content.decode("utf-8").replace(query, "")
        assert NUMBER not in shown and WIDE_NUMBER not in shown and "\\u" not in shown


async def test_answers_are_utf8_not_escaped(gql_response: Any) -> None:
    response = await gql_response("{ persons(first: 1) { edges { node { name nameKana } } } }")
    name = response.json()["data"]["persons"]["edges"][0]["node"]["name"]
    assert name.encode() in response.content and b"\\u" not in response.content
    assert response.content == json.dumps(response.json(), ensure_ascii=False, separators=(",", ":")).encode()
    typed = await gql_response(
        "{ persons(first: 1) { edges { node { name } } } }",
        headers={"Accept": "application/graphql-response+json"},
    )
    assert name.encode() in typed.content and b"\\u" not in typed.content


def test_a_lone_surrogate_is_escaped_rather_than_failing(app: Any) -> None:
    view = next(route.app for route in app.routes if getattr(route, "path", None) == "/graphql")
    assert json.loads(view.encode_json({"data": {"s": "青木\ud800"}})) == {"data": {"s": "青木\ud800"}}
    assert view.encode_json({"data": {"s": "青木"}}) == '{"data":{"s":"青木"}}'.encode()


async def test_the_401_says_how_to_get_a_token(client: httpx.AsyncClient, dev_keys: Any) -> None:
    refused = (await client.post("/graphql", json={"query": "{ viewer { subject } }"})).json()
    message = refused["errors"][0]["message"]
    data_dir = str(Path(dev_keys.jwks_path).resolve().parent.parent)
    assert f"KAIGO_DATA_DIR={data_dir} kaigo token --role" in message
    expired = await client.post(
        "/graphql",
        json={"query": "{ viewer { subject } }"},
        headers={"Authorization": f"Bearer {dev_keys.issue_token('kaigo_officer', sub='x', ttl=_ago())}"},
    )
    assert expired.status_code == 401
    assert expired.json()["errors"][0]["message"].startswith("Token has expired. Send `Authorization")


def _ago() -> Any:
    from datetime import timedelta

    return timedelta(seconds=-3600)


def test_kaigo_token_refuses_without_the_servers_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIGO_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("KAIGO_ENV", raising=False)
    with pytest.raises(SystemExit) as refused:
        main(["token", "--role", "kaigo_officer"])
    assert "no development signing key under" in str(refused.value) and "KAIGO_DATA_DIR" in str(refused.value)
    assert not (tmp_path / "elsewhere").exists()  # no key made that no server trusts
