"""情報提供等記録 — record rows to schema objects, stored answers to union members, record cursors.

An answer is rebuilt from its record alone (code, reasons, basis row id, payload snapshot), so a
retried request gets exactly what the first one got.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

import strawberry
from sqlalchemy.engine import Row

from persistence import provision_records as records
from persistence.provision_records import RecordedBasis as BasisOfRecord
from persistence.provision_records import RequestKey
from policies.legal_bases import Direction as LegalDirection
from policies.legal_bases import LegalBasis as BasisRow
from policies.legal_bases import entries, registry
from schema.conflicts import RequestIdReused
from schema.errors import BadUserInput
from schema.legal_bases import Direction, LegalBasis, LocalizedText
from schema.persons import Person
from schema.provided import ProvidedInformation
from schema.provisions import (
    DenialCode,
    Denied,
    PendingReview,
    Provided,
    ProvisionRecord,
    RecordActor,
    RecordedBasis,
    RecordedPage,
    RecordOutcome,
)
from schema.snapshots import from_json

from .context import Context
from .persons import encode_cursor

__all__ = [
    "CITY",
    "LTCI_SECTION",
    "basis_row",
    "decode_record_cursor",
    "denied_from_row",
    "encode_record_cursor",
    "pending_from_row",
    "provided_from_row",
    "reason_of",
    "record_from_row",
    "recorded_basis",
    "replayable",
]

CITY: Final = next(row.counterparty for row in entries(LegalDirection.USE))
"""The city's head (倉敷市長), the party of 番号法別表 for the city: provider of provisions, inquirer."""
LTCI_SECTION: Final = "介護保険課"
"""The section that holds the file and transfers from it (I-6 評価実施機関における担当部署)."""


def basis_row(row_id: str | None) -> BasisRow | None:
    """The registry row a record or permission names, if the registry still has it."""
    return next((r for r in registry().rows if r.id == row_id), None) if row_id is not None else None


def recorded_basis(row: Row[Any]) -> BasisOfRecord:
    """The basis of a stored row (record, permission, inquiry), for a new record that follows it."""
    return BasisOfRecord(row.basis_item, basis_row(row.basis_id))


async def replayable(ctx: Context, request: RequestKey) -> Row[Any] | None:
    """Lock the request's scope (held to commit), then its earlier record, if any (REQUEST_ID_REUSED
    when the id was used with other input)."""
    await records.lock_request(ctx.db, request.scope)
    try:
        return await records.earlier(ctx.db, request)
    except records.RequestIdReused:
        raise RequestIdReused() from None


def reason_of(row: Row[Any]) -> LocalizedText:
    return LocalizedText(ja=row.reason_ja, en=row.reason_en)


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


def record_from_row(ctx: Context, r: Row[Any]) -> ProvisionRecord:
    person_pk: int | None = r.person_id

    async def fetch_person() -> Person | None:
        return await ctx.loaders.person.load(person_pk) if person_pk is not None else None

    page = (
        RecordedPage(
            after=encode_cursor(r.page_after) if r.page_after else None,
            end_cursor=encode_cursor(r.page_last) if r.page_last else None,
            person_count=r.person_count,
        )
        if r.person_ids is not None
        else None
    )
    return ProvisionRecord(
        fetch_person=fetch_person,
        id=strawberry.ID(str(r.id)),
        recorded_at=r.recorded_at,
        direction=Direction(r.direction),
        outcome=RecordOutcome(r.outcome),
        code=r.code,
        reason=reason_of(r),
        provider=r.provider,
        recipient=r.recipient,
        basis=RecordedBasis(
            item=r.basis_item,
            legal_basis_id=r.basis_id,
            instrument=r.basis_instrument,
            article=r.basis_article,
            citation=r.basis_citation,
        ),
        items=list(r.items),
        request_id=r.request_id,
        request_date=r.request_date,
        permit_number=r.permit_number,
        actor=RecordActor(subject=r.actor_subject, roles=list(r.actor_roles), department=r.actor_department),
        note=r.note,
        resolves_record_id=_id(r.resolves_record_id),
        transfer_permission_id=_id(r.permission_id),
        inquiry_id=_id(r.inquiry_id),
        page=page,
    )


def denied_from_row(ctx: Context, r: Row[Any]) -> Denied:
    return Denied(
        record=record_from_row(ctx, r),
        code=DenialCode(r.code),
        reason=reason_of(r),
        basis=LegalBasis.by_id(r.basis_id),
    )


def provided_from_row(ctx: Context, r: Row[Any]) -> Provided:
    """A PROVIDED or CONFIRMED record with the payload it stored."""
    return Provided(record=record_from_row(ctx, r), payload=from_json(ProvidedInformation, r.payload))


def pending_from_row(ctx: Context, r: Row[Any]) -> PendingReview:
    return PendingReview(record=record_from_row(ctx, r), reason=reason_of(r))


_PREFIX: Final = "record:"


def encode_record_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{pk}".encode()).decode("ascii").rstrip("=")


def decode_record_cursor(cursor: str, *, field: str = "after") -> int:
    error = BadUserInput(f"`{field}` is not a cursor of this connection", field=field, reason="FORMAT")
    if not 0 < len(cursor) <= 64:
        raise error
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise error from None
    digits = text.removeprefix(_PREFIX)
    if not text.startswith(_PREFIX) or not digits.isdigit() or not 0 < int(digits) < 2**63:
        raise error
    return int(digits)
