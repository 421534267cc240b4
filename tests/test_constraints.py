"""The database itself refuses rows the law's codes and the business's date orders do not allow."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Certification, Levy, LevyInstallment, Person, Qualification

pytestmark = pytest.mark.db


def person(**over: Any) -> dict[str, Any]:
    row = {
        "addressee_code": "1000000001",
        "name": "山田 花子",
        "name_kana": "ヤマダ ハナコ",
        "sex": "2",
        "birth_date": date(1950, 4, 2),
        "address_code": "3320200101",
        "address": "倉敷市西中新田640",
        "postal_code": "710-8565",
        "household_code": "2000000001",
        "relationship": "01",
        "resident_status": "1",
    }
    row.update(over)
    return row


async def insert_ok(conn: AsyncConnection, table: Any, row: dict[str, Any]) -> int:
    result = await conn.execute(insert(table).values(**row).returning(table.c.id))
    return int(result.scalar_one())


async def refused(conn: AsyncConnection, table: Any, row: dict[str, Any]) -> str:
    """Insert in a savepoint and return the name of the constraint that refused it."""
    savepoint = await conn.begin_nested()
    with pytest.raises((IntegrityError, DBAPIError)) as info:
        await conn.execute(insert(table).values(**row))
    await savepoint.rollback()
    return str(getattr(info.value.orig, "__cause__", None) or info.value.orig)


PERSONS = Person.__table__


async def test_a_valid_person_is_accepted(migrated_conn: AsyncConnection) -> None:
    assert await insert_ok(migrated_conn, PERSONS, person()) > 0


@pytest.mark.parametrize(
    ("override", "constraint"),
    [
        ({"sex": "3"}, "fk_persons_sex"),
        ({"relationship": "99"}, "fk_persons_relationship"),
        ({"postal_code": "7108565"}, "postal_code_format"),
        ({"name_kana": "やまだ はなこ"}, "name_kana_katakana"),  # hiragana is not a reading here
        ({"name_kana": "ﾔﾏﾀﾞ"}, "name_kana_katakana"),  # half-width kana neither
        ({"addressee_code": "ABC"}, "addressee_code_digits"),
        ({"birth_date": date(1850, 1, 1)}, "birth_date_plausible"),
        ({"individual_number_enc": b"x"}, "number_and_index_together"),
        ({"alias_name_kana": "リー"}, "alias_kana_needs_alias"),
    ],
)
async def test_persons_refuse(
    migrated_conn: AsyncConnection, override: dict[str, Any], constraint: str
) -> None:
    assert constraint in await refused(migrated_conn, PERSONS, person(**override))


async def test_addressee_codes_and_blind_indexes_are_unique(migrated_conn: AsyncConnection) -> None:
    await insert_ok(migrated_conn, PERSONS, person(individual_number_enc=b"a", individual_number_index=b"i"))
    assert "uq_persons_addressee_code" in await refused(migrated_conn, PERSONS, person())
    again = person(addressee_code="1000000002", individual_number_enc=b"b", individual_number_index=b"i")
    assert "uq_persons_individual_number_index" in await refused(migrated_conn, PERSONS, again)


def qualification(person_id: int, **over: Any) -> dict[str, Any]:
    row = {
        "person_id": person_id,
        "insured_number": "0000000001",
        "category": "1",
        "acquired_on": date(2015, 4, 1),
        "acquisition_reason": "11",
    }
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("override", "constraint"),
    [
        ({"category": "3"}, "fk_qualifications_category"),
        ({"insured_number": "12345"}, "insured_number_digits"),
        ({"lost_on": date(2014, 1, 1), "loss_reason": "21"}, "lost_after_acquired"),
        ({"lost_on": date(2020, 1, 1)}, "loss_reason_with_date"),
        ({"boundary_layer": True}, "boundary_layer_since"),
    ],
)
async def test_qualifications_refuse(
    migrated_conn: AsyncConnection, override: dict[str, Any], constraint: str
) -> None:
    pid = await insert_ok(migrated_conn, PERSONS, person())
    assert constraint in await refused(migrated_conn, Qualification.__table__, qualification(pid, **override))


async def test_insured_numbers_are_unique(migrated_conn: AsyncConnection) -> None:
    first = await insert_ok(migrated_conn, PERSONS, person())
    second = await insert_ok(migrated_conn, PERSONS, person(addressee_code="1000000002"))
    await insert_ok(migrated_conn, Qualification.__table__, qualification(first))
    assert "uq_qualifications_insured_number" in await refused(
        migrated_conn, Qualification.__table__, qualification(second)
    )


def certification(person_id: int, **over: Any) -> dict[str, Any]:
    row = {
        "person_id": person_id,
        "applied_on": date(2025, 4, 1),
        "received_on": date(2025, 4, 1),
        "application_type": "1",
        "applicant_relationship": "1",
    }
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("override", "constraint"),
    [
        ({"received_on": date(2025, 3, 31)}, "received_after_applied"),
        ({"care_level": "99", "decided_on": date(2025, 4, 20)}, "fk_certifications_care_level"),
        ({"care_level": "21"}, "level_with_decision"),
        ({"valid_from": date(2025, 5, 1), "valid_to": date(2025, 4, 30)}, "valid_order"),
        (
            {"primary_judged_on": date(2025, 4, 20), "secondary_judged_on": date(2025, 4, 10)},
            "judgement_order",
        ),
        ({"postponed_on": date(2025, 4, 28)}, "postponement_reason_with_date"),
    ],
)
async def test_certifications_refuse(
    migrated_conn: AsyncConnection, override: dict[str, Any], constraint: str
) -> None:
    pid = await insert_ok(migrated_conn, PERSONS, person())
    assert constraint in await refused(migrated_conn, Certification.__table__, certification(pid, **override))


async def test_levies_refuse_bad_rows(migrated_conn: AsyncConnection) -> None:
    pid = await insert_ok(migrated_conn, PERSONS, person())
    levy = {
        "person_id": pid,
        "fiscal_year": 2026,
        "levied_on": date(2026, 4, 1),
        "income_stage": "05",
        "annual_premium": 72000,
        "reduction_amount": 0,
        "collection_method": "2",
    }
    assert "fk_levies_income_stage" in await refused(
        migrated_conn, Levy.__table__, {**levy, "income_stage": "14"}
    )
    assert "pension_payer_for_deduction" in await refused(
        migrated_conn, Levy.__table__, {**levy, "collection_method": "1"}
    )
    levy_id = await insert_ok(migrated_conn, Levy.__table__, levy)
    assert "uq_levies_person_id_fiscal_year" in await refused(migrated_conn, Levy.__table__, levy)
    installment = {
        "levy_id": levy_id,
        "assessment_year": 2026,
        "period": 13,
        "due_on": date(2026, 7, 31),
        "amount": 9000,
        "collection_method": "2",
    }
    assert "period_and_amount" in await refused(migrated_conn, LevyInstallment.__table__, installment)
