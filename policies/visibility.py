"""Which parts of the schema a principal may see: a field exists for it only if it holds every
duty the field requires (番号利用事務 for individual numbers, the area's read duty for an area)."""

from __future__ import annotations

from collections.abc import Iterable


def may_see(required: Iterable[str], duties: frozenset[str]) -> bool:
    """True when ``duties`` include every duty in ``required`` (a field requiring none is public)."""
    return all(duty in duties for duty in required)
