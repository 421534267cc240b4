"""The city under test: seeding, the registered documents, the inputs of the five operations.

The operations (persisted documents; bench/documents/):

- person detail (``BenchPersonDetail``, number-use officer): a person with qualifications, current
  certification, this fiscal year's levy with installments and receipts, last fiscal year's claims;
- kana search (``BenchPersonSearch``, LTCI officer): ``persons(filter: {nameKanaPrefix}, first: 50)``
  on two-character prefixes that match at least 50 persons;
- transfer page (the department's own ``TransferInformation`` of documents/fukushi_engo.json):
  500 persons, every item of its approved permission (別表第2 61);
- provision request (``BenchProvideInformation``, intermediate server): 別表第2 94, three items;
- audit-events page (``BenchAuditEvents``, security auditor, 100 entries; registered as an automatic
  persisted query, since no client of policies/data/clients.toml holds the auditor's role).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import text

from persistence.crypto import NumberVault
from persistence.db import make_engine
from persistence.migrate import upgrade
from persistence.seed import seed_city

from .machine import ROOT, Identity

DOCS = ROOT / "bench" / "documents"
DEPARTMENT = "fukushi_engo"
TRANSFER_ITEMS = ["QUALIFICATION", "CERTIFICATION", "COPAY_RATIO", "COST_LIMIT", "BENEFITS"]
PRINCIPALS = 128  # tokens per role in rotation: the per-principal rate limit (20/s) stays at its default


def _operations(path: Path) -> dict[str, dict[str, Any]]:
    return {op["name"]: op for op in json.loads(path.read_text())["operations"]}


WEB = _operations(DOCS / "kaigo_web.json")
SERVER = _operations(DOCS / "intermediate_server.json")  # 中間サーバー: the only one that provides
AUDITOR = _operations(DOCS / "security_auditor.apq.json")
DEPARTMENT_DOCS = _operations(ROOT / "documents" / f"{DEPARTMENT}.json")


def fiscal_year(today: date) -> int:
    return today.year if today.month >= 4 else today.year - 1


async def seed(url: str, vault: NumberVault, insured: int, today: date) -> dict[str, Any]:
    """Migrate and seed; the generator's figures (persons/s, rows/s)."""
    engine = make_engine(url, pool_size=2)
    try:
        await upgrade(engine)
        report = await seed_city(engine, vault, insured=insured, seed=1, today=today)
        # seed_city leaves the statistics to autovacuum; a city in service has them. Without this the
        # first minutes after seeding plan per-person lookups as parallel scans (Gather Merge, ~10 ms).
        began = time.perf_counter()
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        analyze_seconds = time.perf_counter() - began
    finally:
        await engine.dispose()
    secs = report.elapsed_seconds
    return {
        "insured": report.insured,
        "persons": report.persons,
        "rows": report.total_rows,
        "seconds": round(secs, 1),
        "persons_per_s": round(report.persons / secs),
        "rows_per_s": round(report.total_rows / secs),
        "analyze_seconds": round(analyze_seconds, 1),
    }


