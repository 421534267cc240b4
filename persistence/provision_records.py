"""情報提供等記録 — writing, finding and purging provision records.

Records are written in the request's transaction, with the work they record: a decision, its record
and the information read commit together or not at all. A request that carries a request id is
serialised on it: :func:`lock_request` takes a transaction-scoped advisory lock on the hash of its
scope, so a second caller with the same id waits until the first commits, then finds its record and
replays its answer (the unique ``request_key`` is the backstop).

Retention: 7 years (``policies.decisions.RETENTION_YEARS``). :func:`purge` deletes what is older, on
the database's own clock; the database refuses to delete anything younger (migration 0002).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, or_, select, text, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.decisions import RETENTION_YEARS, purge_before
from policies.legal_bases import LegalBasis

from .db import SerialSession
from .models import ProvisionRecord

__all__ = [
    "JST",
    "Actor",
    "PurgeReport",
    "RecordedBasis",
    "RequestIdReused",
    "RequestKey",
    "about_person",
    "by_id",
    "digest",
    "earlier",
    "lock_request",
    "pending_reviews",
    "purge",
    "resolution_of",
    "write",
]

records = cast(Table, ProvisionRecord.__table__)
JST = dt.timezone(dt.timedelta(hours=9), "JST")


class RequestIdReused(Exception):
    """The request id was used before with other input (the API answers REQUEST_ID_REUSED)."""


@dataclass(frozen=True)
class Actor:
    """The principal acting, as the record keeps it (never a name of a resident)."""

    subject: str
    roles: tuple[str, ...]
    department: str | None = None


@dataclass(frozen=True)
class RecordedBasis:
    """The legal basis a record was decided against: the item asked for, and the row in force if any."""

    item: str
    row: LegalBasis | None = None

    def columns(self) -> dict[str, Any]:
        row = self.row
        return {
            "basis_item": self.item,
            "basis_id": row.id if row else None,
            "basis_instrument": row.instrument if row else None,
            "basis_article": row.article if row else None,
            "basis_citation": row.citation if row else None,
        }


@dataclass(frozen=True)
class RequestKey:
    """A request's idempotency identity: its id, the scope it is locked on, its unique key and digest."""

    request_id: str
    scope: str
    key: str
    digest: str = field(repr=False)


def digest(values: Mapping[str, Any]) -> str:
    """SHA-256 of the normalised input: equal for a retry, different for another request."""
    text_form = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text_form.encode()).hexdigest()


async def lock_request(db: SerialSession, scope: str) -> None:
    """Wait for, then hold until commit, the advisory lock of ``scope`` (same id ⇒ one at a time)."""
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:scope, 0))"), {"scope": scope})


async def write(
    db: SerialSession,
    *,
    direction: str,
    outcome: str,
    code: str,
    reason: tuple[str, str],
    provider: str,
    recipient: str,
    basis: RecordedBasis,
    items: Sequence[str],
    actor: Actor,
    request: RequestKey | None = None,
    request_id: str | None = None,
    **columns: Any,
) -> Row[Any]:
    """Insert one record and return it. ``columns``: the optional columns of ``provision_records``."""
    values: dict[str, Any] = {
        "direction": direction,
        "outcome": outcome,
        "code": code,
        "reason_ja": reason[0],
        "reason_en": reason[1],
        "provider": provider[:200],
        "recipient": recipient[:200],
        "items": list(items),
        "actor_subject": actor.subject[:200],
        "actor_roles": list(actor.roles),
        "actor_department": actor.department,
        **basis.columns(),
        **columns,
    }
    if request is not None:
        values.update(
            request_id=request.request_id,
            request_scope=request.scope,
            request_key=request.key,
            request_hash=request.digest,
        )
    elif request_id is not None:
        values["request_id"] = request_id
    result = await db.execute(insert(records).values(**values).returning(*records.c))
    row: Row[Any] = result.one()
    return row


async def earlier(db: SerialSession, request: RequestKey) -> Row[Any] | None:
    """The record of this request if it was made before; REQUEST_ID_REUSED-worthy input raises.

    A request scope holds one record, or the pages of one transfer: any of them with another digest
    means the id was used for a different request (:class:`RequestIdReused`).
    """
    c = records.c
    other = await db.execute(
        select(c.id).where(c.request_scope == request.scope, c.request_hash != request.digest).limit(1)
    )
    if other.first() is not None:
        raise RequestIdReused
    row: Row[Any] | None = (await db.execute(select(records).where(c.request_key == request.key))).first()
    return row


