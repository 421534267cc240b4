"""Each role sees its own view of the one schema: fields it may not see do not exist for it.

Absent means absent everywhere a client could look: introspection, the SDL, validation (no "Did you
mean"), error messages — and no valid individual number reaches a role without the number-use duty.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.cli import main as kaigo
from persistence.crypto import NumberVault
from policies.individual_number import find_valid_numbers
from policies.roles import ROLE_NAMES, duties_for
from resolvers import schema_for

NUMBER_FIELDS = {("Person", "individualNumber"), ("Query", "personByIndividualNumber")}
AREAS = {
    "qualifications": ("Qualification", "read_qualifications"),
    "certifications": ("Certification", "read_certifications"),
    "benefits": ("Benefits", "read_benefits"),
    "levies": ("Levy", "read_levies"),
}
# role → (sees persons, the areas it sees, sees individual numbers)
EXPECTED: dict[str, tuple[bool, set[str], bool]] = {
    "kaigo_number_officer": (True, set(AREAS), True),
    "kaigo_section_chief": (True, set(AREAS), True),
    "kaigo_officer": (True, set(AREAS), False),
    "kenko_choju_officer": (True, {"qualifications", "certifications"}, False),
    "shido_kansa_officer": (True, {"certifications", "benefits"}, False),
    "intermediate_server": (False, set(), False),
    "receiving_department": (False, set(), False),
    "security_auditor": (False, set(), False),
    "system_operator": (False, set(), False),
}

INTROSPECTION = """
{ __schema { types { name fields { name args { name } } inputFields { name } } } }
"""


def test_every_role_is_covered() -> None:
    assert set(EXPECTED) == ROLE_NAMES


def _view(role: str, department: str | None = None) -> str:
    return schema_for(duties_for([role], department)).as_str()


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_sdl_of_each_role(role: str) -> None:
    sees_persons, areas, sees_numbers = EXPECTED[role]
    department = "seikatsu_fukushi" if role == "receiving_department" else None
    sdl = _view(role, department)
    assert ("type Person " in sdl) is sees_persons
    assert ("individualNumber" in sdl) is sees_numbers
    assert ("personByIndividualNumber" in sdl) is sees_numbers
    for area, (type_name, _) in AREAS.items():
        assert (f"type {type_name} " in sdl) is (area in areas), (role, area)
    assert "Did you mean" not in sdl


def test_the_full_schema_shows_the_directive() -> None:
    from resolvers import build_schema

    sdl = build_schema().as_str()
    assert re.search(r"individualNumber: String @requiresDuty\(duty: NUMBER_USE\)", sdl)
    assert "directive @requiresDuty(duty: Duty!)" in sdl


def test_views_are_built_once_and_shared() -> None:
    assert schema_for(duties_for(["kaigo_officer"])) is schema_for(duties_for(["kaigo_officer"]))


def test_kaigo_schema_role(capsys: pytest.CaptureFixture[str]) -> None:
    kaigo(["schema", "--role", "kaigo_officer"])
    officer = capsys.readouterr().out
    kaigo(["schema", "--role", "kaigo_number_officer"])
    number_officer = capsys.readouterr().out
    assert "individualNumber" not in officer and "individualNumber" in number_officer


@pytest.mark.db
@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_introspection_of_each_role(gql: Any, role: str) -> None:
    sees_persons, areas, sees_numbers = EXPECTED[role]
    department = "seikatsu_fukushi" if role == "receiving_department" else None
    body = await gql(INTROSPECTION, role=role, department=department)
    assert "errors" not in body
    types = {t["name"]: t for t in body["data"]["__schema"]["types"]}
    fields = {(t, f["name"]) for t, d in types.items() for f in d["fields"] or []}
    inputs = {(t, f["name"]) for t, d in types.items() for f in d["inputFields"] or []}
    assert ("Query", "viewer") in fields
    assert (("Query", "persons") in fields) is sees_persons
    for pair in NUMBER_FIELDS:
        assert (pair in fields) is sees_numbers, (role, pair)
    for area, (type_name, _) in AREAS.items():
        assert (type_name in types) is (area in areas), (role, type_name)
        if sees_persons:
            assert (("Person", area) in fields) is (area in areas)
    if sees_persons:
        assert (("PersonFilter", "insuredNumber") in inputs) is ("qualifications" in areas)
        assert (("PersonFilter", "careLevel") in inputs) is ("certifications" in areas)


@pytest.mark.db
async def test_a_hidden_field_fails_validation_without_suggestions(gql: Any) -> None:
    for query in (
        "{ persons(first: 1) { edges { node { individualNumber } } } }",
        "{ persons(first: 1) { edges { node { individualNumbe } } } }",
        '{ personByIndividualNumber(individualNumber: "123456789018") { id } }',
    ):
        body = await gql(query, role="kaigo_officer")
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Cannot query field" in error["message"]
        assert "Did you mean" not in error["message"]
        assert "123456789018" not in str(body)


@pytest.mark.db
async def test_a_hidden_area_fails_validation(gql: Any) -> None:
    body = await gql(
        "{ persons(first: 1) { edges { node { levies { fiscalYear } } } } }", role="shido_kansa_officer"
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await gql(
        '{ persons(filter: {insuredNumber: "0000000001"}) { totalCount } }', role="shido_kansa_officer"
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.db
async def test_several_roles_see_the_union(client: httpx.AsyncClient, dev_keys: Any) -> None:
    token = dev_keys.issue_token(["kenko_choju_officer", "shido_kansa_officer"], sub="two-hats")
    query = "{ viewer { roles duties } persons(first: 1) { edges { node { qualifications { category } benefits { __typename } } } } }"
    body = (
        await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert "errors" not in body, body
    assert body["data"]["viewer"]["roles"] == ["kenko_choju_officer", "shido_kansa_officer"]
    assert "read_benefits" in body["data"]["viewer"]["duties"]
    assert "number_use" not in body["data"]["viewer"]["duties"]


@pytest.mark.db
async def test_viewer(gql: Any) -> None:
    body = await gql(
        "{ viewer { subject roles duties department } }",
        role="receiving_department",
        department="fukushi_engo",
    )
    viewer = body["data"]["viewer"]
    assert viewer["subject"] == "test-receiving_department"
    assert viewer["department"] == "fukushi_engo"
    assert viewer["roles"] == ["receiving_department"]


@pytest.mark.db
@pytest.mark.parametrize("role", [r for r, (_, _, numbers) in EXPECTED.items() if not numbers])
async def test_no_individual_number_reaches_a_role_without_number_use(
    gql: Any, seeded_conn: AsyncConnection, vault: NumberVault, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = (
        await seeded_conn.execute(text("SELECT addressee_code, individual_number_enc FROM persons"))
    ).all()
    numbers = {vault.decrypt(enc, context=code.encode()).reveal() for code, enc in rows if enc is not None}
    some_number = sorted(numbers)[0]
    caplog.set_level(logging.DEBUG)
    department = "seikatsu_fukushi" if role == "receiving_department" else None
    queries = [
        "{ persons(first: 100) { edges { node { id name nameKana addresseeCode household { members { id } } } } } }",
        "{ persons(first: 5) { edges { node { individualNumber } } } }",
        f'{{ personByIndividualNumber(individualNumber: "{some_number}") {{ id }} }}',
        "query($n: String!) { personByIndividualNumber(individualNumber: $n) { id } }",
        f"{{ person(id: {some_number}) {{ id }} }}",
        f'{{ persons(filter: {{nameKanaPrefix: "{some_number}"}}) {{ totalCount }} }}',
        INTROSPECTION,
    ]
    seen = []
    for query in queries:
        body = await gql(
            query, {"n": some_number} if "$n" in query else None, role=role, department=department
        )
        seen.append(str(body))
    text_seen = "\n".join(seen) + "\n" + caplog.text
    assert not numbers & set(find_valid_numbers(text_seen))
