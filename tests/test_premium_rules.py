"""The premium's law and the city's table (policies/premiums.py): the year's premium by stage and months,
the installments of each collection method, reconciliation, reductions and the 2-year lapse. Pure."""

from __future__ import annotations

import datetime as dt

from policies.premiums import (
    DIRECT,
    PENSION,
    Open,
    allocate,
    annual_premium,
    assess,
    installment_amounts,
    lapses_on,
    lower_unpaid,
    premium_rules,
    schedule,
)

D = dt.date


def test_annual_premium_by_stage() -> None:
    assert premium_rules().base_by_year[2024] == 72_000
    assert annual_premium("05", 2026) == 72_000  # the base (stage 5 = 1.0), the 9th plan's figure
    assert annual_premium("01", 2026) == 20_500  # reduced 0.285 → 20,520, rounded down to 100 yen
    assert annual_premium("09", 2026) == 122_400
    assert annual_premium("13", 2026) == 172_800


def test_liability_by_months() -> None:
    whole = assess("05", 2026, first_category_on=D(2010, 1, 1), lost_on=None)
    assert whole is not None and (whole.levied_on, whole.months, whole.premium) == (D(2026, 4, 1), 12, 72_000)
    joined = assess("05", 2026, first_category_on=D(2026, 10, 15), lost_on=None)
    assert joined is not None and (joined.levied_on, joined.months, joined.premium) == (
        D(2026, 10, 15),
        6,
        36_000,
    )
    left = assess("05", 2026, first_category_on=D(2010, 1, 1), lost_on=D(2026, 9, 1))
    assert left is not None and (left.months, left.premium) == (5, 30_000)  # April to August
    assert assess("05", 2026, first_category_on=D(2010, 1, 1), lost_on=D(2026, 4, 1)) is None
    assert assess("05", 2026, first_category_on=D(2027, 4, 1), lost_on=None) is None


def test_installments_of_each_method() -> None:
    pension = schedule(2026, PENSION, levied_on=D(2026, 4, 1))
    assert [s.due_on for s in pension] == [
        D(2026, 4, 15),
        D(2026, 6, 15),
        D(2026, 8, 15),
        D(2026, 10, 15),
        D(2026, 12, 15),
        D(2027, 2, 15),
    ]
    direct = schedule(2026, DIRECT, levied_on=D(2026, 4, 1))
    assert (len(direct), direct[0].due_on, direct[-1].due_on) == (9, D(2026, 7, 31), D(2027, 3, 31))
    late = schedule(2026, DIRECT, levied_on=D(2026, 10, 15))
    assert late[0].due_on == D(2026, 11, 30) and late[0].period == 5  # the first due 30 days on or later
    assert [s.period for s in schedule(2026, DIRECT, levied_on=D(2026, 4, 1), lost_on=D(2026, 10, 1))] == [
        1,
        2,
        3,
    ]
    assert installment_amounts(72_000, 9, method=DIRECT, previous_premium=None) == [8_000] * 9
    assert installment_amounts(70_000, 9, method=DIRECT, previous_premium=None) == [8_400] + [7_700] * 8
    assert (
        installment_amounts(72_000, 6, method=PENSION, previous_premium=66_000) == [11_000] * 3 + [13_000] * 3
    )
    assert sum(installment_amounts(98_700, 6, method=PENSION, previous_premium=72_000)) == 98_700


def test_reconciliation_oldest_first_lapsed_skipped() -> None:
    opens = [
        Open(1, D(2026, 7, 31), 8_000, False),
        Open(2, D(2026, 8, 31), 8_000, False),
        Open(3, D(2024, 7, 31), 5_000, True),
    ]
    assert allocate(10_000, opens) == ([(1, 8_000), (2, 2_000)], 0)
    assert allocate(20_000, opens) == ([(1, 8_000), (2, 8_000)], 4_000)
    assert allocate(3_000, [Open(1, D(2026, 7, 31), 0, False), *opens[1:]]) == ([(2, 3_000)], 0)


def test_claims_lapse_after_two_years_renewed_by_a_reminder() -> None:
    assert lapses_on(D(2024, 7, 31)) == D(2026, 8, 1)
    assert lapses_on(D(2024, 7, 31), D(2024, 8, 20)) == D(2026, 8, 21)
    assert lapses_on(D(2026, 2, 28)) == D(2028, 3, 1)
    assert lapses_on(D(2024, 2, 28)) == D(2026, 2, 28)  # the day after is 29 February


def test_a_reduction_lowers_the_unpaid_installments_last_first() -> None:
    rows = [(1, 8_000, 8_000), (2, 8_000, 3_000), (3, 8_000, 0)]
    assert lower_unpaid(rows, 10_000) == {3: 0, 2: 6_000}
    assert lower_unpaid(rows, 2_000) == {3: 6_000}
    assert lower_unpaid(rows, 20_000) == {3: 0, 2: 3_000}  # the rest is an over-payment
