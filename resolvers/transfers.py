"""移転 — applications (利用申請), the section's judgement, and transfers page by page (III-5).

The department is always the token's (``principal.department``), never an argument. A transfer page
is keyset-paged on the person id over the in-scope persons, so a whole-city transfer (the disaster
victims' ledger, 56の2) streams in pages of at most 1000; each page leaves one TRANSFERRED record with
the ids of its persons (an array column), which is what a person's disclosure request finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import strawberry
from sqlalchemy import Table, and_, func, insert, select, update
from sqlalchemy.engine import Row

from persistence import provision_records as records
from persistence.models import TransferPermission as PermissionRow
from persistence.provision_records import RecordedBasis, RequestKey
from persistence.provision_records import records as records_t
from policies.decisions import (
    SubjectFacts,
    TransferPermissionFacts,
    decide_transfer,
    decide_transfer_request,
    decide_transferred_person,
)
from policies.outcomes import step_reason
from policies.outcomes import step_reason as _step_reason
from policies.roles import department as department_of
from schema.conflicts import ALREADY_DECIDED, Conflict, NotFound
from schema.duties import RECEIVE_TRANSFER, REQUEST_TRANSFER, REVIEW_PROVISIONS
from schema.errors import BadUserInput, Forbidden
from schema.legal_bases import LegalBasis, LocalizedText, information_item
from schema.persons import PageInfo, PersonFilter
from schema.provided import ProvidedInformation
from schema.provisions import Denied, ReviewedTransfer, TransferredPerson
from schema.snapshots import from_json, to_json
from schema.transfers import (
    MAX_TRANSFER_PAGE,
    RequestTransferPermissionInput,
    TransferInformationInput,
    TransferPage,
    TransferPermission,
    TransferPermissionDecision,
    TransferPermissionRequested,
    TransferPermissionStatus,
)

from .context import Context
from .persons import Literals, decode_cursor, encode_cursor, filter_query, person_conditions
from .provided_information import gather
from .records import LTCI_SECTION, denied_from_row, record_from_row, recorded_basis, replayable
from .requests import ADDRESSEE_CODE, actor_of, basis_item, free_text, item_ids, object_id, request_id
from .subjects import in_scope, persons, suspended

__all__ = [
    "confirm_withheld",
    "decide_transfer_permission",
    "request_transfer_permission",
    "reviewed_transfers",
    "transfer_information",
    "transfer_permissions",
]

permissions = cast(Table, PermissionRow.__table__)
MAX_PURPOSE: Final = 500
MAX_REASON: Final = 1000

TransferApplicationAnswer = TransferPermissionRequested | Denied
TransferAnswer = TransferPage | Denied


def _department(ctx: Context) -> str:
    """The token's department (a receiving department's duties exist only with one)."""
    dept = ctx.principal.department
    if dept is None:
        raise Forbidden(REQUEST_TRANSFER)
    return dept


def _department_name(dept_id: str) -> str:
    found = department_of(dept_id)
    return found.ja if found is not None else dept_id


def permission_from_row(r: Row[Any]) -> TransferPermission:
    return TransferPermission(
        id=strawberry.ID(str(r.id)),
        department=r.department,
        department_name=_department_name(r.department),
        basis_item=r.basis_item,
        basis=LegalBasis.by_id(r.basis_id),
        items=[information_item(i) for i in r.items],
        purpose=r.purpose,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        status=TransferPermissionStatus(r.status),
        request_id=r.request_id,
        requested_at=r.requested_at,
        requested_by=r.requested_by,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        decision_reason=r.decision_reason,
    )


async def _permission(ctx: Context, pk: int, *, for_update: bool = False) -> Row[Any] | None:
    statement = select(permissions).where(permissions.c.id == pk)
    if for_update:
        statement = statement.with_for_update()
    row: Row[Any] | None = (await ctx.db.execute(statement)).first()
    return row


# --- the application (利用申請) -----------------------------------------------------------------


async def request_transfer_permission(
    ctx: Context, data: RequestTransferPermissionInput
) -> TransferApplicationAnswer:
    ctx.require(REQUEST_TRANSFER)
    dept = _department(ctx)
    rid = request_id(data.request_id)
    item = basis_item(data.basis_item)
    items = item_ids(data.items)
    purpose = free_text(data.purpose, field="input.purpose", max_length=MAX_PURPOSE)
    scope = f"TRANSFER_APPLICATION:{dept}:{rid}"
    request = RequestKey(
        request_id=rid,
        scope=scope,
        key=scope,
        digest=records.digest(
            {
                "item": item,
                "items": sorted(items),
                "purpose": purpose,
                "from": data.valid_from,
                "to": data.valid_to,
            }
        ),
    )
    existing = await replayable(ctx, request)
    if existing is not None:
        if existing.outcome == "DENIED":
            return denied_from_row(ctx, existing)
        permission = await _permission(ctx, existing.permission_id)
        assert permission is not None
        return TransferPermissionRequested(
            permission=permission_from_row(permission),
            record=record_from_row(ctx, existing),
            reason=LocalizedText(ja=existing.reason_ja, en=existing.reason_en),
        )

    decision = decide_transfer_request(
        dept, item, items, valid_from=data.valid_from, valid_to=data.valid_to, on=ctx.today, purpose=purpose
    )
    common: dict[str, Any] = {
        "direction": "TRANSFER",
        "code": decision.code,
        "reason": (decision.reason_ja, decision.reason_en),
        "provider": LTCI_SECTION,
        "recipient": _department_name(dept),
        "basis": RecordedBasis(item, decision.basis),
        "items": items,
        "actor": actor_of(ctx.principal),
        "request": request,
        "request_date": ctx.today,
    }
    if not decision.allowed:
        return denied_from_row(ctx, await records.write(ctx.db, outcome="DENIED", **common))
    assert decision.basis is not None
    permission = (
        await ctx.db.execute(
            insert(permissions)
            .values(
                department=dept,
                basis_item=item,
                basis_id=decision.basis.id,
                items=list(items),
                purpose=purpose,
                valid_from=data.valid_from,
                valid_to=data.valid_to,
                status="REQUESTED",
                request_id=rid,
                requested_by=ctx.principal.subject[:200],
            )
            .returning(*permissions.c)
        )
    ).one()
    row = await records.write(ctx.db, outcome="PERMISSION_REQUESTED", permission_id=permission.id, **common)
    return TransferPermissionRequested(
        permission=permission_from_row(permission),
        record=record_from_row(ctx, row),
        reason=LocalizedText(ja=decision.reason_ja, en=decision.reason_en),
    )


async def decide_transfer_permission(
    ctx: Context, permission_id: str, approve: bool, reason: str | None
) -> TransferPermissionDecision:
    """The section chief approves or rejects an application, once (III-5)."""
    ctx.require(REVIEW_PROVISIONS)
    pk = object_id(permission_id, field="id")
    text = (
        free_text(reason, field="reason", max_length=MAX_REASON, required=False)
        if reason is not None
        else None
    )
    current = await _permission(ctx, pk, for_update=True)
    if current is None:
        raise NotFound("transfer permission", field="id")
    if current.status != "REQUESTED":
        raise Conflict(ALREADY_DECIDED, "this application was already decided", field="id")
    status = "APPROVED" if approve else "REJECTED"
    decided = (
        await ctx.db.execute(
            update(permissions)
            .where(permissions.c.id == pk)
            .values(
                status=status,
                decided_at=func.now(),
                decided_by=ctx.principal.subject[:200],
                decision_reason=text or None,
            )
            .returning(*permissions.c)
        )
    ).one()
    code = f"PERMISSION_{status}"
    basis = recorded_basis(current)
    row = await records.write(
        ctx.db,
        direction="TRANSFER",
        outcome=code,
        code=code,
        reason=step_reason(code, basis.row.citation if basis.row else None),
        provider=LTCI_SECTION,
        recipient=_department_name(current.department),
        basis=basis,
        items=list(current.items),
        actor=actor_of(ctx.principal),
        request_id=current.request_id,
        request_date=ctx.today,
        permission_id=pk,
        note=text or None,
    )
    return TransferPermissionDecision(
        permission=permission_from_row(decided), record=record_from_row(ctx, row)
    )


async def transfer_permissions(
    ctx: Context, status: TransferPermissionStatus | None, *, own_department: bool
) -> list[TransferPermission]:
    """Applications, newest first: every department's (reviewers) or the token's own (departments)."""
    statement = select(permissions).order_by(permissions.c.id.desc())
    if own_department:
        ctx.require(REQUEST_TRANSFER)
        statement = statement.where(permissions.c.department == _department(ctx))
    else:
        ctx.require(REVIEW_PROVISIONS)
    if status is not None:
        statement = statement.where(permissions.c.status == status.value)
    return [permission_from_row(r) for r in (await ctx.db.execute(statement)).all()]


# --- the transfer, page by page -----------------------------------------------------------------


def _subjects(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if len(values) > MAX_TRANSFER_PAGE:
        raise BadUserInput(
            f"at most {MAX_TRANSFER_PAGE} subjects", field="input.subjects", reason="OUT_OF_RANGE"
        )
    for value in values:
        if ADDRESSEE_CODE.fullmatch(value) is None:
            raise BadUserInput(
                "every subject is an addressee code of 10 to 15 digits",
                field="input.subjects",
                reason="FORMAT",
            )
    return tuple(sorted(set(values)))


def _candidates(
    ctx: Context, data: TransferInformationInput, subjects: tuple[str, ...] | None
) -> tuple[Any, ...]:
    """SQL conditions on persons: in scope, and the listed subjects or the filter."""
    p = persons.c
    conditions: list[Any] = [in_scope()]
    if subjects is not None:
        conditions.append(p.addressee_code.in_(subjects))
    elif data.filter_ is not None:
        wanted = PersonFilter(
            care_level=data.filter_.care_level, insured_category=data.filter_.insured_category
        )
        query = filter_query(wanted)
        conditions.extend(person_conditions(query.shape, Literals(query, ctx.today)))
    return tuple(conditions)


async def _page_persons(
    ctx: Context, conditions: tuple[Any, ...], *, after: int, first: int
) -> Sequence[Row[Any]]:
    p = persons.c
    statement = (
        select(p.id, p.addressee_code).where(*conditions, p.id > after).order_by(p.id).limit(first + 1)
    )
    rows: Sequence[Row[Any]] = (await ctx.db.execute(statement)).all()
    return rows


async def _unmatched(
    ctx: Context, conditions: tuple[Any, ...], subjects: tuple[str, ...] | None
) -> list[str]:
    if subjects is None:
        return []
    p = persons.c
    found = {
        r.addressee_code for r in (await ctx.db.execute(select(p.addressee_code).where(*conditions))).all()
    }
    return [s for s in subjects if s not in found]


async def _page(
    ctx: Context,
    record: Row[Any],
    persons_of_page: Sequence[tuple[int, str]],
    items: Sequence[str],
    *,
    has_next: bool,
    after: str | None,
    unmatched: list[str],
    held_back: Sequence[Row[Any]] = (),
) -> TransferPage:
    ids = [pid for pid, _ in persons_of_page]
    ctx.audit.know(persons_of_page)  # the page's persons are recorded by code: their ids are here
    if ctx.planned_information:
        # one statement builds what is sent of each person, in this transaction (resolvers/planner/payloads.py)
        ctx.transferred = (ids, list(items))
        if ctx.on_transferred is not None:
            ctx.on_transferred(ids, list(items))
        information: dict[int, Any] = dict.fromkeys(ids)
    else:
        information = await gather(ctx.loaders, ids, items, as_of=ctx.today)
    transferred = [
        TransferredPerson(addressee_code=code, information=information[pid]) for pid, code in persons_of_page
    ]
    return TransferPage(
        record=record_from_row(ctx, record),
        persons=transferred,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=encode_cursor(persons_of_page[0][0]) if persons_of_page else None,
            end_cursor=encode_cursor(persons_of_page[-1][0]) if persons_of_page else None,
        ),
        unmatched_subjects=unmatched,
        held_back=[record_from_row(ctx, r) for r in held_back],
    )


def _eligible() -> tuple[Any, ...]:
    """SQL: neither flagged 自動応答不可 nor under a suspension: transferred without review."""
    return (persons.c.no_automatic_response.is_(False), ~suspended())


async def _held_back_ids(
    ctx: Context, conditions: tuple[Any, ...], *, after: int, upto: int | None
) -> list[tuple[int, bool, bool]]:
    """(person id, flagged, suspended) of the in-scope persons of a page's range not transferred at once."""
    p = persons.c
    statement = select(p.id, p.no_automatic_response, suspended().label("suspended")).where(
        *conditions, p.id > after, ~and_(*_eligible())
    )
    if upto is not None:
        statement = statement.where(p.id <= upto)
    return [(r.id, r.no_automatic_response, r.suspended) for r in (await ctx.db.execute(statement)).all()]


