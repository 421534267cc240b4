"""Figures of a seeded city, to compare with the targets (used by bench/seed_city.py and the tests)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from .dates import add_years, certificate_year_of, fiscal_year_of

TARGETS: dict[str, Any] = {
    "share_65_plus_city": 0.28,
    "certified_share_of_65_plus": 0.20,
    "care_levels": {"12": 0.14, "13": 0.14, "21": 0.20, "22": 0.17, "23": 0.13, "24": 0.12, "25": 0.08},
    "copay_20": 0.05,
    "copay_30": 0.04,
    "pension_deduction_share": 0.88,
    "arrears_share_of_direct_payers": 0.03,
    "foreign_share": 0.015,
    "no_automatic_response_share": 0.002,
    "facility_share_of_insured": 0.03,
}
CITY_POPULATION = 480_000
FULL_CITY_INSURED = 130_000


async def city_figures(conn: AsyncConnection, today: date) -> dict[str, Any]:
    """Shares and counts of the seeded city as of ``today`` (see :data:`TARGETS`)."""
    born_65 = add_years(today + timedelta(days=1), -65)  # born on or before: 65 on ``today`` (eve counts)
    params = {
        "today": today,
        "born65": born_65,
        "cy": certificate_year_of(today),
        "fy": fiscal_year_of(today),
    }

    async def one(sql: str) -> Any:
        return (await conn.execute(text(sql), params)).scalar_one()

    persons = await one("SELECT count(*) FROM persons")
    aged = await one("SELECT count(*) FROM persons WHERE birth_date <= :born65")
    insured = await one("SELECT count(*) FROM qualifications")
    first = await one("SELECT count(*) FROM qualifications WHERE category = '1'")
    active_first = await one("SELECT count(*) FROM qualifications WHERE category = '1' AND lost_on IS NULL")
    certified_sql = (
        "SELECT DISTINCT c.person_id, c.care_level FROM certifications c "
        "JOIN qualifications q ON q.person_id = c.person_id AND q.lost_on IS NULL "
        "WHERE c.care_level <> '01' AND c.valid_from <= :today AND c.valid_to >= :today"
    )
    certified_first = await one(
        f"SELECT count(DISTINCT x.person_id) FROM ({certified_sql}) x "
        "JOIN qualifications q ON q.person_id = x.person_id WHERE q.category = '1'"
    )
    rows = (
        await conn.execute(text(f"SELECT care_level, count(*) FROM ({certified_sql}) x GROUP BY 1"), params)
    ).all()
    certified_total = sum(n for _, n in rows) or 1
    levels = {lvl: n / certified_total for lvl, n in sorted(rows)}
    copay = (
        await conn.execute(
            text(
                "SELECT r.ratio_percent, count(*) FROM copay_ratios r JOIN qualifications q ON q.id = r.qualification_id "
                "WHERE q.category = '1' AND r.fiscal_year = :cy GROUP BY 1"
            ),
            params,
        )
    ).all()
    copay_total = sum(n for _, n in copay) or 1
    copay_shares = {ratio: n / copay_total for ratio, n in sorted(copay)}
    levies = await one("SELECT count(*) FROM levies WHERE fiscal_year = :fy")
    pension = await one("SELECT count(*) FROM levies WHERE fiscal_year = :fy AND collection_method = '1'")
    direct_persons = await one("SELECT count(DISTINCT person_id) FROM levies WHERE collection_method = '2'")
    arrears_persons = await one(
        "WITH paid AS (SELECT installment_id, sum(amount) AS amount FROM levy_receipts GROUP BY 1) "
        "SELECT count(DISTINCT l.person_id) FROM levy_installments i JOIN levies l ON l.id = i.levy_id "
        "LEFT JOIN paid p ON p.installment_id = i.id "
        "WHERE i.collection_method = '2' AND i.due_on < :today AND i.amount > coalesce(p.amount, 0)"
    )
    foreign = await one("SELECT count(*) FROM persons WHERE nationality IS NOT NULL")
    protected = await one("SELECT count(*) FROM persons WHERE no_automatic_response")
    in_facility = await one(
        "SELECT count(DISTINCT qualification_id) FROM facility_admissions WHERE discharged_on IS NULL"
    )
    scale = insured / FULL_CITY_INSURED
    return {
        "persons": persons,
        "insured": insured,
        "share_65_plus_of_persons": aged / persons if persons else 0.0,
        "share_65_plus_city": active_first / (CITY_POPULATION * scale) if insured else 0.0,
        "first_category_share_of_insured": first / insured if insured else 0.0,
        "certified_share_of_65_plus": certified_first / active_first if active_first else 0.0,
        "care_levels": levels,
        "copay": copay_shares,
        "pension_deduction_share": pension / levies if levies else 0.0,
        "arrears_share_of_direct_payers": arrears_persons / direct_persons if direct_persons else 0.0,
        "arrears_persons": arrears_persons,
        "foreign_share": foreign / persons if persons else 0.0,
        "no_automatic_response_share": protected / persons if persons else 0.0,
        "facility_share_of_insured": in_facility / insured if insured else 0.0,
    }
