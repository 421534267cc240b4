"""保険料 — the annual assessment (本算定) from the income stage and the city's table, the installments of
each collection method, how a payment is reconciled against them (消込), reminders and the claims' lapse
(``data/premiums.toml``; the stages' multipliers are the code table's). Pure.
"""

from __future__ import annotations

import calendar
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from importlib import resources
from typing import Final

from .codes import table

__all__ = [
    "Assessment",
    "PremiumRules",
    "Slot",
    "allocate",
    "annual_premium",
    "assess",
    "installment_amounts",
    "lapses_on",
    "lower_unpaid",
    "premium_rules",
    "schedule",
]

PENSION: Final = "1"  # [collection_method] 特別徴収
DIRECT: Final = "2"  # 普通徴収
METHOD_NAMES: Final = {PENSION: "PENSION_DEDUCTION", DIRECT: "DIRECT_PAYMENT"}


@dataclass(frozen=True)
class Plan:
    months: tuple[int, ...]
    due_day: int | None  # None: the month's last day
    provisional: int
    first_due_after_days: int


@dataclass(frozen=True)
class PremiumRules:
    base_by_year: Mapping[int, int]
    rounding: int
    reduced: bool
    plans: Mapping[str, Plan]  # by collection method code
    reminder_fee: int
    reminder_within_days: int
    lapse_years: int


def load_premium_rules(text: str) -> PremiumRules:
    raw = tomllib.loads(text)
    for name in ("base_premium", "rounding", "liability", "reduced_stages", "reminders", "lapse"):
        spec = raw[name]
        if not str(spec.get("law", "")).strip() or not isinstance(spec.get("verified"), bool):
            raise ValueError(f"premiums.toml [{name}] cites its law and says whether it was verified")
    plans = {}
    for code, name in METHOD_NAMES.items():
        spec = raw["installments"][name]
        plans[code] = Plan(
            tuple(int(m) for m in spec["months"]),
            None if spec["due_day"] == "end" else int(spec["due_day"]),
            int(spec.get("provisional", 0)),
            int(spec.get("first_due_after_days", 0)),
        )
    return PremiumRules(
        base_by_year={int(k): int(v) for k, v in raw["base_premium"]["by_fiscal_year"].items()},
        rounding=int(raw["rounding"]["yen"]),
        reduced=bool(raw["reduced_stages"]["apply"]),
        plans=plans,
        reminder_fee=int(raw["reminders"]["fee"]),
        reminder_within_days=int(raw["reminders"]["within_days"]),
        lapse_years=int(raw["lapse"]["years"]),
    )


@cache
def premium_rules() -> PremiumRules:
    return load_premium_rules(
        resources.files("policies").joinpath("data/premiums.toml").read_text(encoding="utf-8")
    )


def _floor(amount: Decimal | int, unit: int) -> int:
    return int(Decimal(amount).to_integral_value(ROUND_FLOOR)) // unit * unit


def base_premium(fiscal_year: int) -> int:
    years = [y for y in premium_rules().base_by_year if y <= fiscal_year]
    if not years:
        raise ValueError(f"no base premium for fiscal year {fiscal_year}")
    return premium_rules().base_by_year[max(years)]


@cache
def annual_premium(stage: str, fiscal_year: int) -> int:
    """A whole year's premium of ``stage``: the base × the stage's multiplier (its reduced one where the
    table gives it), rounded down."""
    extra = table("income_stage").by_code(stage).extra
    r = premium_rules()
    multiplier = extra.get("reduced", extra["multiplier"]) if r.reduced else extra["multiplier"]
    return _floor(base_premium(fiscal_year) * Decimal(str(multiplier)), r.rounding)


def _months(a: date, b: date) -> int:
    return (b.year * 12 + b.month) - (a.year * 12 + a.month)


@dataclass(frozen=True)
class Assessment:
    levied_on: date  # 賦課期日, or the day liability began during the year
    months: int
    premium: int


def assess(
    stage: str, fiscal_year: int, *, first_category_on: date, lost_on: date | None
) -> Assessment | None:
    """The year's premium of a first-category insured person liable from ``first_category_on`` until
    ``lost_on`` (exclusive): by months, from the month liability began to the month before the loss."""
    start, end = date(fiscal_year, 4, 1), date(fiscal_year + 1, 4, 1)
    levied = max(start, first_category_on)
    stop = min(end, lost_on) if lost_on is not None else end
    months = _months(levied, stop) if levied < stop else 0
    if months <= 0:
        return None
    full = annual_premium(stage, fiscal_year)
    premium = full if months >= 12 else _floor(Decimal(full) * months / 12, premium_rules().rounding)
    return Assessment(levied, months, premium)


