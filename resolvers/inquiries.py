"""照会 — inquiries the city makes over the network under 別表第2 93 and 94, and their answers.

``policies.decisions.decide_inquiry`` decides (basis in force, items permitted, a 情報提供許可証 given).
The person asked about is named by the 宛名コード; an unknown one is staff's input error (NOT_FOUND,
nothing recorded), unlike a provision, where an unknown subject is an outside request to record.
"""

from __future__ import annotations

from typing import Any, Final, cast

import strawberry
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Row

from persistence import provision_records as records
from persistence.models import Inquiry as InquiryRow
from persistence.provision_records import RecordedBasis, RequestKey
from policies.decisions import decide_inquiry
from policies.legal_bases import normalise_body
from policies.outcomes import step_reason
from schema.conflicts import ALREADY_ANSWERED, Conflict, NotFound
from schema.duties import INQUIRE, NUMBER_USE
from schema.errors import BadUserInput
from schema.inquiries import (
    Inquiry,
    InquiryAnswer,
    InquiryAnswered,
    InquiryRecorded,
    InquiryResponseInput,
    InquiryStatus,
    LocalTaxAnswer,
    MedicalInsuranceAnswer,
    PensionAnswer,
    PublicAssistanceAnswer,
    RecordInquiryInput,
)
from schema.legal_bases import LegalBasis, information_item
from schema.persons import Person
from schema.provisions import Denied
from schema.snapshots import from_json, to_json

from .context import Context
from .persons import parse_person_id
from .records import CITY, denied_from_row, record_from_row, recorded_basis, replayable
from .requests import (
    ADDRESSEE_CODE,
    actor_of,
    basis_item,
    free_text,
    item_ids,
    object_id,
    permit_number,
    request_id,
)
from .subjects import find_subject

__all__ = ["inquiries_about", "record_inquiry", "record_inquiry_response"]

# The typed answer of each information item received by inquiry: (input field, stored key, type).
TYPED: Final = {
    "LOCAL_TAX": ("local_tax", LocalTaxAnswer),
    "MEDICAL_INSURANCE": ("medical_insurance", MedicalInsuranceAnswer),
    "PUBLIC_ASSISTANCE": ("public_assistance", PublicAssistanceAnswer),
    "PENSION": ("pension", PensionAnswer),
}

inquiries = cast(Table, InquiryRow.__table__)
MAX_BODY: Final = 200
MAX_SUMMARY: Final = 2000


def inquiry_from_row(ctx: Context, r: Row[Any]) -> Inquiry:
    person_pk: int = r.person_id

    async def fetch_person() -> Person | None:
        return await ctx.loaders.person.load(person_pk)

    answered = r.answered_at is not None
    typed = r.answer or {}

    def answers(item: str) -> Any:
        key, kind = TYPED[item]
        return [from_json(kind, v) for v in typed[key]] if key in typed else None

    return Inquiry(
        fetch_person=fetch_person,
        id=strawberry.ID(str(r.id)),
        request_id=r.request_id,
        permit_number=r.permit_number,
        basis_item=r.basis_item,
        basis=LegalBasis.by_id(r.basis_id),
        provider=r.provider,
        items=[information_item(i) for i in r.items],
        requested_at=r.requested_at,
        requested_by=r.requested_by,
        status=InquiryStatus.ANSWERED if answered else InquiryStatus.INQUIRED,
        answer=InquiryAnswer(
            answered_at=r.answered_at,
            answered_by=r.answered_by,
            answered_items=[information_item(i) for i in r.answered_items],
            summary=r.response_summary or "",
            local_tax=answers("LOCAL_TAX"),
            medical_insurance=answers("MEDICAL_INSURANCE"),
            public_assistance=answers("PUBLIC_ASSISTANCE"),
            pension=answers("PENSION"),
        )
        if answered
        else None,
    )


async def _inquiry(ctx: Context, pk: int, *, for_update: bool = False) -> Row[Any] | None:
    statement = select(inquiries).where(inquiries.c.id == pk)
    if for_update:
        statement = statement.with_for_update()
    row: Row[Any] | None = (await ctx.db.execute(statement)).first()
    return row


