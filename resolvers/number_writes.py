"""個人番号 taken in (duty ``write_individual_numbers``, held by the number-use roles only): set or correct a
person's individual number with the identity check (本人確認) it was taken with.

The check digit is the law's (policies/individual_number.py); a number recorded for another person is
refused (NUMBER_IN_USE, found by the blind index, naming nobody); the number is stored encrypted with the
person's addressee code as associated data (persistence/crypto.py) and never enters the history, a log, an
error or an answer to another role.
"""

from __future__ import annotations

from typing import Final

from persistence.db import driver_fetchrow
from persistence.residents import load_residents
from policies.individual_number import IndividualNumber, InvalidIndividualNumber
from schema.conflicts import NotFound
from schema.duties import NUMBER_USE, WRITE_INDIVIDUAL_NUMBERS
from schema.errors import BadUserInput
from schema.individual_numbers import RecordIndividualNumberInput
from schema.persons import Person
from schema.writes import InvalidTransition, NumberInUse

from .context import Context
from .persons import parse_person_id
from .requests import free_text, request_id
from .writing import check_version, idempotent, work_for

__all__ = ["record_individual_number"]

HOLDER: Final = "SELECT id FROM persons WHERE individual_number_index = $1 AND id <> $2"
OPERATION: Final = "recordIndividualNumber"


async def record_individual_number(ctx: Context, data: RecordIndividualNumberInput) -> Person:
    ctx.require(NUMBER_USE)
    ctx.require(WRITE_INDIVIDUAL_NUMBERS)
    rid = request_id(data.request_id)
    pid = parse_person_id(data.person_id, field="input.personId")
    try:
        number = IndividualNumber.parse(data.individual_number, field="input.individualNumber")
    except InvalidIndividualNumber as exc:
        raise BadUserInput(str(exc), field=exc.field, reason=exc.reason) from None
    check = data.identity_check
    documents = (
        free_text(check.documents, field="input.identityCheck.documents", max_length=200)
        if check.documents
        else None
    )
    if check.checked_on > ctx.today:
        raise BadUserInput(
            "`checkedOn` is after today", field="input.identityCheck.checkedOn", reason="OUT_OF_RANGE"
        )
    index = ctx.vault.blind_index(number)
    # the request's digest holds the blind index, never the number (write_requests is no place for it)
    values = {
        "person_id": pid,
        "version": data.version,
        "purpose": data.purpose.value,
        "number": index.hex(),
        "method": check.method.value,
        "checked_on": check.checked_on.isoformat(),
        "documents": documents,
    }

    async def write() -> tuple[str, int]:
        resident = next(iter((await load_residents(ctx.db, ids=[pid])).values()), None)
        if resident is None:
            raise NotFound("person", field="input.personId")
        person = resident.person
        check_version(person["version"], data.version)
        has = person["individual_number_index"] is not None
        if data.purpose.value == "NEW" and has:
            raise InvalidTransition(
                "the person has a number: correct it", state="HAS_NUMBER", field="input.purpose"
            )
        if data.purpose.value == "CORRECTION" and not has:
            raise InvalidTransition(
                "the person has no number to correct", state="NO_NUMBER", field="input.purpose"
            )
        if has and bytes(person["individual_number_index"]) == index:
            raise InvalidTransition(
                "that is the number recorded", state="SAME_NUMBER", field="input.individualNumber"
            )
        if await driver_fetchrow(ctx.db, HOLDER, index, pid) is not None:
            raise NumberInUse()
        work = work_for(ctx, OPERATION, rid)
        encrypted = ctx.vault.encrypt(number, context=person["addressee_code"].encode("ascii"))
        changes = {"individual_number_enc": encrypted, "individual_number_index": index}
        work.update("persons", person, changes, person_id=pid)
        checked = {
            "person_id": pid,
            "purpose": data.purpose.value,
            "method": check.method.value,
            "checked_on": check.checked_on,
            "documents": documents,
            "checked_by": ctx.principal.subject[:200],
            "checked_roles": sorted(ctx.principal.roles),
            "request_id": rid,
        }
        work.insert("identity_checks", checked, person_id=pid, kept=False)
        await work.flush()
        return "persons", pid

    _, person_id, _ = await idempotent(ctx, rid, OPERATION, values, write)
    found = await ctx.loaders.person.load(person_id)  # as a read answers it: the number only if selected
    assert found is not None
    return found
