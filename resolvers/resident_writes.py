"""住民異動 through the API: one change of the resident register, applied as a feed line is
(persistence/residents.py), and the queue of changes waiting for staff.

The request id is the change's key (``resident_changes.request_id``): the same id and input answer the
same — the person as they now are, or the queued change — whatever happened since; other input under the
id is REQUEST_ID_REUSED.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Final, cast

import strawberry
from sqlalchemy import Table, func, select, update

from persistence.models import ResidentChange as ChangeRow
from persistence.provision_records import digest
from persistence.residents import apply_change, load_residents
from policies.resident_changes import COLUMNS, InvalidChange, parse_change
from schema.conflicts import NotFound, RequestIdReused
from schema.duties import WRITE_RESIDENTS
from schema.errors import BadUserInput
from schema.intake import (
    ReceivedResidentChange,
    ReceivedValue,
    ResidentChangeApplied,
    ResidentChangeInput,
    ResidentChangeQueued,
)
from schema.persons import Person
from schema.writes import InvalidTransition

from .context import Context
from .requests import free_text, object_id, request_id
from .sources import shape_of
from .writing import camel, check_version, input_error, plain, work_for

__all__ = ["close_review", "record_resident_change", "reviews"]

changes_t = cast(Table, ChangeRow.__table__)
OPERATION: Final = "recordResidentChange"
MAX_REVIEWS: Final = 500
LOCK: Final = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
EARLIER: Final = "SELECT * FROM resident_changes WHERE request_id = $1"


def _received(r: Mapping[str, Any]) -> ReceivedResidentChange:
    payload = r["payload"]
    if isinstance(payload, str):  # jsonb through the driver arrives as its text
        payload = json.loads(payload)
    return ReceivedResidentChange(
        id=strawberry.ID(str(r["id"])),
        feed_id=r["feed_id"],
        line_no=r["line_no"],
        request_id=r["request_id"],
        kind=r["kind"],
        moved_on=r["moved_on"],
        addressee_code=r["addressee_code"],
        person_id=strawberry.ID(str(r["person_id"])) if r["person_id"] is not None else None,
        outcome=r["outcome"],
        reason=r["reason"],
        field=camel(r["field"]) if r["field"] and r["request_id"] else r["field"],
        effect=r["effect"],
        note=r["note"],
        values=[ReceivedValue(column=k, value=str(v)) for k, v in sorted(payload.items())],
        received_at=r["received_at"],
        received_by=r["received_by"],
        version=r["version"],
        closed_at=r["closed_at"],
        closed_by=r["closed_by"],
        close_note=r["close_note"],
    )


async def _answer(ctx: Context, row: Any) -> ResidentChangeApplied | ResidentChangeQueued:
    change = _received(row)
    if row["person_id"] is not None:
        ctx.audit.touch(row["person_id"])
    if row["outcome"] == "APPLIED":
        person = await ctx.loaders.person.load(row["person_id"])
        assert person is not None  # a person is never deleted while a change names them (RESTRICT)
        return ResidentChangeApplied(change=change, person=person)
    return ResidentChangeQueued(change=change)


def _raw(data: ResidentChangeInput) -> dict[str, Any]:
    raw = {column: plain(getattr(data, column)) for column, _, _ in COLUMNS}  # snake_case attributes
    return {k: v for k, v in raw.items() if v is not None}


async def record_resident_change(
    ctx: Context, data: ResidentChangeInput
) -> ResidentChangeApplied | ResidentChangeQueued:
    ctx.require(WRITE_RESIDENTS)
    rid = request_id(data.request_id)
    raw = _raw(data)
    for column, value in raw.items():
        if isinstance(value, str) and not value.strip():
            raise BadUserInput(f"`{camel(column)}` is empty", field=f"input.{camel(column)}", reason="EMPTY")
    try:
        change = parse_change(raw)
    except InvalidChange as problem:
        raise input_error(problem) from None
    key = digest({**raw, "version": data.version})
    await ctx.db.fetchval(LOCK, f"RESIDENT_CHANGE:{rid}")  # held to the commit: one at a time per id
    earlier = await ctx.db.fetchrow(EARLIER, rid)
    if earlier is not None:
        if earlier["digest"] != key:
            raise RequestIdReused()
        return await _answer(ctx, earlier)
    residents = await load_residents(ctx.db, codes=[change.addressee_code])
    known = residents.get(change.addressee_code)
    if data.version is not None:
        check_version(known.person["version"] if known is not None else None, data.version)
    work = work_for(ctx, OPERATION, rid)
    outcome = await apply_change(work, residents, change)
    received = {
        "request_id": rid,
        "digest": key,
        "kind": change.kind.name,
        "moved_on": change.moved_on,
        "addressee_code": change.addressee_code,
        "person_id": outcome.person_id,
        "outcome": outcome.outcome,
        "reason": outcome.reason,
        "effect": outcome.effect,
        "note": outcome.note,
        "payload": {k: str(v) for k, v in raw.items()},
        "received_at": dt.datetime.now(dt.UTC),
        "received_by": ctx.principal.subject[:200],
    }
    work.insert("resident_changes", received, person_id=outcome.person_id, kept=False)
    (change_id,) = await work.flush(returning="resident_changes")
    ctx.audit.touch(*work.touched)
    answer = _received(
        {**_UNCLOSED, **received, "id": change_id, "feed_id": None, "line_no": None, "field": None}
    )
    if outcome.outcome != "APPLIED":
        return ResidentChangeQueued(change=answer)
    resident = residents[change.addressee_code]
    if known is None:  # made now: read as a read would answer it (its defaults are the database's)
        person = await ctx.loaders.person.load(resident.person["id"])
        assert person is not None
    else:
        person = ctx.audit.saw(shape_of(Person).build(resident.person))
    return ResidentChangeApplied(change=answer, person=person)


_UNCLOSED: Final = {"version": 1, "closed_at": None, "closed_by": None, "close_note": None}


async def reviews(ctx: Context, first: int, after: str | None) -> list[ReceivedResidentChange]:
    """Queued changes not yet closed, oldest first (keyset on the id)."""
    ctx.require(WRITE_RESIDENTS)
    if not 1 <= first <= MAX_REVIEWS:
        raise BadUserInput(
            f"`first` must be between 1 and {MAX_REVIEWS}", field="first", reason="OUT_OF_RANGE"
        )
    c = changes_t.c
    statement = select(changes_t).where(c.outcome == "QUEUED", c.closed_at.is_(None))
    if after is not None:
        statement = statement.where(c.id > object_id(after, field="after"))
    rows = (await ctx.db.execute(statement.order_by(c.id).limit(first))).all()
    ctx.audit.touch(*(r.person_id for r in rows if r.person_id is not None))
    return [_received(r._mapping) for r in rows]


async def close_review(ctx: Context, change_id: str, version: int, note: str) -> ReceivedResidentChange:
    """Close a queued change once staff dealt with it (applied it corrected, or found nothing to do)."""
    ctx.require(WRITE_RESIDENTS)
    pk = object_id(change_id, field="id")
    text_note = free_text(note, field="note", max_length=2000)
    row = (await ctx.db.execute(select(changes_t).where(changes_t.c.id == pk).with_for_update())).first()
    if row is None:
        raise NotFound("received change", field="id")
    if row.outcome != "QUEUED" or row.closed_at is not None:
        state = "CLOSED" if row.closed_at is not None else row.outcome
        raise InvalidTransition("only an open queued change is closed", state=state, field="id")
    check_version(row.version, version, field="version")
    closed = (
        await ctx.db.execute(
            update(changes_t)
            .where(changes_t.c.id == pk)
            .values(
                closed_at=func.now(),
                closed_by=ctx.principal.subject[:200],
                close_note=text_note,
                version=changes_t.c.version + 1,
            )
            .returning(*changes_t.c)
        )
    ).one()
    if closed.person_id is not None:
        ctx.audit.touch(closed.person_id)
    return _received(closed._mapping)
