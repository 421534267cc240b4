"""``audit_content_hash`` (migration 0008): the database computes an entry's content hash exactly as the
server does (persistence/audit.py ``content_hash``), so the entries a planned read appends in its own
statement verify (and are sealed) like every other (tests/test_planner.py reads and verifies them)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.audit import AuditEntry, content_hash

pytestmark = pytest.mark.db

# Text PostgreSQL can hold: any code point but NUL and the surrogates; control characters, quotes,
# backslashes and U+2028 included (JSON escapes them differently in different encoders).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
MOMENT = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
IDS = st.lists(st.integers(min_value=1, max_value=2**62), max_size=6)

_ARGUMENTS = (
    ":occurred_at, :subject, :roles, :department, :operation_type, :operation_name, :document_id,"
    " :person_ids, :number_person_ids, CAST(:decisions AS jsonb), :outcome, :error_codes, :trace_id"
)


def _parameters(entry: AuditEntry) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at,
        "subject": entry.subject,
        "roles": list(entry.roles),
        "department": entry.department,
        "operation_type": entry.operation_type,
        "operation_name": entry.operation_name,
        "document_id": entry.document_id,
        "person_ids": list(entry.person_ids),
        "number_person_ids": list(entry.number_person_ids),
        "decisions": json.dumps([dict(d) for d in entry.decisions], ensure_ascii=False),
        "outcome": entry.outcome,
        "error_codes": list(entry.error_codes),
        "trace_id": entry.trace_id,
    }


@st.composite
def entries(draw: Any) -> AuditEntry:
    return AuditEntry(
        occurred_at=draw(MOMENT),
        subject=draw(TEXT),
        roles=tuple(draw(st.lists(TEXT, max_size=3))),
        department=draw(st.none() | TEXT),
        operation_type=draw(st.sampled_from(["query", "mutation"])),
        operation_name=draw(st.none() | TEXT),
        document_id=draw(st.none() | TEXT),
        person_ids=tuple(draw(IDS)),
        number_person_ids=tuple(draw(IDS)),
        decisions=tuple(
            draw(st.lists(st.fixed_dictionaries({"code": TEXT, "basis_item": st.none() | TEXT}), max_size=3))
        ),
        outcome=draw(st.sampled_from(["ok", "error"])),
        error_codes=tuple(draw(st.lists(TEXT, max_size=3))),
        trace_id=draw(st.none() | st.text("0123456789abcdef", min_size=32, max_size=32)),
    )


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],  # a pure function
)
@given(entry=entries())
async def test_the_database_hashes_an_entry_as_the_server_does(
    migrated_conn: AsyncConnection, entry: AuditEntry
) -> None:
    row = entry.row()  # the arrays as stored: sorted, distinct, the numbers' persons among the persons
    stored = AuditEntry(
        occurred_at=row["occurred_at"],
        subject=row["subject"],
        roles=tuple(row["roles"]),
        department=row["department"],
        operation_type=row["operation_type"],
        operation_name=row["operation_name"],
        document_id=row["document_id"],
        person_ids=tuple(row["person_ids"]),
        number_person_ids=tuple(row["number_person_ids"]),
        decisions=tuple(row["decisions"]),
        outcome=row["outcome"],
        error_codes=tuple(row["error_codes"]),
        trace_id=row["trace_id"],
    )
    found = await migrated_conn.scalar(text(f"SELECT audit_content_hash({_ARGUMENTS})"), _parameters(stored))
    assert found == content_hash(row)
