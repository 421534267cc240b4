"""The date scalars as a client reads them: strawberry's own (same names, same parsing and output), with
descriptions that say the format and where the Japanese era (和暦) comes from."""

from __future__ import annotations

import dataclasses
import datetime as dt

from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

__all__ = ["SCALARS"]

DATE = dataclasses.replace(
    DateDefinition,
    description=(
        "A calendar date in ISO 8601, `YYYY-MM-DD` (`2024-04-01`), both ways; no time, no time zone. A month "
        "(サービス提供年月, 審査年月) is its first day. The Japanese era (和暦: 令和6年4月1日) is the client's "
        "rendering, never sent: `new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {era: 'long', year: 'numeric', "
        "month: 'long', day: 'numeric'}).format(new Date(2024, 3, 1))` (build the Date from the three numbers: "
        "`new Date('2024-04-01')` is midnight UTC, the day before west of Greenwich)."
    ),
)

DATE_TIME = dataclasses.replace(
    DateTimeDefinition,
    description=(
        "An instant in ISO 8601 with its UTC offset (`2026-11-01T00:15:30.123456+00:00`); the server records "
        "UTC. Show it in Japan time (Asia/Tokyo); a filter accepts any offset."
    ),
)

SCALARS: dict[object, ScalarDefinition] = {dt.date: DATE, dt.datetime: DATE_TIME}
"""``scalar_overrides`` of every schema (resolvers/build.py)."""
