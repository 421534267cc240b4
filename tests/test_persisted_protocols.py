"""The three persisted-document protocols with their real request shapes (POST and GET), the hash checks,
GET and mutations, GraphiQL, and the cache: a known document is neither parsed nor validated again."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import strawberry.schema.schema as strawberry_schema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.documents import document_id

from .hostile_support import deep_query, fragment_bomb
from .persisted_support import VIEWER, apq, refusal, sha

pytestmark = pytest.mark.db

OFFICER = "kaigo_officer"
PERSONS = "query FirstPersons { persons(first: 2) { edges { node { nameKana birthDate } } } }"


@pytest.fixture
def auth(token_for: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(OFFICER)}"}


async def _registered(conn: AsyncConnection, doc: str) -> list[str]:
    rows = await conn.execute(
        text("SELECT client_name FROM persisted_documents WHERE id = :id"), {"id": document_id(doc)}
    )
    return [r[0] for r in rows]


async def test_apq_over_post_miss_register_hit(
    client: httpx.AsyncClient, auth: dict[str, str], seeded_conn: AsyncConnection
) -> None:
    miss = await client.post("/graphql", json={"extensions": apq(PERSONS)}, headers=auth)
    refusal(miss, 200, "PERSISTED_QUERY_NOT_FOUND")
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo Client looks for

    registered = await client.post(
        "/graphql", json={"query": PERSONS, "extensions": apq(PERSONS)}, headers=auth
    )
    assert registered.status_code == 200, registered.text
    assert len(registered.json()["data"]["persons"]["edges"]) == 2
    assert await _registered(seeded_conn, PERSONS) == [""]  # no client name: registered for any client

    hit = await client.post("/graphql", json={"extensions": apq(PERSONS)}, headers=auth)
    assert hit.status_code == 200
    assert hit.json() == registered.json()


async def test_apq_over_get(
    client: httpx.AsyncClient, auth: dict[str, str], seeded_conn: AsyncConnection
) -> None:
    params = {"extensions": json.dumps(apq(VIEWER)), "operationName": "Viewer"}
    miss = await client.get("/graphql", params=params, headers={**auth, "Accept": "*/*"})
    refusal(miss, 200, "PERSISTED_QUERY_NOT_FOUND")  # run, not GraphiQL, though Accept is */*

    with_text = await client.get("/graphql", params={**params, "query": VIEWER}, headers=auth)
    assert with_text.json() == {
        "data": {"viewer": {"subject": "test-kaigo_officer", "roles": [OFFICER], "department": None}}
    }

    hit = await client.get("/graphql", params=params, headers={**auth, "Accept": "text/html"})
    assert hit.status_code == 200
    assert hit.json() == with_text.json()


async def test_apq_hash_and_text_that_differ(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = {"query": PERSONS, "extensions": apq(VIEWER)}
    refusal(await client.post("/graphql", json=body, headers=auth), 400, "PERSISTED_QUERY_HASH_MISMATCH")
    refusal(
        await client.post("/graphql", json={"query": VIEWER + " ", "extensions": apq(VIEWER)}, headers=auth),
        400,
        "PERSISTED_QUERY_HASH_MISMATCH",
    )  # the exact text: one more space is another document


async def test_malformed_references(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    version_2 = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": document_id(VIEWER)}}}
    refusal(await client.post("/graphql", json=version_2, headers=auth), 400, "BAD_REQUEST")
    upper = {"documentId": sha(VIEWER).upper()}
    refusal(await client.post("/graphql", json=upper, headers=auth), 400, "BAD_REQUEST")
    two = {"documentId": sha(VIEWER), "doc_id": document_id(PERSONS)}
    refusal(await client.post("/graphql", json=two, headers=auth), 400, "PERSISTED_QUERY_HASH_MISMATCH")


@pytest.mark.parametrize("key", ["documentId", "doc_id"])
async def test_document_id_and_relay_doc_id_over_post_and_get(
    client: httpx.AsyncClient, auth: dict[str, str], key: str
) -> None:
    reference = sha(PERSONS) if key == "documentId" else document_id(PERSONS)
    unknown = await client.post("/graphql", json={key: reference}, headers=auth)
    refusal(unknown, 404, "PERSISTED_QUERY_NOT_FOUND")

    # Registered once (by an automatic persisted query), then named by id.
    await client.post("/graphql", json={"query": PERSONS, "extensions": apq(PERSONS)}, headers=auth)
    by_post = await client.post("/graphql", json={key: reference}, headers=auth)
    assert by_post.status_code == 200, by_post.text
    assert len(by_post.json()["data"]["persons"]["edges"]) == 2
    by_get = await client.get("/graphql", params={key: reference}, headers={**auth, "Accept": "*/*"})
    assert by_get.json() == by_post.json()

    with_text = await client.post("/graphql", json={key: reference, "query": PERSONS}, headers=auth)
    assert with_text.json() == by_post.json()
    mismatch = await client.post("/graphql", json={key: reference, "query": VIEWER}, headers=auth)
    refusal(mismatch, 400, "PERSISTED_QUERY_HASH_MISMATCH")


async def test_variables_travel_with_an_id(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    doc = "query Page($n: Int!) { persons(first: $n) { edges { node { nameKana } } } }"
    await client.post(
        "/graphql", json={"query": doc, "variables": {"n": 1}, "extensions": apq(doc)}, headers=auth
    )
    for n in (1, 3):
        answer = await client.post(
            "/graphql", json={"documentId": sha(doc), "variables": {"n": n}}, headers=auth
        )
        assert len(answer.json()["data"]["persons"]["edges"]) == n
    got = await client.get(
        "/graphql", params={"documentId": sha(doc), "variables": json.dumps({"n": 2})}, headers=auth
    )
    assert len(got.json()["data"]["persons"]["edges"]) == 2


async def test_a_mutation_over_get_is_405_with_allow_post(client: httpx.AsyncClient, token_for: Any) -> None:
    auth = {"Authorization": f"Bearer {token_for('kaigo_section_chief')}"}
    mutation = 'mutation Decide { decideTransferPermission(id: "1", approve: false) { permission { id } } }'
    free = await client.get("/graphql", params={"query": mutation}, headers=auth)
    refusal(free, 405, "METHOD_NOT_ALLOWED")
    assert free.headers["allow"] == "POST"

    persisted = await client.get(
        "/graphql", params={"query": mutation, "extensions": json.dumps(apq(mutation))}, headers=auth
    )
    refusal(persisted, 405, "METHOD_NOT_ALLOWED")
    assert persisted.headers["allow"] == "POST"


async def test_graphiql_still_opens(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    # …but a GET naming a document is an operation, so it needs a token like any other.
    named = await client.get("/graphql", params={"documentId": sha(VIEWER)}, headers={"Accept": "text/html"})
    assert named.status_code == 401


def _counted(calls: list[str], name: str) -> Any:
    """strawberry's ``name`` (``parse``, ``validate_document``), noting each call in ``calls``."""
    original = getattr(strawberry_schema, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return original(*args, **kwargs)

    return wrapper


async def test_a_known_document_is_neither_parsed_nor_validated_again(
    client: httpx.AsyncClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.post("/graphql", json={"query": PERSONS, "extensions": apq(PERSONS)}, headers=auth)
    assert first.status_code == 200

    calls: list[str] = []
    for name in ("parse", "validate_document"):
        monkeypatch.setattr(strawberry_schema, name, _counted(calls, name))
    for request in (
        {"extensions": apq(PERSONS)},
        {"documentId": sha(PERSONS)},
        {"doc_id": document_id(PERSONS)},
    ):
        again = await client.post("/graphql", json=request, headers=auth)
        assert again.json() == first.json()
    assert calls == []
    # Free text takes the ordinary path the first time it is seen (a worker's own cache: see below).
    assert (await client.post("/graphql", json={"query": PERSONS}, headers=auth)).json() == first.json()
    assert calls == ["parse", "validate_document"]


async def test_a_repeated_free_text_runs_prepared_from_its_second_sighting(
    client: httpx.AsyncClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name in ("parse", "validate_document"):
        monkeypatch.setattr(strawberry_schema, name, _counted(calls, name))
    answers = [
        (await client.post("/graphql", json={"query": PERSONS}, headers=auth)).json() for _ in range(4)
    ]
    assert "errors" not in answers[0] and all(a == answers[0] for a in answers)
    assert calls == ["parse", "validate_document"]  # the first sighting only


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (deep_query(30), "QUERY_TOO_DEEP"),
        (fragment_bomb(), "QUERY_TOO_COMPLEX"),
        ("{ persons(first: 1) { edges { node { nope } } } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["deep", "fragment bomb", "unknown field"],
)
async def test_a_repeated_refused_text_is_refused_every_time(
    client: httpx.AsyncClient, auth: dict[str, str], query: str, code: str
) -> None:
    """The first sighting, the second (prepared, found invalid) and the later ones answer alike."""
    for _ in range(3):
        body = (await client.post("/graphql", json={"query": query}, headers=auth)).json()
        assert body.get("data") is None
        assert code in [e["extensions"]["code"] for e in body["errors"]], body


async def test_a_repeated_free_text_is_still_validated_for_each_view(
    client: httpx.AsyncClient, token_for: Any, seeded_conn: AsyncConnection
) -> None:
    """Kept after a number officer ran it twice, the text is refused to an officer every time: for that
    role the field does not exist."""
    numbers = "query Numbers { persons(first: 1) { edges { node { individualNumber } } } }"
    chief = {"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
    for _ in range(3):
        ok = await client.post("/graphql", json={"query": numbers}, headers=chief)
        assert ok.status_code == 200 and "errors" not in ok.json()
    officer = {"Authorization": f"Bearer {token_for(OFFICER)}"}
    for _ in range(3):
        body = (await client.post("/graphql", json={"query": numbers}, headers=officer)).json()
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "individualNumber" in body["errors"][0]["message"]
        assert not body.get("data")


async def test_validated_once_per_view(
    client: httpx.AsyncClient, token_for: Any, seeded_conn: AsyncConnection
) -> None:
    """A document valid for one role's view is still validated, and refused, for a smaller view."""
    numbers = "query Numbers { persons(first: 1) { edges { node { individualNumber } } } }"
    chief = {"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
    ok = await client.post("/graphql", json={"query": numbers, "extensions": apq(numbers)}, headers=chief)
    assert ok.status_code == 200 and "errors" not in ok.json()

    officer = {"Authorization": f"Bearer {token_for(OFFICER)}"}
    refused = await client.post("/graphql", json={"documentId": sha(numbers)}, headers=officer)
    body = refused.json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "individualNumber" in body["errors"][0]["message"]
    assert not body.get("data")


async def test_an_automatic_query_with_a_number_literal_is_run_but_not_kept(
    client: httpx.AsyncClient, token_for: Any, seeded_conn: AsyncConnection
) -> None:
    from policies.individual_number import complete

    number = complete("12345678901")
    doc = f'query ByNumber {{ personByIndividualNumber(number: "{number}") {{ nameKana }} }}'
    auth = {"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
    answer = await client.post("/graphql", json={"query": doc, "extensions": apq(doc)}, headers=auth)
    assert answer.status_code == 200
    assert await _registered(seeded_conn, doc) == []
    assert number not in json.dumps(answer.json())