def import_documents(url: str) -> None:
    """`kaigo pq import` of the departments' manifests and the bench's (the registry's own path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGO_")}
    env["DATABASE_URL"] = url
    files = [
        *sorted(str(p) for p in (ROOT / "documents").glob("*.json")),
        str(DOCS / "kaigo_web.json"),
        str(DOCS / "intermediate_server.json"),
    ]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kaigo"), "pq", "import", *files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"kaigo pq import failed: {done.stderr[-800:]}")


@dataclass
class Inputs:
    """Sampled inputs (never printed) and the tokens of each role."""

    person_ids: list[int]
    prefixes: list[str]
    linkage_codes: list[str]
    tokens: dict[str, list[str]] = field(default_factory=dict)
    permission_id: str | None = None
    today: date = field(default_factory=date.today)
    transfer_page: int = 500  # lowered (and recorded) when the server refuses 500 with QUERY_TOO_COMPLEX
    transfer_refusals: dict[int, str] = field(default_factory=dict)


async def sample(dsn: str, today: date, rng: random.Random, n: int = 400) -> Inputs:
    conn = await asyncpg.connect(dsn)
    try:
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT DISTINCT p.id FROM persons p JOIN qualifications q ON q.person_id = p.id"
                " WHERE q.lost_on IS NULL"
            )
        ]
        prefixes = [
            r["p"]
            for r in await conn.fetch(
                "SELECT left(name_kana, 2) AS p FROM persons GROUP BY 1 HAVING count(*) >= 50"
                " ORDER BY count(*) DESC LIMIT 200"
            )
        ]
        codes = [
            r["linkage_code"]
            for r in await conn.fetch(
                "SELECT DISTINCT p.linkage_code FROM persons p JOIN qualifications q ON q.person_id = p.id"
                " WHERE p.linkage_code IS NOT NULL AND q.lost_on IS NULL"
            )
        ]
    finally:
        await conn.close()
    rng.shuffle(ids)
    rng.shuffle(prefixes)
    rng.shuffle(codes)
    if not prefixes:
        raise SystemExit("no two-character kana prefix matches 50 persons: the city is too small")
    return Inputs(person_ids=ids[:n], prefixes=prefixes, linkage_codes=codes[:n], today=today)


def issue_tokens(identity: Identity, inputs: Inputs) -> None:
    every_role = [
        "kaigo_number_officer",
        "kaigo_officer",
        "kaigo_section_chief",
        "kenko_choju_officer",
        "shido_kansa_officer",
        "intermediate_server",
        "security_auditor",
        "system_operator",
    ]
    roles: dict[str, tuple[list[str], str | None]] = {
        "kaigo_number_officer": (["kaigo_number_officer"], None),
        "kaigo_officer": (["kaigo_officer"], None),
        "intermediate_server": (["intermediate_server"], None),
        "security_auditor": (["security_auditor"], None),
        "receiving_department": (["receiving_department"], DEPARTMENT),
        "kaigo_section_chief": (["kaigo_section_chief"], None),
        "every_duty": (every_role, None),
    }
    for name, (role_list, department) in roles.items():
        inputs.tokens[name] = [
            identity.token(role_list, sub=f"bench-{name}-{i:03d}", department=department)
            for i in range(PRINCIPALS)
        ]


def doc_ref(op: dict[str, Any]) -> dict[str, Any]:
    return {"documentId": "sha256:" + op["id"]}


def person_detail_vars(inputs: Inputs, pid: int) -> dict[str, Any]:
    fy = fiscal_year(inputs.today)
    return {
        "id": str(pid),
        "fiscalYear": fy,
        "benefitsFrom": date(fy - 1, 4, 1).isoformat(),
        "benefitsTo": date(fy, 3, 31).isoformat(),
    }


def requests_for(
    op: str, inputs: Inputs, *, free_text: bool = False, role: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(token, body) lines of one operation, rotating over inputs and principals."""
    rows: list[tuple[str, dict[str, Any]]] = []

    def body(doc: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        if free_text:
            return {"query": doc["body"], "operationName": doc["name"], "variables": variables}
        return {**doc_ref(doc), "variables": variables}

    if op == "person_detail":
        tokens = inputs.tokens[role or "kaigo_number_officer"]
        for i, pid in enumerate(inputs.person_ids):
            rows.append(
                (tokens[i % len(tokens)], body(WEB["BenchPersonDetail"], person_detail_vars(inputs, pid)))
            )
    elif op == "kana_search":
        tokens = inputs.tokens["kaigo_officer"]
        for i, prefix in enumerate(inputs.prefixes):
            rows.append((tokens[i % len(tokens)], body(WEB["BenchPersonSearch"], {"prefix": prefix})))
    elif op == "provision":
        tokens = inputs.tokens["intermediate_server"]
        for i, code in enumerate(inputs.linkage_codes):
            values = {
                "requestId": "@RID@",
                "permitNumber": f"BENCH-PERMIT-{i}",
                "inquirer": "総社市長",  # a body of item 94's group (policies/data/bodies.toml)
                "basisItem": "94",
                "subject": {"linkageCode": code},
                "items": ["QUALIFICATION", "CERTIFICATION", "LEVY"],
                "requestDate": inputs.today.isoformat(),
            }
            rows.append((tokens[i % len(tokens)], body(SERVER["BenchProvideInformation"], {"input": values})))
    elif op == "transfer_page":
        tokens = inputs.tokens["receiving_department"]
        values = {
            # one request id: the permission serves one request (issue 15); the first page is replayed,
            # and a replay reads and builds the page again as the first answer did
            "requestId": f"bench-pages-{inputs.permission_id}",
            "permissionId": inputs.permission_id,
            "items": TRANSFER_ITEMS,
            "first": inputs.transfer_page,
        }
        for i in range(len(tokens)):
            rows.append((tokens[i], body(DEPARTMENT_DOCS["TransferInformation"], {"input": values})))
    elif op == "audit_page":
        tokens = inputs.tokens["security_auditor"]
        for i in range(len(tokens)):
            rows.append((tokens[i], body(AUDITOR["BenchAuditEvents"], {"first": 100})))
    else:
        raise ValueError(op)
    return rows


class Refused(SystemExit):
    def __init__(self, status: int, codes: list[str]) -> None:
        super().__init__(f"setup request failed: HTTP {status}, codes {codes}")
        self.codes = codes


def post(client: httpx.Client, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    try:
        # orjson: a transfer page is a megabyte, and the client shares the machine with the server
        data: dict[str, Any] = orjson.loads(response.content)
    except ValueError:
        data = {}
    if response.status_code != 200 or data.get("errors"):
        codes = [str(e.get("extensions", {}).get("code")) for e in data.get("errors") or []]
        raise Refused(response.status_code, codes)
    return data


def settle_transfer_page(base_url: str, inputs: Inputs) -> None:
    """The largest of 500, 250, 100, 50 persons a page the server accepts for the department's document."""
    for size in (500, 250, 100, 50):
        inputs.transfer_page = size
        inputs.permission_id = approve_transfer(base_url, inputs)
        try:
            check(base_url, "transfer_page", requests_for("transfer_page", inputs), count=1)
            return
        except Refused as refused:
            inputs.transfer_refusals[size] = ",".join(refused.codes)
    raise SystemExit("the department's TransferInformation document is refused at every page size")


def prepare_server_state(base_url: str, inputs: Inputs) -> None:
    """Register the auditor's document (APQ with its text), apply for and approve the transfer."""
    with httpx.Client(base_url=base_url) as client:
        audit = AUDITOR["BenchAuditEvents"]
        assert hashlib.sha256(audit["body"].encode()).hexdigest() == audit["id"]
        apq = {"version": 1, "sha256Hash": audit["id"]}
        post(
            client,
            inputs.tokens["security_auditor"][0],
            {"query": audit["body"], "variables": {"first": 1}, "extensions": {"persistedQuery": apq}},
        )
    inputs.permission_id = approve_transfer(base_url, inputs)


def approve_transfer(base_url: str, inputs: Inputs) -> str:
    """A fresh transfer permission, applied for and approved: one serves one transfer request (its pages),
    so the page load, each page size tried and the whole-city transfer have one each."""
    with httpx.Client(base_url=base_url) as client:
        applied = post(
            client,
            inputs.tokens["receiving_department"][0],
            {
                **doc_ref(DEPARTMENT_DOCS["RequestTransferPermission"]),
                "variables": {
                    "input": {
                        "requestId": f"bench-apply-{random.randrange(10**9)}",
                        "basisItem": "61",
                        "items": TRANSFER_ITEMS,
                        "purpose": "老人福祉法による福祉の措置 (benchmark)",
                        "validFrom": inputs.today.isoformat(),
                        "validTo": inputs.today.isoformat(),
                    }
                },
            },
        )["data"]["requestTransferPermission"]
        if applied["__typename"] != "TransferPermissionRequested":
            raise SystemExit(f"transfer application refused: {applied.get('code')}")
        permission: str = applied["permission"]["id"]
        decided = post(
            client,
            inputs.tokens["kaigo_section_chief"][0],
            {
                "query": "mutation D($id: ID!) { decideTransferPermission(id: $id, approve: true)"
                " { permission { status } } }",
                "variables": {"id": permission},
            },
        )
        if decided["data"]["decideTransferPermission"]["permission"]["status"] != "APPROVED":
            raise SystemExit("transfer permission not approved")
        return permission


EXPECTED = {
    "person_detail": lambda d: d["person"] is not None,
    "kana_search": lambda d: len(d["persons"]["edges"]) == 50,
    "provision": lambda d: d["provideInformation"]["__typename"] in ("Provided", "PendingReview"),
    "transfer_page": lambda d: (
        d["transferInformation"]["__typename"] == "TransferPage"
        and len(d["transferInformation"]["persons"]) > 0
    ),
    "audit_page": lambda d: "auditEvents" in d,
}


def check(base_url: str, op: str, rows: list[tuple[str, dict[str, Any]]], count: int = 3) -> None:
    """A few requests of the file through Python first: the answers must be what the operation means."""
    with httpx.Client(base_url=base_url) as client:
        for token, body in rows[:count]:
            text = json.dumps(body).replace("@RID@", f"check-{random.randrange(10**12)}")
            data = post(client, token, json.loads(text))["data"]
            if not EXPECTED[op](data):
                raise SystemExit(f"{op}: unexpected answer shape (typename or size)")


def whole_city_transfer(
    base_url: str, inputs: Inputs, page: int = 1000, max_seconds: float | None = None
) -> dict[str, Any]:
    if inputs.transfer_refusals:  # the server caps the page below 500: use what it accepts
        page = inputs.transfer_page
    """Every in-scope person of the city, page after page (the department's document), one request id."""

    request_id = f"bench-city-{random.randrange(10**9)}"
    after: str | None = None
    persons = pages = 0
    doc = DEPARTMENT_DOCS["TransferInformation"]
    token = inputs.tokens["receiving_department"][1]
    permission = approve_transfer(base_url, inputs)
    started = time.perf_counter()
    complete = True
    with httpx.Client(base_url=base_url) as client:
        while True:
            values = {
                "requestId": request_id,
                "permissionId": permission,
                "items": TRANSFER_ITEMS,
                "first": page,
                "after": after,
            }
            data = post(client, token, {**doc_ref(doc), "variables": {"input": values}})["data"]
            result = data["transferInformation"]
            if result["__typename"] != "TransferPage":
                raise SystemExit(f"whole-city transfer denied: {result.get('code')}")
            persons += len(result["persons"])
            pages += 1
            if not result["pageInfo"]["hasNextPage"]:
                break
            after = result["pageInfo"]["endCursor"]
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                complete = False
                break
    secs = time.perf_counter() - started
    return {
        "persons": persons,
        "pages": pages,
        "page_size": page,
        "seconds": round(secs, 1),
        "persons_per_s": round(persons / secs),
        "complete": complete,
    }
