"""Writing and finding individual numbers (個人番号): validated, encrypted, looked up by blind index."""

from __future__ import annotations

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.individual_number import FIELD, IndividualNumber

from .crypto import NumberVault
from .models import Person

PERSONS: Table = Person.__table__  # type: ignore[assignment]


class UnknownPerson(LookupError):
    """No person has that id."""


async def assign_individual_number(
    conn: AsyncConnection, vault: NumberVault, person_id: int, value: object, *, field: str = FIELD
) -> None:
    """Store ``value`` as the person's number: refused (InvalidIndividualNumber naming ``field``) before
    anything is written when it is not 12 digits with the right check digit."""
    number = IndividualNumber.parse(value, field=field)
    code = (
        await conn.execute(select(PERSONS.c.addressee_code).where(PERSONS.c.id == person_id))
    ).scalar_one_or_none()
    if code is None:
        raise UnknownPerson(f"person {person_id} does not exist")
    await conn.execute(
        update(PERSONS)
        .where(PERSONS.c.id == person_id)
        .values(
            individual_number_enc=vault.encrypt(number, context=code.encode("ascii")),
            individual_number_index=vault.blind_index(number),
        )
    )


async def find_person_id(conn: AsyncConnection, vault: NumberVault, number: IndividualNumber) -> int | None:
    """The person holding ``number``, found through the keyed blind index (no decryption needed)."""
    result = await conn.execute(
        select(PERSONS.c.id).where(PERSONS.c.individual_number_index == vault.blind_index(number))
    )
    return result.scalar_one_or_none()


async def read_individual_number(
    conn: AsyncConnection, vault: NumberVault, person_id: int
) -> IndividualNumber | None:
    row = (
        await conn.execute(
            select(PERSONS.c.addressee_code, PERSONS.c.individual_number_enc).where(PERSONS.c.id == person_id)
        )
    ).one_or_none()
    if row is None or row.individual_number_enc is None:
        return None
    return vault.decrypt(row.individual_number_enc, context=row.addressee_code.encode("ascii"))
