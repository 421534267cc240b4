"""宛名 — persons: the filter and keyset pagination of ``persons``, and the lookup by individual number
(through the blind index, never by the number itself)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_, union_all

from persistence.db import SerialSession
from persistence.models import Certification as CertificationRow
from persistence.models import Person as PersonRow
from persistence.models import Qualification as QualificationRow
from schema.errors import BadUserInput
from schema.persons import PageInfo, Person, PersonConnection, PersonEdge, PersonFilter

from .sources import shape_of

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "decode_cursor",
    "encode_cursor",
    "parse_person_id",
    "person_by_index",
    "person_conditions",
    "persons_page",
]

persons = PersonRow.__table__
qualifications = QualificationRow.__table__
certifications = CertificationRow.__table__

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500
MAX_KANA_PREFIX: Final = 50
MAX_ID: Final = 2**63 - 1

# Full-width katakana; after the first character also 長音 ー, 中黒 ・, ＝ and spaces (as stored).
KANA_PREFIX = re.compile(r"[ァ-ヶ][ァ-ヶー・＝　 ]*")
INSURED_NUMBER = re.compile(r"[0-9]{10}")
ADDRESSEE_CODE = re.compile(r"[0-9]{10,15}")
ID = re.compile(r"[1-9][0-9]{0,18}")


# --- arguments ----------------------------------------------------------------------------------


def parse_person_id(value: str, *, field: str = "id") -> int:
    """The database id inside a Person id, or BAD_USER_INPUT (reason FORMAT)."""
    if not isinstance(value, str) or ID.fullmatch(value) is None or int(value) > MAX_ID:
        raise BadUserInput(f"`{field}` is not a person id", field=field, reason="FORMAT")
    return int(value)


CURSOR_PREFIX: Final = "person:"


def encode_cursor(pk: int) -> str:
    """An opaque cursor: base64url of ``person:<id>`` (no personal data, no padding)."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{pk}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, field: str = "after") -> int:
    error = BadUserInput(f"`{field}` is not a cursor of this connection", field=field, reason="FORMAT")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= 64:
        raise error
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise error from None
    if not text.startswith(CURSOR_PREFIX):
        raise error
    digits = text.removeprefix(CURSOR_PREFIX)
    if ID.fullmatch(digits) is None or int(digits) > MAX_ID:
        raise error
    return int(digits)


def _check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(
            f"`first` must be between 1 and {MAX_PAGE_SIZE}", field="first", reason="OUT_OF_RANGE"
        )


def _kana_prefix(value: str) -> str:
    field = "filter.nameKanaPrefix"
    if value == "":
        raise BadUserInput("`nameKanaPrefix` is empty", field=field, reason="EMPTY")
    if len(value) > MAX_KANA_PREFIX:
        raise BadUserInput(
            f"`nameKanaPrefix` is longer than {MAX_KANA_PREFIX} characters", field=field, reason="TOO_LONG"
        )
    if KANA_PREFIX.fullmatch(value) is None:
        raise BadUserInput(
            "`nameKanaPrefix` must be full-width katakana (ァ-ヶ, then also ー・＝ and spaces)",
            field=field,
            reason="FORMAT",
        )
    return value


def person_conditions(f: PersonFilter | None, *, today: dt.date) -> tuple[ColumnElement[bool], ...]:
    """Check every filter field (BAD_USER_INPUT naming it) and turn the filter into SQL conditions."""
    return _all(_kana_branches(f), _other_conditions(f, today=today))


def _all(
    kana: tuple[ColumnElement[bool], ColumnElement[bool]] | None, others: tuple[ColumnElement[bool], ...]
) -> tuple[ColumnElement[bool], ...]:
    return others if kana is None else (or_(*kana), *others)


def _kana_branches(f: PersonFilter | None) -> tuple[ColumnElement[bool], ColumnElement[bool]] | None:
    """A kana prefix as two disjoint conditions: the 氏名カナ matches, and the 通称名カナ matches whose
    氏名カナ does not. Each is a range of its own index, so a page reads each in order and stops."""
    if f is None or f.name_kana_prefix is None:
        return None
    p = persons.c
    pattern = _kana_prefix(f.name_kana_prefix) + "%"  # no LIKE metacharacters can pass the check
    return p.name_kana.like(pattern), and_(p.alias_name_kana.like(pattern), p.name_kana.not_like(pattern))


