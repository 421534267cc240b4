"""GraphQL documents and small helpers shared by the provision, transfer and inquiry tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policies.individual_number import find_valid_numbers
from resolvers.context import request_date

RECORD = """
fragment R on ProvisionRecord {
  id recordedAt direction outcome code provider recipient items requestId requestDate permitNumber note
  reason { ja en }
  basis { item legalBasisId instrument article citation }
  actor { subject roles department }
  resolvesRecordId transferPermissionId inquiryId
  page { after endCursor personCount }
}
"""

PAYLOAD = """
fragment P on ProvidedInformation {
  asOf items
  qualification { insuredNumber category acquiredOn lostOn events { reason } certificates { kind } facilityAdmissions { admittedOn } }
  certification { careLevel validFrom validTo appliedOn applicationType }
  copayRatios { fiscalYear ratioPercent }
  costLimits { kind stage }
  reductions { kind }
  benefits { claimResults { serviceMonth } recipientNotices { kind } reimbursements { applicationNumber } highCost { serviceMonth } combined { periodYear } }
  restrictions { kind }
  levies { fiscalYear installments { period dueOn amount } }
  paymentStatus { fiscalYear arrearsAmount installments { period status paidAmount receipts { amount } reminders { sentOn } } refunds { amount } }
  communityProgramme { validFrom }
}
"""

ANSWER = """
__typename
... on Provided { record { ...R } payload { ...P } }
... on PendingReview { record { ...R } reason { ja en } }
... on Denied { record { ...R } code reason { ja en } basis { id citation counterparty } }
"""

PROVIDE = (
    f"mutation Provide($input: ProvideInformationInput!) {{ provideInformation(input: $input) {{ {ANSWER} }} }}"
    + RECORD
    + PAYLOAD
)

PROVIDE_BRIEF = """
mutation Provide($input: ProvideInformationInput!) { provideInformation(input: $input) {
  __typename
  ... on Denied { code reason { ja en } basis { id } record { outcome code } }
  ... on Provided { record { outcome code } }
  ... on PendingReview { record { outcome code } }
} }
"""
"""A small document for the many denials of the table-driven tests (validation cost grows with size)."""

CONFIRM = (
    "mutation Confirm($id: ID!, $approve: Boolean!, $note: String) {"
    f" confirmProvision(recordId: $id, approve: $approve, note: $note) {{ {ANSWER} }} }}" + RECORD + PAYLOAD
)

PERMISSION = """
fragment T on TransferPermission {
  id department departmentName basisItem items purpose validFrom validTo status requestId requestedBy
  decidedBy decisionReason basis { id citation }
}
"""

REQUEST_TRANSFER = (
    "mutation Apply($input: RequestTransferPermissionInput!) { requestTransferPermission(input: $input) {"
    " __typename ... on TransferPermissionRequested { permission { ...T } record { ...R } reason { ja en } }"
    " ... on Denied { record { ...R } code reason { ja en } basis { id } } } }" + RECORD + PERMISSION
)

DECIDE_TRANSFER = (
    "mutation Decide($id: ID!, $approve: Boolean!, $reason: String) {"
    " decideTransferPermission(id: $id, approve: $approve, reason: $reason) { permission { ...T } record { ...R } } }"
    + RECORD
    + PERMISSION
)

TRANSFER = (
    "mutation Transfer($input: TransferInformationInput!) { transferInformation(input: $input) {"
    " __typename ... on TransferPage { record { ...R } persons { addresseeCode information { ...P } }"
    " pageInfo { hasNextPage hasPreviousPage endCursor } unmatchedSubjects }"
    " ... on Denied { record { ...R } code reason { ja en } basis { id } } } }" + RECORD + PAYLOAD
)

INQUIRY = """
fragment I on Inquiry {
  id requestId permitNumber basisItem provider items status requestedBy basis { id citation }
  answer { answeredBy answeredItems summary }
}
"""

RECORD_INQUIRY = (
    "mutation Ask($input: RecordInquiryInput!) { recordInquiry(input: $input) {"
    " __typename ... on InquiryRecorded { inquiry { ...I } record { ...R } }"
    " ... on Denied { record { ...R } code reason { ja en } basis { id } } } }" + RECORD + INQUIRY
)

ANSWER_INQUIRY = (
    "mutation Answer($id: ID!, $response: InquiryResponseInput!) {"
    " recordInquiryResponse(inquiryId: $id, response: $response) { inquiry { ...I } record { ...R } } }"
    + RECORD
    + INQUIRY
)

RECORDS_OF = (
    "query Records($id: ID!, $first: Int, $after: String) { provisionRecords(personId: $id, first: $first, after: $after) {"
    " edges { cursor node { ...R } } pageInfo { hasNextPage endCursor } } }" + RECORD
)


def today() -> Any:
    """The request date the API judges by (today in Japan)."""
    return request_date()


@dataclass(frozen=True)
class Resident:
    id: int
    linkage_code: str
    addressee_code: str


async def insured_resident(conn: AsyncConnection, *, offset: int = 0) -> Resident:
    """An insured person with a certification valid today and levies, not flagged 自動応答不可."""
    row = (
        await conn.execute(
            text(
                "SELECT p.id, p.linkage_code, p.addressee_code FROM persons p"
                " JOIN qualifications q ON q.person_id = p.id"
                " WHERE NOT p.no_automatic_response AND p.linkage_code IS NOT NULL"
                " AND EXISTS (SELECT 1 FROM certifications c WHERE c.person_id = p.id AND c.valid_from <= :d"
                "   AND c.valid_to >= :d AND (c.cancelled_on IS NULL OR c.cancelled_on > :d))"
                " AND EXISTS (SELECT 1 FROM levies l WHERE l.person_id = p.id)"
                " ORDER BY p.id OFFSET :o LIMIT 1"
            ),
            {"d": today(), "o": offset},
        )
    ).one()
    return Resident(row.id, row.linkage_code, row.addressee_code)


async def record_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT count(*) FROM provision_records"))).scalar_one())


def no_number(body: Any) -> None:
    """Nothing in a response looks like a valid individual number."""
    assert find_valid_numbers(str(body)) == [], "a valid individual number appeared in the response"


def sentences(answer: dict[str, Any]) -> None:
    """A denial or reason: one sentence in Japanese and one in English."""
    assert answer["reason"]["ja"].endswith("。"), answer
    assert answer["reason"]["en"].endswith("."), answer
