"""The declarations of schema/sources.py bound to persistence's tables, for strawberry's executor: which
columns a type reads, rows into objects, and one statement per relation for its DataLoader.

The planner (resolvers/planner/) reads the same declarations to build one statement per query; what
both need — the tables by name, the row namespace SQL templates see, the types behind a field — is
here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, Final

import strawberry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.sql.selectable import ScalarSelect
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from persistence.models import Base
from schema.sources import (
    ColumnSource,
    EmbeddedSource,
    ExpressionSource,
    NumberSource,
    RelationSource,
    TableSource,
    source_of,
    table_of,
)

__all__ = [
    "Columns",
    "Relation",
    "Shape",
    "StatementEnv",
    "bind_type",
    "definition",
    "order_by",
    "relation_of",
    "shape_of",
    "table_named",
]

TODAY: Final = "today"
KEYS: Final = "keys"


def table_named(name: str) -> Table:
    return Base.metadata.tables[name]


_BIND_TYPES: Final[Mapping[type, Any]] = {int: Integer, str: String, dt.date: Date, bool: Boolean}


def bind_type(python_type: type) -> Any:
    """The SQL type of a bound parameter of ``python_type`` (typed, so ``$1 IS NULL`` plans)."""
    return _BIND_TYPES[python_type]


class StatementEnv:
    """What SQL templates see besides the row (implements ``schema.sources.Env``): the request date as
    a bound parameter, and fresh aliases of other tables."""

    def __init__(self, today: Any) -> None:
        self.today = today

    def table(self, name: str) -> Any:
        return table_named(name).alias()


class Columns:
    """The row namespace SQL templates are handed: the table's columns, then its derived columns
    (computed by their templates, once per namespace)."""

    def __init__(self, selectable: Any, source: TableSource, env: StatementEnv) -> None:
        self._selectable = selectable
        self._c = selectable.c
        self._source = source
        self._env = env
        self._derived: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._c:
            return self._c[name]
        template = self._source.derived.get(name)
        if template is None:
            raise AttributeError(f"{self._source.name} has no column {name!r}")
        if name not in self._derived:
            value = template(self, self._env)
            if isinstance(value, ScalarSelect):
                # a subquery of this row, wherever it is used: a relation reads it a level deeper, where
                # automatic correlation would not find the row and would join the whole table instead
                value = value.correlate(self._selectable)
            self._derived[name] = value
        return self._derived[name]


class Params:
    """A relation's parameters as bound parameters, for its ``where`` template."""

    def __init__(self, binds: Mapping[str, Any]) -> None:
        self._binds = binds

    def __getattr__(self, name: str) -> Any:
        try:
            return self._binds[name]
        except KeyError:
            raise AttributeError(name) from None


def order_by(columns: Columns, spec: Sequence[str]) -> list[Any]:
    """``("fiscal_year desc", "id")`` as ORDER BY expressions."""
    terms = []
    for item in spec:
        name, _, direction = item.partition(" ")
        column = getattr(columns, name)
        terms.append(column.desc() if direction.strip().lower() == "desc" else column.asc())
    return terms


# --- types ----------------------------------------------------------------------------------------


def definition(cls: Any) -> StrawberryObjectDefinition:
    found: StrawberryObjectDefinition = cls.__strawberry_definition__
    return found


def unwrap(field_type: Any) -> tuple[Any, bool, bool]:
    """(the named type, whether a list, whether nullable) of a field's type."""
    nullable = isinstance(field_type, StrawberryOptional)
    if nullable:
        field_type = field_type.of_type
    is_list = isinstance(field_type, StrawberryList)
    if is_list:
        field_type = field_type.of_type
        if isinstance(field_type, StrawberryOptional):
            field_type = field_type.of_type
    return field_type, is_list, nullable


def converter(field_type: Any) -> Callable[[Any], Any] | None:
    """How a column's value becomes the field's value (None: as it is)."""
    named, is_list, _ = unwrap(field_type)
    if is_list:
        return None
    if isinstance(named, StrawberryEnumDefinition):
        named = named.wrapped_cls
    if isinstance(named, type) and issubclass(named, enum.Enum):
        enum_class = named
        return lambda value: None if value is None else enum_class(value)
    if named is strawberry.ID:
        return lambda value: None if value is None else strawberry.ID(str(value))
    return None


# --- shapes: rows into objects --------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How objects of a type are built from a row of its table (or its parent's, when embedded)."""

    cls: type
    columns: frozenset[str]  # table columns read (its own, its embedded objects', its relations' parents)
    derived: frozenset[str]  # derived columns of the table read
    expressions: tuple[tuple[str, Callable[[Any, Any], Any]], ...]  # (label, template) of SQL fields
    build: Callable[[Any], Any]

    def select_list(self, columns: Columns, table: Table | Any) -> list[Any]:
        """The select list reading this shape's columns from ``table`` (an alias)."""
        selected: list[Any] = [table.c[name] for name in sorted(self.columns)]
        selected += [getattr(columns, name).label(name) for name in sorted(self.derived)]
        selected += [template(columns, columns._env).label(label) for label, template in self.expressions]
        return selected


def _fields(cls: type) -> dict[str, StrawberryField]:
    return {f.python_name: f for f in definition(cls).fields}


