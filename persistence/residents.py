"""住民異動 applied to the file: the person's record, their move, and what the law makes of their
qualification (policies/insured.py) — for a line of the register's feed and for the one-record mutation
alike, through a :class:`~persistence.writes.Work`.

The persons a batch names are read ``FOR UPDATE`` once (:func:`load_residents`), with their
qualification and latest move; changes are then applied in order on those rows in memory (a person made
by one line is moved by the next) and written together by the work's flush. A change the rules refuse
(:func:`policies.insured.refusal`) changes nothing: it is QUEUED for staff with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select, text

from policies.insured import (
    ACTIVE_STATUSES,
    Effect,
    FeedKind,
    Insured,
    age_arrival,
    effect_of,
    refusal,
    status_after,
)
from policies.resident_changes import ResidentChange

from .db import driver_fetch
from .models import Person, Qualification, ResidentMove
from .writes import Work

__all__ = [
    "Outcome",
    "Resident",
    "age_arrivals",
    "apply_change",
    "load_residents",
    "qualification_event",
    "qualify",
    "resident_of_qualification",
]

PERSONS = Person.__table__
QUALIFICATIONS = Qualification.__table__
MOVES = ResidentMove.__table__

PERSON_COLUMNS: Final = (
    "id",
    "version",
    "addressee_code",
    "resident_status",
    "birth_date",
    "household_code",
    "relationship",
    "name",
    "name_kana",
    "alias_name",
    "alias_name_kana",
    "sex",
    "nationality",
    "entry_purpose",
    "residence_period",
    "residence_expires_on",
    "foreign_resident_since",
    "postal_code",
    "address_code",
    "address",
    "address_building",
)
QUALIFICATION_COLUMNS: Final = tuple(c.name for c in QUALIFICATIONS.c)
ADDRESS: Final = ("postal_code", "address_code", "address", "address_building")
NAME: Final = ("name", "name_kana", "alias_name", "alias_name_kana")
RESIDENCE: Final = ("nationality", "entry_purpose", "residence_period", "residence_expires_on")
HOUSEHOLD: Final = ("household_code", "relationship")
# The person's columns each kind of change sets (a column left out of the change: as it was, except
# the building line of a new address, which a new address without one clears).
TAKES: Final[Mapping[str, tuple[str, ...]]] = {
    "MOVE_IN": (*HOUSEHOLD, *NAME, "sex", "birth_date", *ADDRESS, *RESIDENCE),
    "BIRTH": (*HOUSEHOLD, *NAME, "sex", "birth_date", *ADDRESS, *RESIDENCE),
    "MOVE_WITHIN": (*ADDRESS, *HOUSEHOLD),
    "MOVE_OUT": (),
    "DEATH": (),
    "HOUSEHOLD_CHANGE": HOUSEHOLD,
    "NAME_CHANGE": NAME,
    "RESIDENCE_CHANGE": RESIDENCE,
}
CLEARED_WITH_ADDRESS: Final = ("address_building",)
NEXT_INSURED_NUMBER: Final = text("SELECT nextval('insured_number_seq')")


@dataclass
class Resident:
    """A person as a batch holds them: the row, the qualification row (or None), the latest move."""

    person: dict[str, Any]
    qualification: dict[str, Any] | None = None
    last_moved_on: dt.date | None = None
    came_on: dt.date | None = None  # the latest 転入

    def insured(self) -> Insured | None:
        q = self.qualification
        if q is None:
            return None
        return Insured(q["category"], q["acquired_on"], q["lost_on"], bool(q["domicile_exception"]))


@dataclass(frozen=True)
class Outcome:
    """What became of one change: APPLIED (with the qualification's change, if any) or QUEUED."""

    outcome: str
    person_id: int | None = None
    reason: str | None = None
    effect: str | None = None
    note: str | None = None
    moved: dict[str, Any] | None = field(default=None, compare=False)


ALL_PERSON_COLUMNS: Final = tuple(c.name for c in PERSONS.c)
_QUALIFICATION_ALIASES: Final = ", ".join(f"q.{c} AS q_{c}" for c in QUALIFICATION_COLUMNS)
_LOAD: Final = f"""
SELECT p.*, {_QUALIFICATION_ALIASES}, m.last, m.came
FROM persons p
LEFT JOIN qualifications q ON q.person_id = p.id
LEFT JOIN LATERAL (
    SELECT max(moved_on) AS last, max(moved_on) FILTER (WHERE reason = '02') AS came
    FROM resident_moves WHERE person_id = p.id
) m ON true
WHERE {{condition}}
ORDER BY p.id
FOR UPDATE OF p
"""
LOAD_BY_CODE: Final = _LOAD.format(condition="p.addressee_code = ANY($1::text[])")
LOAD_BY_ID: Final = _LOAD.format(condition="p.id = ANY($1::bigint[])")
LOAD_BY_QUALIFICATION: Final = _LOAD.format(
    condition="p.id = (SELECT person_id FROM qualifications WHERE id = $1::bigint)"
)


async def load_residents(
    db: Any, *, codes: Iterable[str] = (), ids: Iterable[int] = ()
) -> dict[str, Resident]:
    """The persons of these 宛名コード (or ids) with their qualification and latest moves, by 宛名コード:
    one statement, the persons' rows locked to the commit (a write about a person holds their row, so
    writes about one person happen one after another)."""
    codes, ids = sorted(set(codes)), sorted(set(ids))
    if not codes and not ids:
        return {}
    rows = await driver_fetch(db, LOAD_BY_CODE if codes else LOAD_BY_ID, codes or ids)
    found = (_resident(values) for values in rows)
    return {r.person["addressee_code"]: r for r in found}


def _resident(values: Any) -> Resident:
    person = {c: values[c] for c in ALL_PERSON_COLUMNS}
    q = {c: values[f"q_{c}"] for c in QUALIFICATION_COLUMNS} if values["q_id"] is not None else None
    return Resident(person, q, values["last"], values["came"])


async def resident_of_qualification(db: Any, qualification_id: int) -> Resident | None:
    """The person holding a qualification, locked, with it (None: no such qualification)."""
    rows = await driver_fetch(db, LOAD_BY_QUALIFICATION, qualification_id)
    return _resident(rows[0]) if rows else None


async def apply_change(work: Work, residents: dict[str, Resident], change: ResidentChange) -> Outcome:
    """Apply one change to the person (made when the change creates one) and to their qualification;
    ``residents`` holds the persons as they stand and is kept current."""
    kind = change.kind
    resident = residents.get(change.addressee_code)
    status = resident.person["resident_status"] if resident is not None else None
    refused = refusal(
        kind,
        status=status,
        last_moved_on=resident.last_moved_on if resident is not None else None,
        moved_on=change.moved_on,
    )
    if refused is not None:
        return Outcome("QUEUED", resident.person["id"] if resident else None, reason=refused)
    foreign = bool(change.get("nationality") and change.get("nationality") != "JP") or (
        kind.name not in ("MOVE_IN", "BIRTH") and status == "2"
    )
    birth: dt.date = change.get("birth_date") or resident.person["birth_date"]  # type: ignore[union-attr]
    effect = effect_of(
        kind,
        birth=birth,
        moved_on=change.moved_on,
        insured=resident.insured() if resident is not None else None,
        facility=change.get("facility_number") is not None,
    )
    after = status_after(kind, current=status, foreign=foreign, effect=effect)
    if resident is None:
        resident = await _new_person(work, change, after, foreign)
        residents[change.addressee_code] = resident
        previous: Mapping[str, Any] = {}
    else:
        previous = dict(resident.person)
        _update_person(work, resident, kind, change, after)
    person_id = int(resident.person["id"])
    moved = _move(work, person_id, kind, change, after, previous)
    resident.last_moved_on = change.moved_on
    if kind.name == "MOVE_IN":
        resident.came_on = change.moved_on
    await qualify(work, resident, effect, notified_on=change.get("notified_on"))
    return Outcome(
        "APPLIED",
        person_id,
        effect=effect.action if effect.action != "NONE" else None,
        note=effect.note,
        moved=moved,
    )


async def _new_person(work: Work, change: ResidentChange, status: str, foreign: bool) -> Resident:
    row: dict[str, Any] = {c: None for c in PERSON_COLUMNS}
    row.update({c: change.get(c) for c in TAKES[change.kind.name]})
    row.update(
        id=await work.new_id("persons"),
        version=1,
        addressee_code=change.addressee_code,
        resident_status=status,
        foreign_resident_since=change.moved_on if foreign else None,
    )
    work.insert("persons", row, person_id=row["id"])
    return Resident(row)


def _update_person(
    work: Work, resident: Resident, kind: FeedKind, change: ResidentChange, status: str
) -> None:
    columns = TAKES[kind.name]
    changes = {c: change.get(c) for c in columns if change.get(c) is not None}
    if any(c in columns for c in ADDRESS):
        changes.update({c: change.get(c) for c in CLEARED_WITH_ADDRESS})
    changes["resident_status"] = status
    work.update("persons", resident.person, changes, person_id=resident.person["id"])


def _move(
    work: Work, person_id: int, kind: FeedKind, change: ResidentChange, status: str, before: Mapping[str, Any]
) -> dict[str, Any]:
    row = {
        "person_id": person_id,
        "moved_on": change.moved_on,
        "notified_on": change.get("notified_on"),
        "reason": kind.move_reason,
        "resident_status_after": status,
        "previous_postal_code": change.get("previous_postal_code"),
        "previous_address": change.get("previous_address"),
        "previous_building": change.get("previous_building"),
        "next_postal_code": change.get("next_postal_code"),
        "next_address": change.get("next_address"),
        "next_building": change.get("next_building"),
    }
    if kind.name == "MOVE_WITHIN" and before:  # 転居: the address it leaves, as the file held it
        row.update(
            previous_postal_code=before.get("postal_code"),
            previous_address=before.get("address"),
            previous_building=before.get("address_building"),
        )
    return work.insert("resident_moves", row, person_id=person_id, kept=False)


def qualification_event(
    work: Work, qualification_id: int, person_id: int, on: dt.date, reason: str, notified_on: dt.date | None
) -> None:
    """資格異動 — one event of a qualification (an append-only record of its own)."""
    row = {
        "qualification_id": qualification_id,
        "occurred_on": on,
        "reason": reason,
        "notified_on": notified_on,
    }
    work.insert("qualification_events", row, person_id=person_id, kept=False)


async def _insured_number(work: Work) -> str:
    """The next free 被保険者番号 of the sequence (migration 0011)."""
    while True:
        value = (await work.db.execute(NEXT_INSURED_NUMBER)).scalar_one()
        number = f"{int(value):010d}"
        taken = await work.db.execute(
            select(QUALIFICATIONS.c.id).where(QUALIFICATIONS.c.insured_number == number)
        )
        if taken.first() is None:
            return number


async def qualify(
    work: Work,
    resident: Resident,
    effect: Effect,
    *,
    notified_on: dt.date | None,
    exemption_reason: str | None = None,
) -> None:
    """Carry out ``effect`` on the resident's qualification (made when they acquire one first), with its
    event (資格異動)."""
    if effect.action == "NONE":
        return
    assert effect.on is not None and effect.reason is not None
    person_id = int(resident.person["id"])
    q = resident.qualification
    if effect.action == "ACQUIRE":
        values = {
            "category": effect.category,
            "acquired_on": effect.on,
            "acquisition_reason": effect.reason,
            "notified_on": notified_on if notified_on is not None and notified_on >= effect.on else None,
            "lost_on": None,
            "loss_reason": None,
            "domicile_exception": False,
            "exempt": False,
            "exemption_reason": None,
            "first_category_on": effect.on if effect.category == "1" else None,
        }
        if q is None:
            q = {
                "id": await work.new_id("qualifications"),
                "person_id": person_id,
                "insured_number": await _insured_number(work),
                **values,
            }
            work.insert("qualifications", q, person_id=person_id)
            resident.qualification = q
        else:  # insured here before (moved out, came back): the same insured number, acquired again
            work.update("qualifications", q, values, person_id=person_id)
    elif q is None:
        return
    elif effect.action == "LOSE":
        work.update(
            "qualifications", q, {"lost_on": effect.on, "loss_reason": effect.reason}, person_id=person_id
        )
    elif effect.action == "CATEGORY_CHANGE":
        work.update(
            "qualifications",
            q,
            {"category": effect.category, "first_category_on": effect.on},
            person_id=person_id,
        )
    elif effect.action in ("DOMICILE_EXCEPTION_START", "DOMICILE_EXCEPTION_END"):
        started = effect.action == "DOMICILE_EXCEPTION_START"
        work.update("qualifications", q, {"domicile_exception": started}, person_id=person_id)
    elif effect.action == "EXEMPT":
        changes = {"lost_on": effect.on, "loss_reason": effect.reason, "exempt": True}
        work.update(
            "qualifications", q, {**changes, "exemption_reason": exemption_reason}, person_id=person_id
        )
    qualification_event(work, int(q["id"]), person_id, effect.on, effect.reason, notified_on)


async def age_arrivals(work: Work, *, on: dt.date) -> list[tuple[int, str]]:
    """年齢到達 up to ``on``: residents of 65 or more without a qualification acquire the first category,
    second-category insured persons of 65 turn first-category. Returns (person id, action)."""
    cut = _born_by(on, 65)
    candidates = await work.db.execute(
        select(PERSONS.c.addressee_code)
        .select_from(PERSONS.outerjoin(QUALIFICATIONS, QUALIFICATIONS.c.person_id == PERSONS.c.id))
        .where(
            PERSONS.c.resident_status.in_(sorted(ACTIVE_STATUSES)),
            PERSONS.c.birth_date <= cut,
            QUALIFICATIONS.c.id.is_(None)
            | ((QUALIFICATIONS.c.category == "2") & QUALIFICATIONS.c.lost_on.is_(None)),
        )
    )
    codes = [r.addressee_code for r in candidates]
    done: list[tuple[int, str]] = []
    residents = await load_residents(work.db, codes=codes)
    for resident in residents.values():
        if resident.person["resident_status"] not in ACTIVE_STATUSES:
            continue
        effect = age_arrival(
            resident.person["birth_date"], on=on, insured=resident.insured(), resident_since=resident.came_on
        )
        if effect.action != "NONE":
            await qualify(work, resident, effect, notified_on=None)
            done.append((int(resident.person["id"]), effect.action))
    return done


def _born_by(on: dt.date, age: int) -> dt.date:
    """The latest birth date of a person who has reached ``age`` by ``on`` (reached on the eve)."""
    after = on + dt.timedelta(days=1)
    try:
        return after.replace(year=after.year - age)
    except ValueError:  # 29 February of a leap year: born on 28 February at the latest
        return dt.date(after.year - age, 2, 28)
