"""What every write mutation shares: the input's values as the rules read them, an object answered as it
now is (built from the declarations of schema/sources.py, as the reads build it), the version check, and
the request id's replay.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Date, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from persistence.writes import RequestIdReused as StoredRequestIdReused
from persistence.writes import Work, earlier_request, remember_request
from schema.conflicts import NotFound, RequestIdReused
from schema.errors import BadUserInput
from schema.writes import VersionConflict

from .context import Context
from .requests import actor_of
from .sources import KEYS, TODAY, Columns, StatementEnv, shape_of, table_named

__all__ = ["camel", "check_version", "idempotent", "object_by_id", "objects_by_id", "plain", "work_for"]

T = TypeVar("T")


def camel(column: str) -> str:
    """``moved_on`` → ``movedOn`` (a column as the GraphQL input names it)."""
    head, *rest = column.split("_")
    return head + "".join(part.title() for part in rest)


def plain(value: Any) -> Any:
    """An input's value as the rules and the request digest take it: codes, ISO dates, as is otherwise."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def input_error(problem: Any, *, prefix: str = "input") -> BadUserInput:
    """A pure check's complaint (``field`` a column, ``reason``) as the input's error."""
    field = f"{prefix}.{camel(problem.field)}"
    message = re.sub(r"`([a-z_]+)`", lambda m: f"`{camel(m.group(1))}`", str(problem))
    return BadUserInput(message, field=field, reason=problem.reason)


@cache
def _by_id(cls: type) -> tuple[Any, Any]:
    """(the statement reading objects of ``cls`` by ids — ``:keys`` and ``:today`` bound —, its shape),
    built once per type."""
    shape = shape_of(cls)
    source = cls.__kaigo_table__  # type: ignore[attr-defined]
    table = table_named(source.name)
    columns = Columns(table, source, StatementEnv(bindparam(TODAY, type_=Date)))
    selected = [*shape.select_list(columns, table), table.c[source.key].label("__key")]
    if "person_id" in table.c:
        selected.append(table.c.person_id.label("__person"))
    keys = bindparam(KEYS, type_=ARRAY(BigInteger))
    return select(*selected).where(table.c[source.key] == any_(keys)), shape


async def objects_by_id(ctx: Context, cls: type[T], pks: list[int]) -> dict[int, T]:
    """The objects of type ``cls`` (a type with ``@table``) whose rows have these ids, as a read answers
    them (one statement); the persons they belong to (their table's ``person_id``) are recorded in the
    request's audit entry."""
    statement, shape = _by_id(cls)  # type: ignore[arg-type]  # a type is hashable
    found: dict[int, T] = {}
    for row in await ctx.db.execute(statement, {KEYS: list(pks), TODAY: ctx.today}):
        mapping = row._mapping
        if "__person" in mapping:
            ctx.audit.touch(mapping["__person"])
        found[mapping["__key"]] = shape.build(mapping)
    return found


async def object_by_id(ctx: Context, cls: type[T], pk: int, *, what: str, field: str = "id") -> T:
    """The object of type ``cls`` whose row has id ``pk`` (:func:`objects_by_id`); NOT_FOUND if none."""
    found = (await objects_by_id(ctx, cls, [pk])).get(pk)
    if found is None:
        raise NotFound(what, field=field)
    return found


def check_version(current: int | None, given: int | None, *, field: str = "input.version") -> None:
    """CONFLICT unless the client read the version the record has now (``given`` None: not checked)."""
    if given is not None and current != given:
        raise VersionConflict(current, field=field)


def work_for(ctx: Context, operation: str, request_id: str | None = None) -> Work:
    return Work(ctx.db, actor_of(ctx.principal), operation, source=request_id)


async def idempotent(
    ctx: Context,
    request_id: str,
    operation: str,
    values: Mapping[str, Any],
    write: Callable[[], Awaitable[tuple[str, int]]],
) -> tuple[str, int, bool]:
    """Run ``write`` once per request id: (table, id, True) of what it made now, or (table, id, False) of
    what the same request made before; REQUEST_ID_REUSED for the id sent again with other input."""
    try:
        before = await earlier_request(ctx.db, request_id, operation, values)
    except StoredRequestIdReused:
        raise RequestIdReused() from None
    if before is not None:
        return before[0], before[1], False
    table, record_id = await write()
    await remember_request(
        ctx.db, request_id, operation, values, table=table, record_id=record_id, actor=actor_of(ctx.principal)
    )
    return table, record_id, True
