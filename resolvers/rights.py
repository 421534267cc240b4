"""The person's rights (IV-1: 開示・訂正・利用停止, IV-2: 問合せ) and the 自動応答不可 flag.

A request is recorded once (its form number is the idempotency key) with the day it was received and
the day its answer is due (policies/data/procedures.toml); every later step is an append-only event in
the same transaction as what it does: the disclosure produced, the decision, the correction applied
(old and new value), the suspension lifted, the answer. A suspension in force stops provisions and
transfers about the person (``SUBJECT_SUSPENDED``, resolvers/subjects.py).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any, Final, cast

import strawberry
from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Row

from persistence import provision_records as records
from persistence.models import AutomaticResponseFlag as FlagRow
from persistence.models import Person as PersonRow
from persistence.models import SubjectRequest as RequestRow
from persistence.models import SubjectRequestEvent as EventRow
from policies.legal_bases import information_items
from policies.outcomes import RECORD_OUTCOMES
from policies.procedures import due_on, procedures
from schema.conflicts import ALREADY_DECIDED, Conflict, NotFound, RequestIdReused
from schema.duties import DECIDE_SUBJECT_REQUESTS, HANDLE_SUBJECT_REQUESTS, SET_NO_AUTOMATIC_RESPONSE
from schema.errors import BadUserInput
from schema.rights import (
    AutomaticResponseChange,
    CorrectableField,
    Disclosure,
    ReceiveSubjectRequestInput,
    SubjectRequest,
    SubjectRequestEvent,
    SubjectRequestEventKind,
    SubjectRequestKind,
)
from schema.snapshots import to_json

from .context import Context
from .disclosure_pdf import render_disclosure
from .persons import parse_person_id
from .provided_information import gather
from .records import record_from_row
from .requests import free_text, object_id, request_id

__all__ = [
    "answer_subject_request",
    "decide_subject_request",
    "disclose",
    "lift_suspension",
    "receive_subject_request",
    "set_no_automatic_response",
    "subject_requests",
]

requests_t = cast(Table, RequestRow.__table__)
events_t = cast(Table, EventRow.__table__)
flags_t = cast(Table, FlagRow.__table__)
persons_t = cast(Table, PersonRow.__table__)
MAX_TEXT: Final = 2000
MAX_DISCLOSED_RECORDS: Final = 10_000
DIRECTION_JA: Final = {"PROVISION": "情報提供", "TRANSFER": "移転", "INQUIRY": "情報照会"}


async def _person_exists(ctx: Context, pk: int, field: str) -> None:
    if (await ctx.db.execute(select(persons_t.c.id).where(persons_t.c.id == pk))).first() is None:
        raise NotFound("person", field=field)


async def _events(ctx: Context, request_pks: Sequence[int]) -> dict[int, list[Row[Any]]]:
    rows = (
        await ctx.db.execute(
            select(events_t)
            .where(events_t.c.subject_request_id.in_(request_pks))
            .order_by(events_t.c.subject_request_id, events_t.c.id)
        )
    ).all()
    out: dict[int, list[Row[Any]]] = {pk: [] for pk in request_pks}
    for r in rows:
        out[r.subject_request_id].append(r)
    return out


def _request_from(r: Row[Any], events: list[Row[Any]]) -> SubjectRequest:
    kinds = [e.event for e in events]
    return SubjectRequest(
        id=strawberry.ID(str(r.id)),
        request_id=r.request_id,
        kind=SubjectRequestKind(r.kind),
        person_id=strawberry.ID(str(r.person_id)),
        received_on=r.received_on,
        due_on=r.due_on,
        received_by=r.received_by,
        summary=r.summary,
        correction_field=CorrectableField(r.correction_field) if r.correction_field else None,
        correction_value=r.correction_value,
        status=SubjectRequestEventKind(kinds[-1]),
        suspension_in_force=r.kind == "SUSPENSION" and "APPROVED" in kinds and "LIFTED" not in kinds,
        events=[
            SubjectRequestEvent(
                event=SubjectRequestEventKind(e.event),
                occurred_on=e.occurred_on,
                occurred_at=e.occurred_at,
                actor=e.actor,
                note=e.note,
                old_value=e.old_value,
                new_value=e.new_value,
            )
            for e in events
        ],
    )


async def _load(ctx: Context, pk: int, *, for_update: bool = False) -> tuple[Row[Any], list[Row[Any]]]:
    statement = select(requests_t).where(requests_t.c.id == pk)
    if for_update:
        statement = statement.with_for_update()
    row = (await ctx.db.execute(statement)).first()
    if row is None:
        raise NotFound("subject request", field="id")
    return row, (await _events(ctx, [pk]))[pk]


async def _event(ctx: Context, request_pk: int, event: str, **values: Any) -> None:
    await ctx.db.execute(
        insert(events_t).values(
            subject_request_id=request_pk,
            event=event,
            occurred_on=ctx.today,
            actor=ctx.principal.subject[:200],
            actor_roles=sorted(ctx.principal.roles),
            **values,
        )
    )


async def _answer(ctx: Context, pk: int) -> SubjectRequest:
    row, events = await _load(ctx, pk)
    ctx.audit.touch(row.person_id)
    return _request_from(row, events)


async def receive_subject_request(ctx: Context, data: ReceiveSubjectRequestInput) -> SubjectRequest:
    """Record a request received on the form (or an inquiry), with the day its time limit runs from."""
    ctx.require(HANDLE_SUBJECT_REQUESTS)
    rid = request_id(data.request_id)
    person = parse_person_id(data.person_id, field="input.personId")
    summary = free_text(data.summary, field="input.summary", max_length=MAX_TEXT)
    kind = data.kind.value
    if data.received_on > ctx.today:
        raise BadUserInput("`receivedOn` is after today", field="input.receivedOn", reason="OUT_OF_RANGE")
    field_name = value = None
    if (kind == "CORRECTION") != (data.correction is not None):
        raise BadUserInput(
            "`correction` is given with a CORRECTION request, and only then",
            field="input.correction",
            reason="FORMAT",
        )
    if data.correction is not None:
        field_name = data.correction.field.value
        value = free_text(data.correction.value, field="input.correction.value", max_length=200)
        if re.fullmatch(procedures().correctable[field_name].pattern, value) is None:
            raise BadUserInput(
                f"`value` is not a valid {procedures().correctable[field_name].ja}",
                field="input.correction.value",
                reason="FORMAT",
            )
    await records.lock_request(ctx.db, f"SUBJECT_REQUEST:{rid}")
    wanted = {
        "kind": kind,
        "person_id": person,
        "received_on": data.received_on,
        "summary": summary,
        "correction_field": field_name,
        "correction_value": value,
    }
    existing = (await ctx.db.execute(select(requests_t).where(requests_t.c.request_id == rid))).first()
    if existing is not None:
        if any(getattr(existing, k) != v for k, v in wanted.items()):
            raise RequestIdReused()
        return await _answer(ctx, existing.id)
    await _person_exists(ctx, person, "input.personId")
    pk = (
        await ctx.db.execute(
            insert(requests_t)
            .values(
                request_id=rid,
                due_on=due_on(kind, data.received_on),
                received_by=ctx.principal.subject[:200],
                **wanted,
            )
            .returning(requests_t.c.id)
        )
    ).scalar_one()
    await _event(ctx, pk, "RECEIVED")
    return await _answer(ctx, pk)


def _not_open(events: list[Row[Any]], *done: str) -> bool:
    return any(e.event in done for e in events)


async def decide_subject_request(
    ctx: Context, request_pk: str, approve: bool, reason: str | None
) -> SubjectRequest:
    """The chief decides a correction (applied at once, old and new value kept) or a suspension."""
    ctx.require(DECIDE_SUBJECT_REQUESTS)
    pk = object_id(request_pk, field="id")
    note = free_text(reason, field="reason", max_length=MAX_TEXT, required=False) if reason else None
    row, events = await _load(ctx, pk, for_update=True)
    if row.kind not in ("CORRECTION", "SUSPENSION"):
        raise Conflict(ALREADY_DECIDED, "only correction and suspension requests are decided", field="id")
    if _not_open(events, "APPROVED", "REJECTED"):
        raise Conflict(ALREADY_DECIDED, "this request was already decided", field="id")
    await _event(ctx, pk, "APPROVED" if approve else "REJECTED", note=note)
    if approve and row.kind == "CORRECTION":
        column = procedures().correctable[row.correction_field].column
        old = (
            await ctx.db.execute(select(persons_t.c[column]).where(persons_t.c.id == row.person_id))
        ).scalar_one()
        await ctx.db.execute(
            update(persons_t).where(persons_t.c.id == row.person_id).values({column: row.correction_value})
        )
        await _event(ctx, pk, "APPLIED", old_value=old, new_value=row.correction_value)
    return await _answer(ctx, pk)


async def lift_suspension(ctx: Context, request_pk: str, reason: str | None) -> SubjectRequest:
    """End a suspension in force (the person withdrew it, or its ground ended)."""
    ctx.require(DECIDE_SUBJECT_REQUESTS)
    pk = object_id(request_pk, field="id")
    note = free_text(reason, field="reason", max_length=MAX_TEXT, required=False) if reason else None
    row, events = await _load(ctx, pk, for_update=True)
    kinds = {e.event for e in events}
    if row.kind != "SUSPENSION" or "APPROVED" not in kinds or "LIFTED" in kinds:
        raise Conflict(ALREADY_DECIDED, "no suspension of this request is in force", field="id")
    await _event(ctx, pk, "LIFTED", note=note)
    return await _answer(ctx, pk)


async def answer_subject_request(ctx: Context, request_pk: str, answer: str) -> SubjectRequest:
    """Record the answer to a person's inquiry (IV-2 「対応について記録を残す」), once."""
    ctx.require(HANDLE_SUBJECT_REQUESTS)
    pk = object_id(request_pk, field="id")
    text = free_text(answer, field="answer", max_length=MAX_TEXT)
    row, events = await _load(ctx, pk, for_update=True)
    if row.kind != "INQUIRY" or _not_open(events, "ANSWERED"):
        raise Conflict(ALREADY_DECIDED, "only an unanswered inquiry is answered", field="id")
    await _event(ctx, pk, "ANSWERED", note=text)
    return await _answer(ctx, pk)


