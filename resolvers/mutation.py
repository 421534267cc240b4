"""The root Mutation: provision, its review, transfers and inquiries.

Every field carries the duty it needs (``@requiresDuty``), so a role sees only the mutations it may
call, and a role that may call none has no Mutation type at all (resolvers/build.py). Each resolver
checks the duty again before touching anything.

One operation, one transaction (api/graphql_view.py): a decision, its record and the information read
for it commit together; a mutation that ends with an error is rolled back whole (nothing recorded).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.duties import (
    DECIDE_SUBJECT_REQUESTS,
    HANDLE_SUBJECT_REQUESTS,
    INQUIRE,
    PROVIDE_INFORMATION,
    RECEIVE_TRANSFER,
    REQUEST_TRANSFER,
    REVIEW_PROVISIONS,
    SET_NO_AUTOMATIC_RESPONSE,
    requires_duty,
)
from schema.inquiries import InquiryAnswered, InquiryResponseInput, InquiryResult, RecordInquiryInput
from schema.provisions import ProvideInformationInput, ProvisionResult
from schema.rights import AutomaticResponseChange, Disclosure, ReceiveSubjectRequestInput, SubjectRequest
from schema.transfers import (
    RequestTransferPermissionInput,
    TransferApplicationResult,
    TransferInformationInput,
    TransferPermissionDecision,
    TransferResult,
)

from . import inquiries, provisions, rights, transfers
from .audit import audited
from .context import Context
from .write_roots import WriteMutations

__all__ = ["Mutation"]

Info = strawberry.Info[Context, None]


def arg(description: str) -> object:
    """An argument's description (``Annotated[T, arg("…")]``)."""
    return strawberry.argument(description=description)


RECORD = arg("The record waiting for review (`ProvisionRecord.id`)")
REQUEST = arg("The person's request (`SubjectRequest.id`)")
REASON = arg("Why, in the staff's words (kept with the record)")