async def _held_back_records(ctx: Context, permission_pk: int, rid: str, start: int) -> Sequence[Row[Any]]:
    c = records_t.c
    rows: Sequence[Row[Any]] = (
        await ctx.db.execute(
            select(records_t)
            .where(
                c.permission_id == permission_pk,
                c.request_id == rid,
                c.page_after == start,
                c.request_key.is_(None),
                c.code.in_(("PENDING_REVIEW", "SUBJECT_SUSPENDED")),
            )
            .order_by(c.id)
        )
    ).all()
    return rows


async def _used_by_other_request(ctx: Context, permission_pk: int, scope: str) -> bool:
    c = records_t.c
    other = await ctx.db.execute(
        select(c.id)
        .where(c.permission_id == permission_pk, c.outcome == "TRANSFERRED", c.request_scope != scope)
        .limit(1)
    )
    return other.first() is not None


async def transfer_information(ctx: Context, data: TransferInformationInput) -> TransferAnswer:
    ctx.require(RECEIVE_TRANSFER)
    dept = _department(ctx)
    rid = request_id(data.request_id)
    permission_pk = object_id(data.permission_id, field="input.permissionId")
    items = item_ids(data.items)
    subjects = _subjects(data.subjects)
    if subjects is not None and data.filter_ is not None:
        raise BadUserInput("give `subjects` or `filter`, not both", field="input.filter", reason="FORMAT")
    if not 1 <= data.first <= MAX_TRANSFER_PAGE:
        raise BadUserInput(
            f"`first` must be between 1 and {MAX_TRANSFER_PAGE}", field="input.first", reason="OUT_OF_RANGE"
        )
    after_pk = decode_cursor(data.after, field="input.after") if data.after is not None else None
    start = after_pk or 0
    f = data.filter_
    scope = f"TRANSFER:{dept}:{rid}"
    request = RequestKey(
        request_id=rid,
        scope=scope,
        key=f"{scope}:{start}",
        digest=records.digest(
            {
                "permission": permission_pk,
                "items": sorted(items),
                "subjects": list(subjects) if subjects is not None else None,
                "care_level": f.care_level.code if f is not None and f.care_level is not None else None,
                "category": f.insured_category.code
                if f is not None and f.insured_category is not None
                else None,
                "first": data.first,
            }
        ),
    )
    replay = await replayable(ctx, request)
    conditions = _candidates(ctx, data, subjects)
    if replay is not None:
        if replay.outcome == "DENIED":
            return denied_from_row(ctx, replay)
        codes = dict(
            (
                await ctx.db.execute(
                    select(persons.c.id, persons.c.addressee_code).where(persons.c.id.in_(replay.person_ids))
                )
            ).all()
        )
        page = [(pid, codes[pid]) for pid in replay.person_ids]
        more = await _page_persons(ctx, conditions, after=replay.page_last or start, first=0)
        return await _page(
            ctx,
            replay,
            page,
            replay.items,
            has_next=bool(more),
            after=data.after,
            unmatched=await _unmatched(ctx, conditions, subjects),
            held_back=await _held_back_records(ctx, permission_pk, rid, start),
        )

    permission = await _permission(ctx, permission_pk)
    if permission is None:
        raise NotFound("transfer permission", field="input.permissionId")
    facts = TransferPermissionFacts(
        department=permission.department,
        item=permission.basis_item,
        items=frozenset(permission.items),
        valid_from=permission.valid_from,
        valid_to=permission.valid_to,
        approved=permission.status == "APPROVED",
        used_by_other_request=await _used_by_other_request(ctx, permission_pk, scope),
    )
    decision = decide_transfer(facts, dept, items, ctx.today)
    common: dict[str, Any] = {
        "direction": "TRANSFER",
        "code": decision.code,
        "reason": (decision.reason_ja, decision.reason_en),
        "provider": LTCI_SECTION,
        "recipient": _department_name(dept),
        "basis": RecordedBasis(permission.basis_item, decision.basis),
        "items": items,
        "actor": actor_of(ctx.principal),
        "request": request,
        "request_date": ctx.today,
        "permission_id": permission_pk,
        "page_after": start,
    }
    if not decision.allowed:
        return denied_from_row(ctx, await records.write(ctx.db, outcome="DENIED", **common))
    rows = await _page_persons(ctx, (*conditions, *_eligible()), after=start, first=data.first)
    page = [(r.id, r.addressee_code) for r in rows[: data.first]]
    has_next = len(rows) > data.first
    record = await records.write(
        ctx.db,
        outcome="TRANSFERRED",
        person_ids=[pid for pid, _ in page],
        person_count=len(page),
        page_last=page[-1][0] if page else None,
        **common,
    )
    held = await _held_back_ids(ctx, conditions, after=start, upto=page[-1][0] if has_next else None)
    held_rows = []
    for flagged_only in (False, True):  # suspended first: a suspension wins over the flag
        ids = [pid for pid, flagged, off in held if (not off and flagged) == flagged_only]
        if not ids:
            continue
        one = decide_transferred_person(
            decision,
            SubjectFacts(in_scope=True, no_automatic_response=flagged_only, suspended=not flagged_only),
        )
        held_rows.append(
            await records.write(
                ctx.db,
                **{
                    **common,
                    "request": None,
                    "request_id": rid,
                    "code": one.code,
                    "reason": (one.reason_ja, one.reason_en),
                },
                outcome="PENDING_REVIEW" if one.needs_review else "DENIED",
                person_ids=ids,
                person_count=len(ids),
            )
        )
    return await _page(
        ctx,
        record,
        page,
        items,
        has_next=has_next,
        after=data.after,
        unmatched=await _unmatched(ctx, conditions, subjects),
        held_back=held_rows,
    )


