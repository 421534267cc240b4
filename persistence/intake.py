"""What the files other systems hand the section have in common (the resident register's feed, the
federation's claim results, the city's assessment run): the CSV read as records, the report of each line,
the received line kept for staff, and one audit entry per transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from policies.individual_number import mask_valid_numbers

from .audit import AuditEntry, Sealer, append
from .provision_records import Actor
from .writes import Work

__all__ = [
    "EXTRA",
    "FeedError",
    "FeedReport",
    "LineReport",
    "audit_batch",
    "csv_records",
    "received_payload",
]

EXTRA: Final = ""
"""The key a record carries when its line has more fields than the header names."""


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


def csv_records(
    data: bytes, *, known: frozenset[str], needed: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    """A feed file's records: UTF-8 (a BOM allowed), a header naming columns of ``known`` (``needed``
    among them), one record a line numbered from 1 after the header (blank lines skipped). A line with
    more fields than the header carries the key :data:`EXTRA` (its problem, reported as the line's)."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedError("the feed is not UTF-8") from None
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None:
        raise FeedError("the feed is empty: a header line names its columns")
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in known]
    if unknown or len(set(header)) != len(header):
        raise FeedError(f"the header names columns of no layout or twice: {', '.join(unknown) or 'repeated'}")
    missing = [c for c in needed if c not in header]
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


def received_payload(raw: dict[str, str]) -> dict[str, str]:
    """The line as received, for staff; a value shaped like an individual number is masked."""
    return {k: mask_valid_numbers(v) for k, v in raw.items() if k and v}


async def audit_batch(
    session: Any, work: Work, actor: Actor, sealer: Sealer | None, *, operation: str
) -> None:
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
        operation_name=operation,
        person_ids=tuple(sorted(persons)),
    )
    await append(session, entry, sealer=sealer)
