"""The law of 資格 written by staff (policies/qualifications.py): who may acquire which category when,
losses, and the copay ratio of a certificate year from income, at its thresholds. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.qualifications import (
    Income,
    acquisition_problem,
    certificate_period,
    certificate_year_of,
    copay_percent,
    copay_rules,
    copay_validity,
    loss_problem,
    state_of,
)

D = dt.date


def income(
    total: int, pension: int, *, members: int = 1, household: int | None = None, **flags: bool
) -> Income:
    return Income(
        total,
        pension,
        members,
        household if household is not None else pension,
        flags.get("tax_exempt", False),
        flags.get("welfare", False),
    )


@pytest.mark.parametrize(
    ("given", "percent"),
    [
        (income(2_200_000, 3_400_000), 30),  # at both thresholds of 3割
        (income(2_199_999, 3_400_000), 20),  # total income below 220万: 2割 (over 160万 and 280万)
        (income(2_200_000, 3_399_999), 20),
        (income(1_600_000, 2_800_000), 20),
        (income(1_599_999, 2_800_000), 10),
        (income(1_600_000, 2_799_999), 10),
        (income(2_300_000, 3_500_000, members=2, household=4_629_999), 20),  # two 65+: 463万 for 3割
        (income(2_300_000, 3_500_000, members=2, household=4_630_000), 30),
        (income(1_700_000, 2_900_000, members=2, household=3_459_999), 10),  # two 65+: 346万 for 2割
        (income(9_000_000, 9_000_000, tax_exempt=True), 10),
        (income(9_000_000, 9_000_000, welfare=True), 10),
    ],
)
def test_copay_ratio_at_its_thresholds(given: Income, percent: int) -> None:
    assert copay_percent("1", given) == percent


def test_the_second_category_always_pays_ten() -> None:
    assert copay_percent("2", income(9_000_000, 9_000_000)) == 10


def test_copay_rules_come_from_the_data_file() -> None:
    assert [r.percent for r in copay_rules().ratios] == [30, 20]


def test_certificate_year_runs_august_to_july() -> None:
    assert certificate_year_of(D(2026, 7, 31)) == 2025
    assert certificate_year_of(D(2026, 8, 1)) == 2026
    assert certificate_period(2026) == (D(2026, 8, 1), D(2027, 7, 31))
    assert copay_validity(2026, D(2026, 10, 5), None) == (D(2026, 10, 5), D(2027, 7, 31))
    assert copay_validity(2026, D(2020, 1, 1), D(2027, 1, 1)) == (D(2026, 8, 1), D(2026, 12, 31))
    assert copay_validity(2026, D(2020, 1, 1), D(2026, 8, 1)) is None


@pytest.mark.parametrize(
    ("category", "reason", "birth", "on", "field"),
    [
        ("1", "11", D(1961, 4, 2), D(2026, 4, 1), None),  # reaches 65 that day
        ("1", "11", D(1961, 4, 2), D(2026, 3, 31), "acquiredOn"),
        ("2", "13", D(1980, 1, 1), D(2026, 1, 1), None),
        ("2", "13", D(1990, 1, 2), D(2029, 12, 31), "acquiredOn"),  # 39 (40 on 2030-01-01)
        ("2", "13", D(1960, 1, 1), D(2026, 1, 1), "acquiredOn"),  # 66: first category
        ("1", "21", D(1950, 1, 1), D(2026, 1, 1), "reason"),
        ("1", "11", D(1930, 1, 1), D(1999, 1, 1), "acquiredOn"),  # before the insurance began
        ("9", "11", D(1950, 1, 1), D(2026, 1, 1), "category"),
    ],
)
def test_who_acquires_what_when(
    category: str, reason: str, birth: dt.date, on: dt.date, field: str | None
) -> None:
    problem = acquisition_problem(category, reason, birth, on)
    assert (problem.field if problem else None) == field


def test_losses_and_states() -> None:
    q = {"acquired_on": D(2020, 1, 1), "lost_on": None}
    assert state_of(None) == "NOT_INSURED" and state_of(q) == "INSURED"
    assert state_of({**q, "lost_on": D(2026, 1, 1)}) == "LOST"
    assert loss_problem(q, "21", D(2026, 1, 1)) is None
    assert loss_problem(q, "21", D(2019, 12, 31)).field == "lostOn"  # type: ignore[union-attr]
    assert loss_problem(q, "11", D(2026, 1, 1)).field == "reason"  # type: ignore[union-attr]
