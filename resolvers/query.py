"""The root Query: persons by id, by page and by individual number, the viewer, the legal bases, and
the provision records (a person's disclosure request, the review queue) and transfer applications."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from policies import legal_bases as registry
from policies.individual_number import IndividualNumber, InvalidIndividualNumber
from schema.audit import READ_AUDIT, AuditEventConnection, AuditFilter
from schema.duties import (
    HANDLE_SUBJECT_REQUESTS,
    NUMBER_USE,
    READ_LEGAL_BASES,
    READ_PERSONS,
    RECEIVE_TRANSFER,
    REQUEST_TRANSFER,
    REVIEW_PROVISIONS,
    requires_duty,
)
from schema.errors import JA_BY_CODE, BadUserInput
from schema.inquiries import Inquiry
from schema.legal_bases import Direction, LegalBasis
from schema.persons import Person, PersonConnection, PersonFilter
from schema.provisions import ProvisionRecordConnection, ReviewedTransfer
from schema.rights import SubjectRequest
from schema.transfers import TransferPermission, TransferPermissionStatus
from schema.viewer import Viewer

from . import inquiries, provisions, rights, transfers
from .audit import DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, audit_events_page
from .context import Context
from .persons import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, parse_person_id, person_by_index, persons_page
from .provisions import DEFAULT_RECORDS_PAGE, MAX_RECORDS_PAGE
from .write_roots import WriteQueries

__all__ = ["Query"]

Info = strawberry.Info[Context, None]

AFTER = "The `endCursor` of the previous page (null: the first page)"
ERROR_CODES = ", ".join(sorted(JA_BY_CODE))  # every code an operation can answer with (schema/errors.py)


@strawberry.type(
    description=(
        "Reading. What you see depends on your role: a field your duties (`viewer.duties`) do not allow is not "
        "in your view of the schema at all (`kaigo schema --role ROLE` prints each view). Dates are ISO 8601 "
        "calendar dates (`Date`), instants ISO 8601 with offset (`DateTime`); amounts are whole yen (`Int`). "
        "Pages use cursors (`PageInfo`). Every error carries `extensions.code` ("
        + ERROR_CODES
        + "); input errors add `extensions.field` and `extensions.reason`. The error catalogue "
        "(docs/frontend/errors.md) says what each code means and what a screen should do; messages follow "
        "`Accept-Language` (Japanese or English)."
    )
)
class Query(WriteQueries):  # the write side's queues (resolvers/write_roots.py)
    @strawberry.field(description="The authenticated principal: who you are, your roles and duties.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context.principal)

    @strawberry.field(
        description="A person by id; null if there is none.", directives=requires_duty(READ_PERSONS)
    )
    async def person(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="`Person.id`")]
    ) -> Person | None:
        return await info.context.loaders.person.load(parse_person_id(id))

    @strawberry.field(
        description=(
            f"Persons in 氏名カナ order, {DEFAULT_PAGE_SIZE} per page by default, at most {MAX_PAGE_SIZE}; "
            "`after` takes the `endCursor` of the previous page."
        ),
        directives=requires_duty(READ_PERSONS),
    )
    async def persons(
        self,
        info: Info,
        filter_: Annotated[
            PersonFilter | None,
            strawberry.argument(name="filter", description="Conditions every person of the page meets"),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description=f"Page size, 1-{MAX_PAGE_SIZE}")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> PersonConnection:
        ctx = info.context
        page = await persons_page(ctx.db, filter_, first=first, after=after, today=ctx.today)
        ctx.audit.saw_all(edge.node for edge in page.edges)
        return page

    @strawberry.field(
        description=(
            "The person holding an individual number (12 digits), or null. A malformed number or a wrong "
            "check digit is BAD_USER_INPUT (reason FORMAT / CHECK_DIGIT); the value is never echoed."
        ),
        directives=requires_duty(READ_PERSONS, NUMBER_USE),
    )  # requires duty: number_use
    async def person_by_individual_number(
        self,
        info: Info,
        individual_number: Annotated[
            str, strawberry.argument(description="個人番号: 12 ASCII digits, the last a check digit")
        ],
    ) -> Person | None:
        info.context.require(NUMBER_USE)  # before looking at the value at all
        try:
            number = IndividualNumber.parse(individual_number, field="individualNumber")
        except InvalidIndividualNumber as exc:
            raise BadUserInput(str(exc), field=exc.field, reason=exc.reason) from None
        ctx = info.context
        found = await person_by_index(ctx.db, ctx.vault.blind_index(number))
        ctx.audit.saw_all([found])
        return found

    @strawberry.field(
        description=(
            "法令上の根拠 — the legal-basis entries in force on `on` (default: today), of one direction or all."
        ),
        directives=requires_duty(READ_LEGAL_BASES),
    )
    def legal_bases(
        self,
        info: Info,
        direction: Annotated[
            Direction | None, strawberry.argument(description="Only this direction (null: all)")
        ] = None,
        on: Annotated[dt.date | None, strawberry.argument(description="The day (null: today)")] = None,
    ) -> list[LegalBasis]:
        info.context.require(READ_LEGAL_BASES)
        day = on if on is not None else info.context.today
        wanted = registry.Direction(direction.value) if direction is not None else None
        return [LegalBasis.of(row) for row in registry.entries(wanted, day)]

    @strawberry.field(
        description=(
            "情報提供等記録 about a person — provisions, transfers and inquiries — newest first, "
            f"{DEFAULT_RECORDS_PAGE} per page by default (at most {MAX_RECORDS_PAGE}): what the person may see "
            "on a disclosure request."
        ),
        directives=requires_duty(NUMBER_USE),
    )
    async def provision_records(
        self,
        info: Info,
        person_id: Annotated[strawberry.ID, strawberry.argument(description="The person (`Person.id`)")],
        first: Annotated[
            int, strawberry.argument(description=f"Page size, 1-{MAX_RECORDS_PAGE}")
        ] = DEFAULT_RECORDS_PAGE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> ProvisionRecordConnection:
        page = await provisions.provision_records(info.context, person_id, first, after)
        info.context.audit.touch(parse_person_id(person_id, field="personId"))  # the records are about them
        return page

    @strawberry.field(
        description="Provisions waiting for a reviewer (自動応答不可), oldest first.",
        directives=requires_duty(REVIEW_PROVISIONS),
    )
    async def pending_provisions(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description=f"Page size, 1-{MAX_RECORDS_PAGE}")
        ] = DEFAULT_RECORDS_PAGE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> ProvisionRecordConnection:
        return await provisions.pending_provisions(info.context, first, after)

    @strawberry.field(
        description="Transfer applications of every department, newest first (for the section's judgement).",
        directives=requires_duty(REVIEW_PROVISIONS),
    )
    async def transfer_permissions(
        self,
        info: Info,
        status: Annotated[
            TransferPermissionStatus | None, strawberry.argument(description="Only in this state (null: all)")
        ] = None,
    ) -> list[TransferPermission]:
        return await transfers.transfer_permissions(info.context, status, own_department=False)

    @strawberry.field(
        description="The token's department's own transfer applications, newest first.",
        directives=requires_duty(REQUEST_TRANSFER),
    )
    async def department_transfer_permissions(
        self,
        info: Info,
        status: Annotated[
            TransferPermissionStatus | None, strawberry.argument(description="Only in this state (null: all)")
        ] = None,
    ) -> list[TransferPermission]:
        return await transfers.transfer_permissions(info.context, status, own_department=True)

    @strawberry.field(
        description="A person's requests (開示・訂正・利用停止, 問合せ), newest first, with every step.",
        directives=requires_duty(HANDLE_SUBJECT_REQUESTS),
    )
    async def subject_requests(
        self,
        info: Info,
        person_id: Annotated[strawberry.ID, strawberry.argument(description="The person (`Person.id`)")],
    ) -> list[SubjectRequest]:
        return await rights.subject_requests(info.context, person_id)

    @strawberry.field(
        description="情報照会 made about a person, with their typed answers, newest first.",
        directives=requires_duty(NUMBER_USE),
    )
    async def inquiries(
        self,
        info: Info,
        person_id: Annotated[strawberry.ID, strawberry.argument(description="The person (`Person.id`)")],
    ) -> list[Inquiry]:
        return await inquiries.inquiries_about(info.context, person_id)

    @strawberry.field(
        description="Flagged persons of the department's transfers under a permission, confirmed by the chief.",
        directives=requires_duty(RECEIVE_TRANSFER),
    )
    async def reviewed_transfers(
        self,
        info: Info,
        permission_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The department's permission (`TransferPermission.id`)"),
        ],
    ) -> list[ReviewedTransfer]:
        return await transfers.reviewed_transfers(info.context, permission_id)

    @strawberry.field(
        description=(
            "The audit trail (アクセス記録), newest first, "
            f"{DEFAULT_AUDIT_PAGE} per page by default (at most {MAX_AUDIT_PAGE}). Person ids only."
        ),
        directives=requires_duty(READ_AUDIT),
    )
    async def audit_events(
        self,
        info: Info,
        filter_: Annotated[
            AuditFilter | None,
            strawberry.argument(name="filter", description="Conditions every entry of the page meets"),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description=f"Page size, 1-{MAX_AUDIT_PAGE}")
        ] = DEFAULT_AUDIT_PAGE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AuditEventConnection:
        info.context.require(READ_AUDIT)
        return await audit_events_page(info.context.db, filter_, first=first, after=after)
