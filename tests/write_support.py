"""Helpers of the write tests (issue 18): a mutation's answer or its error, and a person moved in."""

from __future__ import annotations

import datetime as dt
from typing import Any

MOVE_IN = """mutation M($i: ResidentChangeInput!) { recordResidentChange(input: $i) {
  ... on ResidentChangeApplied { person { id version qualifications { id version insuredNumber } } } } }"""


async def ok(gql: Any, document: str, i: dict[str, Any], role: str = "kaigo_officer") -> dict[str, Any]:
    """The mutation's answer (its one root field), asserting there was no error."""
    body = await gql(document, {"i": i}, role=role)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


async def error(gql: Any, document: str, i: dict[str, Any], role: str = "kaigo_officer") -> dict[str, Any]:
    """The extensions of the mutation's first error, asserting nothing was answered."""
    body = await gql(document, {"i": i}, role=role)
    assert body["data"] is None, body
    return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


async def moved_in(
    gql: Any, code: str, birth: dt.date, *, on: dt.date | None = None, household: str | None = None
) -> dict[str, Any]:
    """A person moved in (the first category acquired on the day when 65 or more): id, version and
    qualifications."""
    change = {
        "requestId": f"in-{code}",
        "kind": "MOVE_IN",
        "movedOn": (on or dt.date.today()).isoformat(),
        "addresseeCode": code,
        "householdCode": household or code,
        "relationship": "HEAD",
        "name": "試験　太郎",
        "nameKana": "シケン　タロウ",
        "sex": "MALE",
        "birthDate": birth.isoformat(),
        "postalCode": "710-0001",
        "addressCode": "33202001",
        "address": f"倉敷市本町{code[-3:]}",
    }
    return (await ok(gql, MOVE_IN, change))["person"]  # type: ignore[no-any-return]


def aged(years: int, *, days: int = 40) -> dt.date:
    """A birth date ``years`` (and ``days``) before today."""
    today = dt.date.today()
    return today.replace(year=today.year - years) - dt.timedelta(days=days)