def _other_conditions(f: PersonFilter | None, *, today: dt.date) -> tuple[ColumnElement[bool], ...]:
    if f is None:
        return ()
    p = persons.c
    conditions: list[ColumnElement[bool]] = []
    if f.birth_date_from is not None and f.birth_date_to is not None and f.birth_date_to < f.birth_date_from:
        raise BadUserInput(
            "`birthDateTo` is before `birthDateFrom`", field="filter.birthDateTo", reason="REVERSED_RANGE"
        )
    if f.birth_date_from is not None:
        conditions.append(p.birth_date >= f.birth_date_from)
    if f.birth_date_to is not None:
        conditions.append(p.birth_date <= f.birth_date_to)
    if f.insured_number is not None:
        if INSURED_NUMBER.fullmatch(f.insured_number) is None:
            raise BadUserInput(
                "`insuredNumber` must be 10 digits", field="filter.insuredNumber", reason="FORMAT"
            )
        conditions.append(
            p.id.in_(
                select(qualifications.c.person_id).where(qualifications.c.insured_number == f.insured_number)
            )
        )
    if f.addressee_code is not None:
        if ADDRESSEE_CODE.fullmatch(f.addressee_code) is None:
            raise BadUserInput(
                "`addresseeCode` must be 10 to 15 digits", field="filter.addresseeCode", reason="FORMAT"
            )
        conditions.append(p.addressee_code == f.addressee_code)
    if f.insured_category is not None:
        conditions.append(
            p.id.in_(
                select(qualifications.c.person_id).where(qualifications.c.category == f.insured_category.code)
            )
        )
    if f.care_level is not None:
        c = certifications.c
        conditions.append(
            p.id.in_(
                select(c.person_id).where(
                    c.care_level == f.care_level.code,
                    c.valid_from <= today,
                    c.valid_to >= today,
                    or_(c.cancelled_on.is_(None), c.cancelled_on > today),
                )
            )
        )
    return tuple(conditions)


# --- queries ------------------------------------------------------------------------------------


async def persons_page(
    db: SerialSession, f: PersonFilter | None, *, first: int, after: str | None, today: dt.date
) -> PersonConnection:
    """One page in (氏名カナ, id) order: one statement, plus one count if ``totalCount`` is selected.

    With a kana prefix the statement merges two ordered, limited reads (氏名カナ, then 通称名カナ matches),
    so a page costs the same in a city of ten thousand as in one of a million."""
    _check_page_size(first)
    after_pk = decode_cursor(after) if after is not None else None
    kana = _kana_branches(f)
    others = _other_conditions(f, today=today)
    p = persons.c

    selected = _person_columns()

    def page(*conditions: ColumnElement[bool]) -> Select[Any]:
        statement = select(*selected).where(*conditions)
        if after_pk is not None:
            # Keyset: the cursor holds only the id; its sort key is read in the same statement.
            cursor_kana = select(p.name_kana).where(p.id == after_pk).scalar_subquery()
            statement = statement.where(tuple_(p.name_kana, p.id) > tuple_(cursor_kana, after_pk))
        return statement.order_by(p.name_kana, p.id).limit(first + 1)

    if kana is None:
        statement = page(*others)
    else:
        merged = union_all(page(kana[0], *others), page(kana[1], *others)).subquery("matches")
        statement = select(merged).order_by(merged.c.name_kana, merged.c.id).limit(first + 1)
    rows = (await db.execute(statement)).all()
    conditions = _all(kana, others)
    build = shape_of(Person).build
    edges = [PersonEdge(cursor=encode_cursor(r.id), node=build(r._mapping)) for r in rows[:first]]

    async def count() -> int:
        total = await db.execute(select(func.count()).select_from(persons).where(*conditions))
        return int(total.scalar_one())

    return PersonConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=after_pk is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )


async def person_by_index(db: SerialSession, index: bytes) -> Person | None:
    """The person whose blind index (keyed hash of the individual number) is ``index``."""
    statement = select(*_person_columns()).where(persons.c.individual_number_index == index)
    row = (await db.execute(statement)).first()
    return shape_of(Person).build(row._mapping) if row is not None else None


def _person_columns() -> list[Any]:
    """The columns a Person reads (the blind index and the network linkage code are no field's)."""
    shape = shape_of(Person)
    return [persons.c[name] for name in sorted(shape.columns)]
