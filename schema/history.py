"""The history of a record: every change written through the API or the feeds, field by field, with who,
when, which operation and the old and new value (table ``record_history``).

A record's ``history`` is readable by the roles that read its area; an individual number's change is
listed by its field alone (``individual_number``, both values null).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from .sources import column, relation, table

__all__ = ["RecordChange", "history_of"]


@strawberry.type(
    description=(
        "One field of a record changed (or set when the record was made): the version it made, the column, "
        "the old and new value as text (ISO dates, true/false, codes as stored), who, when and how."
    )
)
@table("record_history")
class RecordChange:
    version: int = column(description="The record's version after this change")
    field: str = column(description="The column changed (snake_case, as the table names it)")
    old_value: str | None = column(description="null when the record was made by this change")
    new_value: str | None = column(
        description="The value after the change (null: cleared; an individual number's change: both null)"
    )
    changed_at: dt.datetime = column(description="When the change was written")
    changed_by: str = column(description="The token's subject, or the feed's actor")
    operation: str = column(description="The mutation or feed command")
    source: str | None = column(description="The request id, or the feed id and line")


def history_of(record_table: str) -> Any:
    """The ``history`` field of a type whose rows are in ``record_table``: its changes, oldest first."""

    def of_table(row: Any, env: Any, params: Any) -> list[Any]:
        return [row.record_table == record_table]

    return relation(
        "record_id",
        where=of_table,
        order_by=("id",),
        description="Every change of this record, oldest first (who, when, field, old and new value).",
    )
