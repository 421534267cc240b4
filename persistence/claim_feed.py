"""The federation's (国保連) monthly claim results (給付実績) file: each line a service paid, for the insured
person its 被保険者番号 names; applied once per feed id and line, with a report — as the resident feed is
(persistence/resident_feed.py).

A line ends APPLIED (a claim result made), SKIPPED (received before under the feed id; LINE_CHANGED when
its content differs) or QUEUED with the reason: INVALID_LINE (the column), UNKNOWN_INSURED (no such
insured number), NOT_INSURED_IN_MONTH (the person was not insured in the service month).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from policies.benefits import CLAIM_COLUMNS, InvalidClaim, parse_claim

from .audit import Sealer
from .db import Database, driver_fetch
from .provision_records import Actor, digest
from .resident_feed import (
    EXTRA,
    FeedError,
    FeedReport,
    LineReport,
    audit_batch,
    csv_records,
    received_payload,
)
from .writes import Work

__all__ = ["FeedError", "intake_claims", "read_claims"]

OPERATION: Final = "intakeClaims"
CHUNK: Final = 1000
SEEN: Final = "SELECT line_no, digest FROM claim_lines WHERE feed_id = $1 AND line_no = ANY($2::int[])"
INSURED: Final = "SELECT insured_number, person_id, acquired_on, lost_on FROM qualifications WHERE insured_number = ANY($1::text[])"


def read_claims(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's records (numbered from 1 after the header): every column of the layout is required."""
    return csv_records(data, known=frozenset(CLAIM_COLUMNS), needed=CLAIM_COLUMNS)


def _insured_in(month: dt.date, acquired: dt.date, lost: dt.date | None) -> bool:
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)  # the next month's first day
    return acquired < end and (lost is None or lost > month)


async def intake_claims(
    database: Database,
    records: list[tuple[int, dict[str, str]]],
    *,
    feed_id: str,
    actor: Actor,
    sealer: Sealer | None = None,
    chunk: int = CHUNK,
) -> FeedReport:
    report = FeedReport(feed_id)
    for start in range(0, len(records), chunk):
        report.lines += await _chunk(database, records[start : start + chunk], feed_id, actor, sealer)
    return report


async def _chunk(
    database: Database,
    batch: list[tuple[int, dict[str, str]]],
    feed_id: str,
    actor: Actor,
    sealer: Sealer | None,
) -> list[LineReport]:
    async with database.session() as session:
        seen = {
            r["line_no"]: r["digest"]
            for r in await driver_fetch(session, SEEN, feed_id, [n for n, _ in batch])
        }
        parsed: list[tuple[int, dict[str, str], dict[str, Any] | InvalidClaim]] = []
        for number, raw in batch:
            try:
                if EXTRA in raw:
                    raise InvalidClaim("line", "FORMAT", "the line has more fields than the header")
                parsed.append((number, raw, parse_claim(raw)))
            except InvalidClaim as problem:
                parsed.append((number, raw, problem))
        numbers = sorted({p["insured_number"] for _, _, p in parsed if isinstance(p, dict)})
        insured = {r["insured_number"]: r for r in await driver_fetch(session, INSURED, numbers)}
        work = Work(session, actor, OPERATION)
        fresh = [(n, raw, p) for n, raw, p in parsed if n not in seen]
        ids = await work.new_ids("claim_results", sum(1 for _, _, p in fresh if isinstance(p, dict)))
        reports = [
            LineReport(n, "SKIPPED", None if seen[n] == digest(raw) else "LINE_CHANGED")
            for n, raw, _ in parsed
            if n in seen
        ]
        for number, raw, claim in fresh:
            line: dict[str, Any] = {
                "feed_id": feed_id,
                "line_no": number,
                "digest": digest(raw),
                "payload": received_payload(raw),
                "received_by": actor.subject[:200],
                "reason": None,
                "field": None,
                "person_id": None,
                "claim_result_id": None,
            }
            reason = field = None
            if isinstance(claim, InvalidClaim):
                reason, field = "INVALID_LINE", claim.field
            else:
                holder = insured.get(claim["insured_number"])
                if holder is None:
                    reason = "UNKNOWN_INSURED"
                else:
                    line["person_id"] = holder["person_id"]
                    if not _insured_in(claim["service_month"], holder["acquired_on"], holder["lost_on"]):
                        reason = "NOT_INSURED_IN_MONTH"
            if reason is None:
                assert isinstance(claim, dict)
                result_id = ids.pop()
                result = {k: v for k, v in claim.items() if k != "insured_number"}
                work.insert(
                    "claim_results",
                    {"id": result_id, "person_id": line["person_id"], **result},
                    person_id=line["person_id"],
                    kept=False,
                )
                line.update(outcome="APPLIED", claim_result_id=result_id)
            else:
                line.update(outcome="QUEUED", reason=reason, field=field)
            work.insert("claim_lines", line, person_id=line["person_id"], kept=False)
            reports.append(LineReport(number, line["outcome"], reason, field))
        await work.flush()
        await audit_batch(session, work, actor, sealer, operation=OPERATION)
    return sorted(reports, key=lambda r: r.line)
