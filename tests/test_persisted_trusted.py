"""Trusted-documents mode: receiving departments (by role) and configured clients run the documents
registered for their client only; the client comes from the token, a header, or the department."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.app import create_app
from api.documents import DocumentCache, document_id
from api.runtime import Runtime
from persistence import documents as store
from persistence.crypto import NumberVault
from persistence.db import Database
from policies.clients import clients
from policies.individual_number import complete
from resolvers.context import request_date

from .persisted_support import MANIFESTS, VIEWER, apq, http, manifest_operation, refusal, register, sha

pytestmark = pytest.mark.db

DEPARTMENT = "fukushi_engo"
KIOSK = "kiosk"  # a front end configured trusted (KAIGO_TRUSTED_CLIENTS)


@pytest.fixture
async def trusted(
    seeded_engine: AsyncEngine, seeded_conn: AsyncConnection, vault: NumberVault, authenticator: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app as `kaigo serve` runs it (trusted roles from clients.toml), re-checking at every request."""
    runtime = Runtime(
        Database(seeded_engine, bind=seeded_conn),
        vault,
        authenticator,
        trusted_roles=clients().trusted_roles,
        trusted_clients=frozenset({KIOSK}),
        document_recheck_seconds=0,
    )
    async with http(create_app(runtime)) as client:
        yield client


@pytest.fixture
def department(token_for: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('receiving_department', DEPARTMENT)}"}


async def _import_manifest(conn: AsyncConnection, client: str) -> None:
    manifest = json.loads((MANIFESTS / f"{client}.json").read_text(encoding="utf-8"))
    for op in manifest["operations"]:
        await register(conn, op["body"], client, kind=op["type"])


async def test_a_department_sends_no_text(trusted: httpx.AsyncClient, department: dict[str, str]) -> None:
    free = await trusted.post("/graphql", json={"query": VIEWER}, headers=department)
    refusal(free, 400, "PERSISTED_QUERY_ID_REQUIRED")
    registering = await trusted.post(
        "/graphql", json={"query": VIEWER, "extensions": apq(VIEWER)}, headers=department
    )
    refusal(registering, 400, "PERSISTED_QUERY_ID_REQUIRED")
    for request in (
        {"extensions": apq(VIEWER)},
        {"documentId": sha(VIEWER)},
        {"doc_id": document_id(VIEWER)},
    ):
        refusal(
            await trusted.post("/graphql", json=request, headers=department),
            404,
            "PERSISTED_QUERY_NOT_IN_LIST",
        )


async def test_a_department_runs_its_registered_documents_by_any_protocol(
    trusted: httpx.AsyncClient, department: dict[str, str], seeded_conn: AsyncConnection
) -> None:
    await _import_manifest(seeded_conn, DEPARTMENT)
    viewer = manifest_operation(DEPARTMENT, "Viewer")["body"]
    expected = {
        "data": {
            "viewer": {
                "subject": "test-receiving_department",
                "roles": ["receiving_department"],
                "department": DEPARTMENT,
            }
        }
    }
    for request in (
        {"documentId": sha(viewer)},
        {"doc_id": document_id(viewer)},
        {"extensions": apq(viewer)},
    ):
        answer = await trusted.post("/graphql", json=request, headers=department)
        assert answer.json() == expected, answer.text
    got = await trusted.get("/graphql", params={"documentId": sha(viewer)}, headers=department)
    assert got.json() == expected
    named = await trusted.get(
        "/graphql",
        params={"documentId": sha(viewer)},
        headers={**department, "graphql-client-name": DEPARTMENT},
    )
    assert named.json() == expected
    # The department binds the client: a header naming another department's client is refused.
    other = {**department, "graphql-client-name": "seikatsu_fukushi"}
    refusal(
        await trusted.get("/graphql", params={"documentId": sha(viewer)}, headers=other),
        400,
        "CLIENT_NAME_MISMATCH",
    )