@dataclass(frozen=True)
class Slot:
    period: int
    due_on: date


def _due(year: int, month: int, day: int | None) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day is None else min(day, last))


def schedule(fiscal_year: int, method: str, *, levied_on: date, lost_on: date | None = None) -> list[Slot]:
    """The installments (期別) of the year for a collection method; for a person liable from during the
    year, those due at least ``first_due_after_days`` later (at least one); none due after the loss."""
    plan = premium_rules().plans[method]
    slots = [
        Slot(n, _due(fiscal_year + (1 if m < 4 else 0), m, plan.due_day))
        for n, m in enumerate(plan.months, start=1)
    ]
    if levied_on > date(fiscal_year, 4, 1):
        later = [s for s in slots if s.due_on >= levied_on + timedelta(days=plan.first_due_after_days)]
        slots = later or [Slot(len(plan.months), levied_on + timedelta(days=plan.first_due_after_days + 15))]
    if lost_on is not None:
        slots = [s for s in slots if s.due_on < lost_on] or slots[:1]
    return slots


def installment_amounts(net: int, count: int, *, method: str, previous_premium: int | None) -> list[int]:
    """The year's ``net`` premium over ``count`` installments, each rounded down to the unit, the first
    taking the rest. Pension deduction with last year's premium known: the provisional ones at a sixth
    of it each (less if the year is lower), the final ones the rest."""
    unit = premium_rules().rounding
    plan = premium_rules().plans[method]
    provisional = plan.provisional if method == PENSION and count == len(plan.months) else 0
    if provisional and previous_premium is not None:
        each = _floor(Decimal(previous_premium) / len(plan.months), unit)
        if each * provisional > net:
            each = _floor(Decimal(net) / len(plan.months), unit)
        rest = net - each * provisional
        finals = count - provisional
        per = _floor(Decimal(rest) / finals, unit)
        return [each] * provisional + [rest - per * (finals - 1)] + [per] * (finals - 1)
    per = _floor(Decimal(net) / count, unit)
    return [net - per * (count - 1)] + [per] * (count - 1)


def lapses_on(due_on: date, reminded_on: date | None = None) -> date:
    """The first day the claim of an installment has lapsed (2 years from the day after its due date, or
    after the day of a reminder, which renews the period)."""
    start = max(due_on, reminded_on) if reminded_on is not None else due_on
    years = premium_rules().lapse_years
    later = start + timedelta(days=1)
    try:
        return later.replace(year=later.year + years)
    except ValueError:  # 29 February: the 28th, as PostgreSQL's date arithmetic counts it
        return date(later.year + years, 2, 28)


@dataclass(frozen=True)
class Open:
    """An installment as reconciliation sees it."""

    id: int
    due_on: date
    outstanding: int
    lapsed: bool


def allocate(amount: int, installments: Sequence[Open]) -> tuple[list[tuple[int, int]], int]:
    """消込: ``amount`` against the outstanding installments, the oldest due first, lapsed ones skipped
    (their claim is gone: nothing may be collected on them). Returns [(installment id, part)] and what
    is left over (an over-payment)."""
    parts: list[tuple[int, int]] = []
    left = amount
    for item in sorted(installments, key=lambda i: (i.due_on, i.id)):
        if left <= 0:
            break
        if item.lapsed or item.outstanding <= 0:
            continue
        part = min(left, item.outstanding)
        parts.append((item.id, part))
        left -= part
    return parts, left


def lower_unpaid(installments: Sequence[tuple[int, int, int]], by: int) -> dict[int, int]:
    """A reduction (減免) taken off the installments' amounts, the last first, none below what was paid
    on it: {id: new amount} of those lowered. ``installments``: (id, amount, paid) in period order."""
    lowered: dict[int, int] = {}
    left = by
    for pk, amount, paid in reversed(installments):
        if left <= 0:
            break
        cut = min(left, max(amount - paid, 0))
        if cut:
            lowered[pk] = amount - cut
            left -= cut
    return lowered
