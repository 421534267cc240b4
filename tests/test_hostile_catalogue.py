"""A catalogue of hostile requests, each a named case with the answer it must get.

Every case must be answered with a 4xx, or a GraphQL error carrying ``extensions.code`` (the expected
code is asserted), never a 5xx, never a stack trace, SQL, a file path or an individual number of the
city in the body; and nothing may change in the database. The requests go to a small city in a database
of the module's own where requests really commit (tests/hostile_support.py), so the comparison is the
real one: every table but the audit trail is fingerprinted (row count and md5 of the rows) before and
after each case and over the whole catalogue. The audit trail may only grow, and only by the entries of
operations that ran: a refused request (transport, authentication, limits, parse, validation, variables)
gets none; a mutation that ran and failed gets one ``outcome = error`` entry, in its own transaction,
while its work is rolled back (api/audit.py).

Cases that reveal a bug in code this suite does not own are marked ``xfail(strict=True)`` with the bug
and its fix in the reason: they start failing (XPASS) as soon as the fix lands, and the mark goes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from api.documents import document_id
from persistence.crypto import NumberVault
from policies.individual_number import complete, find_valid_numbers

from .hostile_support import (
    LEAKS,
    City,
    Snapshot,
    audit_entries_after,
    audit_md5,
    committed_city,
    deep_query,
    fragment_bomb,
    snapshot,
)

pytestmark = pytest.mark.db

OFFICER = "kaigo_officer"
NUMBER_OFFICER = "kaigo_number_officer"
AUDITOR = "security_auditor"
SERVER = "intermediate_server"
DEPARTMENT_ROLE = "receiving_department"
DEPARTMENT = "fukushi_engo"

VIEWER = "{ viewer { subject } }"
PERSONS = "query($f: PersonFilter) { persons(filter: $f, first: 5) { nodes { id } } }"
BY_NUMBER = "query($n: String!) { personByIndividualNumber(individualNumber: $n) { id } }"
AUDIT_EVENTS = "query($f: AuditFilter) { auditEvents(filter: $f, first: 5) { edges { node { id } } } }"
PROVIDE = """
mutation($input: ProvideInformationInput!) {
  provideInformation(input: $input) { __typename }
}"""
INQUIRE = "mutation($input: RecordInquiryInput!) { recordInquiry(input: $input) { __typename } }"
UNKNOWN_HASH = "0" * 64

# A number with a wrong check digit, and one of the right shape with another wrong digit: never valid.
_BASE = "20261101007"
WRONG_CHECK_DIGIT = _BASE + str((int(complete(_BASE)[-1]) + 1) % 10)


def _provide(**overrides: Any) -> dict[str, Any]:
    value = {
        "requestId": "hostile-1",
        "permitNumber": "P-0001",
        "inquirer": "厚生労働大臣",
        "basisItem": "94",
        "subject": {"linkageCode": "ABC123"},
        "items": ["QUALIFICATION"],
        "requestDate": "2026-11-01",
    }
    value.update(overrides)
    return {"input": value}


def _inquiry(**overrides: Any) -> dict[str, Any]:
    value = {
        "requestId": "hostile-inq-1",
        "permitNumber": "PERMIT-1",
        "basisItem": "94",
        "provider": "倉敷市",
        "addresseeCode": "0000000001",
        "items": ["QUALIFICATION"],
    }
    value.update(overrides)
    return {"input": value}


def _nested_json(levels: int) -> bytes:
    return (
        b'{"query": "' + PERSONS.encode() + b'", "variables": {"f": ' + b"[" * levels + b"]" * levels + b"}}"
    )


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get.

    ``json``/``content`` is the body (POST), ``params`` the query string (GET); ``auth`` the Authorization
    header (default: a bearer token of ``role``; None: no header). ``code`` is the error code the answer
    must carry (None: a non-GraphQL 4xx of Starlette's, e.g. an unknown HTTP method). ``audited``: the
    audit entries the case may add (operations that ran).
    """

    name: str
    status: int
    code: str | None
    method: str = "POST"
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    role: str = OFFICER
    department: str | None = None
    auth: str | None = "token"
    audited: int = 0
    data_allowed: bool = False  # partial data next to the error (a nullable field refused alone)
    touches_persons: bool = False  # the operation may produce persons (its audit entry names them)
    xfail: str | None = None