async def test_documents_of_another_client_or_revoked_are_not_in_the_list(
    trusted: httpx.AsyncClient, department: dict[str, str], token_for: Any, seeded_conn: AsyncConnection
) -> None:
    other = "query Mine { viewer { subject } }"
    await register(seeded_conn, other, "seikatsu_fukushi")
    refusal(
        await trusted.post("/graphql", json={"documentId": sha(other)}, headers=department),
        404,
        "PERSISTED_QUERY_NOT_IN_LIST",
    )

    # An automatic registration by someone else using the department's client name does not count.
    officer = {"Authorization": f"Bearer {token_for('kaigo_officer')}", "graphql-client-name": DEPARTMENT}
    sneaked = await trusted.post("/graphql", json={"query": other, "extensions": apq(other)}, headers=officer)
    assert sneaked.status_code == 200, sneaked.text
    refusal(
        await trusted.post("/graphql", json={"documentId": sha(other)}, headers=department),
        404,
        "PERSISTED_QUERY_NOT_IN_LIST",
    )

    await register(seeded_conn, other, DEPARTMENT)
    assert (
        await trusted.post("/graphql", json={"documentId": sha(other)}, headers=department)
    ).status_code == 200
    assert await store.revoke(seeded_conn, document_id(other), DEPARTMENT) == 1
    refusal(
        await trusted.post("/graphql", json={"documentId": sha(other)}, headers=department),
        404,
        "PERSISTED_QUERY_NOT_IN_LIST",
    )


async def test_the_departments_transfer_operations_from_the_manifest(
    trusted: httpx.AsyncClient, department: dict[str, str], token_for: Any, seeded_conn: AsyncConnection
) -> None:
    """Apply, be approved (the chief is no trusted client: free text), see the status, receive a page."""
    await _import_manifest(seeded_conn, DEPARTMENT)
    apply = manifest_operation(DEPARTMENT, "RequestTransferPermission")
    values = {
        "requestId": "pq-apply-1",
        "basisItem": "61",
        "items": ["QUALIFICATION", "CERTIFICATION"],
        "purpose": "老人福祉法による福祉の措置",
        "validFrom": request_date().isoformat(),
        "validTo": (request_date() + timedelta(days=30)).isoformat(),  # one permission per request
    }
    applied = await trusted.post(
        "/graphql",
        json={"documentId": sha(apply["body"]), "variables": {"input": values}},
        headers=department,
    )
    result = applied.json()["data"]["requestTransferPermission"]
    assert result["__typename"] == "TransferPermissionRequested", applied.text
    permission = result["permission"]["id"]

    chief = {"Authorization": f"Bearer {token_for('kaigo_section_chief')}"}
    decide = (
        "mutation D($id: ID!) { decideTransferPermission(id: $id, approve: true) { permission { status } } }"
    )
    decided = await trusted.post(
        "/graphql", json={"query": decide, "variables": {"id": permission}}, headers=chief
    )
    assert decided.json()["data"]["decideTransferPermission"]["permission"]["status"] == "APPROVED", (
        decided.text
    )

    status = manifest_operation(DEPARTMENT, "DepartmentTransferPermissions")
    listed = await trusted.get(
        "/graphql",
        params={"documentId": sha(status["body"]), "variables": json.dumps({"status": "APPROVED"})},
        headers=department,
    )
    assert [p["id"] for p in listed.json()["data"]["departmentTransferPermissions"]] == [permission]

    transfer = manifest_operation(DEPARTMENT, "TransferInformation")
    page_input = {
        "requestId": "pq-transfer-1",
        "permissionId": permission,
        "items": ["QUALIFICATION", "CERTIFICATION"],
        "first": 3,
    }
    page = await trusted.post(
        "/graphql",
        json={"documentId": sha(transfer["body"]), "variables": {"input": page_input}},
        headers=department,
    )
    body = page.json()["data"]["transferInformation"]
    assert body["__typename"] == "TransferPage", page.text
    assert len(body["persons"]) == 3
    assert body["persons"][0]["information"]["qualification"]["insuredNumber"]

    # A full page of 1000: the department's imported (reviewed) document is costed at the defaults it
    # declares, as when it was imported; the same text costed at this request's page size is over the limit.
    from graphql import parse

    from resolvers import build_schema
    from resolvers.limits import operation_errors

    # one permission serves one transfer request (issue 15): the second request applies again
    again = await trusted.post(
        "/graphql",
        json={
            "documentId": sha(apply["body"]),
            "variables": {"input": {**values, "requestId": "pq-apply-2"}},
        },
        headers=department,
    )
    second = again.json()["data"]["requestTransferPermission"]["permission"]["id"]
    await trusted.post("/graphql", json={"query": decide, "variables": {"id": second}}, headers=chief)
    full = {**page_input, "permissionId": second, "requestId": "pq-transfer-2", "first": 1000}
    over = operation_errors(build_schema()._schema, parse(transfer["body"]), {"input": full})
    assert [e.extensions["code"] for e in over if e.extensions] == ["QUERY_TOO_COMPLEX"]
    # a person of the first page flagged 自動応答不可 meanwhile: withheld, and the department is told so
    withheld = body["persons"][0]["addresseeCode"]
    flag = (
        'mutation F($p: ID!) { setNoAutomaticResponse(personId: $p, on: true, reason: "保護措置") { flag } }'
    )
    person = (
        await seeded_conn.execute(text("SELECT id FROM persons WHERE addressee_code = :a"), {"a": withheld})
    ).scalar_one()
    flagged = await trusted.post(
        "/graphql", json={"query": flag, "variables": {"p": str(person)}}, headers=chief
    )
    assert flagged.json()["data"]["setNoAutomaticResponse"]["flag"] is True, flagged.text
    page = await trusted.post(
        "/graphql",
        json={"documentId": sha(transfer["body"]), "variables": {"input": full}},
        headers=department,
    )
    answer = page.json()["data"]["transferInformation"]
    assert answer["__typename"] == "TransferPage", page.text
    assert withheld not in {p["addresseeCode"] for p in answer["persons"]}
    (held,) = answer["heldBack"]  # one record for the flagged persons of the page (the seed flags some)
    assert (held["outcome"], held["code"]) == ("PENDING_REVIEW", "PENDING_REVIEW")
    assert held["page"]["personCount"] >= 1
    assert held["id"] and held["reason"]["ja"] and held["recordedAt"]
    beyond = {**full, "requestId": "pq-transfer-3", "first": 1001}
    page = await trusted.post(
        "/graphql",
        json={"documentId": sha(transfer["body"]), "variables": {"input": beyond}},
        headers=department,
    )
    assert page.json()["errors"][0]["extensions"]["reason"] == "OUT_OF_RANGE", page.text  # the resolver's cap

    over_get = await trusted.get("/graphql", params={"documentId": sha(transfer["body"])}, headers=department)
    refusal(over_get, 405, "METHOD_NOT_ALLOWED")


