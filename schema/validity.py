"""Which certification is valid on the request date, in SQL (the rule the read types and what is provided
share)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_

from .sources import Env

__all__ = ["valid_on_request_date"]


def valid_on_request_date(row: Any, env: Env, params: Any) -> list[Any]:
    """Decided (要介護認定日 and level), not cancelled by the request date, and the date within the
    validity period (認定有効期間)."""
    return [
        row.care_level.is_not(None),
        row.decided_on.is_not(None),
        row.valid_from <= env.today,
        row.valid_to >= env.today,
        or_(row.cancelled_on.is_(None), row.cancelled_on > env.today),
    ]