def gql(name: str, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Case:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    kw.setdefault("status", 200)
    return Case(name=name, json=body, **kw)


# -------------------------------------------------------------------------------------------------
# Known bugs in files other engineers are editing (reported, not fixed here)
# -------------------------------------------------------------------------------------------------

BUG_CANCELLED_STATEMENT = (
    "bug: graphql-core 3.3 cancels sibling fields when an error nulls a non-null parent "
    "(gather_with_cancel); a cancelled asyncpg statement invalidates the request's connection "
    "(PendingRollbackError), so a BAD_USER_INPUT becomes 503 AUDIT_UNAVAILABLE, a bare 500 from the "
    "commit, or an escaping CancelledError (shared DataLoader future). Fix in persistence/db.py "
    "SerialSession.execute: run each statement in a task shielded from cancellation, holding the lock "
    "inside it (await asyncio.shield(self._locked_execute(...))), so a cancelled field never interrupts "
    "a statement; the session stays usable for the audit entry and the commit."
)
BUG_JSON_DECODE = (
    "bug: a JSON body that is not UTF-8 makes json.loads raise UnicodeDecodeError, one nested ~100k deep "
    "RecursionError; strawberry's parse_json catches JSONDecodeError only: a bare 500. Fix in api/graphql_view.py: "
    "override KaigoGraphQL.decode_json to turn RecursionError (and UnicodeDecodeError) into "
    "HTTPException(400, 'Unable to parse request body as JSON')."
)
BUG_LONG_OPERATION_NAME = (
    "bug: audit_events.operation_name is varchar(200); an audited operation named with more than 200 "
    "characters cannot be recorded, so a valid read ends as 503 AUDIT_UNAVAILABLE. Fix in api/audit.py "
    "(AuditTrail._entry) or persistence/audit.py: store the name cut to 200 characters (or refuse such "
    "a name up front as BAD_REQUEST)."
)

BUG_NO_OPERATION_NAME = (
    "bug: a document of two operations sent without operationName runs the first one (strawberry's "
    "ExecutionContext.operation_name falls back to the first operation) instead of the GraphQL spec's "
    "'Must provide operation name if query contains multiple operations'. Fix in api/graphql_view.py "
    "execute_single (or parse_http_body): when request_data.operation_name is None and the parsed "
    "document holds more than one OperationDefinition, raise HTTPException(400, 'Must provide operation "
    "name if query contains multiple operations'), like the unknown-name case (BAD_REQUEST)."
)

LONG_NAME = "Q" * 250

CASES: list[Case] = [
    # --- the HTTP request itself -----------------------------------------------------------------
    Case("malformed json", 400, "BAD_REQUEST", content=b'{"query": "{ viewer { subject } }"'),
    Case("not json at all", 400, "BAD_REQUEST", content=b"query { viewer { subject } }"),
    Case("empty body", 400, "BAD_REQUEST", content=b""),
    Case("json null", 400, "BAD_REQUEST", content=b"null"),
    Case("json string", 400, "BAD_REQUEST", content=b'"{ viewer { subject } }"'),
    Case("json number", 400, "BAD_REQUEST", content=b"42"),
    Case(
        "body not utf-8",
        400,
        "BAD_REQUEST",
        content=b'{"query": "\xff\xfe{ viewer { subject } }"}',
    ),
    Case(
        "json nested 100k deep",
        400,
        "BAD_REQUEST",
        content=_nested_json(100_000),
    ),
    Case("content type text/plain", 400, "BAD_REQUEST", json={"query": VIEWER}, content_type="text/plain"),
    Case(
        "content type form",
        400,
        "BAD_REQUEST",
        content=b"query=%7B+viewer+%7B+subject+%7D+%7D",
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "content type multipart",
        400,
        "BAD_REQUEST",
        content=b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query": "{ viewer { subject } }"}\r\n--x--\r\n',
        content_type="multipart/form-data; boundary=x",
    ),
    Case(
        "content type graphql",
        400,
        "BAD_REQUEST",
        content=VIEWER.encode(),
        content_type="application/graphql",
    ),
    Case(
        "no content type",
        400,
        "BAD_REQUEST",
        content=json.dumps({"query": VIEWER}).encode(),
        content_type=None,
    ),
    Case("query not a string", 400, "BAD_REQUEST", json={"query": 123}),
    Case("query a list", 400, "BAD_REQUEST", json={"query": [VIEWER]}),
    Case("variables a string", 400, "BAD_REQUEST", json={"query": VIEWER, "variables": "{}"}),
    Case("operationName an object", 400, "BAD_REQUEST", json={"query": VIEWER, "operationName": {"a": 1}}),
    Case("extensions a list", 400, "BAD_REQUEST", json={"query": VIEWER, "extensions": []}),
    Case("no query", 400, "BAD_REQUEST", json={}),
    Case("batch of two", 400, "BAD_REQUEST", json=[{"query": VIEWER}, {"query": VIEWER}]),
    Case("batch flood", 400, "BAD_REQUEST", json=[{"query": PERSONS}] * 2000),
    Case("oversize body", 413, "REQUEST_TOO_LARGE", json={"query": VIEWER + " " * 1_100_000}),
    Case("unknown http method", 405, None, method="PUT", json={"query": VIEWER}),
    # --- authentication ---------------------------------------------------------------------------
    Case("no authorization", 401, "UNAUTHENTICATED", json={"query": VIEWER}, auth=None),
    # A malformed header is RFC 6750's invalid_request: 400, still UNAUTHENTICATED.
    Case("empty bearer", 400, "UNAUTHENTICATED", json={"query": VIEWER}, auth="Bearer "),
    Case("basic auth", 401, "UNAUTHENTICATED", json={"query": VIEWER}, auth="Basic dXNlcjpwYXNz"),
    Case("bearer garbage", 401, "UNAUTHENTICATED", json={"query": VIEWER}, auth="Bearer abc.def.ghi"),
    Case(
        "bearer alg none",
        401,
        "UNAUTHENTICATED",
        json={"query": VIEWER},
        auth="Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZXMiOlsia2FpZ29fc2VjdGlvbl9jaGllZiJdfQ.",
    ),
    Case("bearer tampered", 401, "UNAUTHENTICATED", json={"query": VIEWER}, auth="tampered"),
    Case("bearer 20k long", 401, "UNAUTHENTICATED", json={"query": VIEWER}, auth="Bearer " + "a" * 20_000),
    Case("token twice", 400, "UNAUTHENTICATED", json={"query": VIEWER}, auth="twice"),
    # --- documents over the limits, malformed, hidden --------------------------------------------
    gql(
        "huge query over the token limit",
        "{ viewer { subject " + "__typename " * 6000 + "} }",
        code="QUERY_TOO_LARGE",
    ),
    gql("comment flood", "{ viewer { subject } }" + "\n#" * 6000, code="QUERY_TOO_LARGE"),
    gql("deep query", deep_query(30), code="QUERY_TOO_DEEP"),
    gql(
        "alias bomb",
        "{ persons(first: 1) { nodes { " + " ".join(f"a{i}: id" for i in range(500)) + " } } }",
        code="TOO_MANY_ALIASES",
    ),
    gql(
        "root field flood",
        "{ " + " ".join(f"v{i}: viewer {{ subject }}" for i in range(11)) + " }",
        code="TOO_MANY_ROOT_FIELDS",
    ),
    gql("root fields without aliases", "{ " + "__typename " * 40 + "}", code="TOO_MANY_ROOT_FIELDS"),
    gql("fragment bomb", fragment_bomb(), code="QUERY_TOO_COMPLEX"),
    gql(
        "fragment cycle",
        "{ persons(first: 1) { nodes { ...A } } } fragment A on Person { ...B } fragment B on Person { ...A }",
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql("page of a million", "{ persons(first: 1000000) { nodes { id } } }", code="QUERY_TOO_COMPLEX"),
    gql("parse error", "{ viewer { subject }", code="GRAPHQL_PARSE_FAILED"),
    gql("NUL in the document", "{ viewer {\x00 subject } }", code="GRAPHQL_PARSE_FAILED"),
    gql(
        "parse error as graphql-response+json",
        "query {",
        code="GRAPHQL_PARSE_FAILED",
        status=400,
        headers={"Accept": "application/graphql-response+json"},
    ),
    gql(
        "hidden individualNumber",
        "{ persons(first: 1) { nodes { individualNumber } } }",
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql(
        "hidden personByIndividualNumber",
        '{ personByIndividualNumber(individualNumber: "123456789018") { id } }',
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql(
        "hidden field behind an inline fragment",
        "{ persons(first: 1) { nodes { ... on Person { individualNumber } } } }",
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql(
        "hidden root of another duty",
        "{ auditEvents { edges { node { id } } } }",
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql("subscription", "subscription { viewer { subject } }", code="GRAPHQL_VALIDATION_FAILED"),
    Case(
        "unknown operation name",
        400,
        "BAD_REQUEST",
        json={"query": "query A { viewer { subject } }", "operationName": "B"},
    ),
    Case(
        "two operations, no name",
        400,
        "BAD_REQUEST",
        json={"query": "query A { viewer { subject } } query B { viewer { roles } }"},
    ),
    # --- variables -------------------------------------------------------------------------------
    gql(
        "variable of the wrong type",
        "query($n: Int!) { persons(first: $n) { nodes { id } } }",
        {"n": "ten"},
        code="BAD_USER_INPUT",
    ),
    gql(
        "Int variable over 32 bits",
        "query($n: Int!) { persons(first: $n) { nodes { id } } }",
        {"n": 2**40},
        code="BAD_USER_INPUT",
    ),
    gql(
        "missing required variable",
        "query($n: Int!) { persons(first: $n) { nodes { id } } }",
        {},
        code="BAD_USER_INPUT",
    ),
    gql(
        "undeclared variable",
        "{ persons(first: $n) { nodes { id } } }",
        {"n": 1},
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql("list for an input object", PERSONS, {"f": [1, 2, 3]}, code="BAD_USER_INPUT"),
    gql("unknown input field", PERSONS, {"f": {"nameKana": "ヤマ"}}, code="BAD_USER_INPUT"),
    gql(
        "hidden input field as a variable",
        PERSONS,
        {"f": {"careLevel": "CARE_1"}},
        role="system_operator",
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql("malformed date", PERSONS, {"f": {"birthDateFrom": "2000-13-45"}}, code="BAD_USER_INPUT"),
    gql("date with a NUL", PERSONS, {"f": {"birthDateFrom": "2000-01-01\x00"}}, code="BAD_USER_INPUT"),
    # --- individual numbers as arguments ----------------------------------------------------------
    gql(
        "number with a wrong check digit",
        BY_NUMBER,
        {"n": WRONG_CHECK_DIGIT},
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql(
        "number of 11 digits",
        BY_NUMBER,
        {"n": _BASE},
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql(
        "number in full-width digits",
        BY_NUMBER,
        {"n": "１２３４５６７８９０１８"},
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql(
        "number with hyphens",
        BY_NUMBER,
        {"n": "2026-1101-0070"},
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql(
        "number with a NUL",
        BY_NUMBER,
        {"n": _BASE + "\x00"},
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql("number as an Int", BY_NUMBER, {"n": 202611010070}, role=NUMBER_OFFICER, code="BAD_USER_INPUT"),
    gql(
        "number with SQL",
        BY_NUMBER,
        {"n": "1' OR '1'='1"},
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    # --- string filters ---------------------------------------------------------------------------
    gql("sql injection in kana", PERSONS, {"f": {"nameKanaPrefix": "ヤ' OR 1=1 --"}}, code="BAD_USER_INPUT"),
    gql(
        "sql injection in addressee code",
        PERSONS,
        {"f": {"addresseeCode": "1 OR 1=1"}},
        code="BAD_USER_INPUT",
    ),
    gql(
        "sql injection in insured number",
        PERSONS,
        {"f": {"insuredNumber": "0'; DROP TABLE persons; --"}},
        code="BAD_USER_INPUT",
    ),
    gql("LIKE wildcard in kana", PERSONS, {"f": {"nameKanaPrefix": "ヤ%"}}, code="BAD_USER_INPUT"),
    gql("NUL in kana", PERSONS, {"f": {"nameKanaPrefix": "ヤ\x00マ"}}, code="BAD_USER_INPUT"),
    gql(
        "right-to-left override in kana",
        PERSONS,
        {"f": {"nameKanaPrefix": "ヤ\u202eマ"}},
        code="BAD_USER_INPUT",
    ),
    gql("zero-width space in kana", PERSONS, {"f": {"nameKanaPrefix": "ヤ\u200bマ"}}, code="BAD_USER_INPUT"),
    gql("kana of 51 characters", PERSONS, {"f": {"nameKanaPrefix": "ヤ" * 51}}, code="BAD_USER_INPUT"),
    gql("kana of 200k characters", PERSONS, {"f": {"nameKanaPrefix": "ヤ" * 200_000}}, code="BAD_USER_INPUT"),
    gql("half-width kana", PERSONS, {"f": {"nameKanaPrefix": "ﾔﾏ"}}, code="BAD_USER_INPUT"),
    gql("mixed-width kana", PERSONS, {"f": {"nameKanaPrefix": "ヤﾏﾀﾞ"}}, code="BAD_USER_INPUT"),
    gql("hiragana for kana", PERSONS, {"f": {"nameKanaPrefix": "やま"}}, code="BAD_USER_INPUT"),
    gql("empty kana", PERSONS, {"f": {"nameKanaPrefix": ""}}, code="BAD_USER_INPUT"),
    gql(
        "cursor with SQL",
        '{ persons(first: 1, after: "\'; DROP TABLE persons; --") { nodes { id } } }',
        code="BAD_USER_INPUT",
    ),
    gql(
        "person id with SQL",
        '{ person(id: "1; DROP TABLE persons") { id } }',
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql(
        "person id of 30 digits",
        '{ person(id: "999999999999999999999999999999") { id } }',
        code="BAD_USER_INPUT",
        data_allowed=True,
    ),
    gql(
        "audit filter subject with a NUL",
        AUDIT_EVENTS,
        {"f": {"subject": "test\x00"}},
        role=AUDITOR,
        code="BAD_USER_INPUT",
    ),
    gql(
        "audit filter operation with a NUL",
        AUDIT_EVENTS,
        {"f": {"operation": "\x00"}},
        role=AUDITOR,
        code="BAD_USER_INPUT",
    ),
    gql(
        "NUL in a string literal",
        '{ persons(filter: {nameKanaPrefix: "\\u0000"}) { nodes { id } } }',
        code="BAD_USER_INPUT",
    ),
    gql(
        "NUL in an audit literal",
        '{ auditEvents(filter: {decision: "A\\u0000"}) { edges { node { id } } } }',
        role=AUDITOR,
        code="BAD_USER_INPUT",
    ),
    gql(
        "audit cursor garbage",
        '{ auditEvents(after: "\\u0000") { edges { node { id } } } }',
        role=AUDITOR,
        code="BAD_USER_INPUT",
    ),
    # --- mutations -----------------------------------------------------------------------------------
    Case(
        "mutation over GET",
        405,
        "METHOD_NOT_ALLOWED",
        method="GET",
        role=SERVER,
        params={"query": "mutation { __typename }"},
    ),
    Case(
        "mutation over GET with variables",
        405,
        "METHOD_NOT_ALLOWED",
        method="GET",
        role=SERVER,
        params={"query": PROVIDE, "variables": json.dumps(_provide())},
    ),
    gql(
        "mutation without a Mutation type",
        "mutation { provideInformation { __typename } }",
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql(
        "mutation with a bad request id",
        PROVIDE,
        _provide(requestId="x'; DROP TABLE provision_records; --"),
        role=SERVER,
        code="BAD_USER_INPUT",
        audited=1,
    ),
    gql(
        "mutation with a NUL in the inquirer",
        PROVIDE,
        _provide(inquirer="厚生\x00労働大臣"),
        role=SERVER,
        code="BAD_USER_INPUT",
    ),
    gql(
        "mutation with a 100k request id",
        PROVIDE,
        _provide(requestId="r" * 100_000),
        role=SERVER,
        code="BAD_USER_INPUT",
        audited=1,
    ),
    gql(
        "oneOf subject with both members",
        PROVIDE,
        _provide(subject={"linkageCode": "A1", "addresseeCode": "0000000001"}),
        role=SERVER,
        code="BAD_USER_INPUT",
        audited=1,
    ),
    gql(
        "oneOf subject with both members as a literal",
        'mutation { provideInformation(input: {requestId: "r1", permitNumber: "p", inquirer: "i", basisItem: "94", subject: {linkageCode: "A1", addresseeCode: "0000000001"}, items: [QUALIFICATION], requestDate: "2026-11-01"}) { __typename } }',
        role=SERVER,
        code="GRAPHQL_VALIDATION_FAILED",
    ),
    gql(
        "inquiry with a bad addressee code",
        INQUIRE,
        _inquiry(addresseeCode="０００００００００１"),
        role=NUMBER_OFFICER,
        code="BAD_USER_INPUT",
        audited=1,
    ),
    # --- persisted documents and clients ---------------------------------------------------------
    Case(
        "apq unknown hash",
        200,
        "PERSISTED_QUERY_NOT_FOUND",
        json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": UNKNOWN_HASH}}},
    ),
    Case(
        "documentId unknown", 404, "PERSISTED_QUERY_NOT_FOUND", json={"documentId": f"sha256:{UNKNOWN_HASH}"}
    ),
    Case("doc_id unknown", 404, "PERSISTED_QUERY_NOT_FOUND", json={"doc_id": UNKNOWN_HASH}),
    Case(
        "documentId over GET unknown",
        404,
        "PERSISTED_QUERY_NOT_FOUND",
        method="GET",
        params={"documentId": f"sha256:{UNKNOWN_HASH}"},
    ),
    Case(
        "documentId malformed",
        400,
        "BAD_REQUEST",
        json={"documentId": "sha256:'; DROP TABLE persisted_documents; --"},
    ),
    Case("documentId upper-case hex", 400, "BAD_REQUEST", json={"documentId": "sha256:" + "A" * 64}),
    Case(
        "apq version 2",
        400,
        "BAD_REQUEST",
        json={"extensions": {"persistedQuery": {"version": 2, "sha256Hash": UNKNOWN_HASH}}},
    ),
    Case(
        "apq hash not hex",
        400,
        "BAD_REQUEST",
        json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "z" * 64}}},
    ),
    Case(
        "apq text not matching its hash",
        400,
        "PERSISTED_QUERY_HASH_MISMATCH",
        json={"query": VIEWER, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": UNKNOWN_HASH}}},
    ),
    Case(
        "two different ids",
        400,
        "PERSISTED_QUERY_HASH_MISMATCH",
        json={"documentId": f"sha256:{UNKNOWN_HASH}", "doc_id": "1" * 64},
    ),
    Case(
        "apq registration of an invalid document",
        200,
        "GRAPHQL_VALIDATION_FAILED",
        json={
            "query": "{ persons { nodes { individualNumber } } }",
            "extensions": {
                "persistedQuery": {
                    "version": 1,
                    "sha256Hash": document_id("{ persons { nodes { individualNumber } } }"),
                }
            },
        },
    ),
    Case(
        "trusted client sends free text",
        400,
        "PERSISTED_QUERY_ID_REQUIRED",
        json={"query": "{ viewer { subject } }"},
        role=DEPARTMENT_ROLE,
        department=DEPARTMENT,
    ),
    Case(
        "trusted client names an unknown id",
        404,
        "PERSISTED_QUERY_NOT_IN_LIST",
        json={"documentId": f"sha256:{UNKNOWN_HASH}"},
        role=DEPARTMENT_ROLE,
        department=DEPARTMENT,
    ),
    Case(
        "client header naming another client",
        400,
        "CLIENT_NAME_MISMATCH",
        json={"documentId": f"sha256:{UNKNOWN_HASH}"},
        role=DEPARTMENT_ROLE,
        department=DEPARTMENT,
        headers={"graphql-client-name": "seikatsu_fukushi"},
    ),
    Case(
        "client header malformed",
        400,
        "CLIENT_NAME_MISMATCH",
        json={"query": VIEWER},
        headers={"graphql-client-name": "x' OR 1=1; --"},
    ),
    Case(
        "GET variables not json",
        400,
        "BAD_REQUEST",
        method="GET",
        params={"query": PERSONS, "variables": "{nope"},
    ),
    # --- bugs found by this catalogue ------------------------------------------------------------------
    gql(
        "cancelled sibling statement",
        "{ persons(first: 200) { nodes { currentCertification { cancelledOn } levies(fiscalYear: 214) { annualPremium } } } }",
        code="BAD_USER_INPUT",
        audited=1,  # the page of persons was read
        touches_persons=True,
    ),
    gql(
        "operation name of 250 characters",
        f"query {LONG_NAME} {{ persons(first: 1) {{ nodes {{ id }} }} }}",
        code=None,
        audited=1,
        touches_persons=True,
    ),
]


def _params() -> list[Any]:
    marks: list[Any] = []
    for case in CASES:
        mark = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        marks.append(pytest.param(case, id=case.name.replace(" ", "-"), marks=mark))
    return marks


def test_the_catalogue() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 50


# -------------------------------------------------------------------------------------------------


class Numbers(frozenset[str]):
    def __repr__(self) -> str:
        return f"<{len(self)} individual numbers>"


@dataclass
class Catalogue:
    city: City
    client: httpx.AsyncClient
    numbers: Numbers
    start: Snapshot
    audited: int = 0  # audit entries the cases that ran expected


@pytest.fixture(scope="module")
async def catalogue(
    pg_server: Any, migrated_template: str, vault: NumberVault, authenticator: Any
) -> AsyncIterator[Catalogue]:
    async with committed_city(
        pg_server, migrated_template, vault, authenticator, insured=40, seed=17
    ) as city:
        async with city.engine.connect() as conn:
            from sqlalchemy import text

            rows = (
                await conn.execute(text("SELECT addressee_code, individual_number_enc FROM persons"))
            ).all()
        numbers = Numbers(vault.decrypt(e, context=c.encode()).reveal() for c, e in rows if e is not None)
        assert numbers
        async with city.client() as client:
            yield Catalogue(city, client, numbers, await snapshot(city.engine))


def _authorization(case: Case, token_for: Callable[..., str]) -> str | None:
    if case.auth is None:
        return None
    token = token_for(case.role, case.department)
    if case.auth == "token":
        return f"Bearer {token}"
    if case.auth == "tampered":
        return f"Bearer {token[:-6]}{'A' * 6 if not token.endswith('AAAAAA') else 'B' * 6}"
    if case.auth == "twice":
        return f"Bearer {token} Bearer {token}"
    return case.auth


async def _send(case: Case, client: httpx.AsyncClient, token_for: Callable[..., str]) -> httpx.Response:
    headers = {"Accept": "application/json", **case.headers}
    authorization = _authorization(case, token_for)
    if authorization is not None:
        headers["Authorization"] = authorization
    content = case.content
    if content is None and case.json is not None:
        content = json.dumps(case.json, ensure_ascii=False).encode()
    if case.content_type is not None and case.method != "GET":
        headers["Content-Type"] = case.content_type
    return await client.request(case.method, "/graphql", content=content, params=case.params, headers=headers)


def _clean(response: httpx.Response, numbers: Numbers) -> None:
    for leak in LEAKS:
        assert leak not in response.text, leak
    leaked = len(numbers & set(find_valid_numbers(response.text)))
    assert leaked == 0, f"{leaked} individual numbers of the city in the answer"


@pytest.mark.parametrize("case", _params())
async def test_hostile_request(case: Case, catalogue: Catalogue, token_for: Callable[..., str]) -> None:
    engine = catalogue.city.engine
    before = await snapshot(engine)
    try:
        try:
            response = await _send(case, catalogue.client, token_for)
        except asyncio.CancelledError:
            # Not this test being cancelled: the app let a CancelledError escape (see
            # BUG_CANCELLED_STATEMENT); a server would drop the connection.
            raise AssertionError("the app died with CancelledError") from None
    finally:
        after = await snapshot(engine)
        # Nothing changed in the database, whatever the answer.
        assert before.changed_tables(after) == []
        # The audit trail only grew, by the entries of the operations that ran.
        assert await audit_md5(engine, before.audit_last_seq) == before.audit_md5
        added = await audit_entries_after(engine, before.audit_last_seq)
        assert after.audit_rows - before.audit_rows == len(added)
        assert len(added) <= case.audited, [
            (e["operation_type"], e["outcome"], e["error_codes"]) for e in added
        ]
    catalogue.audited += len(added)

    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.status_code == case.status, (response.status_code, response.text[:300])
    _clean(response, catalogue.numbers)
    if case.code is None and case.status >= 400:
        return  # Starlette's own refusal (e.g. 405 for PUT): plain text, nothing of ours ran
    body = response.json()
    assert isinstance(body, dict) and set(body) <= {"data", "errors", "extensions"}, body
    errors = body.get("errors") or []
    for error in errors:
        assert isinstance(error["message"], str) and error["extensions"]["code"], error
    codes = [e["extensions"]["code"] for e in errors]
    if case.code is None:
        assert codes == [], codes
    else:
        assert case.code in codes, codes
        assert "INTERNAL_SERVER_ERROR" not in codes, codes
        if not case.data_allowed:
            assert body.get("data") is None, body
        else:
            data = body.get("data") or {}
            assert all(v is None for v in data.values()), body  # the refused field gave nothing
    if case.audited:
        assert len(added) == case.audited
        for entry in added:
            assert entry["subject"] == f"test-{case.role}"
            assert entry["outcome"] == ("error" if case.code else "ok")
            if not case.touches_persons:
                assert entry["person_ids"] == []
            if case.code:
                assert case.code in entry["error_codes"]


async def test_nothing_changed_over_the_catalogue(catalogue: Catalogue) -> None:
    """Over the whole catalogue (whatever part of it ran): the tables as they were, the audit trail grown
    only by the failed mutations' entries."""
    end = await snapshot(catalogue.city.engine)
    assert catalogue.start.changed_tables(end) == []
    assert end.audit_rows - catalogue.start.audit_rows == catalogue.audited
    assert await audit_md5(catalogue.city.engine, catalogue.start.audit_last_seq) == catalogue.start.audit_md5
