"""資格 written by staff: what an acquisition, a loss, a category change, 住所地特例 and 適用除外 need, and
the copay ratio (負担割合) of a certificate year from the person's income (``data/copay.toml``).

Pure. A check answers None when the step may happen, else a :class:`Problem` (the input's field, the
reason, a message without the value) or the state the qualification is in, for INVALID_TRANSITION.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

from .insured import age_on, rules

__all__ = [
    "ACQUISITION_REASONS",
    "LOSS_REASONS",
    "CopayRules",
    "Income",
    "Problem",
    "State",
    "acquisition_problem",
    "certificate_period",
    "certificate_year_of",
    "copay_percent",
    "copay_rules",
    "copay_validity",
    "state_of",
]

LTCI_START: Final = date(2000, 4, 1)  # 介護保険法 施行日 (平成12年4月1日)
ACQUISITION_REASONS: Final = frozenset({"11", "12", "13", "14"})  # [qualification_event] 1x
LOSS_REASONS: Final = frozenset({"21", "22", "23"})  # [qualification_event] 2x
State = Literal["NOT_INSURED", "INSURED", "LOST"]


@dataclass(frozen=True)
class Problem:
    field: str  # the input's field (camelCase, under input.)
    reason: Literal["FORMAT", "OUT_OF_RANGE", "REVERSED_RANGE", "REQUIRED"]
    message: str


def state_of(qualification: Mapping[str, Any] | None) -> State:
    if qualification is None:
        return "NOT_INSURED"
    return "INSURED" if qualification["lost_on"] is None else "LOST"


def acquisition_problem(category: str, reason: str, birth: date, on: date) -> Problem | None:
    """Whether a person born on ``birth`` may acquire ``category`` on ``on`` for ``reason``."""
    if on < LTCI_START:
        return Problem(
            "acquiredOn", "OUT_OF_RANGE", f"`acquiredOn` is before the insurance began ({LTCI_START})"
        )
    if reason not in ACQUISITION_REASONS:
        return Problem("reason", "FORMAT", "`reason` is not a reason of acquisition (ACQUIRED_…)")
    age = age_on(birth, on)
    r = rules()
    if category == "1" and age < r.first_category_age:
        return Problem("acquiredOn", "OUT_OF_RANGE", f"the first category starts at {r.first_category_age}")
    if category == "2" and not r.second_category_from_age <= age < r.first_category_age:
        return Problem(
            "acquiredOn",
            "OUT_OF_RANGE",
            f"the second category is {r.second_category_from_age} to {r.first_category_age - 1}",
        )
    if category not in ("1", "2"):
        return Problem("category", "FORMAT", "only FIRST or SECOND is acquired")
    return None


def loss_problem(qualification: Mapping[str, Any], reason: str, on: date) -> Problem | None:
    if reason not in LOSS_REASONS:
        return Problem("reason", "FORMAT", "`reason` is not a reason of loss (LOST_…)")
    if on < qualification["acquired_on"]:
        return Problem("lostOn", "REVERSED_RANGE", "`lostOn` is before the acquisition")
    return None


# --- 負担割合 ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    percent: int
    total_income: int
    single: int
    two_or_more: int


@dataclass(frozen=True)
class CopayRules:
    starts_month: int
    starts_day: int
    ratios: tuple[Ratio, ...]  # highest first


@dataclass(frozen=True)
class Income:
    """What the copay ratio is decided from (the previous calendar year's income, 市民税課's data)."""

    total_income: int  # 合計所得金額 of the person
    pension_and_other: int  # 年金収入＋その他の合計所得金額 of the person
    household_first_category: int  # 65+ insured persons of the household, the person included
    household_pension_and_other: int  # the same sum over those persons
    tax_exempt: bool  # 市町村民税非課税
    welfare: bool  # 生活保護


def load_copay_rules(text: str) -> CopayRules:
    raw = tomllib.loads(text)
    year = raw["certificate_year"]
    ratios = []
    for spec in raw["ratios"]:
        if not str(spec.get("law", "")).strip() or not isinstance(spec.get("verified"), bool):
            raise ValueError("copay.toml: every ratio cites its law and says whether it was verified")
        ratios.append(
            Ratio(
                int(spec["percent"]), int(spec["total_income"]), int(spec["single"]), int(spec["two_or_more"])
            )
        )
    ratios.sort(key=lambda r: -r.percent)
    if any(r.percent not in (20, 30) for r in ratios):
        raise ValueError("copay.toml: ratios above 10 % are 20 or 30")
    return CopayRules(int(year["starts_month"]), int(year["starts_day"]), tuple(ratios))


@cache
def copay_rules() -> CopayRules:
    return load_copay_rules(
        resources.files("policies").joinpath("data/copay.toml").read_text(encoding="utf-8")
    )


def copay_percent(category: str, income: Income) -> int:
    """10, 20 or 30: the highest ratio whose thresholds the income reaches; 10 for the second category,
    the tax-exempt and welfare recipients."""
    if category != "1" or income.tax_exempt or income.welfare:
        return 10
    several = income.household_first_category >= 2
    pension = income.household_pension_and_other if several else income.pension_and_other
    for ratio in copay_rules().ratios:
        if income.total_income >= ratio.total_income and pension >= (
            ratio.two_or_more if several else ratio.single
        ):
            return ratio.percent
    return 10


def certificate_year_of(day: date) -> int:
    """The certificate year (1 August – 31 July) ``day`` falls in, named by the year it starts."""
    r = copay_rules()
    return day.year if (day.month, day.day) >= (r.starts_month, r.starts_day) else day.year - 1


def certificate_period(year: int) -> tuple[date, date]:
    r = copay_rules()
    start = date(year, r.starts_month, r.starts_day)
    return start, date(year + 1, r.starts_month, r.starts_day) - timedelta(days=1)


def copay_validity(year: int, acquired_on: date, lost_on: date | None) -> tuple[date, date] | None:
    """The part of the certificate year the person is insured (None: not insured in it)."""
    start, end = certificate_period(year)
    first = max(start, acquired_on)
    last = min(end, lost_on - timedelta(days=1)) if lost_on is not None else end
    return (first, last) if first <= last else None
