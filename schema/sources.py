"""Where each field's data comes from, declared next to the type: the table of a type, and for each
field its column, the embedded object it builds from the same row, the relation it follows, or the
SQL expression that computes it.

Both read paths are built from these declarations (resolvers/sources.py): the DataLoaders that
strawberry's executor uses, and the planner that answers a whole query with one SQL statement
(resolvers/planner/). So adding a field to a type is one line here, and the two paths cannot
disagree about where a value comes from.

The schema layer names tables and columns as strings and writes expressions with SQLAlchemy Core on
whatever row it is handed: it never imports persistence/. SQL templates receive the row's columns
(``row.amount``) and an :class:`Env` with the request date as a bound parameter and the other tables
by name, for correlated subqueries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import strawberry

__all__ = [
    "ITEM",
    "SOURCE",
    "ColumnSource",
    "EmbeddedSource",
    "Env",
    "ExpressionSource",
    "NumberSource",
    "ParameterSource",
    "RelationSource",
    "TableSource",
    "column",
    "computed",
    "embedded",
    "expression",
    "individual_number",
    "item_of",
    "parameter",
    "related",
    "relation",
    "source_of",
    "table",
    "table_of",
]

SOURCE: Final = "kaigo.source"
"""The key of a field's source in ``StrawberryField.metadata``."""
ITEM: Final = "kaigo.item"
"""The key of the information item (情報項目) a field of what is provided belongs to."""

T = TypeVar("T")


class Env(Protocol):
    """What an SQL template may use besides the row it is handed."""

    @property
    def today(self) -> Any:
        """The request date (a bound parameter): 'current', 'overdue' and 'arrears' are as of it."""
        ...

    def table(self, name: str) -> Any:
        """Another table by name (a fresh alias), for a correlated subquery."""
        ...


SqlTemplate = Callable[[Any, Env], Any]
"""(the row's columns, env) → an SQLAlchemy expression."""
Arguments = Mapping[str, Any]


@dataclass(frozen=True)
class TableSource:
    """The table a type's rows come from. ``derived`` are columns read with every row, computed by SQL
    (a sum of another table, say). ``audited``: the rows are persons (宛名), whose every appearance in a
    response the audit trail records."""

    name: str
    key: str = "id"
    derived: Mapping[str, SqlTemplate] = field(default_factory=dict)
    audited: bool = False


@dataclass(frozen=True)
class ColumnSource:
    """A column of the row (``None``: the column named like the field)."""

    name: str | None = None


@dataclass(frozen=True)
class EmbeddedSource:
    """An object built from columns of the same row (its own fields' columns, each prefixed).

    Present always, or — for a nullable field — only when one of ``any_of`` is not null (and every one
    of ``all_of``)."""

    prefix: str = ""
    any_of: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelationSource:
    """Rows of another type's table whose ``key`` column holds the parent row's ``parent`` column.

    ``order_by``: column names, each optionally followed by `` desc``. ``where(row, env, params)``: more
    conditions, on the row and on ``params`` (name → Python type, read as ``params.<name>``), whose
    values ``arguments`` gives from the field's arguments, checked (BadUserInput) and normalised.
    ``single``: the first row or null, instead of a list."""

    key: str
    parent: str = "id"
    order_by: tuple[str, ...] = ()
    where: Callable[[Any, Env, Any], Sequence[Any]] | None = None
    arguments: Callable[[Arguments], Arguments] | None = None
    params: Mapping[str, type] = field(default_factory=dict)
    single: bool = False


@dataclass(frozen=True)
class ExpressionSource:
    """A value computed by SQL from the row (and the request date)."""

    sql: SqlTemplate


@dataclass(frozen=True)
class ParameterSource:
    """A value of the request's, the same for every object of the answer."""

    name: str


@dataclass(frozen=True)
class NumberSource:
    """The individual number (個人番号): encrypted at rest, decrypted by the server only, never by the
    database. ``context``: the column bound into the ciphertext as associated data."""

    column: str
    context: str


Source = ColumnSource | EmbeddedSource | RelationSource | ExpressionSource | NumberSource | ParameterSource


def table(
    name: str, *, key: str = "id", derived: Mapping[str, SqlTemplate] | None = None, audited: bool = False
) -> Callable[[type[T]], type[T]]:
    """Class decorator: the type's rows come from table ``name``."""

    def mark(cls: type[T]) -> type[T]:
        cls.__kaigo_table__ = TableSource(name, key, dict(derived or {}), audited)  # type: ignore[attr-defined]
        return cls

    return mark


