"""提供 — answering requests for provision (情報提供), confirming pending ones, and the records.

``provideInformation``: the request is checked (malformed → BAD_USER_INPUT, nothing recorded), locked
on its request id, and either replayed from its record or decided by ``policies.decisions.
decide_provision`` against the entry in force on the request date. Every outcome is recorded in the
same transaction as the information read for it; what was sent is stored with the record.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from sqlalchemy.engine import Row

from persistence import provision_records as records
from persistence.provision_records import RecordedBasis, RequestKey
from policies.decisions import SubjectFacts, decide_provision
from policies.legal_bases import normalise_body
from policies.outcomes import step_reason
from policies.procedures import procedures
from schema.conflicts import ALREADY_CONFIRMED, NOT_PENDING_REVIEW, Conflict, NotFound
from schema.duties import NUMBER_USE, PROVIDE_INFORMATION, REVIEW_PROVISIONS
from schema.errors import BadUserInput
from schema.persons import PageInfo
from schema.provided import ProvidedInformation
from schema.provisions import (
    Denied,
    PendingReview,
    Provided,
    ProvideInformationInput,
    ProvisionRecordConnection,
    ProvisionRecordEdge,
    ReviewedTransfer,
)
from schema.snapshots import from_json, to_json

from .context import Context
from .persons import parse_person_id
from .provided_information import gather
from .records import (
    CITY,
    decode_record_cursor,
    denied_from_row,
    encode_record_cursor,
    pending_from_row,
    provided_from_row,
    record_from_row,
    recorded_basis,
    replayable,
)
from .requests import (
    ADDRESSEE_CODE,
    LINKAGE_CODE,
    actor_of,
    basis_item,
    free_text,
    item_ids,
    object_id,
    permit_number,
    request_id,
)
from .subjects import find_subject
from .transfers import confirm_withheld

__all__ = [
    "DEFAULT_RECORDS_PAGE",
    "MAX_RECORDS_PAGE",
    "confirm_provision",
    "pending_provisions",
    "provide_information",
    "provision_records",
]

ProvisionAnswer = Provided | PendingReview | Denied | ReviewedTransfer

DEFAULT_RECORDS_PAGE: Final = 50
MAX_RECORDS_PAGE: Final = 500
MAX_BODY: Final = 200
MAX_NOTE: Final = 1000


async def answer_of(ctx: Context, row: Row[Any]) -> ProvisionAnswer:
    """The answer a provision record stands for; a pending one answers as its resolution, if any."""
    if row.outcome in ("PROVIDED", "CONFIRMED"):
        return provided_from_row(ctx, row)
    if row.outcome == "PENDING_REVIEW":
        resolution = await records.resolution_of(ctx.db, row.id)
        return await answer_of(ctx, resolution) if resolution is not None else pending_from_row(ctx, row)
    return denied_from_row(ctx, row)


async def _payload(ctx: Context, person_id: int, items: tuple[str, ...]) -> dict[str, Any]:
    information = (await gather(ctx.loaders, [person_id], items, as_of=ctx.today))[person_id]
    snapshot: dict[str, Any] = to_json(information)
    return snapshot


async def provide_information(ctx: Context, data: ProvideInformationInput) -> ProvisionAnswer:
    ctx.require(PROVIDE_INFORMATION)
    rid = request_id(data.request_id)
    permit = permit_number(data.permit_number)
    inquirer = free_text(data.inquirer, field="input.inquirer", max_length=MAX_BODY)
    item = basis_item(data.basis_item)
    items = item_ids(data.items)
    if data.request_date > ctx.today:
        raise BadUserInput("`requestDate` is after today", field="input.requestDate", reason="OUT_OF_RANGE")
    window = procedures().request_date_window_days
    if data.request_date < ctx.today - timedelta(days=window):
        raise BadUserInput(
            f"`requestDate` is more than {window} day(s) before today: the network answers a request when it arrives",
            field="input.requestDate",
            reason="OUT_OF_RANGE",
        )
    linkage, addressee = data.subject.linkage_code, data.subject.addressee_code
    if linkage:
        if LINKAGE_CODE.fullmatch(linkage) is None:
            raise BadUserInput(
                "`linkageCode` must be 1-32 letters and digits",
                field="input.subject.linkageCode",
                reason="FORMAT",
            )
        subject_kind, subject_value = "LINKAGE_CODE", linkage
    elif addressee:
        if ADDRESSEE_CODE.fullmatch(addressee) is None:
            raise BadUserInput(
                "`addresseeCode` must be 10 to 15 digits",
                field="input.subject.addresseeCode",
                reason="FORMAT",
            )
        subject_kind, subject_value = "ADDRESSEE_CODE", addressee
    else:
        raise BadUserInput("give `linkageCode` or `addresseeCode`", field="input.subject", reason="EMPTY")

    scope = f"PROVISION:{rid}"
    request = RequestKey(
        request_id=rid,
        scope=scope,
        key=scope,
        digest=records.digest(
            {
                "permit": permit,
                "inquirer": normalise_body(inquirer),
                "item": item,
                "items": sorted(items),
                "subject": [subject_kind, subject_value],
                "date": data.request_date,
            }
        ),
    )
    existing = await replayable(ctx, request)
    if existing is not None:
        return await answer_of(ctx, existing)

    subject = await (
        find_subject(ctx.db, linkage_code=subject_value)
        if subject_kind == "LINKAGE_CODE"
        else find_subject(ctx.db, addressee_code=subject_value)
    )
    facts = SubjectFacts(
        in_scope=subject is not None and subject.in_scope,
        no_automatic_response=subject is not None and subject.no_automatic_response,
        suspended=subject is not None and subject.suspended,
    )
    decision = decide_provision(item, inquirer, items, data.request_date, facts)
    common: dict[str, Any] = {
        "direction": "PROVISION",
        "code": decision.code,
        "reason": (decision.reason_ja, decision.reason_en),
        "provider": CITY,
        "recipient": inquirer,
        "basis": RecordedBasis(item, decision.basis),
        "items": items,
        "actor": actor_of(ctx.principal),
        "request": request,
        "request_date": data.request_date,
        "permit_number": permit,
        "subject_kind": subject_kind,
        "person_id": subject.id if subject is not None else None,
    }
    if not decision.allowed:
        return denied_from_row(ctx, await records.write(ctx.db, outcome="DENIED", **common))
    if decision.needs_review:  # 自動応答不可: the payload is prepared when a reviewer confirms
        return pending_from_row(ctx, await records.write(ctx.db, outcome="PENDING_REVIEW", **common))
    assert subject is not None  # in scope
    payload = await _payload(ctx, subject.id, items)
    row = await records.write(ctx.db, outcome="PROVIDED", payload=payload, **common)
    return Provided(record=record_from_row(ctx, row), payload=from_json(ProvidedInformation, payload))


async def confirm_provision(ctx: Context, record_id: str, approve: bool, note: str | None) -> ProvisionAnswer:
    """A reviewer sends or refuses a pending provision (or the withheld persons of a transfer page).

    Sending decides again, against the entry in force today and the person as they are today (scope,
    suspension): CONFIRMED with the payload read now, or DENIED with the decision's code (e.g.
    BASIS_NOT_IN_FORCE when the entry ended while the provision waited). Refusing is REFUSED.
    """
    ctx.require(REVIEW_PROVISIONS)
    pk = object_id(record_id, field="recordId")
    text = free_text(note, field="note", max_length=MAX_NOTE, required=False) if note is not None else None
    await records.lock_request(ctx.db, f"CONFIRM:{pk}")
    pending = await records.by_id(ctx.db, pk)
    if pending is None:
        raise NotFound("provision record", field="recordId")
    if pending.outcome != "PENDING_REVIEW" or pending.direction not in ("PROVISION", "TRANSFER"):
        raise Conflict(
            NOT_PENDING_REVIEW, "this record is not a provision waiting for confirmation", field="recordId"
        )
    if await records.resolution_of(ctx.db, pk) is not None:
        raise Conflict(ALREADY_CONFIRMED, "this provision was already confirmed or refused", field="recordId")
    if pending.direction == "TRANSFER":  # a transfer page's persons flagged 自動応答不可
        return await confirm_withheld(ctx, pending, approve, text)

    common: dict[str, Any] = {
        "direction": "PROVISION",
        "provider": pending.provider,
        "recipient": pending.recipient,
        "items": list(pending.items),
        "actor": actor_of(ctx.principal),
        "request_id": pending.request_id,
        "request_date": pending.request_date,
        "permit_number": pending.permit_number,
        "subject_kind": pending.subject_kind,
        "person_id": pending.person_id,
        "resolves_record_id": pk,
        "note": text or None,
    }
    if not approve:
        code = "REFUSED_BY_REVIEWER"
        return denied_from_row(
            ctx,
            await records.write(
                ctx.db,
                outcome="REFUSED",
                code=code,
                reason=step_reason(code, pending.basis_citation),
                basis=recorded_basis(pending),
                **common,
            ),
        )
    subject = await find_subject(ctx.db, person_id=pending.person_id)
    facts = SubjectFacts(
        in_scope=subject is not None and subject.in_scope,
        suspended=subject is not None and subject.suspended,
    )
    decision = decide_provision(pending.basis_item, pending.recipient, pending.items, ctx.today, facts)
    basis = RecordedBasis(pending.basis_item, decision.basis)
    if not decision.allowed:
        return denied_from_row(
            ctx,
            await records.write(
                ctx.db,
                outcome="DENIED",
                code=decision.code,
                reason=(decision.reason_ja, decision.reason_en),
                basis=basis,
                **common,
            ),
        )
    code = "CONFIRMED_BY_REVIEWER"
    payload = await _payload(ctx, pending.person_id, tuple(pending.items))
    row = await records.write(
        ctx.db,
        outcome="CONFIRMED",
        code=code,
        reason=step_reason(code, basis.row.citation if basis.row else None),
        basis=basis,
        payload=payload,
        **common,
    )
    return provided_from_row(ctx, row)


def _page_size(first: int) -> int:
    if not 1 <= first <= MAX_RECORDS_PAGE:
        raise BadUserInput(
            f"`first` must be between 1 and {MAX_RECORDS_PAGE}", field="first", reason="OUT_OF_RANGE"
        )
    return first


def _connection(
    ctx: Context, rows: list[Row[Any]], first: int, after: int | None
) -> ProvisionRecordConnection:
    edges = [
        ProvisionRecordEdge(cursor=encode_record_cursor(r.id), node=record_from_row(ctx, r))
        for r in rows[:first]
    ]
    return ProvisionRecordConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def provision_records(
    ctx: Context, person_id: str, first: int, after: str | None
) -> ProvisionRecordConnection:
    """The records about one person, newest first: the answer to the person's disclosure request."""
    ctx.require(NUMBER_USE)
    pk = parse_person_id(person_id, field="personId")
    size = _page_size(first)
    after_pk = decode_record_cursor(after) if after is not None else None
    rows = list(await records.about_person(ctx.db, pk, first=size, after=after_pk))
    return _connection(ctx, rows, size, after_pk)


async def pending_provisions(ctx: Context, first: int, after: str | None) -> ProvisionRecordConnection:
    """Provisions waiting for a reviewer, oldest first."""
    ctx.require(REVIEW_PROVISIONS)
    size = _page_size(first)
    after_pk = decode_record_cursor(after) if after is not None else None
    rows = list(await records.pending_reviews(ctx.db, first=size, after=after_pk))
    return _connection(ctx, rows, size, after_pk)