@strawberry.type(
    description=(
        "Writing. A mutation exists only in the views of the roles whose duties allow it. Each runs in one "
        "transaction: the decision, its record and what was read commit together, and an error leaves nothing "
        "recorded. Creating mutations take a `requestId` (idempotency key): the same id with the same input "
        "answers the same again, with other input REQUEST_ID_REUSED. A refusal under the law (Denied) is an "
        "answer, recorded, not an error."
    )
)
class Mutation(WriteMutations):  # the write side of the five record groups (resolvers/write_roots.py)
    @strawberry.mutation(
        description=(
            "情報提供 — the intermediate server answers a request received over the network: Provided (with what was sent), PendingReview "
            "(自動応答不可: staff confirm first) or Denied (code, reason). The same requestId with the same input "
            "answers the same; with other input it is REQUEST_ID_REUSED."
        ),
        directives=requires_duty(PROVIDE_INFORMATION),
    )
    async def provide_information(
        self, info: Info, input: Annotated[ProvideInformationInput, arg("The request received")]
    ) -> ProvisionResult:
        return await audited(info.context.audit, await provisions.provide_information(info.context, input))

    @strawberry.mutation(
        description=(
            "Confirm or refuse a provision (or a transfer page's flagged persons) waiting for review. Confirming "
            "decides again against the entry in force today: Provided (read now) / ReviewedTransfer, or Denied "
            "(BASIS_NOT_IN_FORCE, SUBJECT_SUSPENDED …); refusing is Denied REFUSED_BY_REVIEWER. NOT_PENDING_REVIEW "
            "for any other record, ALREADY_CONFIRMED the second time."
        ),
        directives=requires_duty(REVIEW_PROVISIONS),
    )
    async def confirm_provision(
        self,
        info: Info,
        record_id: Annotated[strawberry.ID, RECORD],
        approve: Annotated[bool, arg("true: send (decided again today); false: refuse")],
        note: Annotated[str | None, arg("The reviewer's note (kept with the record)")] = None,
    ) -> ProvisionResult:
        return await audited(
            info.context.audit, await provisions.confirm_provision(info.context, record_id, approve, note)
        )

    @strawberry.mutation(
        description=(
            "移転の利用申請 — the token's department applies for a transfer under a 別表第2 item; the LTCI "
            "section judges it (REQUESTED), or it is Denied with the decision's code."
        ),
        directives=requires_duty(REQUEST_TRANSFER),
    )
    async def request_transfer_permission(
        self, info: Info, input: Annotated[RequestTransferPermissionInput, arg("The application")]
    ) -> TransferApplicationResult:
        return await audited(
            info.context.audit, await transfers.request_transfer_permission(info.context, input)
        )

    @strawberry.mutation(
        description="Approve or reject a transfer application, once (ALREADY_DECIDED after).",
        directives=requires_duty(REVIEW_PROVISIONS),
    )
    async def decide_transfer_permission(
        self,
        info: Info,
        id: Annotated[strawberry.ID, arg("The application (`TransferPermission.id`)")],
        approve: Annotated[bool, arg("true: APPROVED; false: REJECTED")],
        reason: Annotated[str | None, REASON] = None,
    ) -> TransferPermissionDecision:
        return await audited(
            info.context.audit, await transfers.decide_transfer_permission(info.context, id, approve, reason)
        )

    @strawberry.mutation(
        description=(
            "移転 — one page of the permitted items of in-scope persons under an approved, valid permission held "
            "by the token's department; Denied otherwise. Page with `first` and `after`; one record per page."
        ),
        directives=requires_duty(RECEIVE_TRANSFER),
    )
    async def transfer_information(
        self,
        info: Info,
        input: Annotated[TransferInformationInput, arg("The permission, the persons, the page")],
    ) -> TransferResult:
        return await audited(info.context.audit, await transfers.transfer_information(info.context, input))

    @strawberry.mutation(
        description="情報照会 — record an inquiry under 別表第2 93 or 94 (a 情報提供許可証 is required).",
        directives=requires_duty(INQUIRE),
    )
    async def record_inquiry(
        self, info: Info, input: Annotated[RecordInquiryInput, arg("The inquiry")]
    ) -> InquiryResult:
        return await audited(info.context.audit, await inquiries.record_inquiry(info.context, input))

    @strawberry.mutation(
        description="Attach the answer received to an inquiry, once (ALREADY_ANSWERED after).",
        directives=requires_duty(INQUIRE),
    )
    async def record_inquiry_response(
        self,
        info: Info,
        inquiry_id: Annotated[strawberry.ID, arg("The inquiry (`Inquiry.id`)")],
        response: Annotated[InquiryResponseInput, arg("The answer received")],
    ) -> InquiryAnswered:
        return await audited(
            info.context.audit, await inquiries.record_inquiry_response(info.context, inquiry_id, response)
        )

    @strawberry.mutation(
        description=(
            "自動応答不可 — set (on: true) or clear a person's flag, with the reason; recorded with who and when. "
            "ALREADY_DECIDED when the flag is already so."
        ),
        directives=requires_duty(SET_NO_AUTOMATIC_RESPONSE),
    )
    async def set_no_automatic_response(
        self,
        info: Info,
        person_id: Annotated[strawberry.ID, arg("The person (`Person.id`)")],
        on: Annotated[bool, arg("true: set 自動応答不可; false: clear it")],
        reason: Annotated[str, REASON],
    ) -> AutomaticResponseChange:
        return await rights.set_no_automatic_response(info.context, person_id, on, reason)

    @strawberry.mutation(
        description="Record a person's request (開示, 訂正, 利用停止) or inquiry (問合せ) as received; due dates follow.",
        directives=requires_duty(HANDLE_SUBJECT_REQUESTS),
    )
    async def receive_subject_request(
        self, info: Info, input: Annotated[ReceiveSubjectRequestInput, arg("The request as received")]
    ) -> SubjectRequest:
        return await rights.receive_subject_request(info.context, input)

    @strawberry.mutation(
        description="開示 — produce the disclosure of a DISCLOSURE request (JSON and A4 PDF) and record it, once.",
        directives=requires_duty(HANDLE_SUBJECT_REQUESTS),
    )
    async def disclose_to_subject(self, info: Info, id: Annotated[strawberry.ID, REQUEST]) -> Disclosure:
        return await rights.disclose(info.context, id)

    @strawberry.mutation(
        description=(
            "Decide a correction (approved: applied at once, old and new value recorded) or a suspension request "
            "(approved: provisions and transfers of the person are denied SUBJECT_SUSPENDED), once."
        ),
        directives=requires_duty(DECIDE_SUBJECT_REQUESTS),
    )
    async def decide_subject_request(
        self,
        info: Info,
        id: Annotated[strawberry.ID, REQUEST],
        approve: Annotated[bool, arg("true: approve (a correction is applied at once); false: reject")],
        reason: Annotated[str | None, REASON] = None,
    ) -> SubjectRequest:
        return await rights.decide_subject_request(info.context, id, approve, reason)

    @strawberry.mutation(
        description="End a suspension in force.", directives=requires_duty(DECIDE_SUBJECT_REQUESTS)
    )
    async def lift_suspension(
        self,
        info: Info,
        id: Annotated[strawberry.ID, arg("The approved suspension request (`SubjectRequest.id`)")],
        reason: Annotated[str | None, REASON] = None,
    ) -> SubjectRequest:
        return await rights.lift_suspension(info.context, id, reason)

    @strawberry.mutation(
        description="Record the answer to a person's inquiry (問合せ), once.",
        directives=requires_duty(HANDLE_SUBJECT_REQUESTS),
    )
    async def answer_subject_request(
        self,
        info: Info,
        id: Annotated[strawberry.ID, REQUEST],
        answer: Annotated[str, arg("The answer given to the person")],
    ) -> SubjectRequest:
        return await rights.answer_subject_request(info.context, id, answer)