async def test_client_names_from_token_and_header(
    trusted: httpx.AsyncClient, dev_keys: Any, token_for: Any, seeded_conn: AsyncConnection
) -> None:
    named = {
        "Authorization": "Bearer "
        + dev_keys.issue_token("kaigo_officer", sub="t-officer", client_name="kaigo_web")
    }
    same = await trusted.post(
        "/graphql", json={"query": VIEWER}, headers={**named, "graphql-client-name": "kaigo_web"}
    )
    assert same.status_code == 200, same.text
    other = await trusted.post(
        "/graphql", json={"query": VIEWER}, headers={**named, "graphql-client-name": KIOSK}
    )
    refusal(other, 400, "CLIENT_NAME_MISMATCH")
    apollo = await trusted.post(
        "/graphql", json={"query": VIEWER}, headers={**named, "apollographql-client-name": KIOSK}
    )
    refusal(apollo, 400, "CLIENT_NAME_MISMATCH")

    officer = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    both = {**officer, "graphql-client-name": "a", "apollographql-client-name": "b"}
    refusal(await trusted.post("/graphql", json={"query": VIEWER}, headers=both), 400, "CLIENT_NAME_MISMATCH")
    odd = {**officer, "graphql-client-name": "no spaces allowed"}
    refusal(await trusted.post("/graphql", json={"query": VIEWER}, headers=odd), 400, "CLIENT_NAME_MISMATCH")
    number = complete("98765432101")  # a client name shaped like an individual number is never kept
    shaped = await trusted.post(
        "/graphql", json={"query": VIEWER}, headers={**officer, "graphql-client-name": number}
    )
    refusal(shaped, 400, "CLIENT_NAME_MISMATCH")
    assert number not in shaped.text

    # Automatic registration is for any client: it never adds to a (trusted) client's list.
    doc = "query Who { viewer { roles } }"
    registered = await trusted.post("/graphql", json={"query": doc, "extensions": apq(doc)}, headers=named)
    assert registered.status_code == 200
    assert [d.client_name for d in await store.list_documents(seeded_conn) if d.id == document_id(doc)] == [
        ""
    ]


