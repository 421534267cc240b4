"""Small calendar helpers for the seed (all pure functions of their arguments)."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

DAY = timedelta(days=1)


def add_days(d: date, n: int) -> date:
    return d + timedelta(days=n)


def add_years(d: date, years: int) -> date:
    """The anniversary ``years`` later; a 29 February falls on 1 March in common years (民法 143条)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day."""
    index = d.year * 12 + d.month - 1 + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(d.day, monthrange(year, month0 + 1)[1]))


def first_of_month(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    return d.replace(day=monthrange(d.year, d.month)[1])


def months_between(a: date, b: date) -> int:
    """Whole calendar months from the month of ``a`` to the month of ``b`` (b's month excluded)."""
    return (b.year * 12 + b.month) - (a.year * 12 + a.month)


def validity_end(start: date, months: int) -> date:
    """認定有効期間の末日: ``months`` months, counted from the next month when ``start`` is not the 1st."""
    if start.day == 1:
        return month_end(add_months(start, months - 1))
    return month_end(add_months(start.replace(day=1), months))


def age_on(birth: date, on: date) -> int:
    """Age in completed years on ``on`` (the age rises on the anniversary's eve, 年齢計算ニ関スル法律)."""
    eve = on + DAY
    return eve.year - birth.year - ((eve.month, eve.day) < (birth.month, birth.day))


def fiscal_year_of(d: date) -> int:
    """Fiscal year (April – March) that ``d`` falls in."""
    return d.year if d.month >= 4 else d.year - 1


def certificate_year_of(d: date) -> int:
    """Copay-certificate year (August – July) that ``d`` falls in."""
    return d.year if d.month >= 8 else d.year - 1
