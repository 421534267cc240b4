"""The write side's unit of work: rows made and changed in memory, each change of a record kept as its
history (who, when, operation, field, old and new value, the version it made), then written in a few
statements — one per table and shape, whatever the number of rows — in the caller's transaction.

A record changed here is one the caller read ``FOR UPDATE`` (its version cannot move underneath); the
mutation compared the version the client sent first (CONFLICT otherwise). Request ids of the write
mutations are kept in ``write_requests`` (:func:`earlier_request`, :func:`remember_request`): a retry
with the same input answers the record it made, another input under the id is REQUEST_ID_REUSED.

An individual number never enters the history: its columns are named in :data:`NEVER_KEPT` and only
the fact that they changed is kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql

from .db import driver_fetchrow, driver_fetchval
from .models import Base, RecordHistory, WriteRequest
from .provision_records import Actor, RequestIdReused, digest

__all__ = [
    "NEVER_KEPT",
    "Actor",
    "RequestIdReused",
    "Work",
    "as_text",
    "digest",
    "earlier_request",
    "remember_request",
]

NEVER_KEPT: Final = frozenset({"individual_number_enc", "individual_number_index"})
"""Columns whose values the history never holds (an individual number, its blind index)."""
NUMBER_FIELD: Final = "individual_number"
HISTORY: Final = cast(Table, RecordHistory.__table__)
REQUESTS: Final = cast(Table, WriteRequest.__table__)
UNCHANGED: Final = frozenset({"id", "version", "created_at"})


def as_text(value: Any) -> str | None:
    """A value as text: how the history keeps it (ISO dates, ``true``/``false``, codes and numbers as
    written) and how the flush's statement passes it (each column's type reads it back)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        quoted = ('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value)
        return "{" + ",".join(quoted) + "}"
    return str(value)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


@cache
def _table_order() -> tuple[Table, ...]:
    """Every table, each after those it refers to (computed once: sorting the metadata is not cheap)."""
    return tuple(Base.metadata.sorted_tables)


@dataclass
class Work:
    """The rows one operation makes and changes, written by :meth:`flush`.

    ``insert`` takes a row with its id (from :meth:`new_ids`); ``update`` takes the current row as read
    (a dict with ``id`` and ``version``), changes it in place, bumps its version and keeps the history
    of every field whose value differs. Rows inserted and then changed before the flush are written
    once, as they end up.
    """

    db: Any
    actor: Actor
    operation: str
    source: str | None = None
    id_block: int = 1  # ids taken per round trip (a feed takes them by the hundred)
    _ids: dict[str, list[int]] = field(default_factory=dict)
    _inserts: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    _updates: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    _history: list[dict[str, Any]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # persons whose records were made or changed

    async def new_ids(self, table: str, count: int) -> list[int]:
        """``count`` ids of ``table``'s identity, taken now (never reused, gaps allowed)."""
        if count <= 0:
            return []
        rows = await self.db.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": count},
        )
        return [int(r[0]) for r in rows]

    async def new_id(self, table: str) -> int:
        """One id of ``table``, from a block taken :attr:`id_block` at a time."""
        pool = self._ids.setdefault(table, [])
        if not pool:
            pool.extend(reversed(await self.new_ids(table, self.id_block)))
        return pool.pop()

    def insert(
        self,
        table: str,
        row: dict[str, Any],
        *,
        person_id: int | None,
        kept: bool = True,
        summary: str | None = None,
    ) -> dict[str, Any]:
        """Make a row. ``kept``: its initial values enter the history (records that change later; the row
        needs its id from :meth:`new_id`) — each field, or with ``summary`` one entry ``created`` saying
        what was made (a city's assessment makes a levy per person); append-only child rows (events,
        moves) are their own record, not repeated there, and may leave their id to the database."""
        self._inserts[table][row["id"] if "id" in row else -len(self._inserts[table]) - 1] = row
        if person_id is not None:
            self.touched.add(person_id)
        if kept:
            assert person_id is not None, "a kept record belongs to a person"
            row.setdefault("version", 1)
            if summary is not None:
                self._keep(table, row["id"], person_id, 1, "created", None, summary)
                return row
            for column, value in row.items():
                if column not in UNCHANGED and value is not None:
                    self._keep(table, row["id"], person_id, 1, column, None, value)
        return row

    def update(
        self,
        table: str,
        current: dict[str, Any],
        changes: Mapping[str, Any],
        *,
        person_id: int,
        notes: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> bool:
        """Apply ``changes`` to the row ``current`` (in place) and bump its version; False when nothing
        differs. ``notes``: changes of the record kept in its history without a column of its own (a
        certificate issued, a year's copay ratio: field → (old, new))."""
        differing = {c: v for c, v in changes.items() if current.get(c) != v}
        if not differing and not notes:
            return False
        version = int(current["version"]) + 1
        for column, value in differing.items():
            self._keep(table, current["id"], person_id, version, column, current.get(column), value)
        for name, (old, new) in (notes or {}).items():
            self._keep(table, current["id"], person_id, version, name, old, new)
        current.update(differing)
        current["version"] = version
        self.touched.add(person_id)
        pending = self._inserts.get(table, {}).get(current["id"]) if current.get("id") else None
        if pending is not None:
            pending.update(differing, version=version)
        else:
            self._updates.setdefault((table, current["id"]), {}).update(differing, version=version)
        return True

    def amend(
        self, table: str, current: dict[str, Any], changes: Mapping[str, Any], *, person_id: int
    ) -> None:
        """Change a row without a version of its own (a child row — a facility stay, a year's copay
        ratio): the record it belongs to keeps the history (``update`` with ``notes``)."""
        current.update(changes)
        self.touched.add(person_id)
        pending = self._inserts.get(table, {}).get(current["id"])
        if pending is not None:
            pending.update(changes)
        else:
            self._updates.setdefault((table, current["id"]), {}).update(changes)

    def _keep(
        self, table: str, record_id: int, person_id: int, version: int, column: str, old: Any, new: Any
    ) -> None:
        if column in NEVER_KEPT:
            if column != "individual_number_enc":
                return
            column, old, new = NUMBER_FIELD, None, None  # that it changed, never what it was or is
        self._history.append(
            {
                "record_table": table,
                "record_id": record_id,
                "person_id": person_id,
                "version": version,
                "field": column,
                "old_value": as_text(old),
                "new_value": as_text(new),
                "changed_by": self.actor.subject[:200],
                "changed_roles": list(self.actor.roles),
                "operation": self.operation,
                "source": self.source,
            }
        )

    async def flush(self, *, returning: str | None = None) -> list[int]:
        """Write everything in one statement: each table's inserts and each shape of updates a
        data-modifying CTE over ``unnest`` of the values (foreign keys are checked at the statement's
        end, so a row may refer to a row made beside it), then the history. Returns the ids of the rows
        inserted into ``returning`` (rows given without an id take their identity's next value)."""
        parts: list[tuple[str, list[Any]]] = []
        for t in _table_order():
            rows = self._inserts.get(t.name)
            for shape in _by_shape(rows.values()) if rows else ():
                parts.append(_insert_part(t, shape, returning=t.name == returning))
        grouped: dict[tuple[str, tuple[str, ...]], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for (table, record_id), values in self._updates.items():
            grouped[(table, tuple(sorted(values)))].append((record_id, values))
        for (table, columns), updates in grouped.items():
            parts.append(_update_part(_table(table), columns, updates))
        if self._history:
            parts.append(_insert_part(HISTORY, self._history, returning=False))
        self._inserts, self._updates, self._history = defaultdict(dict), {}, []
        if not parts:
            return []
        sql, args = _statement(parts)
        found = await driver_fetchval(self.db, sql, *args)
        return sorted(found or ())


# --- the flush's statement -----------------------------------------------------------------------

_DIALECT: Final = postgresql.dialect()


@cache
def _sql_type(table: str, column: str) -> str:
    """The column's type as a cast (without a collation: the column's own applies when stored)."""
    compiled = _table(table).c[column].type.compile(dialect=_DIALECT)
    return compiled.split(" COLLATE ")[0]


def _insert_part(t: Table, rows: Sequence[dict[str, Any]], *, returning: bool) -> tuple[str, list[Any]]:
    columns = sorted(rows[0])
    arrays = [[as_text(row[c]) for row in rows] for c in columns]
    names = ", ".join(columns)
    casts = ", ".join(f"x.{c}::{_sql_type(t.name, c)}" for c in columns)
    tail = " RETURNING id" if returning else ""
    body = f"INSERT INTO {t.name} ({names}) SELECT {casts} FROM unnest({{args}}) AS x({names}){tail}"
    return body, arrays


def _update_part(
    t: Table, columns: tuple[str, ...], updates: Sequence[tuple[int, dict[str, Any]]]
) -> tuple[str, list[Any]]:
    arrays: list[list[str | None]] = [[str(record_id) for record_id, _ in updates]]
    arrays += [[as_text(values[c]) for _, values in updates] for c in columns]
    names = ", ".join(("id", *columns))
    sets = ", ".join(f"{c} = x.{c}::{_sql_type(t.name, c)}" for c in columns)
    body = f"UPDATE {t.name} SET {sets} FROM unnest({{args}}) AS x({names}) WHERE {t.name}.id = x.id::bigint"
    return body, arrays


@cache
def _statement_text(bodies: tuple[tuple[str, int], ...], returning: int | None) -> str:
    ctes, n = [], 0
    for index, (body, width) in enumerate(bodies):
        placeholders = ", ".join(f"${n + i + 1}::text[]" for i in range(width))
        n += width
        ctes.append(f"w{index} AS ({body.replace('{args}', placeholders)})")
    result = f"(SELECT array_agg(id) FROM w{returning})" if returning is not None else "NULL::bigint[]"
    return f"WITH {', '.join(ctes)} SELECT {result}"


def _statement(parts: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    returning = next((i for i, (body, _) in enumerate(parts) if body.endswith(" RETURNING id")), None)
    sql = _statement_text(tuple((body, len(arrays)) for body, arrays in parts), returning)
    return sql, [array for _, arrays in parts for array in arrays]


def _by_shape(rows: Sequence[dict[str, Any]] | Any) -> list[list[dict[str, Any]]]:
    """Rows grouped by their set of columns (one executemany each)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        shapes[tuple(sorted(row))].append(row)
    return list(shapes.values())


LOCK: Final = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
EARLIER: Final = "SELECT operation, digest, record_table, record_id FROM write_requests WHERE request_id = $1"
REMEMBER: Final = (
    "INSERT INTO write_requests (request_id, operation, digest, record_table, record_id, actor)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


async def earlier_request(
    db: Any, request_id: str, operation: str, values: Mapping[str, Any]
) -> tuple[str, int] | None:
    """Lock the request id (to the commit), then: the (table, id) a previous request with the same
    input made, None for a new one; :class:`RequestIdReused` for the id used with other input. (Two
    statements: the second must see what a request that held the lock before committed.)"""
    await driver_fetchval(db, LOCK, f"WRITE:{request_id}")
    row = await driver_fetchrow(db, EARLIER, request_id)
    if row is None:
        return None
    if row["operation"] != operation or row["digest"] != digest(values):
        raise RequestIdReused
    return str(row["record_table"]), int(row["record_id"])


async def remember_request(
    db: Any,
    request_id: str,
    operation: str,
    values: Mapping[str, Any],
    *,
    table: str,
    record_id: int,
    actor: Actor,
) -> None:
    await driver_fetchval(
        db, REMEMBER, request_id, operation, digest(values), table, record_id, actor.subject[:200]
    )
