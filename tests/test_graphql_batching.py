"""DataLoaders: a page of persons with every nested area costs a constant number of SQL round trips."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

pytestmark = pytest.mark.db


@pytest.fixture
def app(app_with: Any) -> Any:
    """Every query through strawberry's executor (the DataLoaders of strawberry's executor are what these tests count; the planner has its own tests)."""
    return app_with(planned_reads=False)


EVERY_AREA = """
query Everything($first: Int!) {
  persons(first: $first) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id addresseeCode individualNumber name nameKana birthDate sex residentStatus
      address { code postalCode line building } alias { name nameKana }
      household { code relationship members { id name } }
      moves { movedOn reason } foreignResident { nationality } contact { phone } delivery { name }
      qualifications {
        insuredNumber category
        events { occurredOn reason } copayRatios { fiscalYear ratioPercent }
        certificates { kind issuedOn } facilityAdmissions { facilityName admittedOn }
      }
      certifications {
        id application { appliedOn type } survey { surveyedOn } doctorOpinion { receivedOn }
        judgement { primaryLevel committeeNumber } decision { careLevel validFrom validTo }
        postponement { reason } cancelledOn
      }
      currentCertification { id decision { careLevel } }
      carePlans { officeName }
      benefits {
        reimbursements { kind paidAmount } highCost { paidAmount } combined { paidAmount }
        reductions { kind } restrictions { kind } claimResults(from: "2020-04-01") { serviceMonth units }
        recipientNotices { kind } communityEligibility { checkedOn }
      }
      levies {
        fiscalYear arrearsAmount
        installments { period dueOn amount paidAmount outstandingAmount status
                       receipts { amount } reminders { fee } }
        refunds { amount }
      }
    } }
  }
}
"""


@contextmanager
def counting(conn: AsyncConnection) -> Iterator[list[str]]:
    """Every statement the test's connection sends while the block runs."""
    statements: list[str] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        statements.append(statement)

    event.listen(conn.sync_connection, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", before)


async def run_counted(gql: Any, conn: AsyncConnection, first: int) -> tuple[dict[str, Any], list[str]]:
    with counting(conn) as statements:
        body = await gql(EVERY_AREA, {"first": first})
    assert not body.get("errors"), body.get("errors")
    return body["data"], statements


def reached(data: dict[str, Any]) -> set[str]:
    """Which parents of nested loaders the page has: a loader under them only runs if they exist."""
    nodes = [e["node"] for e in data["persons"]["edges"]]
    seen = set()
    for n in nodes:
        if n["qualifications"]:
            seen.add("qualifications")  # → events, copay ratios, certificates, facility admissions
        for lv in n["levies"]:
            seen.add("levies")  # → installments, refunds
            if lv["installments"]:
                seen.add("installments")  # → receipts, reminders
    return seen


async def test_statement_count_does_not_grow_with_page_size(gql: Any, seeded_conn: AsyncConnection) -> None:
    small, small_statements = await run_counted(gql, seeded_conn, 10)
    large, large_statements = await run_counted(gql, seeded_conn, 100)
    assert len(small["persons"]["edges"]) == 10
    assert len(large["persons"]["edges"]) == 100
    # Both pages reach every loader that sits below another one (else the count could differ by data).
    assert reached(small) == reached(large) == {"qualifications", "levies", "installments"}
    assert len(small_statements) == len(large_statements), (small_statements, large_statements)
    # One statement per area and loader, plus the page and the transaction's own statements.
    assert len(large_statements) <= 30


async def test_statements_use_any_arrays_not_one_per_person(gql: Any, seeded_conn: AsyncConnection) -> None:
    _, statements = await run_counted(gql, seeded_conn, 50)
    loader_statements = [s for s in statements if "ANY" in s.upper()]
    assert len(loader_statements) >= 20
    assert all(s.upper().count("ANY (") + s.upper().count("ANY(") == 1 for s in loader_statements)


async def test_nested_levels_batch_across_persons(gql: Any, seeded_conn: AsyncConnection) -> None:
    with counting(seeded_conn) as statements:
        body = await gql(
            "query($f: Int!) { persons(first: $f) { edges { node { "
            "levies { installments { receipts { amount } } } } } } }",
            {"f": 200},
        )
    assert not body.get("errors")
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and not _audit(s)]
    assert len(selects) == 4  # page, levies, installments, receipts (+ the audit entry's, per request)


def _audit(statement: str) -> bool:
    """The audit trail's statement (``audit_append``): one per request, not per person."""
    return "audit_append(" in statement
