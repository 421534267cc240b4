"""The floor and the plans.

The app runs in-process (httpx over ASGI, no socket, no uvicorn) with a listener on its engine that
records every statement it sends with its bound parameters. For person detail and kana search:

- **floor** (person detail): the data statements the read path issued before issue 14's planner, one
  per DataLoader (floor_person_detail.sql), run with plain asyncpg on one warm connection, each after
  the one whose ids it needs: the same rows, fetched without GraphQL, HTTP, authentication, DataLoaders
  or ORM. Kept as data, the floor stays what it was while kaigo's read path changes;
- **in-process**: the whole request through the app without HTTP, for the layer in between;
- **plans**: ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` of each statement, summarised as node types,
  relations, indexes and actual rows. Neither statement parameters nor plan conditions (which could hold
  values) are kept: only the shape.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from api.app import create_app
from api.auth import TokenVerifier
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine

from .city import Inputs, person_detail_vars, requests_for
from .machine import AUDIENCE, ISSUER, Identity

# Not the rows of the person: the document registry, the audit trail (audit_append is a write), locks.
SKIP = re.compile(r"persisted_documents|audit_|pg_advisory|pg_catalog|alembic_version", re.I)


def _is_data(statement: str) -> bool:
    """A read of the city's rows: a SELECT with a FROM, nothing of the registry or the audit trail; or a
    planned read (one statement: the answer and its audit entry, api/reads.py)."""
    if statement.startswith(PLANNED):
        return True
    head = statement.lstrip().upper()
    reads = head.startswith(("SELECT", "WITH")) and re.search(r"\sFROM\s", head) is not None
    return reads and not SKIP.search(statement) and "FOR UPDATE" not in head


PLANNED = "/* planned */ "  # marks a planned read's statement among the captured ones


class RecordingDatabase(Database):
    """The app's Database, recording each planned read's statement (sent on the driver's connection,
    past SQLAlchemy's events) with its arguments."""

    def __init__(self, engine: Any, recorder: Captured) -> None:
        super().__init__(engine)
        self.recorder = recorder

    async def read_one(self, sql: str, arguments: Any) -> Any:
        self.recorder.statements.append((PLANNED + sql, list(arguments)))
        return await super().read_one(sql, arguments)


class Captured:
    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        self.statements.append((statement, parameters))


class InProcess:
    """The app in this process (httpx over ASGI), its engine's statements recorded."""

    def __init__(self, url: str, vault: NumberVault, identity: Identity) -> None:
        self.engine = make_engine(url, pool_size=2)
        self.recorder = Captured()
        event.listen(self.engine.sync_engine, "before_cursor_execute", self.recorder)
        verifier = TokenVerifier(jwks=str(identity.jwks_path), issuer=ISSUER, audience=AUDIENCE)
        database = RecordingDatabase(self.engine, self.recorder)
        app = create_app(Runtime(database, vault, verifier, graphql_ide=False))
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

    async def close(self) -> None:
        await self.client.aclose()
        await self.engine.dispose()

    async def run(
        self, rows: list[tuple[str, dict[str, Any]]], n: int, offset: int = 0
    ) -> tuple[list[float], list[int], list[list[tuple[str, Any]]]]:
        """``n`` requests of ``rows``: their times, statement counts and data statements."""
        times: list[float] = []
        counts: list[int] = []
        data: list[list[tuple[str, Any]]] = []
        for i in range(offset, offset + n):
            token, body = rows[i % len(rows)]
            self.recorder.statements.clear()
            began = time.perf_counter()
            r = await self.client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
            elapsed = time.perf_counter() - began
            if r.status_code != 200 or r.json().get("errors"):
                raise SystemExit(f"in-process request failed: HTTP {r.status_code}")
            times.append(elapsed)
            counts.append(len(self.recorder.statements))
            data.append([(st, p) for st, p in self.recorder.statements if _is_data(st)])
        return times, counts, data


async def capture(
    url: str, vault: NumberVault, identity: Identity, inputs: Inputs, ops: list[str], per_op: int
) -> dict[str, Any]:
    """Run ``per_op`` requests of each op in-process; per op: timings and the statements of each request."""
    app = InProcess(url, vault, identity)
    out: dict[str, Any] = {}
    try:
        for op in ops:
            rows = requests_for(op, inputs)
            await app.run(rows, 5)  # warm-up: document cache, schema views, pool
            times, counts, data = await app.run(rows, per_op, offset=5)
            out[op] = {
                "in_process_ms": summary(times),
                "statements_per_request": statistics.median(counts),
                "data_statements_per_request": statistics.median(len(x) for x in data),
                "requests": data,
            }
    finally:
        await app.close()
    return out


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000, 3)

    return {
        "p50": pct(0.5),
        "p90": pct(0.9),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": pct(1.0),
        "n": len(ordered),
    }


def _args(parameters: Any) -> list[Any]:
    if parameters is None:
        return []
    if isinstance(parameters, dict):
        raise TypeError("named parameters: expected the asyncpg dialect's positional ones")
    return list(parameters)