async def by_id(db: SerialSession, record_id: int, *, for_update: bool = False) -> Row[Any] | None:
    statement = select(records).where(records.c.id == record_id)
    if for_update:
        statement = statement.with_for_update()
    row: Row[Any] | None = (await db.execute(statement)).first()
    return row


async def resolution_of(db: SerialSession, record_id: int) -> Row[Any] | None:
    """The confirmation or refusal of a pending record, if there is one."""
    row: Row[Any] | None = (
        await db.execute(select(records).where(records.c.resolves_record_id == record_id))
    ).first()
    return row


def _about(person_id: int) -> Any:
    c = records.c
    return or_(c.person_id == person_id, c.person_ids.contains([person_id]))


async def about_person(
    db: SerialSession, person_id: int, *, first: int, after: int | None
) -> Sequence[Row[Any]]:
    """Records about one person (its own, and transfer pages that included it), newest first.

    Keyset on (recorded_at, id) descending; reads ``first + 1`` rows so the caller sees a next page.
    """
    c = records.c
    statement = select(records).where(_about(person_id))
    if after is not None:
        cursor_at = select(c.recorded_at).where(c.id == after).scalar_subquery()
        statement = statement.where(tuple_(c.recorded_at, c.id) < tuple_(cursor_at, after))
    statement = statement.order_by(c.recorded_at.desc(), c.id.desc()).limit(first + 1)
    rows: Sequence[Row[Any]] = (await db.execute(statement)).all()
    return rows


async def pending_reviews(db: SerialSession, *, first: int, after: int | None) -> Sequence[Row[Any]]:
    """Provisions and withheld transfer persons waiting for a reviewer (PENDING_REVIEW without a
    resolution), oldest first."""
    c = records.c
    resolved = records.alias("resolved")
    statement = select(records).where(
        and_(
            c.direction.in_(("PROVISION", "TRANSFER")),
            c.outcome == "PENDING_REVIEW",
            ~select(resolved.c.id).where(resolved.c.resolves_record_id == c.id).exists(),
        )
    )
    if after is not None:
        statement = statement.where(c.id > after)
    rows: Sequence[Row[Any]] = (await db.execute(statement.order_by(c.id).limit(first + 1))).all()
    return rows


@dataclass(frozen=True)
class PurgeReport:
    """What :func:`purge` removed (or would remove, with ``dry_run``)."""

    today: dt.date
    cut: dt.date
    """Records dated (in Japan) before this day are older than the retention period."""
    counts: Mapping[str, int]
    """Records older than the cut, by direction."""
    kept: int
    dry_run: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        by_direction = ", ".join(f"{d} {n}" for d, n in sorted(self.counts.items())) or "none"
        return (
            f"provision records dated before {self.cut} (retention {RETENTION_YEARS} years, today {self.today}): "
            f"{verb} {self.total} ({by_direction}); kept {self.kept}"
        )


async def purge(conn: AsyncConnection, *, dry_run: bool = False) -> PurgeReport:
    """Delete the provision records older than the retention period, in the caller's transaction.

    "Today" is the database's date in Japan, the clock the immutability trigger judges by, so the
    two agree on which rows are old; the cut itself is ``policies.decisions.purge_before``.
    """
    today: dt.date = (
        await conn.execute(text("SELECT (now() AT TIME ZONE 'UTC' + interval '9 hours')::date"))
    ).scalar_one()
    cut = purge_before(today)
    cut_at = dt.datetime.combine(cut, dt.time(0), JST)
    c = records.c
    old = c.recorded_at < cut_at
    counts = {
        direction: int(n)
        for direction, n in (
            await conn.execute(select(c.direction, func.count()).where(old).group_by(c.direction))
        ).all()
    }
    kept = int((await conn.execute(select(func.count()).select_from(records).where(~old))).scalar_one())
    if not dry_run and counts:
        await conn.execute(records.delete().where(old))
    return PurgeReport(today=today, cut=cut, counts=counts, kept=kept, dry_run=dry_run)
