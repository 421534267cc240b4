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

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select

from policies.individual_number import mask_valid_numbers
from policies.resident_changes import COLUMNS, InvalidChange, ResidentChange, parse_change

from .audit import AuditEntry, Sealer, append
from .db import Database
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
EXTRA: Final = ""


class FeedError(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, a column of no layout)."""


@dataclass(frozen=True)
class LineReport:
    line: int
    outcome: str  # APPLIED, QUEUED, SKIPPED
    reason: str | None = None
    field: str | None = None
    effect: str | None = None
    note: str | None = None


@dataclass
class FeedReport:
    feed_id: str
    lines: list[LineReport] = field(default_factory=list)
    age_arrivals: int = 0

    def counts(self) -> Counter[str]:
        return Counter(line.outcome for line in self.lines)

    def summary(self) -> str:
        c = self.counts()
        reasons = Counter(f"{x.outcome} {x.reason}" for x in self.lines if x.reason)
        out = [
            f"feed {self.feed_id}: {len(self.lines)} lines — applied {c['APPLIED']}, "
            f"skipped {c['SKIPPED']}, queued for review {c['QUEUED']}; age arrivals {self.age_arrivals}"
        ]
        out += [f"  {what}: {n}" for what, n in sorted(reasons.items())]
        out += [
            f"  line {x.line}: {x.outcome} {x.reason or ''}{' (' + x.field + ')' if x.field else ''}".rstrip()
            for x in self.lines
            if x.outcome == "QUEUED" or x.reason == "LINE_CHANGED"
        ]
        return "\n".join(out)


def read_feed(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's records (numbered from 1 after the header) as column → text."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedError("the feed is not UTF-8") from None
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None:
        raise FeedError("the feed is empty: a header line names its columns")
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in KNOWN]
    if unknown or len(set(header)) != len(header):
        raise FeedError(f"the header names columns of no layout or twice: {', '.join(unknown) or 'repeated'}")
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise FeedError(f"the header lacks {', '.join(missing)}")
    records = []
    for number, values in enumerate(reader, start=1):
        if not any(v.strip() for v in values):
            continue  # a blank line
        raw = dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
        if len(values) > len(header):
            raw[EXTRA] = "+"  # more fields than the header names: the line's problem, reported as such
        records.append((number, raw))
    return records


def _payload(raw: dict[str, str]) -> dict[str, str]:
    """The line as received, for staff; a value shaped like an individual number is masked."""
    return {k: mask_valid_numbers(v) for k, v in raw.items() if k and v}


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
        await _audit(session, work, actor, sealer)
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
                "payload": _payload(raw),
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
        await _audit(session, work, actor, sealer)
    return reports


_ROW_KEYS: Final = ("kind", "moved_on", "addressee_code", "person_id", "reason", "field", "effect", "note")


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    """Every row with the same keys (one shape in the flush)."""
    return {k: None for k in _ROW_KEYS} | row


async def _audit(session: Any, work: Work, actor: Actor, sealer: Sealer | None) -> None:
    """One entry per transaction, with every person whose record it made, changed or received a change
    about; none when it touched nobody."""
    persons = set(work.touched)
    if not persons:
        return
    entry = AuditEntry(
        occurred_at=dt.datetime.now(dt.UTC),
        subject=actor.subject,
        roles=actor.roles,
        department=actor.department,
        operation_type="mutation",
        operation_name=OPERATION,
        person_ids=tuple(sorted(persons)),
    )
    await append(session, entry, sealer=sealer)