@cache
def shape_of(cls: type) -> Shape:
    """The shape of a type with a table (schema/sources.py ``table``)."""
    source = table_of(cls)
    if source is None:
        raise TypeError(f"{cls.__name__} states no table")
    columns: set[str] = {source.key}
    derived: set[str] = set()
    expressions: list[tuple[str, Any]] = []
    build = _builder(cls, "", source, columns, derived, expressions)
    return Shape(cls, frozenset(columns), frozenset(derived), tuple(expressions), build)


def _builder(
    cls: type,
    prefix: str,
    table: TableSource,
    columns: set[str],
    derived: set[str],
    expressions: list[tuple[str, Any]],
) -> Callable[[Any], Any]:
    """A function building an object of ``cls`` from a row mapping; fills in what it reads."""
    strawberry_fields = _fields(cls)
    steps: list[tuple[str, Callable[[Any], Any]]] = []

    def read(name: str) -> None:
        (derived if name in table.derived else columns).add(name)

    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name == "pk":
            steps.append(("pk", _get(table.key)))
            continue
        field = strawberry_fields.get(f.name)
        source = source_of(field) if field is not None else None
        if field is None or source is None:
            raise TypeError(f"{cls.__name__}.{f.name} states no source (schema/sources.py)")
        if isinstance(source, ColumnSource):
            name = prefix + (source.name or f.name)
            read(name)
            steps.append((f.name, _convert(_get(name), converter(field.type))))
        elif isinstance(source, ExpressionSource):
            label = f"{cls.__name__}.{prefix}{f.name}"
            expressions.append((label, source.sql))
            steps.append((f.name, _convert(_get(label), converter(field.type))))
        elif isinstance(source, EmbeddedSource):
            named, _, _ = unwrap(field.type)
            inner = _builder(named, prefix + source.prefix, table, columns, derived, expressions)
            present = _presence(prefix + source.prefix, source, read)
            steps.append((f.name, _embedded(inner, present)))
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: a {type(source).__name__} is not an init field")
    for field in strawberry_fields.values():  # what the resolver fields read from the row
        source = source_of(field)
        if isinstance(source, RelationSource):
            read(source.parent)  # a column of the row itself (embedded objects share their parent's)
        elif isinstance(source, NumberSource):
            read(source.column)
            read(source.context)

    def build(row: Any) -> Any:
        obj = cls(**{name: step(row) for name, step in steps})
        obj._row = row  # for the relations and the number
        return obj

    return build


def _get(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name]


def _convert(get: Callable[[Any], Any], convert: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if convert is None:
        return get
    return lambda row: convert(get(row))


def _presence(
    prefix: str, source: EmbeddedSource, read: Callable[[str], None]
) -> Callable[[Any], bool] | None:
    any_of = [prefix + name if prefix else name for name in source.any_of]
    all_of = [prefix + name if prefix else name for name in source.all_of]
    for name in (*any_of, *all_of):
        read(name)
    if not any_of and not all_of:
        return None

    def present(row: Any) -> bool:
        return (not any_of or any(row[n] is not None for n in any_of)) and all(
            row[n] is not None for n in all_of
        )

    return present


def _embedded(inner: Callable[[Any], Any], present: Callable[[Any], bool] | None) -> Callable[[Any], Any]:
    if present is None:
        return inner
    return lambda row: inner(row) if present(row) else None


# --- relations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A relation field bound to its tables. For strawberry's executor, what the field's DataLoader runs
    and builds (made on first use: the planner needs only the tables; what is provided is never built
    from rows here)."""

    field: StrawberryField
    source: RelationSource
    child: type
    table: TableSource
    many: bool  # a list (else the first row or null)

    @property
    def name(self) -> str:
        return self.field.python_name

    @property
    def audited(self) -> bool:
        return self.table.audited

    @cached_property
    def shape(self) -> Shape:
        return shape_of(self.child)

    @cached_property
    def statement(self) -> Select[Any]:
        """``WHERE key = ANY(:keys)``, with ``:today`` and the params bound: built once per process."""
        source, table = self.source, self.table
        alias = table_named(table.name).alias(table.name[:1] + "0")
        env = StatementEnv(bindparam(TODAY, type_=Date))
        columns = Columns(alias, table, env)
        key = alias.c[source.key]
        key_type = String if isinstance(key.type, String) else BigInteger
        conditions = [key == any_(bindparam(KEYS, type_=ARRAY(key_type)))]
        if source.where is not None:
            params = Params({n: bindparam(f"p_{n}", type_=bind_type(t)) for n, t in source.params.items()})
            conditions += source.where(columns, env, params)
        statement = select(key.label("__key"), *self.shape.select_list(columns, alias)).where(*conditions)
        ordering = order_by(columns, source.order_by)
        if source.single:
            return statement.ext(distinct_on(key)).order_by(key, *ordering)
        return statement.order_by(*ordering)


@cache
def relation_of(field: StrawberryField) -> Relation:
    """The relation ``field`` declares (one per field and process)."""
    source = source_of(field)
    if not isinstance(source, RelationSource):
        raise TypeError(f"{field.python_name} declares no relation")
    child, is_list, _ = unwrap(field.type)
    table = table_of(child)
    if table is None:
        raise TypeError(f"{child.__name__} states no table")
    return Relation(field, source, child, table, is_list)