def _floor_statements() -> dict[str, str]:
    text = (Path(__file__).parent / "floor_person_detail.sql").read_text()
    return {
        name.strip(): sql.strip().rstrip(";")
        for name, sql in (b.split("\n", 1) for b in text.split("-- name: ")[1:])
    }


PERSON_DETAIL = _floor_statements()


@dataclass(frozen=True)
class FloorPerson:
    """The variables of one ``BenchPersonDetail`` request, as the old read path bound them."""

    person_id: int
    fiscal_year: int
    first_month: date  # claim results from this month …
    last_month: date  # … to this one (both the first of their month)


def floor_persons(inputs: Inputs) -> list[FloorPerson]:
    out = []
    for pid in inputs.person_ids:
        v = person_detail_vars(inputs, pid)
        first, last = date.fromisoformat(v["benefitsFrom"]), date.fromisoformat(v["benefitsTo"])
        out.append(FloorPerson(pid, v["fiscalYear"], first.replace(day=1), last.replace(day=1)))
    return out


async def person_detail(conn: asyncpg.Connection, p: FloorPerson) -> int:
    """One person detail on the floor: the statements in the old path's order, each after the one whose
    ids it needs (none run on empty ids, as a loader does not); how many ran."""
    s, ids = PERSON_DETAIL, [p.person_id]
    await conn.fetch(s["person"], ids)
    qualifications = await conn.fetch(s["qualifications"], ids)
    await conn.fetch(s["certifications"], ids)
    levies = await conn.fetch(s["levies"], ids)
    await conn.fetch(s["claim_results"], ids, p.first_month, p.last_month)
    ran = 5
    if qualifications:
        await conn.fetch(s["copay_ratios"], [q["id"] for q in qualifications])
        ran += 1
    levy_ids = [levy["id"] for levy in levies if levy["fiscal_year"] == p.fiscal_year]
    if levy_ids:
        installments = await conn.fetch(s["levy_installments"], 0, levy_ids)
        ran += 1
        if installments:
            await conn.fetch(s["levy_receipts"], [i["id"] for i in installments])
            ran += 1
    return ran


class Floor:
    """Person details on the floor, one after the other on one warm asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[int] = []  # per request run

    @classmethod
    async def connect(cls, dsn: str) -> Floor:
        return cls(await asyncpg.connect(dsn))

    async def close(self) -> None:
        await self.conn.close()

    async def run(self, persons: list[FloorPerson]) -> list[float]:
        times = []
        for person in persons:
            began = time.perf_counter()
            self.statements.append(await person_detail(self.conn, person))
            times.append(time.perf_counter() - began)
        return times


def _walk(node: dict[str, Any], out: list[dict[str, Any]]) -> None:
    entry = {"node": node.get("Node Type")}
    for key, name in (("Relation Name", "relation"), ("Index Name", "index")):
        if key in node:
            entry[name] = node[key]
    entry["rows"] = node.get("Actual Rows")
    entry["loops"] = node.get("Actual Loops")
    out.append(entry)
    for child in node.get("Plans", []):
        _walk(child, out)


async def explain(dsn: str, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The shape of each statement's plan: nodes, relations, indexes, rows; sequential scans flagged."""
    conn = await asyncpg.connect(dsn)
    plans = []
    try:
        sizes = {
            r["relname"]: int(r["n"])
            for r in await conn.fetch(
                "SELECT relname, greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE relkind = 'r'"
            )
        }
        for statement, params in statements:
            # in a transaction rolled back: a planned read's statement appends its audit entry
            explained = conn.transaction()
            await explained.start()
            try:
                raw = await conn.fetchval(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.removeprefix(PLANNED),
                    *_args(params),
                )
            finally:
                await explained.rollback()
            doc = json.loads(raw)[0] if isinstance(raw, str) else raw[0]
            nodes: list[dict[str, Any]] = []
            _walk(doc["Plan"], nodes)
            relations = sorted({n["relation"] for n in nodes if "relation" in n})
            seq = [
                {"relation": n["relation"], "table_rows": sizes.get(n["relation"], 0)}
                for n in nodes
                if n["node"] == "Seq Scan" and "relation" in n
            ]
            plans.append(
                {
                    "statement": " ".join(statement.split())[:160],
                    "relations": relations,
                    "indexes": sorted({n["index"] for n in nodes if "index" in n}),
                    "nodes": [
                        " ".join(str(x) for x in (n["node"], n.get("relation", ""), n.get("index", "")) if x)
                        for n in nodes
                    ],
                    "seq_scans": seq,
                    "seq_scans_on_big_tables": [s for s in seq if s["table_rows"] > 10_000],
                    "execution_ms": round(doc.get("Execution Time", 0.0), 3),
                    "planning_ms": round(doc.get("Planning Time", 0.0), 3),
                }
            )
    finally:
        await conn.close()
    return plans
