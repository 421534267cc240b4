"""宛名 — persons: the filter and keyset pagination of ``persons``, and the lookup by individual number
(through the blind index, never by the number itself)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    String,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    union_all,
)

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
    "PARAMETER_TYPES",
    "Literals",
    "PersonsQuery",
    "decode_cursor",
    "encode_cursor",
    "filter_query",
    "page_statement",
    "parse_person_id",
    "person_by_index",
    "person_conditions",
    "persons_page",
    "persons_query",
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


@dataclass(frozen=True)
class PersonsQuery:
    """The checked arguments of ``persons`` (and of a transfer's filter): the page and the filter, as the
    values of the statement's parameters. None: not given (no condition)."""

    first: int = DEFAULT_PAGE_SIZE
    after: int | None = None  # the person id of the cursor
    kana: str | None = None  # 氏名カナ or 通称名カナ prefix
    birth_date_from: dt.date | None = None
    birth_date_to: dt.date | None = None
    insured_number: str | None = None
    addressee_code: str | None = None
    care_level: str | None = None  # code of the certification valid on the request date
    insured_category: str | None = None  # code

    @property
    def kana_end(self) -> str | None:
        """The least text above every text starting with the prefix, in code-point order (collation "C"):
        a prefix is the range [kana, kana_end), which a prepared statement's generic plan still reads as a
        range of the index (``LIKE $1`` it cannot)."""
        return None if self.kana is None else self.kana[:-1] + chr(ord(self.kana[-1]) + 1)

    @property
    def shape(self) -> frozenset[str]:
        """Which parameters are given: a statement per shape (conditions come and go with them)."""
        return frozenset(
            f.name
            for f in dataclasses.fields(self)
            if f.name != "first" and getattr(self, f.name) is not None
        )

    def value(self, name: str) -> Any:
        return self.kana_end if name == "kana_end" else getattr(self, name)


PARAMETER_TYPES: Final[dict[str, Any]] = {
    "first": Integer(),
    "after": BigInteger(),
    "kana": String(),
    "kana_end": String(),
    "birth_date_from": Date(),
    "birth_date_to": Date(),
    "insured_number": String(),
    "addressee_code": String(),
    "care_level": String(),
    "insured_category": String(),
    "today": Date(),
}


def persons_query(f: PersonFilter | None, *, first: int, after: str | None) -> PersonsQuery:
    """Check every argument (BAD_USER_INPUT naming it: the page size, the cursor, then the filter)."""
    _check_page_size(first)
    after_pk = decode_cursor(after) if after is not None else None
    return dataclasses.replace(filter_query(f), first=first, after=after_pk)


def filter_query(f: PersonFilter | None) -> PersonsQuery:
    """The filter's fields checked (BAD_USER_INPUT naming the field)."""
    if f is None:
        return PersonsQuery()
    kana = _kana_prefix(f.name_kana_prefix) if f.name_kana_prefix is not None else None
    if f.birth_date_from is not None and f.birth_date_to is not None and f.birth_date_to < f.birth_date_from:
        raise BadUserInput(
            "`birthDateTo` is before `birthDateFrom`", field="filter.birthDateTo", reason="REVERSED_RANGE"
        )
    if f.insured_number is not None and INSURED_NUMBER.fullmatch(f.insured_number) is None:
        raise BadUserInput("`insuredNumber` must be 10 digits", field="filter.insuredNumber", reason="FORMAT")
    if f.addressee_code is not None and ADDRESSEE_CODE.fullmatch(f.addressee_code) is None:
        raise BadUserInput(
            "`addresseeCode` must be 10 to 15 digits", field="filter.addresseeCode", reason="FORMAT"
        )
    return PersonsQuery(
        kana=kana,
        birth_date_from=f.birth_date_from,
        birth_date_to=f.birth_date_to,
        insured_number=f.insured_number,
        addressee_code=f.addressee_code,
        care_level=f.care_level.code if f.care_level is not None else None,
        insured_category=f.insured_category.code if f.insured_category is not None else None,
    )


class Parameters(Protocol):
    """The statement's parameters as SQL expressions, by name (PARAMETER_TYPES)."""

    def __getattr__(self, name: str) -> Any: ...


class Literals:
    """Each parameter a bound value of its own (a statement built for one request)."""

    def __init__(self, query: PersonsQuery, today: dt.date) -> None:
        self._query = query
        self._today = today

    def __getattr__(self, name: str) -> Any:
        value = self._today if name == "today" else self._query.value(name)
        return literal(value, PARAMETER_TYPES[name])


def person_conditions(shape: frozenset[str], v: Any, table: Any = persons) -> tuple[Any, ...]:
    """The filter as SQL conditions on ``table`` (the kana branches joined by OR)."""
    kana = kana_branches(shape, v, table)
    others = other_conditions(shape, v, table)
    return others if kana is None else (or_(*kana), *others)


def kana_branches(shape: frozenset[str], v: Any, table: Any = persons) -> tuple[Any, Any] | None:
    """A kana prefix as two disjoint conditions: the 氏名カナ matches, and the 通称名カナ matches whose
    氏名カナ does not. Each is a range of its own index, so a page reads each in order and stops."""
    if "kana" not in shape:
        return None
    p = table.c
    name = and_(p.name_kana >= v.kana, p.name_kana < v.kana_end)
    alias = and_(p.alias_name_kana >= v.kana, p.alias_name_kana < v.kana_end)
    return name, and_(alias, not_(name))


def other_conditions(shape: frozenset[str], v: Any, table: Any = persons) -> tuple[Any, ...]:
    p = table.c
    conditions: list[Any] = []
    if "birth_date_from" in shape:
        conditions.append(p.birth_date >= v.birth_date_from)
    if "birth_date_to" in shape:
        conditions.append(p.birth_date <= v.birth_date_to)
    if "insured_number" in shape:
        q = qualifications.c
        conditions.append(p.id.in_(select(q.person_id).where(q.insured_number == v.insured_number)))
    if "addressee_code" in shape:
        conditions.append(p.addressee_code == v.addressee_code)
    if "insured_category" in shape:
        q = qualifications.c
        conditions.append(p.id.in_(select(q.person_id).where(q.category == v.insured_category)))
    if "care_level" in shape:
        c = certifications.c
        conditions.append(
            p.id.in_(
                select(c.person_id).where(
                    c.care_level == v.care_level,
                    c.valid_from <= v.today,
                    c.valid_to >= v.today,
                    or_(c.cancelled_on.is_(None), c.cancelled_on > v.today),
                )
            )
        )
    return tuple(conditions)


def page_statement(shape: frozenset[str], v: Any, selected: Sequence[Any]) -> Select[Any]:
    """At most ``first`` + 1 persons (the one more tells whether a next page exists) in (氏名カナ, id)
    order, after the cursor. With a kana prefix, two ordered and limited reads (氏名カナ, then 通称名カナ
    matches) merged: a page costs the same in a city of ten thousand as in one of a million.
    ``selected``: columns of ``persons`` (the merged page exposes them by name)."""
    p = persons.c
    limit = v.first + 1
    kana = kana_branches(shape, v)
    others = other_conditions(shape, v)

    def matching(*conditions: Any) -> Select[Any]:
        statement = select(*selected).where(*conditions)
        if "after" in shape:
            # Keyset: the cursor holds only the id; its sort key is read in the same statement.
            cursor_kana = select(p.name_kana).where(p.id == v.after).scalar_subquery()
            statement = statement.where(tuple_(p.name_kana, p.id) > tuple_(cursor_kana, v.after))
        return statement

    def page(*conditions: Any) -> Select[Any]:
        return matching(*conditions).order_by(p.name_kana, p.id).limit(limit)

    if kana is None:
        return page(*others)
    # The 通称名カナ matches are few: found through their own index, then ordered. Behind the fence
    # (OFFSET 0) a prepared statement's generic plan cannot read them by walking the 氏名カナ index in
    # page order instead, filtering every person of the city (it did: ~14,000 rows for a page).
    aliases = matching(kana[1], *others).offset(0).subquery("aliases")
    by_alias = select(aliases).order_by(aliases.c.name_kana, aliases.c.id).limit(limit)
    merged = union_all(page(kana[0], *others), by_alias).subquery("matches")
    return select(merged).order_by(merged.c.name_kana, merged.c.id).limit(limit)


# --- queries ------------------------------------------------------------------------------------


async def persons_page(
    db: SerialSession, f: PersonFilter | None, *, first: int, after: str | None, today: dt.date
) -> PersonConnection:
    """One page in (氏名カナ, id) order: one statement, plus one count if ``totalCount`` is selected."""
    query = persons_query(f, first=first, after=after)
    v = Literals(query, today)
    rows = (await db.execute(page_statement(query.shape, v, _person_columns()))).all()
    build = shape_of(Person).build
    edges = [PersonEdge(cursor=encode_cursor(r.id), node=build(r._mapping)) for r in rows[:first]]

    async def count() -> int:
        conditions = person_conditions(query.shape, v)
        total = await db.execute(select(func.count()).select_from(persons).where(*conditions))
        return int(total.scalar_one())

    return PersonConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=query.after is not None,
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
