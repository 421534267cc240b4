"""給付's law (policies/benefits.py): the reimbursed share, the high-cost benefit at its caps, the
cost-limit stages, and the federation's claim line as read. Pure."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.benefits import InvalidClaim, cost_limit_stage, high_cost, parse_claim, reimbursement


def test_the_reimbursed_share() -> None:
    assert reimbursement(10_000, 20) == (2_000, 8_000)
    assert reimbursement(10_001, 10) == (1_001, 9_000)  # the copay rounded up: the insurer never pays more
    assert reimbursement(10_000, None) == (1_000, 9_000)  # no ratio decided: 10 %


def test_high_cost_at_the_caps() -> None:
    assert high_cost("3", person_copay=60_000, household_copay=60_000).paid == 15_600  # 44,400 cap
    assert high_cost("3", person_copay=40_000, household_copay=40_000).paid == 0
    shared = high_cost("3", person_copay=60_000, household_copay=90_000)
    assert (shared.cap, shared.paid) == (44_400, 30_400)  # (90,000 − 44,400) × 60,000 / 90,000
    assert high_cost("5", person_copay=60_000, household_copay=90_000).paid == 45_000  # individual 15,000
    assert high_cost("1", person_copay=200_000, household_copay=200_000).paid == 59_900


@pytest.mark.parametrize(
    ("exempt", "welfare", "income", "savings", "married", "stage"),
    [
        (False, True, 0, 0, False, 1),
        (True, False, 800_000, 6_500_000, False, 2),
        (True, False, 800_001, 5_500_000, False, 3),
        (True, False, 1_200_001, 5_000_000, False, 4),
        (True, False, 1_200_001, 5_000_001, False, None),
        (True, False, 700_000, 16_500_000, True, 2),  # a couple: 1,000万円 more
        (False, False, 100_000, 0, False, None),  # the household pays resident tax
    ],
)
def test_cost_limit_stages(
    exempt: bool, welfare: bool, income: int, savings: int, married: bool, stage: int | None
) -> None:
    assert (
        cost_limit_stage(
            household_tax_exempt=exempt,
            welfare=welfare,
            pension_and_other_income=income,
            savings=savings,
            married=married,
        )
        == stage
    )


LINE = {
    "service_month": "2026-10",
    "insured_number": "0000000001",
    "provider_number": "3310000001",
    "service_type": "15",
    "units": "1000",
    "cost_amount": "10140",
    "insurer_paid_amount": "9126",
    "copay_amount": "1014",
    "reviewed_month": "2026-11",
}


def test_a_claim_line_read() -> None:
    claim = parse_claim(LINE)
    assert (claim["service_month"], claim["reviewed_month"], claim["cost_amount"]) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
        10_140,
    )
    assert parse_claim({**LINE, "service_type": "DAY_CARE"})["service_type"] == "15"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"copay_amount": "1000"}, "copay_amount"),
        ({"service_month": "2026/10"}, "service_month"),
        ({"insured_number": "123"}, "insured_number"),
        ({"service_type": "ZZ"}, "service_type"),
        ({"units": "-5"}, "units"),
        ({"reviewed_month": "2026-09"}, "reviewed_month"),
        ({"provider_number": ""}, "provider_number"),
    ],
)
def test_an_unreadable_claim_names_its_column(over: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidClaim) as refused:
        parse_claim({**LINE, **over})
    assert refused.value.field == field
