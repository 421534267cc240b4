"""The audit trail (アクセス記録): an entry per request that touched personal data, written with the work,
hash-chained, append-only, readable by the security auditor alone."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.audit import GENESIS, AuditEntry, append, content_hash, entry_hash, link_hash, verify
from persistence.db import make_engine
from persistence.models import AuditEvent as AuditEventRow
from policies.roles import ROLE_NAMES, duties_for
from resolvers import schema_for

from .provision_documents import insured_resident, today

pytestmark = pytest.mark.db

PERSON = """
query Person($id: ID!) {
  person(id: $id) { id name individualNumber household { members { id } } }
}
"""
PERSON_NO_NUMBER = "query Person($id: ID!) { person(id: $id) { id name household { members { id } } } }"
PAGE = "query Page { persons(first: 5) { edges { node { id } } } }"
EVENTS = """
query Events($filter: AuditFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id subject roles operationType operationName personIds revealedNumberPersonIds
                          decisions { code basisItem } outcome errorCodes prevHash hash } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def entries(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(text("SELECT * FROM audit_events ORDER BY seq"))).mappings().all())


async def numbered_person(conn: AsyncConnection) -> Any:
    row = await conn.execute(
        text(
            "SELECT p.id, p.household_code FROM persons p WHERE individual_number_enc IS NOT NULL AND"
            " (SELECT count(*) FROM persons m WHERE m.household_code = p.household_code) > 1 ORDER BY id LIMIT 1"
        )
    )
    return row.mappings().one()


async def household_ids(conn: AsyncConnection, household_code: str) -> set[int]:
    rows = await conn.execute(text("SELECT id FROM persons WHERE household_code = :h"), {"h": household_code})
    return {r.id for r in rows}


def an_entry(**fields: Any) -> AuditEntry:
    """An officer's read of a person, as the HTTP layer would record it (``fields`` override)."""
    base: dict[str, Any] = {
        "occurred_at": dt.datetime.now(dt.UTC),
        "subject": "s",
        "roles": ("kaigo_officer",),
        "department": "kaigo",
        "operation_type": "query",
        "operation_name": "Person",
        "person_ids": (1,),
    }
    return AuditEntry(**(base | fields))


