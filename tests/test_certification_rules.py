"""The certification case's law (policies/certifications.py): states from dates, which step may leave
which state, the 30-day limit, the renewal window, validity bounds. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.certifications import (
    Current,
    application_refusal,
    certification_rules,
    due_on,
    may,
    status_of,
    valid_from_of,
    validity_end,
    validity_months,
    validity_problem,
)

D = dt.date


def test_the_state_follows_the_dates() -> None:
    case = {"applied_on": D(2026, 1, 5)}
    assert status_of(case) == "APPLIED"
    assert status_of({**case, "primary_judged_on": D(2026, 1, 20)}) == "PRIMARY_JUDGED"
    assert (
        status_of({**case, "primary_judged_on": D(2026, 1, 20), "secondary_judged_on": D(2026, 1, 28)})
        == "COMMITTEE_JUDGED"
    )
    assert status_of({**case, "decided_on": D(2026, 2, 1)}) == "DECIDED"
    assert status_of({**case, "decided_on": D(2026, 2, 1), "cancelled_on": D(2026, 3, 1)}) == "CANCELLED"


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("record_survey", {"APPLIED"}),
        ("record_primary_judgement", {"APPLIED"}),
        ("record_committee_judgement", {"PRIMARY_JUDGED"}),
        ("decide", {"COMMITTEE_JUDGED"}),
        ("postpone", {"APPLIED", "PRIMARY_JUDGED", "COMMITTEE_JUDGED"}),
        ("cancel", {"APPLIED", "PRIMARY_JUDGED", "COMMITTEE_JUDGED", "DECIDED"}),
    ],
)
def test_which_step_leaves_which_state(action: str, allowed: set[str]) -> None:
    states = {"APPLIED", "PRIMARY_JUDGED", "COMMITTEE_JUDGED", "DECIDED", "CANCELLED"}
    assert {s for s in states if may(action, s)} == allowed


def test_thirty_days_unless_postponed() -> None:
    assert certification_rules().decision_days == 30
    assert due_on(D(2026, 1, 31)) == D(2026, 3, 2)
    assert due_on(D(2026, 1, 31), D(2026, 3, 20)) == D(2026, 3, 20)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2026, 4, 1), 6, D(2026, 9, 30)),
        (D(2026, 4, 15), 6, D(2026, 10, 31)),  # the rest of April, then six months
        (D(2026, 12, 2), 12, D(2027, 12, 31)),
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
    ],
)
def test_validity_ends_on_a_month_end(start: dt.date, months: int, end: dt.date) -> None:
    assert validity_end(start, months) == end
    assert validity_months(start, end) == months
    assert validity_months(start, end - dt.timedelta(days=1)) is None


def test_validity_bounds_by_kind() -> None:
    start = D(2026, 4, 1)
    assert validity_problem("1", start, validity_end(start, 3), same_level=False) is None
    assert validity_problem("1", start, validity_end(start, 12), same_level=False) is None
    assert validity_problem("1", start, validity_end(start, 13), same_level=False).reason == "OUT_OF_RANGE"  # type: ignore[union-attr]
    assert validity_problem("1", start, validity_end(start, 2), same_level=False).reason == "OUT_OF_RANGE"  # type: ignore[union-attr]
    assert validity_problem("2", start, validity_end(start, 36), same_level=False) is None
    assert validity_problem("2", start, validity_end(start, 48), same_level=False) is not None
    assert validity_problem("2", start, validity_end(start, 48), same_level=True) is None
    assert validity_problem("3", start, validity_end(start, 24), same_level=True) is not None


def test_validity_starts_at_the_application_or_after_the_renewed_one() -> None:
    assert valid_from_of("1", D(2026, 4, 15), None) == D(2026, 4, 15)
    assert valid_from_of("3", D(2026, 4, 15), D(2026, 9, 30)) == D(2026, 4, 15)
    assert valid_from_of("2", D(2026, 8, 15), D(2026, 9, 30)) == D(2026, 10, 1)


def test_what_an_application_needs() -> None:
    current = Current(D(2026, 1, 1), D(2026, 12, 31), "22")
    assert application_refusal("1", D(2026, 6, 1), current=None, open_case=False) is None
    assert application_refusal("1", D(2026, 6, 1), current=current, open_case=False) == ("CERTIFIED", None)
    assert application_refusal("1", D(2026, 6, 1), current=None, open_case=True) == ("APPLICATION_OPEN", None)
    assert application_refusal("2", D(2026, 6, 1), current=None, open_case=False) == ("NOT_CERTIFIED", None)
    early = application_refusal("2", D(2026, 10, 31), current=current, open_case=False)
    assert early is not None and early[1] is not None and early[1].field == "appliedOn"
    assert (
        application_refusal("2", D(2026, 11, 1) + dt.timedelta(days=1), current=current, open_case=False)
        is None
    )  # 60 days before
    assert application_refusal("3", D(2026, 6, 1), current=current, open_case=False) is None
    assert application_refusal(
        "3", D(2026, 6, 1), current=Current(D(2026, 1, 1), D(2026, 12, 31), "01"), open_case=False
    ) == ("NOT_CERTIFIED", None)
