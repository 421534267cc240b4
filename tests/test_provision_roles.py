"""Provision, transfer and inquiry operations exist only in the schema views of the roles that may call
them: absent from introspection and the SDL for everyone else, and a query naming them fails validation."""

from __future__ import annotations

from typing import Any

import pytest

from policies.roles import ROLE_NAMES, duties_for
from resolvers import schema_for

ALL_MUTATIONS = {
    "provideInformation",
    "setNoAutomaticResponse",
    "receiveSubjectRequest",
    "discloseToSubject",
    "decideSubjectRequest",
    "liftSuspension",
    "answerSubjectRequest",
    "confirmProvision",
    "requestTransferPermission",
    "decideTransferPermission",
    "transferInformation",
    "recordInquiry",
    "recordInquiryResponse",
}
WORKFLOW_QUERIES = {
    "legalBases",
    "provisionRecords",
    "pendingProvisions",
    "transferPermissions",
    "departmentTransferPermissions",
    "subjectRequests",
    "inquiries",
    "reviewedTransfers",
}
SUBJECT_REQUESTS = {"receiveSubjectRequest", "discloseToSubject", "answerSubjectRequest"}
# the section's officers keep the file current (issue 18)
SECTION_WRITES = {
    "recordResidentChange",
    "closeResidentChangeReview",
    "acquireQualification",
    "loseQualification",
    "changeInsuredCategory",
    "startDomicileException",
    "endDomicileException",
    "setExemption",
    "issueCertificate",
    "determineCopayRatio",
    "applyForCertification",
    "recordSurvey",
    "recordDoctorOpinion",
    "recordPrimaryJudgement",
    "recordCommitteeJudgement",
    "decideCertification",
    "postponeCertification",
    "cancelCertification",
    "assessPremium",
    "postReceipt",
    "sendReminder",
    "reducePremium",
    "refundOverpayment",
    "applyForReimbursement",
    "decideReimbursement",
    "applyForHighCostBenefit",
    "decideHighCostBenefit",
    "certifyCostLimit",
}
NUMBER_WRITES = {"recordIndividualNumber"}  # number-use roles only
CHIEF = {
    "confirmProvision",
    "decideTransferPermission",
    "recordInquiry",
    "recordInquiryResponse",
    "setNoAutomaticResponse",
    "decideSubjectRequest",
    "liftSuspension",
    *SUBJECT_REQUESTS,
    *SECTION_WRITES,
    *NUMBER_WRITES,
}
# role → (mutations, workflow queries)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "kaigo_number_officer": (
        {"recordInquiry", "recordInquiryResponse", *SUBJECT_REQUESTS, *SECTION_WRITES, *NUMBER_WRITES},
        {"legalBases", "provisionRecords", "subjectRequests", "inquiries"},
    ),
    "kaigo_section_chief": (
        CHIEF,
        {
            "legalBases",
            "provisionRecords",
            "pendingProvisions",
            "transferPermissions",
            "subjectRequests",
            "inquiries",
        },
    ),
    "kaigo_officer": (SECTION_WRITES, set()),
    "kenko_choju_officer": (set(), set()),
    "shido_kansa_officer": (set(), set()),
    "intermediate_server": ({"provideInformation"}, {"legalBases"}),
    "receiving_department": (
        {"requestTransferPermission", "transferInformation"},
        {"departmentTransferPermissions", "reviewedTransfers"},
    ),
    "security_auditor": (set(), set()),
    "system_operator": (set(), set()),
}
INTROSPECTION = """
{ __schema { mutationType { name fields { name } } queryType { fields { name } } types { name fields { name } } } }
"""


def _department(role: str) -> str | None:
    return "bosai_kiki_kanri" if role == "receiving_department" else None


def test_every_role_is_covered() -> None:
    assert set(EXPECTED) == ROLE_NAMES


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_sdl_of_each_role(role: str) -> None:
    mutations, queries = EXPECTED[role]
    sdl = schema_for(duties_for([role], _department(role))).as_str()
    assert ("type Mutation" in sdl) is bool(mutations)
    for name in ALL_MUTATIONS:
        assert (f"  {name}(" in sdl) is (name in mutations), (role, name)
    for name in WORKFLOW_QUERIES:
        assert (f"  {name}" in sdl) is (name in queries), (role, name)


@pytest.mark.db
@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_introspection_of_each_role(gql: Any, role: str) -> None:
    mutations, queries = EXPECTED[role]
    body = await gql(INTROSPECTION, role=role, department=_department(role))
    schema = body["data"]["__schema"]
    if mutations:
        assert {f["name"] for f in schema["mutationType"]["fields"]} == mutations
    else:
        assert schema["mutationType"] is None
    assert {f["name"] for f in schema["queryType"]["fields"]} & WORKFLOW_QUERIES == queries
    types = {t["name"]: t for t in schema["types"]}
    if "ProvisionRecord" in types:
        # The person behind a record is for staff who read persons, not for the intermediate server.
        has_person = "person" in {f["name"] for f in types["ProvisionRecord"]["fields"]}
        assert has_person is ("read_persons" in duties_for([role], _department(role)))


@pytest.mark.db
async def test_the_intermediate_server_sees_provision_but_no_persons(gql: Any) -> None:
    body = await gql(INTROSPECTION, role="intermediate_server")
    fields = {f["name"] for f in body["data"]["__schema"]["queryType"]["fields"]}
    assert "persons" not in fields and "person" not in fields
    types = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"ProvidedInformation", "ProvisionResult", "Denied"} <= types
    assert not types & {"Person", "Qualification", "Certification", "Levy", "TransferPermission", "Inquiry"}


@pytest.mark.db
@pytest.mark.parametrize(
    ("role", "document"),
    [
        ("kaigo_officer", "mutation { provideInformation(input: {}) { __typename } }"),
        ("kaigo_officer", "mutation { confirmProvision(recordId: 1, approve: true) { __typename } }"),
        ("intermediate_server", "mutation { confirmProvision(recordId: 1, approve: true) { __typename } }"),
        ("intermediate_server", "{ persons { totalCount } }"),
        ("receiving_department", "mutation { provideInformation(input: {}) { __typename } }"),
        (
            "receiving_department",
            "mutation { decideTransferPermission(id: 1, approve: true) { __typename } }",
        ),
        (
            "kaigo_number_officer",
            "mutation { decideTransferPermission(id: 1, approve: true) { __typename } }",
        ),
        ("kaigo_number_officer", "{ pendingProvisions { nodes { id } } }"),
        ("security_auditor", "{ legalBases { id } }"),
    ],
)
async def test_a_hidden_operation_fails_validation(gql: Any, role: str, document: str) -> None:
    body = await gql(document, role=role, department=_department(role))
    assert body["data"] is None
    for error in body["errors"]:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Did you mean" not in error["message"]