async def test_number_officer_read_records_persons_and_revealed_numbers(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await numbered_person(seeded_conn)
    body = await gql(PERSON, {"id": str(person.id)})
    assert body["data"]["person"]["individualNumber"]
    [entry] = await entries(seeded_conn)
    assert entry["subject"] == "test-kaigo_number_officer"
    assert entry["roles"] == ["kaigo_number_officer"]
    assert (entry["operation_type"], entry["operation_name"], entry["outcome"]) == ("query", "Person", "ok")
    assert set(entry["person_ids"]) == await household_ids(seeded_conn, person.household_code)
    assert entry["number_person_ids"] == [person.id]
    assert entry["prev_hash"] == GENESIS and entry["link"] == 1 and 1 <= entry["chain"] <= 16
    assert (await verify(seeded_conn)).count == 1


async def test_kaigo_officer_read_reveals_no_number(gql: Any, seeded_conn: AsyncConnection) -> None:
    person = await numbered_person(seeded_conn)
    body = await gql(PERSON_NO_NUMBER, {"id": str(person.id)}, role="kaigo_officer")
    assert "errors" not in body
    [entry] = await entries(seeded_conn)
    assert entry["number_person_ids"] == []
    assert set(entry["person_ids"]) == await household_ids(seeded_conn, person.household_code)


async def test_a_page_records_the_persons_returned(gql: Any, seeded_conn: AsyncConnection) -> None:
    body = await gql(PAGE, role="kaigo_officer")
    returned = {int(e["node"]["id"]) for e in body["data"]["persons"]["edges"]}
    [entry] = await entries(seeded_conn)
    assert set(entry["person_ids"]) == returned and len(returned) == 5


async def test_operations_without_personal_data_are_not_recorded(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    await gql("{ viewer { subject } }")
    await gql("{ __schema { queryType { name } } }", role="system_operator")
    await gql('{ person(id: "999999999") { id } }')  # nobody there: nothing returned
    await gql('{ person(id: "1") { nope } }')  # fails validation: touched nothing
    assert await entries(seeded_conn) == []


async def test_failed_mutation_is_recorded_after_its_rollback(gql: Any, seeded_conn: AsyncConnection) -> None:
    body = await gql(
        'mutation Confirm { confirmProvision(recordId: "999999", approve: true) { __typename } }',
        role="kaigo_section_chief",
    )
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    [entry] = await entries(seeded_conn)
    assert (entry["operation_type"], entry["operation_name"]) == ("mutation", "Confirm")
    assert (entry["outcome"], entry["error_codes"]) == ("error", ["NOT_FOUND"])


async def test_the_database_refuses_update_delete_and_truncate(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    person = await numbered_person(seeded_conn)
    await gql(PERSON, {"id": str(person.id)})
    for statement in (
        "UPDATE audit_events SET subject = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        savepoint = await seeded_conn.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            await seeded_conn.execute(text(statement))
        await savepoint.rollback()
    assert len(await entries(seeded_conn)) == 1


async def test_a_changed_entry_breaks_the_chain(gql: Any, seeded_conn: AsyncConnection) -> None:
    person = await numbered_person(seeded_conn)
    for _ in range(3):
        await gql(PERSON, {"id": str(person.id)})
    assert (await verify(seeded_conn)).intact
    # As the table's owner, behind the trigger's back (rolled back with the test).
    await seeded_conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
    await seeded_conn.execute(text("UPDATE audit_events SET number_person_ids = '{}' WHERE link = 2"))
    result = await verify(seeded_conn)
    [broken] = result.broken
    assert (broken.link, result.count) == (2, 1) and "hash" in broken.reason

    await seeded_conn.execute(text("DELETE FROM audit_events WHERE link = 2"))
    [broken] = (await verify(seeded_conn)).broken
    assert broken.link == 2 and "missing" in broken.reason


async def test_entries_before_the_chains_are_verified_the_old_way(seeded_conn: AsyncConnection) -> None:
    """Chain 0 holds the entries written before revision 0005, hashed with their seq; they stay valid
    beside the new chains, and changing one is still found."""
    entry = an_entry(
        occurred_at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), subject="legacy", department=None
    )
    prev = GENESIS
    for seq in (1, 2):
        row = entry.row()
        own = entry_hash(row, seq, prev)
        await seeded_conn.execute(
            insert(AuditEventRow), [{**row, "seq": seq, "chain": 0, "prev_hash": prev, "hash": own}]
        )
        prev = own
    await append(seeded_conn, entry)
    result = await verify(seeded_conn)
    assert (result.intact, result.count, result.chains) == (True, 3, 2)

    await seeded_conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
    await seeded_conn.execute(text("UPDATE audit_events SET subject = 'someone else' WHERE seq = 2"))
    [broken] = (await verify(seeded_conn)).broken
    assert (broken.chain, broken.link) == (0, 2) and broken.describe().startswith("entry 2: hash")


async def test_the_database_and_the_server_hash_a_link_alike(seeded_conn: AsyncConnection) -> None:
    entry = an_entry(
        person_ids=(3, 1), decisions=({"code": "PROVIDED", "basis_item": "42"},), trace_id="ab" * 16
    )
    appended = await append(seeded_conn, entry)
    row = (
        (await seeded_conn.execute(text("SELECT * FROM audit_events WHERE seq = :s"), {"s": appended.seq}))
        .mappings()
        .one()
    )
    assert row["hash"] == link_hash(row["chain"], row["link"], row["prev_hash"], content_hash(entry.row()))
    assert (appended.chain, appended.link, appended.prev_hash, appended.hash) == (
        row["chain"],
        row["link"],
        row["prev_hash"],
        row["hash"],
    )


async def test_an_analyzed_empty_trail_is_appended_through_the_index(empty_database_url: str) -> None:
    """After an ANALYZE of the empty table a sequential scan looks cheapest, and PL/pgSQL keeps the
    plan it makes on the first append: every append would read the whole trail (migration 0006)."""
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE audit_events"))
            for _ in range(20):
                await append(conn, an_entry())
            scans = (
                await conn.execute(
                    text(
                        "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'audit_events'"
                    )
                )
            ).one()
            await conn.commit()
    finally:
        await engine.dispose()
    assert scans.seq_scan == 0 and scans.idx_scan >= 20, scans


async def test_auditor_filters_and_pages(gql: Any, seeded_conn: AsyncConnection) -> None:
    person = await numbered_person(seeded_conn)
    await gql(PERSON, {"id": str(person.id)})
    await gql(PAGE, role="kaigo_officer")
    await gql(PERSON_NO_NUMBER, {"id": str(person.id)}, role="kenko_choju_officer")
    await gql(
        'mutation Confirm { confirmProvision(recordId: "9", approve: true) { __typename } }',
        role="kaigo_section_chief",
    )

    def ids(body: dict[str, Any]) -> list[str]:
        assert "errors" not in body, body
        return [e["node"]["id"] for e in body["data"]["auditEvents"]["edges"]]

    auditor = {"role": "security_auditor"}
    e1, e2, e3, e4 = (str(e["seq"]) for e in await entries(seeded_conn))  # seq: the order of writing
    assert ids(await gql(EVENTS, **auditor)) == [e4, e3, e2, e1]  # newest first
    first = await gql(EVENTS, {"first": 3}, **auditor)
    assert ids(first) == [e4, e3, e2] and first["data"]["auditEvents"]["pageInfo"]["hasNextPage"]
    after = first["data"]["auditEvents"]["pageInfo"]["endCursor"]
    assert ids(await gql(EVENTS, {"first": 3, "after": after}, **auditor)) == [e1]

    by_subject = {"filter": {"subject": "test-kaigo_officer"}}
    assert ids(await gql(EVENTS, by_subject, **auditor)) == [e2]
    assert ids(await gql(EVENTS, {"filter": {"personId": str(person.id)}}, **auditor)) == [e3, e1]
    assert ids(await gql(EVENTS, {"filter": {"operation": "Confirm"}}, **auditor)) == [e4]
    now = dt.datetime.now(dt.UTC)
    window = {"from": (now - dt.timedelta(hours=1)).isoformat(), "to": now.isoformat()}
    assert len(ids(await gql(EVENTS, {"filter": window}, **auditor))) == 4
    assert (
        ids(await gql(EVENTS, {"filter": {"to": (now - dt.timedelta(hours=1)).isoformat()}}, **auditor)) == []
    )

    node = (await gql(EVENTS, {"first": 4}, **auditor))["data"]["auditEvents"]["edges"][3]["node"]
    assert node["revealedNumberPersonIds"] == [str(person.id)]
    too_many = await gql(EVENTS, {"first": 501}, **auditor)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(await entries(seeded_conn)) == 4  # the auditor's reads touch no person: not recorded


async def test_auditor_sees_decisions_by_code(seeded_conn: AsyncConnection, gql: Any) -> None:
    entry = an_entry(
        subject="intermediate",
        roles=("intermediate_server",),
        department=None,
        operation_type="mutation",
        operation_name="Provide",
        decisions=({"code": "PROVIDED", "basis_item": "42"},),
    )
    await append(seeded_conn, entry)
    body = await gql(EVENTS, {"filter": {"decision": "PROVIDED"}}, role="security_auditor")
    [edge] = body["data"]["auditEvents"]["edges"]
    assert edge["node"]["decisions"] == [{"code": "PROVIDED", "basisItem": "42"}]
    assert (await gql(EVENTS, {"filter": {"decision": "DENIED"}}, role="security_auditor"))["data"][
        "auditEvents"
    ]["edges"] == []


@pytest.mark.parametrize("role", sorted(ROLE_NAMES))
def test_only_the_security_auditor_sees_the_trail(role: str) -> None:
    department = "seikatsu_fukushi" if role == "receiving_department" else None
    sdl = schema_for(duties_for([role], department)).as_str()
    assert ("auditEvents" in sdl) is (role == "security_auditor")
    assert ("AuditEvent" in sdl) is (role == "security_auditor")


async def test_other_roles_cannot_query_the_trail(gql: Any) -> None:
    body = await gql(EVENTS, role="kaigo_section_chief")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_an_unwritable_audit_entry_fails_the_request(
    gql_response: Any, seeded_conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.audit

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise ConnectionError("audit store down")

    monkeypatch.setattr(api.audit, "append", broken)
    person = await numbered_person(seeded_conn)
    response = await gql_response(PERSON, {"id": str(person.id)})
    assert response.status_code == 503
    body = response.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert "audit store down" not in response.text


async def test_an_unwritable_audit_entry_commits_nothing(
    gql_response: Any, seeded_conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.audit

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise ConnectionError("audit store down")

    before = (await seeded_conn.execute(text("SELECT count(*) FROM transfer_permissions"))).scalar_one()
    monkeypatch.setattr(api.audit, "append", broken)
    mutation = (
        "mutation Apply($input: RequestTransferPermissionInput!) {"
        " requestTransferPermission(input: $input) { __typename } }"
    )
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
    values = {
        "requestId": "audit-down-1",
        "basisItem": "56の2",
        "items": ["QUALIFICATION"],
        "purpose": "被災者台帳の作成",
        "validFrom": today.isoformat(),
        "validTo": (today + dt.timedelta(days=30)).isoformat(),
    }
    response = await gql_response(
        mutation, {"input": values}, role="receiving_department", department="bosai_kiki_kanri"
    )
    assert response.status_code == 503 and response.json()["data"] is None
    after = (await seeded_conn.execute(text("SELECT count(*) FROM transfer_permissions"))).scalar_one()
    assert after == before
    assert await entries(seeded_conn) == []


async def test_a_provision_records_its_decision_basis_and_person(
    gql: Any, seeded_conn: AsyncConnection
) -> None:
    resident = await insured_resident(seeded_conn)
    values = {
        "requestId": "audit-provide-1",
        "permitNumber": "PERMIT-audit-1",
        "inquirer": "総社市長",
        "basisItem": "94",
        "subject": {"linkageCode": resident.linkage_code},
        "items": ["QUALIFICATION"],
        "requestDate": today().isoformat(),
    }
    mutation = (
        "mutation Provide($input: ProvideInformationInput!) {"
        " provideInformation(input: $input) { __typename ... on Provided { record { code } } } }"
    )
    body = await gql(mutation, {"input": values}, role="intermediate_server")
    assert body["data"]["provideInformation"]["__typename"] == "Provided", body
    code = body["data"]["provideInformation"]["record"]["code"]
    [entry] = await entries(seeded_conn)
    assert (entry["operation_type"], entry["subject"]) == ("mutation", "test-intermediate_server")
    assert entry["decisions"] == [{"code": code, "basis_item": "94"}]
    assert entry["person_ids"] == [resident.id] and entry["number_person_ids"] == []


async def test_the_persisted_document_and_the_trace_are_recorded(
    client: Any, token_for: Any, seeded_conn: AsyncConnection
) -> None:
    person = await numbered_person(seeded_conn)
    digest = hashlib.sha256(PERSON.encode()).hexdigest()
    body = {
        "query": PERSON,
        "variables": {"id": str(person.id)},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
    }
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        response = await client.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {token_for('kaigo_number_officer')}"}
        )
    assert response.status_code == 200 and "errors" not in response.json()
    [entry] = await entries(seeded_conn)
    assert entry["document_id"] == digest
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