def table_of(cls: Any) -> TableSource | None:
    found: TableSource | None = getattr(cls, "__kaigo_table__", None)
    return found


def item_of(field: Any) -> str | None:
    """The information item a field belongs to (null unless the answer covers it), if any."""
    metadata = getattr(field, "metadata", None) or {}
    found: str | None = metadata.get(ITEM)
    return found


def source_of(field: Any) -> Source | None:
    """The source declared on a StrawberryField (None: the field has none, the planner declines it)."""
    metadata = getattr(field, "metadata", None) or {}
    found: Source | None = metadata.get(SOURCE)
    return found


def _field(
    source: Source,
    description: str | None,
    directives: Sequence[object],
    *,
    item: str | None = None,
    **kw: Any,
) -> Any:
    metadata: dict[str, Any] = {SOURCE: source}
    if item is not None:
        metadata[ITEM] = item
    return strawberry.field(description=description, directives=list(directives), metadata=metadata, **kw)


def column(
    name: str | None = None, *, description: str | None = None, directives: Sequence[object] = ()
) -> Any:
    """A field read from a column of the row."""
    return _field(ColumnSource(name), description, directives)


def embedded(
    *,
    prefix: str = "",
    present_if_any: Sequence[str] = (),
    present_if_all: Sequence[str] = (),
    item: str | None = None,
    description: str | None = None,
    directives: Sequence[object] = (),
) -> Any:
    """A field holding an object built from the same row (``item``: as for :func:`relation`)."""
    source = EmbeddedSource(prefix, tuple(present_if_any), tuple(present_if_all))
    return _field(source, description, directives, item=item)


def expression(sql: SqlTemplate, *, description: str | None = None, directives: Sequence[object] = ()) -> Any:
    """A field computed by SQL (read with the row on every path)."""
    return _field(ExpressionSource(sql), description, directives)


def individual_number(
    column_name: str, *, context: str, description: str | None = None, directives: Sequence[object] = ()
) -> Any:
    """The 個人番号 field: the ciphertext column and its associated-data column; the server decrypts."""
    return _field(NumberSource(column_name, context), description, directives, resolver=_number)


def _number(root: Any, info: strawberry.Info) -> str | None:
    source = source_of(info._field)
    assert isinstance(source, NumberSource)
    row = root._row
    blob = row[source.column]
    if blob is None:
        return None
    number: str = info.context.individual_number(blob, addressee_code=row[source.context])
    return number


def relation(
    key: str,
    *,
    parent: str = "id",
    order_by: Sequence[str] = (),
    where: Callable[[Any, Env, Any], Sequence[Any]] | None = None,
    params: Mapping[str, type] | None = None,
    arguments: Callable[[Arguments], Arguments] | None = None,
    single: bool = False,
    held: bool = False,
    item: str | None = None,
    description: str | None = None,
    directives: Sequence[object] = (),
) -> Any:
    """A field holding the rows of another table related to this row (see :class:`RelationSource`).

    Used as ``name: list[T] = relation(...)``, or as a decorator on a resolver that declares the field's
    arguments and returns ``related(self, info, **arguments)``: then ``arguments`` checks them and gives
    the values of ``params`` (name → Python type), which ``where`` reads as ``params.<name>``.

    ``held``: a plain field the object is built with (what a provision sends, gathered and stored as it
    was sent: schema/provided.py), read by the planner from the declaration. ``item``: the information
    item (情報項目) the field belongs to: null unless the answer covers it."""
    source = RelationSource(key, parent, tuple(order_by), where, arguments, dict(params or {}), single)
    if held:
        return _field(source, description, directives, item=item)
    return _field(source, description, directives, resolver=_related_without_arguments)


def parameter(name: str, *, description: str | None = None, directives: Sequence[object] = ()) -> Any:
    """A field whose value is one of the request's (the same for every object of the answer): the items
    a provision covers, say. The object is built with it; the planner binds it."""
    return _field(ParameterSource(name), description, directives)


def computed(sql: SqlTemplate) -> dict[str, Any]:
    """``metadata`` for a field whose resolver computes it in Python from the object's other fields:
    the planner computes the same by SQL (the differential tests hold the two to one answer)."""
    return {SOURCE: ExpressionSource(sql)}


async def _related_without_arguments(root: Any, info: strawberry.Info) -> Any:
    return await related(root, info)


async def related(root: Any, info: strawberry.Info, **arguments: Any) -> Any:
    """The rows of the relation the field being resolved declares, for ``root`` (batched per request)."""
    source = source_of(info._field)
    assert isinstance(source, RelationSource)
    return await info.context.loaders.related(info._field, root, arguments)