async def record_inquiry(ctx: Context, data: RecordInquiryInput) -> InquiryRecorded | Denied:
    ctx.require(INQUIRE)
    rid = request_id(data.request_id)
    permit = (
        permit_number(data.permit_number)
        if data.permit_number is not None and data.permit_number.strip()
        else None
    )
    item = basis_item(data.basis_item)
    provider = free_text(data.provider, field="input.provider", max_length=MAX_BODY)
    if ADDRESSEE_CODE.fullmatch(data.addressee_code) is None:
        raise BadUserInput(
            "`addresseeCode` must be 10 to 15 digits", field="input.addresseeCode", reason="FORMAT"
        )
    items = item_ids(data.items)
    scope = f"INQUIRY:{rid}"
    request = RequestKey(
        request_id=rid,
        scope=scope,
        key=scope,
        digest=records.digest(
            {
                "permit": permit,
                "item": item,
                "provider": normalise_body(provider),
                "subject": data.addressee_code,
                "items": sorted(items),
            }
        ),
    )
    existing = await replayable(ctx, request)
    if existing is not None:
        if existing.outcome == "DENIED":
            return denied_from_row(ctx, existing)
        made = await _inquiry(ctx, existing.inquiry_id)
        assert made is not None
        return InquiryRecorded(inquiry=inquiry_from_row(ctx, made), record=record_from_row(ctx, existing))

    subject = await find_subject(ctx.db, addressee_code=data.addressee_code)
    if subject is None:
        raise NotFound("person", field="input.addresseeCode")
    decision = decide_inquiry(item, provider, items, permit, ctx.today)
    common: dict[str, Any] = {
        "direction": "INQUIRY",
        "code": decision.code,
        "reason": (decision.reason_ja, decision.reason_en),
        "provider": provider,
        "recipient": CITY,
        "basis": RecordedBasis(item, decision.basis),
        "items": items,
        "actor": actor_of(ctx.principal),
        "request": request,
        "request_date": ctx.today,
        "permit_number": permit,
        "subject_kind": "ADDRESSEE_CODE",
        "person_id": subject.id,
    }
    if not decision.allowed:
        return denied_from_row(ctx, await records.write(ctx.db, outcome="DENIED", **common))
    assert decision.basis is not None and permit is not None
    made = (
        await ctx.db.execute(
            insert(inquiries)
            .values(
                request_id=rid,
                permit_number=permit,
                basis_item=item,
                basis_id=decision.basis.id,
                provider=provider,
                person_id=subject.id,
                items=list(items),
                requested_by=ctx.principal.subject[:200],
            )
            .returning(*inquiries.c)
        )
    ).one()
    row = await records.write(ctx.db, outcome="INQUIRED", inquiry_id=made.id, **common)
    return InquiryRecorded(inquiry=inquiry_from_row(ctx, made), record=record_from_row(ctx, row))


async def record_inquiry_response(
    ctx: Context, inquiry_id: str, response: InquiryResponseInput
) -> InquiryAnswered:
    """Attach the answer to an inquiry, once, and record it (INQUIRY_ANSWERED)."""
    ctx.require(INQUIRE)
    pk = object_id(inquiry_id, field="inquiryId")
    summary = free_text(response.summary, field="response.summary", max_length=MAX_SUMMARY, required=False)
    typed: dict[str, Any] = {}
    for key, _ in TYPED.values():
        given = getattr(response, key)
        if given is not None:
            typed[key] = [_typed_entry(v, f"response.{key}") for v in given]
    answered_items = tuple(
        dict.fromkeys([*item_ids(response.answered_items), *(i for i, (k, _) in TYPED.items() if k in typed)])
    )
    current = await _inquiry(ctx, pk, for_update=True)
    if current is None:
        raise NotFound("inquiry", field="inquiryId")
    if current.answered_at is not None:
        raise Conflict(ALREADY_ANSWERED, "this inquiry was already answered", field="inquiryId")
    if not answered_items:
        raise BadUserInput("the answer names no item", field="response", reason="EMPTY")
    if not set(answered_items) <= set(current.items):
        raise BadUserInput(
            "`answeredItems` may name only items the inquiry asked for",
            field="response.answeredItems",
            reason="OUT_OF_RANGE",
        )
    answered = (
        await ctx.db.execute(
            update(inquiries)
            .where(inquiries.c.id == pk)
            .values(
                answered_at=func.now(),
                answered_by=ctx.principal.subject[:200],
                answered_items=list(answered_items),
                response_summary=summary,
                answer=typed or None,
            )
            .returning(*inquiries.c)
        )
    ).one()
    basis = recorded_basis(current)
    row = await records.write(
        ctx.db,
        direction="INQUIRY",
        outcome="INQUIRY_ANSWERED",
        code="INQUIRY_ANSWERED",
        reason=step_reason("INQUIRY_ANSWERED", basis.row.citation if basis.row else None),
        provider=current.provider,
        recipient=CITY,
        basis=basis,
        items=answered_items,
        actor=actor_of(ctx.principal),
        request_id=current.request_id,
        permit_number=current.permit_number,
        subject_kind="ADDRESSEE_CODE",
        person_id=current.person_id,
        inquiry_id=pk,
    )
    return InquiryAnswered(inquiry=inquiry_from_row(ctx, answered), record=record_from_row(ctx, row))


def _typed_entry(value: Any, field: str) -> dict[str, Any]:
    """One typed answer as stored: its text fields checked like any free text, amounts not negative."""
    entry: dict[str, Any] = to_json(value)
    for key, v in entry.items():
        if isinstance(v, str):
            entry[key] = free_text(v, field=f"{field}.{key}", max_length=MAX_BODY)
        elif isinstance(v, int) and not isinstance(v, bool) and v < 0:
            raise BadUserInput(f"`{key}` is negative", field=f"{field}.{key}", reason="OUT_OF_RANGE")
    return entry


async def inquiries_about(ctx: Context, person_id: str) -> list[Inquiry]:
    """The inquiries made about a person and their typed answers, newest first (number-use roles)."""
    ctx.require(NUMBER_USE)
    pk = parse_person_id(person_id, field="personId")
    rows = (
        await ctx.db.execute(
            select(inquiries).where(inquiries.c.person_id == pk).order_by(inquiries.c.id.desc())
        )
    ).all()
    ctx.audit.touch(pk)
    return [inquiry_from_row(ctx, r) for r in rows]
