"""A whole working day through the API with tracing on: no span and no log line may carry an individual
number, a name, a kana reading, an address, a birth date or an insured number of the city's residents.

Every role asks its questions (including ones naming residents by number, kana and insured number,
as literals and as variables), makes mistakes (parse, validation, bad input, denials) and runs the
provision and transfer mutations; every exported span and every log record (DEBUG and up, also as
JSON lines) is then scanned for every resident's identifying values, taken from the database.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.logs import JsonFormatter, MaskIndividualNumbers
from persistence.crypto import NumberVault
from policies.individual_number import find_valid_numbers
from policies.roles import ROLE_NAMES

from .provision_documents import DECIDE_TRANSFER, PROVIDE, REQUEST_TRANSFER, TRANSFER, today
from .tracing_support import span_text, traced

pytestmark = pytest.mark.db

DEPARTMENT = "bosai_kiki_kanri"


async def _identifying(conn: AsyncConnection, vault: NumberVault) -> tuple[set[str], set[str]]:
    """(individual numbers, other identifying values) of every person of the seeded city."""
    rows = (
        await conn.execute(
            text(
                "SELECT addressee_code, individual_number_enc, name, name_kana, alias_name, alias_name_kana,"
                " address, address_building, birth_date FROM persons"
            )
        )
    ).all()
    numbers = {vault.decrypt(r[1], context=r[0].encode()).reveal() for r in rows if r[1] is not None}
    values: set[str] = set()
    for r in rows:
        values.update(v for v in (r.name, r.name_kana, r.alias_name, r.alias_name_kana) if v)
        values.update(v for v in (r.address, r.address_building) if v)
        values.add(r.birth_date.isoformat())
    insured = (await conn.execute(text("SELECT insured_number FROM qualifications"))).scalars().all()
    values.update(insured)
    return numbers, values


def _queries(number: str, kana: str, insured: str, person_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        ("{ viewer { subject roles department } }", None),
        (
            "query Page { persons(first: 20) { edges { node { id name nameKana birthDate"
            " address { line building } household { members { name } } } } } }",
            None,
        ),
        (
            "query Detail($id: ID!) { person(id: $id) { name qualifications { insuredNumber }"
            " certifications { decision { careLevel } } levies { fiscalYear } } }",
            {"id": str(person_id)},
        ),
        (
            "query N($n: String!) { personByIndividualNumber(individualNumber: $n) { id name } }",
            {"n": number},
        ),
        (f'{{ personByIndividualNumber(individualNumber: "{number}") {{ id individualNumber }} }}', None),
        (f'{{ persons(filter: {{nameKanaPrefix: "{kana}"}}) {{ totalCount }} }}', None),
        (f'{{ persons(filter: {{insuredNumber: "{insured}"}}) {{ totalCount }} }}', None),
        ("query K($k: String!) { persons(filter: {nameKanaPrefix: $k}) { totalCount } }", {"k": kana}),
        (f"{{ person(id: {number}) {{ id }} }}", None),  # an Int literal where an ID goes: echoed
        (f'{{ person(id: "{number}") {{ id }} }}', None),
        (f"{{ persons(first: {number}) {{ totalCount }} }}", None),  # out of range
        (f'{{ persons(filter: {{nameKanaPrefix: "{kana}"}} {{ totalCount', None),  # parse error
        (f'query {{ nope(x: "{number}") }}', None),  # validation error
        ("query B($n: Int!) { person(id: $n) { id } }", {"n": number}),  # bad variable
    ]


async def _mutations(gql: Any, conn: AsyncConnection) -> None:
    resident = (
        await conn.execute(
            text(
                "SELECT p.linkage_code, p.addressee_code FROM persons p JOIN qualifications q"
                " ON q.person_id = p.id WHERE p.linkage_code IS NOT NULL ORDER BY p.id LIMIT 1"
            )
        )
    ).one()
    provide = {
        "requestId": "scan-1",
        "permitNumber": "PERMIT-scan-1",
        "inquirer": "総社市長",
        "basisItem": "94",
        "subject": {"linkageCode": resident.linkage_code},
        "items": ["QUALIFICATION", "CERTIFICATION", "LEVY"],
        "requestDate": today().isoformat(),
    }
    await gql(PROVIDE, {"input": provide}, role="intermediate_server")
    await gql(
        PROVIDE, {"input": {**provide, "requestId": "scan-2", "basisItem": "999"}}, role="intermediate_server"
    )
    await gql(
        PROVIDE,
        {"input": {**provide, "requestId": "scan-3", "subject": {"addresseeCode": resident.addressee_code}}},
        role="intermediate_server",
    )
    applied = await gql(
        REQUEST_TRANSFER,
        {
            "input": {
                "requestId": "scan-t1",
                "basisItem": "56の2",
                "items": ["QUALIFICATION", "CERTIFICATION"],
                "purpose": "被災者台帳の作成",
                "validFrom": today().isoformat(),
                "validTo": (today() + timedelta(days=30)).isoformat(),
            }
        },
        role="receiving_department",
        department=DEPARTMENT,
    )
    permission = applied["data"]["requestTransferPermission"]["permission"]["id"]
    await gql(DECIDE_TRANSFER, {"id": permission, "approve": True}, role="kaigo_section_chief")
    await gql(
        TRANSFER,
        {
            "input": {
                "requestId": "scan-t2",
                "permissionId": permission,
                "items": ["QUALIFICATION"],
                "first": 20,
            }
        },
        role="receiving_department",
        department=DEPARTMENT,
    )
    await gql(
        TRANSFER,
        {"input": {"requestId": "scan-t3", "permissionId": "987654", "items": ["QUALIFICATION"], "first": 5}},
        role="receiving_department",
        department=DEPARTMENT,
    )


async def _scenario(
    gql: Any, conn: AsyncConnection, vault: NumberVault, caplog: pytest.LogCaptureFixture
) -> tuple[tuple[ReadableSpan, ...], str, set[str], set[str]]:
    """Run the day; (spans, the log text as caplog and as JSON lines, numbers, other values)."""
    numbers, values = await _identifying(conn, vault)
    row = (
        await conn.execute(
            text(
                "SELECT p.id, p.name_kana, q.insured_number FROM persons p JOIN qualifications q"
                " ON q.person_id = p.id WHERE p.individual_number_enc IS NOT NULL ORDER BY p.id LIMIT 1"
            )
        )
    ).one()
    json_lines = io.StringIO()
    handler = logging.StreamHandler(json_lines)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskIndividualNumbers())
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        with traced(pseudonym_secret=b"s" * 32) as exporter:
            for role in sorted(ROLE_NAMES):
                department = DEPARTMENT if role == "receiving_department" else None
                for query, variables in _queries(
                    sorted(numbers)[0], row.name_kana, row.insured_number, row.id
                ):
                    await gql(query, variables, role=role, department=department)
            await _mutations(gql, conn)
            spans = exporter.get_finished_spans()
    finally:
        logging.getLogger().removeHandler(handler)
    return spans, caplog.text + "\n" + json_lines.getvalue(), numbers, values


def _leaks(seen: str, numbers: set[str], values: set[str]) -> list[str]:
    found = sorted(numbers & set(find_valid_numbers(seen))) + sorted(v for v in values if v in seen)
    return [seen[max(0, seen.index(v) - 200) : seen.index(v) + 50] for v in found[:3]]


async def test_no_personal_data_in_spans(
    gql: Any, seeded_conn: AsyncConnection, vault: NumberVault, caplog: pytest.LogCaptureFixture
) -> None:
    spans, _, numbers, values = await _scenario(gql, seeded_conn, vault, caplog)
    assert len(spans) > 100
    assert any(s.name.startswith("mutation") for s in spans)  # the mutations ran traced
    assert any("kaigo.graphql.error_codes" in (s.attributes or {}) for s in spans)  # the mistakes too
    assert any(e.name == "kaigo.policy.decision" for s in spans for e in s.events)  # provisions decided
    assert not _leaks("\n".join(span_text(s) for s in spans), numbers, values)
    statements = [str(dict(s.attributes or {}).get("db.query.text", "")) for s in spans]
    assert not _leaks("\n".join(statements), numbers, values)  # parameterized SQL


async def test_no_personal_data_in_logs(
    gql: Any, seeded_conn: AsyncConnection, vault: NumberVault, caplog: pytest.LogCaptureFixture
) -> None:
    _, logs, numbers, values = await _scenario(gql, seeded_conn, vault, caplog)
    assert not _leaks(logs, numbers, values)