async def test_a_client_configured_trusted(
    trusted: httpx.AsyncClient, dev_keys: Any, token_for: Any, seeded_conn: AsyncConnection
) -> None:
    by_token = {
        "Authorization": "Bearer " + dev_keys.issue_token("kaigo_officer", sub="t-kiosk", client_name=KIOSK)
    }
    by_header = {"Authorization": f"Bearer {token_for('kaigo_officer')}", "graphql-client-name": KIOSK}
    doc = "query Kiosk { viewer { subject } }"
    for headers in (by_token, by_header):
        refusal(
            await trusted.post("/graphql", json={"query": VIEWER}, headers=headers),
            400,
            "PERSISTED_QUERY_ID_REQUIRED",
        )
        refusal(
            await trusted.post("/graphql", json={"documentId": sha(doc)}, headers=headers),
            404,
            "PERSISTED_QUERY_NOT_IN_LIST",
        )
    await register(seeded_conn, doc, KIOSK)
    for headers in (by_token, by_header):
        answer = await trusted.post("/graphql", json={"documentId": sha(doc)}, headers=headers)
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    # Other clients, and no client at all, are not in trusted mode.
    plain = await trusted.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    )
    assert plain.status_code == 200


def test_revocation_reaches_a_worker_within_the_recheck_time() -> None:
    now = [100.0]
    cache = DocumentCache(recheck_seconds=5, clock=lambda: now[0])
    cache.confirm("c", "d")
    assert cache.registered("c", "d")
    now[0] += 4.9
    assert cache.registered("c", "d")
    now[0] += 0.2
    assert not cache.registered("c", "d")  # asked again of the database, where it is revoked


def test_the_lru_keeps_the_recent_documents() -> None:
    from api.documents.cache import prepare_document

    cache = DocumentCache(size=2)
    docs = [prepare_document(document_id(t), t) for t in ("{ a }", "{ b }", "{ c }")]
    cache.put(docs[0])
    cache.put(docs[1])
    assert cache.get(docs[0].id) is docs[0]  # now the most recent
    cache.put(docs[2])
    assert cache.get(docs[1].id) is None and cache.get(docs[0].id) is docs[0] and len(cache) == 2
    assert cache.put(prepare_document(docs[0].id, "{ a }")) is docs[0]  # one shared entry per id


def test_the_cache_keeps_texts_within_its_budget() -> None:
    """Any client may register documents: the texts kept are bounded in size, not only in number."""
    from api.documents.cache import prepare_document

    cache = DocumentCache(size=10, text_budget=20)
    texts = ["{ aaaaaa }", "{ bbbbbb }", "{ cccccc }"]  # 10 characters each
    docs = [cache.put(prepare_document(document_id(t), t)) for t in texts]
    assert len(cache) == 2 and cache.get(docs[0].id) is None and cache.get(docs[2].id) is docs[2]
    big = "{ " + "x" * 30 + " }"
    kept = cache.put(prepare_document(document_id(big), big))
    assert len(cache) == 1 and cache.get(kept.id) is kept  # the newest stays, whatever its size


def test_free_texts_are_kept_from_their_second_sighting_never_with_a_number() -> None:
    from api.documents import TextCache

    cache = TextCache(size=2, max_text=200)
    text = "query One { persons(first: 1) { totalCount } }"
    assert cache.prepared(text, max_tokens=None) is None  # seen once: the ordinary path
    kept = cache.prepared(text, max_tokens=None)
    assert kept is not None and kept.id == document_id(text) and not kept.traceable
    assert cache.prepared(text, max_tokens=None) is kept
    with_number = f'{{ personByIndividualNumber(number: "{complete("12345678901")}") {{ id }} }}'
    too_long = "{ " + "a " * 120 + "}"
    for never in (with_number, too_long, "{ unclosed"):
        assert [cache.prepared(never, max_tokens=None) for _ in range(3)] == [None, None, None]
    assert cache.prepared("{ a }", max_tokens=2) is None
    assert cache.prepared("{ a }", max_tokens=2) is None  # over the token limit: the ordinary path says so


def test_a_document_is_validated_once_per_view_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid or not for a view, graphql-core looks at it once: a refused text repeated is refused by
    strawberry's ordinary path alone, not validated twice each time."""
    from api.documents import cache as cache_module
    from policies.roles import duties_for
    from resolvers import schema_for

    calls: list[int] = []
    original = cache_module.validate_document

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(cache_module, "validate_document", counted)
    text = "query Numbers { persons(first: 1) { edges { node { individualNumber } } } }"
    document = cache_module.prepare_document(document_id(text), text)
    officer = duties_for(["kaigo_officer"])
    chief = duties_for(["kaigo_number_officer"])
    assert [document.validate(schema_for(officer), officer) for _ in range(3)] == [False] * 3
    assert [document.validate(schema_for(chief), chief) for _ in range(3)] == [True] * 3
    assert len(calls) == 2
