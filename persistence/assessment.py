"""本算定 — a levy and its installments for a first-category insured person and a fiscal year, from the
income stage and the city's table (policies/premiums.py); for one person (the mutation) or the whole city
(``kaigo assess``), in chunks written with one statement each.

The whole city's run takes every first-category insured person liable in the year without a levy of it,
their stage from the stages file (市民税課's data) or else last year's levy; a person with neither is
reported, not assessed. Collection: pension deduction when last year's was and the person was liable the
whole year from at least six months before it (a new first-category person pays directly at first).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from policies.premiums import DIRECT, PENSION, Assessment, assess, installment_amounts, schedule

from .audit import Sealer
from .db import Database, driver_fetch
from .intake import audit_batch
from .provision_records import Actor
from .writes import Work

__all__ = ["AssessmentReport", "Liable", "assess_city", "levy_of", "read_stages"]

OPERATION: Final = "assessPremiums"
CHUNK: Final = 5000
PENSION_AFTER_DAYS: Final = (
    183  # liable from at least half a year before the year (特別徴収 needs the pension payer's notice)
)

LIABLE: Final = """
SELECT q.person_id, p.addressee_code, q.first_category_on, q.lost_on,
       prev.income_stage AS last_stage, prev.collection_method AS last_method,
       prev.pension_payer AS last_payer, prev.annual_premium AS last_premium
FROM qualifications q
JOIN persons p ON p.id = q.person_id
LEFT JOIN LATERAL (
    SELECT income_stage, collection_method, pension_payer, annual_premium FROM levies l
    WHERE l.person_id = q.person_id AND l.fiscal_year < $1 ORDER BY l.fiscal_year DESC LIMIT 1
) prev ON true
WHERE q.category = '1' AND q.first_category_on IS NOT NULL
  AND q.first_category_on < make_date($1 + 1, 4, 1)
  AND (q.lost_on IS NULL OR q.lost_on > make_date($1, 4, 1))
  AND NOT EXISTS (SELECT 1 FROM levies l WHERE l.person_id = q.person_id AND l.fiscal_year = $1)
  AND q.person_id > $2
ORDER BY q.person_id
LIMIT $3
FOR UPDATE OF p
"""


@dataclass(frozen=True)
class Liable:
    """A first-category insured person as the assessment needs them."""

    person_id: int
    first_category_on: dt.date
    lost_on: dt.date | None
    last_method: str | None = None
    last_payer: str | None = None
    last_premium: int | None = None


def levy_of(
    liable: Liable, fiscal_year: int, stage: str, *, method: str | None = None, payer: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], Assessment] | None:
    """The levy row (without id) and its installments' rows (without levy id), or None when the person is
    liable for no month of the year."""
    found = assess(stage, fiscal_year, first_category_on=liable.first_category_on, lost_on=liable.lost_on)
    if found is None:
        return None
    whole_year = found.levied_on == dt.date(fiscal_year, 4, 1)
    long_enough = liable.first_category_on <= dt.date(fiscal_year, 4, 1) - dt.timedelta(
        days=PENSION_AFTER_DAYS
    )
    if method is None:
        method = PENSION if liable.last_method == PENSION and whole_year and long_enough else DIRECT
    payer = payer or (liable.last_payer if method == PENSION else None)
    slots = schedule(fiscal_year, method, levied_on=found.levied_on, lost_on=liable.lost_on)
    previous = liable.last_premium if liable.last_method == PENSION else None
    amounts = installment_amounts(found.premium, len(slots), method=method, previous_premium=previous)
    levy = {
        "person_id": liable.person_id,
        "fiscal_year": fiscal_year,
        "levied_on": found.levied_on,
        "income_stage": stage,
        "annual_premium": found.premium,
        "reduction_amount": 0,
        "collection_method": method,
        "pension_payer": payer,
        "corrected_on": None,
        "correction_reason": None,
    }
    installments = [
        {
            "assessment_year": fiscal_year,
            "period": slot.period,
            "due_on": slot.due_on,
            "amount": amount,
            "collection_method": method,
        }
        for slot, amount in zip(slots, amounts, strict=True)
    ]
    return levy, installments, found


def summary(levy: Mapping[str, Any], found: Assessment) -> str:
    """What a levy's history says it was made as."""
    return (
        f"fiscal year {levy['fiscal_year']}, stage {levy['income_stage']}, {found.months} months, "
        f"{levy['annual_premium']} yen, method {levy['collection_method']}"
    )


@dataclass
class AssessmentReport:
    fiscal_year: int
    assessed: int = 0
    installments: int = 0
    premiums: int = 0
    not_liable: int = 0
    no_stage: list[int] = field(default_factory=list)  # person ids without an income stage

    def summary(self) -> str:
        return (
            f"fiscal year {self.fiscal_year}: {self.assessed} levies, {self.installments} installments, "
            f"{self.premiums:,} yen; liable for no month {self.not_liable}; without an income stage "
            f"(not assessed) {len(self.no_stage)}"
        )


def read_stages(data: bytes) -> dict[str, str]:
    """A stages file: UTF-8 CSV ``addressee_code,income_stage`` (with that header), stage as code (``05``)."""
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    if rows.fieldnames is None or {"addressee_code", "income_stage"} - set(rows.fieldnames):
        raise ValueError("the stages file's header names addressee_code and income_stage")
    return {r["addressee_code"].strip(): r["income_stage"].strip().zfill(2) for r in rows}


async def assess_city(
    database: Database,
    fiscal_year: int,
    *,
    actor: Actor,
    stages: Mapping[str, str] | None = None,
    sealer: Sealer | None = None,
    chunk: int = CHUNK,
) -> AssessmentReport:
    """Every liable first-category insured person of the year without a levy of it gets one."""
    report = AssessmentReport(fiscal_year)
    after = 0
    while True:
        async with database.session() as session:
            rows = await driver_fetch(session, LIABLE, fiscal_year, after, chunk)
            if not rows:
                return report
            after = rows[-1]["person_id"]
            work = Work(session, actor, OPERATION, source=f"fiscal-year:{fiscal_year}")
            made: list[tuple[dict[str, Any], list[dict[str, Any]], Assessment]] = []
            for r in rows:
                stage = (stages or {}).get(r["addressee_code"]) or r["last_stage"]
                if stage is None:
                    report.no_stage.append(r["person_id"])
                    continue
                liable = Liable(
                    r["person_id"],
                    r["first_category_on"],
                    r["lost_on"],
                    r["last_method"],
                    r["last_payer"],
                    r["last_premium"],
                )
                built = levy_of(liable, fiscal_year, stage)
                if built is None:
                    report.not_liable += 1
                    continue
                made.append(built)
            ids = await work.new_ids("levies", len(made))
            for levy_id, (levy, installments, found) in zip(ids, made, strict=True):
                levy["id"] = levy_id
                work.insert("levies", levy, person_id=levy["person_id"], summary=summary(levy, found))
                for installment in installments:
                    work.insert(
                        "levy_installments", {**installment, "levy_id": levy_id}, person_id=None, kept=False
                    )
                report.assessed += 1
                report.installments += len(installments)
                report.premiums += levy["annual_premium"]
            await work.flush()
            await audit_batch(session, work, actor, sealer, operation=OPERATION)
