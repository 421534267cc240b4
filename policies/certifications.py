"""要介護認定 — the certification case as a state machine, its time limits and the law's bounds on
validity (``data/certification.toml``). Pure: dates and states in, answers out.

A case's state follows from its dates (:func:`status_of`, the same rule as the database's generated
column): APPLIED → PRIMARY_JUDGED → COMMITTEE_JUDGED → DECIDED, and CANCELLED from any of them. Which
step may leave which state is data (:func:`may`).
"""

from __future__ import annotations

import calendar
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

from .qualifications import Problem

__all__ = [
    "APPLICATION_TYPES",
    "STATES",
    "CertificationRules",
    "application_refusal",
    "certification_rules",
    "due_on",
    "may",
    "status_of",
    "valid_from_of",
    "validity_end",
    "validity_months",
    "validity_problem",
]

STATES: Final = ("APPLIED", "PRIMARY_JUDGED", "COMMITTEE_JUDGED", "DECIDED", "CANCELLED")
APPLICATION_TYPES: Final = {"1": "NEW", "2": "RENEWAL", "3": "LEVEL_CHANGE"}  # [application_type] codes
NOT_APPLICABLE: Final = "01"  # 非該当: decided without validity
State = Literal["APPLIED", "PRIMARY_JUDGED", "COMMITTEE_JUDGED", "DECIDED", "CANCELLED"]


@dataclass(frozen=True)
class Validity:
    min_months: int
    max_months: int
    max_same_level: int
    standard_months: int
    starts: Literal["application", "previous_end"]


@dataclass(frozen=True)
class CertificationRules:
    decision_days: int
    renewal_window_days: int
    validity: Mapping[str, Validity]
    transitions: Mapping[str, frozenset[str]]


def load_certification_rules(text: str) -> CertificationRules:
    raw = tomllib.loads(text)
    for section in (raw["decision"], raw["renewal"], *raw["validity"].values()):
        if not str(section.get("law", "")).strip() or not isinstance(section.get("verified"), bool):
            raise ValueError("certification.toml: every value cites its law and says whether it was verified")
    validity = {
        name: Validity(
            int(spec["min_months"]),
            int(spec["max_months"]),
            int(spec.get("max_same_level", spec["max_months"])),
            int(spec["standard_months"]),
            spec["from"],
        )
        for name, spec in raw["validity"].items()
    }
    transitions = {action: frozenset(states) for action, states in raw["transitions"].items()}
    unknown = {s for states in transitions.values() for s in states} - set(STATES)
    if unknown or set(validity) != set(APPLICATION_TYPES.values()):
        raise ValueError("certification.toml: unknown states or application types")
    return CertificationRules(
        int(raw["decision"]["days"]), int(raw["renewal"]["window_days"]), validity, transitions
    )


@cache
def certification_rules() -> CertificationRules:
    text = resources.files("policies").joinpath("data/certification.toml").read_text(encoding="utf-8")
    return load_certification_rules(text)


def status_of(case: Mapping[str, Any]) -> State:
    """The state a case's dates put it in (migration 0012 computes the same in the database)."""
    if case.get("cancelled_on") is not None:
        return "CANCELLED"
    if case.get("decided_on") is not None:
        return "DECIDED"
    if case.get("secondary_judged_on") is not None:
        return "COMMITTEE_JUDGED"
    if case.get("primary_judged_on") is not None:
        return "PRIMARY_JUDGED"
    return "APPLIED"


def may(action: str, state: str) -> bool:
    return state in certification_rules().transitions[action]


def due_on(applied_on: date, expected_on: date | None = None) -> date:
    """When the decision is due: 30 days after the application, or the day a postponement expects."""
    return (
        expected_on
        if expected_on is not None
        else applied_on + timedelta(days=certification_rules().decision_days)
    )


# --- validity ---------------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def validity_end(start: date, months: int) -> date:
    """The last day of ``months`` months of validity from ``start`` (from the next month when ``start`` is
    not the 1st; a month-end)."""
    index = start.year * 12 + start.month - 1 + months - (1 if start.day == 1 else 0)
    return _month_end(index // 12, index % 12 + 1)


def validity_months(start: date, end: date) -> int | None:
    """How many months ``start`` to ``end`` is, or None when ``end`` is no such month-end."""
    first = start.year * 12 + start.month - (0 if start.day == 1 else -1)
    months = end.year * 12 + end.month - first + 1
    return months if months >= 1 and validity_end(start, months) == end else None


def valid_from_of(type_code: str, applied_on: date, previous_end: date | None) -> date:
    """A new or level-change certification takes effect from its application date; a renewal from the
    day after the renewed one ends."""
    rule = certification_rules().validity[APPLICATION_TYPES[type_code]]
    if rule.starts == "previous_end" and previous_end is not None:
        return previous_end + timedelta(days=1)
    return applied_on


def validity_problem(type_code: str, start: date, end: date, *, same_level: bool) -> Problem | None:
    """Whether ``start``–``end`` is a validity the law allows for this kind of application."""
    rule = certification_rules().validity[APPLICATION_TYPES[type_code]]
    months = validity_months(start, end)
    if months is None:
        return Problem("validTo", "FORMAT", "`validTo` is not the month-end a validity ends on")
    top = rule.max_same_level if same_level else rule.max_months
    if not rule.min_months <= months <= top:
        return Problem("validTo", "OUT_OF_RANGE", f"the validity is {rule.min_months} to {top} months here")
    return None


# --- applications ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """The person's certification in force on the application day."""

    valid_from: date
    valid_to: date
    care_level: str


def application_refusal(
    type_code: str, applied_on: date, *, current: Current | None, open_case: bool
) -> tuple[str, Problem | None] | None:
    """None when the application may be received; else (state, problem): a state for INVALID_TRANSITION
    (problem None), or a problem with the input."""
    if open_case:
        return "APPLICATION_OPEN", None
    kind = APPLICATION_TYPES[type_code]
    certified = current is not None and current.care_level != NOT_APPLICABLE
    if kind == "NEW":
        return ("CERTIFIED", None) if certified else None
    if not certified or current is None:
        return "NOT_CERTIFIED", None
    if kind == "RENEWAL":
        window = certification_rules().renewal_window_days
        if applied_on < current.valid_to - timedelta(days=window):
            message = f"a renewal is applied for from {window} days before the validity ends"
            return "CERTIFIED", Problem("appliedOn", "OUT_OF_RANGE", message)
    return None