async def subject_requests(ctx: Context, person_id: str) -> list[SubjectRequest]:
    """A person's requests, newest first."""
    ctx.require(HANDLE_SUBJECT_REQUESTS)
    person = parse_person_id(person_id, field="personId")
    rows = (
        await ctx.db.execute(
            select(requests_t).where(requests_t.c.person_id == person).order_by(requests_t.c.id.desc())
        )
    ).all()
    events = await _events(ctx, [r.id for r in rows])
    ctx.audit.touch(person)
    return [_request_from(r, events[r.id]) for r in rows]


# --- disclosure (開示) ------------------------------------------------------------------------------

_PERSON_COLUMNS: Final = (
    "addressee_code",
    "name",
    "name_kana",
    "alias_name",
    "birth_date",
    "sex",
    "address",
    "address_building",
    "postal_code",
    "household_code",
    "phone",
    "no_automatic_response",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


async def _document(ctx: Context, row: Row[Any], record_rows: Sequence[Row[Any]]) -> dict[str, Any]:
    person = (
        await ctx.db.execute(
            select(*(persons_t.c[c] for c in _PERSON_COLUMNS), persons_t.c.individual_number_enc).where(
                persons_t.c.id == row.person_id
            )
        )
    ).one()
    items = [i for i, item in information_items().items() if item.ltci]
    information = (await gather(ctx.loaders, [row.person_id], items, as_of=ctx.today))[row.person_id]
    held = {_camel(c): getattr(person, c) for c in _PERSON_COLUMNS}
    held["birthDate"] = person.birth_date.isoformat()
    held["individualNumberHeld"] = person.individual_number_enc is not None
    return {
        "requestId": row.request_id,
        "receivedOn": row.received_on.isoformat(),
        "disclosedOn": ctx.today.isoformat(),
        "discloser": "倉敷市長（介護保険課）",
        "note": (
            "番号法第30条により読み替えて適用する個人情報の保護に関する法律に基づく開示です。"
            "個人番号は本書に記載しません（保有の有無のみ）。情報提供等記録は7年間保存されます。"
        ),
        "person": held,
        "information": to_json(information),
        "provisionRecords": [
            {
                "id": str(r.id),
                "recordedAt": r.recorded_at.isoformat(),
                "direction": r.direction,
                "directionJa": DIRECTION_JA[r.direction],
                "outcome": r.outcome,
                "outcomeJa": RECORD_OUTCOMES[r.outcome][0],
                "code": r.code,
                "provider": r.provider,
                "recipient": r.recipient,
                "requestId": r.request_id,
                "basisItem": r.basis_item,
                "citation": r.basis_citation,
                "items": list(r.items),
                "requestDate": r.request_date.isoformat() if r.request_date else None,
            }
            for r in record_rows
        ],
    }


async def disclose(ctx: Context, request_pk: str) -> Disclosure:
    """Produce the disclosure of a DISCLOSURE request (JSON and PDF) and record it, with what was disclosed."""
    ctx.require(HANDLE_SUBJECT_REQUESTS)
    pk = object_id(request_pk, field="id")
    row, events = await _load(ctx, pk, for_update=True)
    if row.kind != "DISCLOSURE" or _not_open(events, "DISCLOSED"):
        raise Conflict(ALREADY_DECIDED, "only an undisclosed disclosure request is disclosed", field="id")
    record_rows = await records.about_person(ctx.db, row.person_id, first=MAX_DISCLOSED_RECORDS, after=None)
    document = await _document(ctx, row, record_rows[:MAX_DISCLOSED_RECORDS])
    await _event(ctx, pk, "DISCLOSED", document=document)
    return Disclosure(
        request=await _answer(ctx, pk),
        disclosed_on=ctx.today,
        document=json.dumps(document, ensure_ascii=False, sort_keys=True),
        pdf=base64.b64encode(render_disclosure(document)).decode("ascii"),
        records=[record_from_row(ctx, r) for r in record_rows[:MAX_DISCLOSED_RECORDS]],
    )


# --- the 自動応答不可 flag ----------------------------------------------------------------------------


async def set_no_automatic_response(
    ctx: Context, person_id: str, on: bool, reason: str
) -> AutomaticResponseChange:
    """Set or clear a person's flag; the change is recorded with who and why (III-6 リスク2 ③)."""
    ctx.require(SET_NO_AUTOMATIC_RESPONSE)
    person = parse_person_id(person_id, field="personId")
    why = free_text(reason, field="reason", max_length=MAX_TEXT)
    current = (
        await ctx.db.execute(
            select(persons_t.c.no_automatic_response).where(persons_t.c.id == person).with_for_update()
        )
    ).first()
    if current is None:
        raise NotFound("person", field="personId")
    if current.no_automatic_response == on:
        raise Conflict(ALREADY_DECIDED, "the flag is already in this state", field="on")
    await ctx.db.execute(update(persons_t).where(persons_t.c.id == person).values(no_automatic_response=on))
    change = (
        await ctx.db.execute(
            insert(flags_t)
            .values(
                person_id=person,
                flag=on,
                reason=why,
                set_by=ctx.principal.subject[:200],
                set_roles=sorted(ctx.principal.roles),
            )
            .returning(*flags_t.c)
        )
    ).one()
    ctx.audit.touch(person)
    return AutomaticResponseChange(
        id=strawberry.ID(str(change.id)),
        person_id=strawberry.ID(str(person)),
        flag=change.flag,
        reason=change.reason,
        set_by=change.set_by,
        set_at=change.set_at,
    )
