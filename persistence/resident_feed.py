"""The resident register's daily feed (住民異動, 市民課 → 共通基盤 → here): a CSV file applied in order, line
by line, idempotent per feed id and line, with a report.

Each line ends APPLIED, QUEUED for staff (the reason, and the column for a line that cannot be read), or
SKIPPED: its (feed id, line) was received before — with the same content it is not applied again; with
other content it is refused as LINE_CHANGED (a register correction is another line, under another feed
id). Lines are applied in chunks, each chunk one transaction with its received lines, their effects and
one audit entry naming the persons touched; a run stopped half-way is simply run again. Then 年齢到達
(persons reaching 65 by the feed's day) in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import select

from policies.resident_changes import COLUMNS, InvalidChange, ResidentChange, parse_change

from .audit import Sealer
from .db import Database
from .intake import EXTRA, FeedError, FeedReport, LineReport, audit_batch, csv_records, received_payload
from .models import ResidentChange as ChangeRow
from .provision_records import Actor, digest
from .residents import age_arrivals, apply_change, load_residents
from .writes import Work

__all__ = ["FeedError", "FeedReport", "LineReport", "intake_residents", "read_feed"]

CHANGES = ChangeRow.__table__
OPERATION: Final = "intakeResidents"
CHUNK: Final = 500
KNOWN: Final = frozenset(name for name, _, _ in COLUMNS)
NEEDED: Final = ("kind", "moved_on", "addressee_code")


def read_feed(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's records (numbered from 1 after the header) as column → text."""
    return csv_records(data, known=KNOWN, needed=NEEDED)


async def intake_residents(
    database: Database,
    records: Iterable[tuple[int, dict[str, str]]],
    *,
    feed_id: str,
    actor: Actor,
    as_of: dt.date,
    sealer: Sealer | None = None,
    chunk: int = CHUNK,
    started_at: dt.datetime | None = None,
) -> FeedReport:
    """Apply the feed's records in order; then 年齢到達 up to ``as_of``."""
    report = FeedReport(feed_id)
    batch: list[tuple[int, dict[str, str]]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= chunk:
            report.lines += await _chunk(database, batch, feed_id, actor, sealer)
            batch = []
    if batch:
        report.lines += await _chunk(database, batch, feed_id, actor, sealer)
    async with database.session() as session:
        work = Work(session, actor, OPERATION, source=f"{feed_id}:age-arrivals", id_block=64)
        arrived = await age_arrivals(work, on=as_of)
        await work.flush()
        await audit_batch(session, work, actor, sealer, operation=OPERATION)
    report.age_arrivals = len(arrived)
    return report


def _parsed(raw: dict[str, str]) -> ResidentChange | InvalidChange:
    if EXTRA in raw:
        return InvalidChange("line", "FORMAT", "the line has more fields than the header")
    try:
        return parse_change(raw)
    except InvalidChange as problem:
        return problem


async def _chunk(
    database: Database,
    batch: list[tuple[int, dict[str, str]]],
    feed_id: str,
    actor: Actor,
    sealer: Sealer | None,
) -> list[LineReport]:
    async with database.session() as session:
        seen = {
            r.line_no: r.digest
            for r in await session.execute(
                select(CHANGES.c.line_no, CHANGES.c.digest).where(
                    CHANGES.c.feed_id == feed_id, CHANGES.c.line_no.in_([n for n, _ in batch])
                )
            )
        }
        parsed = [(n, raw, _parsed(raw), digest(raw)) for n, raw in batch]
        codes = [p.addressee_code for _, _, p, _ in parsed if isinstance(p, ResidentChange)]
        residents = await load_residents(session, codes=codes)
        work = Work(session, actor, OPERATION, id_block=min(len(batch), 256))
        reports: list[LineReport] = []
        received: list[dict[str, Any]] = []
        for number, raw, change, line_digest in parsed:
            if number in seen:
                reason = None if seen[number] == line_digest else "LINE_CHANGED"
                reports.append(LineReport(number, "SKIPPED", reason))
                continue
            work.source = f"{feed_id}:{number}"
            row: dict[str, Any] = {
                "feed_id": feed_id,
                "line_no": number,
                "digest": line_digest,
                "payload": received_payload(raw),
                "received_by": actor.subject[:200],
            }
            if isinstance(change, InvalidChange):
                row.update(outcome="QUEUED", reason="INVALID_LINE", field=change.field)
                reports.append(LineReport(number, "QUEUED", "INVALID_LINE", change.field))
            else:
                outcome = await apply_change(work, residents, change)
                row.update(
                    kind=change.kind.name,
                    moved_on=change.moved_on,
                    addressee_code=change.addressee_code,
                    person_id=outcome.person_id,
                    outcome=outcome.outcome,
                    reason=outcome.reason,
                    effect=outcome.effect,
                    note=outcome.note,
                )
                reports.append(
                    LineReport(
                        number, outcome.outcome, outcome.reason, effect=outcome.effect, note=outcome.note
                    )
                )
            received.append(row)
        for row in received:
            work.insert("resident_changes", _complete(row), person_id=row.get("person_id"), kept=False)
        await work.flush()
        await audit_batch(session, work, actor, sealer, operation=OPERATION)
    return reports


_ROW_KEYS: Final = ("kind", "moved_on", "addressee_code", "person_id", "reason", "field", "effect", "note")


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    """Every row with the same keys (one shape in the flush)."""
    return {k: None for k in _ROW_KEYS} | row