async def confirm_withheld(
    ctx: Context, pending: Row[Any], approve: bool, note: str | None
) -> ReviewedTransfer | Denied:
    """The chief confirms (decided again today; delivered through `reviewedTransfers`) or refuses the
    flagged persons a transfer page withheld. Those under a suspension by then are DENIED
    SUBJECT_SUSPENDED (a record of their own; the answer when nobody is left to send)."""
    common: dict[str, Any] = {
        "direction": "TRANSFER",
        "provider": pending.provider,
        "recipient": pending.recipient,
        "items": list(pending.items),
        "actor": actor_of(ctx.principal),
        "request_id": pending.request_id,
        "request_date": ctx.today,
        "permission_id": pending.permission_id,
        "page_after": pending.page_after,
        "resolves_record_id": pending.id,
        "note": note or None,
    }
    if not approve:
        code = "REFUSED_BY_REVIEWER"
        row = await records.write(
            ctx.db,
            outcome="REFUSED",
            code=code,
            reason=_step_reason(code, pending.basis_citation),
            basis=recorded_basis(pending),
            **common,
        )
        return denied_from_row(ctx, row)
    permission = await _permission(ctx, pending.permission_id)
    assert permission is not None
    facts = TransferPermissionFacts(
        department=permission.department,
        item=permission.basis_item,
        items=frozenset(permission.items),
        valid_from=permission.valid_from,
        valid_to=permission.valid_to,
        approved=permission.status == "APPROVED",
    )
    decision = decide_transfer(facts, permission.department, pending.items, ctx.today)
    basis = RecordedBasis(permission.basis_item, decision.basis)
    if not decision.allowed:
        row = await records.write(
            ctx.db,
            outcome="DENIED",
            code=decision.code,
            reason=(decision.reason_ja, decision.reason_en),
            basis=basis,
            **common,
        )
        return denied_from_row(ctx, row)
    p = persons.c
    withheld = (
        await ctx.db.execute(
            select(p.id, p.addressee_code, suspended().label("suspended"))
            .where(p.id.in_(pending.person_ids))
            .order_by(p.id)
        )
    ).all()
    found = [r for r in withheld if not r.suspended]
    stopped = [r.id for r in withheld if r.suspended]
    if stopped:  # suspended (利用停止) while waiting for review: denied and recorded as such, never sent
        one = decide_transferred_person(decision, SubjectFacts(in_scope=True, suspended=True))
        row = await records.write(
            ctx.db,
            **{
                **common,
                # it resolves the pending record only when no one is sent; not a page's held-back row
                "resolves_record_id": None if found else pending.id,
                "page_after": None,
            },
            outcome="DENIED",
            code=one.code,
            reason=(one.reason_ja, one.reason_en),
            basis=basis,
            person_ids=stopped,
            person_count=len(stopped),
        )
        if not found:
            return denied_from_row(ctx, row)
    information = await gather(ctx.loaders, [r.id for r in found], pending.items, as_of=ctx.today)
    payload = {
        "persons": [
            {"addresseeCode": r.addressee_code, "information": to_json(information[r.id])} for r in found
        ]
    }
    code = "CONFIRMED_BY_REVIEWER"
    row = await records.write(
        ctx.db,
        outcome="CONFIRMED",
        code=code,
        reason=_step_reason(code, basis.row.citation if basis.row else None),
        basis=basis,
        payload=payload,
        person_ids=[r.id for r in found],
        person_count=len(found),
        **common,
    )
    return _reviewed(ctx, row)


def _reviewed(ctx: Context, row: Row[Any]) -> ReviewedTransfer:
    return ReviewedTransfer(
        record=record_from_row(ctx, row),
        persons=[
            TransferredPerson(
                addressee_code=person["addresseeCode"],
                information=from_json(ProvidedInformation, person["information"]),
            )
            for person in row.payload["persons"]
        ],
    )


async def reviewed_transfers(ctx: Context, permission_id: str) -> list[ReviewedTransfer]:
    """The withheld persons of the department's transfers that the chief confirmed, oldest first."""
    ctx.require(RECEIVE_TRANSFER)
    dept = _department(ctx)
    pk = object_id(permission_id, field="permissionId")
    permission = await _permission(ctx, pk)
    if permission is None or permission.department != dept:
        raise NotFound("transfer permission", field="permissionId")
    c = records_t.c
    rows = (
        await ctx.db.execute(
            select(records_t)
            .where(c.permission_id == pk, c.direction == "TRANSFER", c.outcome == "CONFIRMED")
            .order_by(c.id)
        )
    ).all()
    answers = [_reviewed(ctx, r) for r in rows]
    ctx.audit.touch_codes(p.addressee_code for a in answers for p in a.persons)
    return answers
