"""給付 — reimbursement, the high-cost benefit and the cost-limit certification computed as the law says
(``data/benefits.toml``; the high-cost caps are the code table's). Pure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from .codes import table

__all__ = [
    "CLAIM_COLUMNS",
    "BenefitRules",
    "HighCost",
    "InvalidClaim",
    "benefit_rules",
    "cost_limit_stage",
    "high_cost",
    "parse_claim",
    "reimbursement",
    "service_month",
]


@dataclass(frozen=True)
class LimitStage:
    stage: int
    max_income: int
    max_savings: int
    welfare: bool


@dataclass(frozen=True)
class BenefitRules:
    default_copay_percent: int
    individual_classes: frozenset[str]
    stages: tuple[LimitStage, ...]
    spouse_extra: int


def load_benefit_rules(text: str) -> BenefitRules:
    raw: Mapping[str, Any] = tomllib.loads(text)
    for name in ("reimbursement", "high_cost", "cost_limit"):
        if not str(raw[name].get("law", "")).strip() or not isinstance(raw[name].get("verified"), bool):
            raise ValueError(f"benefits.toml [{name}] cites its law and says whether it was verified")
    stages = tuple(
        LimitStage(
            int(s["stage"]), int(s["max_income"]), int(s["max_savings"]), bool(s.get("welfare", False))
        )
        for s in raw["cost_limit"]["stages"]
    )
    return BenefitRules(
        default_copay_percent=int(raw["reimbursement"]["default_copay_percent"]),
        individual_classes=frozenset(str(c) for c in raw["high_cost"]["individual_classes"]),
        stages=stages,
        spouse_extra=int(raw["cost_limit"]["savings_spouse_extra"]),
    )


@cache
def benefit_rules() -> BenefitRules:
    return load_benefit_rules(
        resources.files("policies").joinpath("data/benefits.toml").read_text(encoding="utf-8")
    )


def service_month(day: date) -> date:
    return day.replace(day=1)


def reimbursement(total_cost: int, copay_percent: int | None) -> tuple[int, int]:
    """(the person's copay, the insured share claimed back) of a cost paid in full; the copay rounded up
    to the yen so the insurer never pays more than its share."""
    percent = copay_percent if copay_percent is not None else benefit_rules().default_copay_percent
    copay = -(-total_cost * percent // 100)
    return copay, total_cost - copay


@dataclass(frozen=True)
class HighCost:
    cap: int
    paid: int  # the person's share of what the household's copay exceeds the cap by


def high_cost(income_class: str, *, person_copay: int, household_copay: int) -> HighCost:
    """The month's high-cost benefit of a person: the copay above the cap of the class, of the household
    (shared by the members' copays) or, for the individual classes, the person's own."""
    cap = int(table("income_class").by_code(income_class).extra["cap"])
    if income_class in benefit_rules().individual_classes or household_copay <= person_copay:
        return HighCost(cap, max(person_copay - cap, 0))
    over = max(household_copay - cap, 0)
    return HighCost(cap, over * person_copay // household_copay)


def cost_limit_stage(
    *, household_tax_exempt: bool, welfare: bool, pension_and_other_income: int, savings: int, married: bool
) -> int | None:
    """The cost-limit stage (1-4: 第1段階 … 第3段階②), or None when the person is not eligible."""
    rules = benefit_rules()
    if welfare:
        return rules.stages[0].stage
    if not household_tax_exempt:
        return None
    extra = rules.spouse_extra if married else 0
    for stage in rules.stages:
        if stage.welfare:
            continue
        if pension_and_other_income <= stage.max_income and savings <= stage.max_savings + extra:
            return stage.stage
    return None


# --- the federation's claim results (給付実績) ---------------------------------------------------------

CLAIM_COLUMNS = (
    "service_month",
    "insured_number",
    "provider_number",
    "service_type",
    "units",
    "cost_amount",
    "insurer_paid_amount",
    "copay_amount",
    "reviewed_month",
)
MAX_AMOUNT = 100_000_000


class InvalidClaim(ValueError):
    """A claim line that cannot be read: ``field`` and ``reason`` (the message never repeats the value)."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


def _month(field: str, text: str) -> date:
    parts = text.split("-")
    try:
        if len(parts) in (2, 3) and len(parts[0]) == 4 and (len(parts) == 2 or parts[2] == "01"):
            return date(int(parts[0]), int(parts[1]), 1)
    except ValueError:
        pass
    raise InvalidClaim(field, "FORMAT", f"`{field}` is not a month (YYYY-MM)")


def _amount(field: str, text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_AMOUNT:
        raise InvalidClaim(field, "FORMAT", f"`{field}` is not an amount (whole yen)")
    return int(text)


def parse_claim(raw: Mapping[str, str]) -> dict[str, Any]:
    """One line of the claim results file, checked: column → value (codes as stored)."""
    values: dict[str, Any] = {}
    for column in CLAIM_COLUMNS:
        text = (raw.get(column) or "").strip()
        if not text:
            raise InvalidClaim(column, "REQUIRED", f"`{column}` is required")
        values[column] = text
    for column in ("service_month", "reviewed_month"):
        values[column] = _month(column, values[column])
    for column in ("units", "cost_amount", "insurer_paid_amount", "copay_amount"):
        values[column] = _amount(column, values[column])
    if (
        not values["insured_number"].isascii()
        or not values["insured_number"].isdigit()
        or len(values["insured_number"]) != 10
    ):
        raise InvalidClaim("insured_number", "FORMAT", "`insured_number` is 10 digits")
    if (
        not values["provider_number"].isascii()
        or not values["provider_number"].isdigit()
        or len(values["provider_number"]) != 10
    ):
        raise InvalidClaim("provider_number", "FORMAT", "`provider_number` is 10 digits")
    codes = table("service_type")
    found = next((v for v in codes.values if values["service_type"] in (v.code, v.name)), None)
    if found is None:
        raise InvalidClaim("service_type", "FORMAT", "`service_type` is not a code of サービス種類コード")
    values["service_type"] = found.code
    if values["insurer_paid_amount"] + values["copay_amount"] != values["cost_amount"]:
        raise InvalidClaim(
            "copay_amount", "OUT_OF_RANGE", "the insurer's part and the copay do not add up to the cost"
        )
    if values["reviewed_month"] < values["service_month"]:
        raise InvalidClaim("reviewed_month", "REVERSED_RANGE", "`reviewed_month` is before the service month")
    return values
