"""One SQL statement per DataLoader batch: ``WHERE key = ANY(:keys)``, rows grouped in Python.

Statements are SQLAlchemy Core ``select()`` on the models' tables, run through the request's
:class:`~persistence.db.SerialSession` (one connection, one statement at a time, counted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, FromClause, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from strawberry.dataloader import DataLoader

from persistence.db import SerialSession

__all__ = ["grouped_loader", "grouped_statement", "int_keys", "rows_by_keys", "str_keys"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

Build = Callable[[Row[Any]], T]


def int_keys(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """``column = ANY(:keys)`` for bigint keys."""
    return column == any_(bindparam("keys", type_=ARRAY(BigInteger)))


def str_keys(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """``column = ANY(:keys)`` for text keys."""
    return column == any_(bindparam("keys", type_=ARRAY(String)))


async def rows_by_keys(db: SerialSession, statement: Any, keys: Sequence[Hashable]) -> Sequence[Row[Any]]:
    """Run ``statement`` (with a ``:keys`` array parameter) once for the distinct ``keys``."""
    result = await db.execute(statement, {"keys": list(dict.fromkeys(keys))})
    rows: Sequence[Row[Any]] = result.all()
    return rows


def grouped_statement(
    table: FromClause,
    key: str,
    *,
    order_by: Sequence[Any] = (),
    columns: Sequence[Any] | None = None,
    text_keys: bool = False,
) -> Any:
    """``SELECT … FROM table WHERE key = ANY(:keys) ORDER BY …``: built once per process, since
    composing a statement costs more than running a small one."""
    key_column = table.c[key]
    condition = str_keys(key_column) if text_keys else int_keys(key_column)
    selected = list(table.c) if columns is None else list(columns)
    if not any(c is key_column for c in selected):
        selected.append(key_column)
    return select(*selected).where(condition).order_by(*order_by)


def grouped_loader(db: SerialSession, statement: Any, key: str, build: Build[T]) -> DataLoader[Any, list[T]]:
    """A loader giving, for each key, the rows ``statement`` finds for it (see :func:`grouped_statement`),
    built into schema objects, in the statement's order (an empty list for a key without rows)."""

    async def load(keys: list[Any]) -> list[list[T]]:
        groups: defaultdict[Any, list[T]] = defaultdict(list)
        for row in await rows_by_keys(db, statement, keys):
            groups[row._mapping[key]].append(build(row))
        return [groups.get(k, []) for k in keys]

    return DataLoader(load_fn=load)
