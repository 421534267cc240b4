"""Individual numbers in the database: validated on write, encrypted at rest, found by blind index."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.crypto import NumberVault
from persistence.individual_numbers import (
    UnknownPerson,
    assign_individual_number,
    find_person_id,
    read_individual_number,
)
from persistence.models import Person
from policies.individual_number import IndividualNumber, InvalidIndividualNumber
from tests.test_constraints import person

pytestmark = pytest.mark.db
VALID = "123456789018"
OTHER = "987654321093"


async def _person(conn: AsyncConnection, code: str = "1000000001") -> int:
    result = await conn.execute(
        insert(Person.__table__).values(**person(addressee_code=code)).returning(Person.id)
    )
    return int(result.scalar_one())


async def test_round_trip_and_lookup(migrated_conn: AsyncConnection, vault: NumberVault) -> None:
    pid = await _person(migrated_conn)
    await assign_individual_number(migrated_conn, vault, pid, VALID)
    stored = (await migrated_conn.execute(select(Person.individual_number_enc))).scalar_one()
    assert VALID.encode() not in stored  # ciphertext, not the digits
    number = await read_individual_number(migrated_conn, vault, pid)
    assert number is not None and number.reveal() == VALID
    assert await find_person_id(migrated_conn, vault, IndividualNumber.parse(VALID)) == pid
    assert await find_person_id(migrated_conn, vault, IndividualNumber.parse(OTHER)) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("123456789019", "CHECK_DIGIT"),
        ("12345678901", "FORMAT"),
        ("１２３４５６７８９０１８", "FORMAT"),
        (None, "FORMAT"),
    ],
)
async def test_invalid_numbers_are_refused_and_nothing_is_written(
    migrated_conn: AsyncConnection,
    vault: NumberVault,
    value: object,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pid = await _person(migrated_conn)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidIndividualNumber) as info:
        await assign_individual_number(migrated_conn, vault, pid, value, field="input.individualNumber")
    assert info.value.reason == reason
    assert info.value.field == "input.individualNumber"
    assert str(value) not in str(info.value) or value is None
    stored = (
        await migrated_conn.execute(text("SELECT count(individual_number_enc) FROM persons"))
    ).scalar_one()
    assert stored == 0
    assert "12345678901" not in caplog.text


async def test_a_number_belongs_to_one_person(migrated_conn: AsyncConnection, vault: NumberVault) -> None:
    first = await _person(migrated_conn, "1000000001")
    second = await _person(migrated_conn, "1000000002")
    await assign_individual_number(migrated_conn, vault, first, VALID)
    savepoint = await migrated_conn.begin_nested()
    with pytest.raises(Exception, match="uq_persons_individual_number_index") as info:
        await assign_individual_number(migrated_conn, vault, second, VALID)
    await savepoint.rollback()
    assert VALID not in str(info.value)  # hide_parameters keeps the values out of the message


async def test_ciphertext_is_bound_to_its_row(migrated_conn: AsyncConnection, vault: NumberVault) -> None:
    first = await _person(migrated_conn, "1000000001")
    second = await _person(migrated_conn, "1000000002")
    await assign_individual_number(migrated_conn, vault, first, VALID)
    await migrated_conn.execute(
        text(
            "UPDATE persons SET individual_number_enc ="
            " (SELECT individual_number_enc FROM persons WHERE id = :a),"
            " individual_number_index = 'x' WHERE id = :b"
        ),
        {"a": first, "b": second},
    )
    with pytest.raises(Exception, match=r"(?i)decrypt|auth"):
        await read_individual_number(migrated_conn, vault, second)


async def test_unknown_person(migrated_conn: AsyncConnection, vault: NumberVault) -> None:
    with pytest.raises(UnknownPerson):
        await assign_individual_number(migrated_conn, vault, 999_999, VALID)
