"""Figures of the write side (issue 18): the register's daily feed, the whole city's annual assessment, and
what one write mutation costs the server against a person-detail read.

    python bench/writes.py                 # 130,000 insured (the seeding takes a minute or two)
    python bench/writes.py --quick         # 6,000 insured: a smoke run

An embedded PostgreSQL in a temp dir (fsync on: commits are real), one seeded city, in-process:

1. feed: a day's feed of ``--feed-lines`` resident changes (転居, 転入, 転出, 死亡, 出生, 世帯変更, 氏名変更 in
   the proportions below) applied as ``kaigo intake residents`` applies it: lines/s (target ≥ 500), then
   the same file again (every line skipped);
2. assessment: the whole city's annual assessment (本算定) of the next fiscal year, as ``kaigo assess``
   runs it: seconds (target ≤ 60 s for 130,000 insured);
3. write vs read: the server's CPU per request (the app process and PostgreSQL, from /proc) of a write
   mutation (recordResidentChange, 転居 of a different person each time) against a person-detail read
   (the load bench's BenchPersonDetail, answered by the read planner in one statement), in rotating
   blocks: the ratio (target ≤ 2×); and against the same read through strawberry's executor, the path
   every mutation takes.

Prints a table and writes bench/results/writes-latest.{json,md}. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api.app import create_app, settle_long_lived  # noqa: E402
from api.auth import TokenVerifier  # noqa: E402
from api.devkeys import DEV_ISSUER, ensure_dev_keys  # noqa: E402
from api.guards import Guards  # noqa: E402
from api.runtime import Runtime  # noqa: E402
from persistence.assessment import assess_city  # noqa: E402
from persistence.crypto import NumberVault  # noqa: E402
from persistence.db import Database, make_engine  # noqa: E402
from persistence.embedded import start  # noqa: E402
from persistence.migrate import upgrade  # noqa: E402
from persistence.provision_records import Actor  # noqa: E402
from persistence.resident_feed import intake_residents, read_feed  # noqa: E402
from persistence.seed import seed_city  # noqa: E402
from policies.resident_changes import COLUMNS  # noqa: E402

UNLIMITED = Guards(rate_per_second=1e9, rate_burst=10**9)
ACTOR = Actor("bench-feed", ("kaigo_intake",))
# share of a day's changes by kind (a city's register: mostly 転居, then 転入 and 転出)
MIX = {
    "MOVE_WITHIN": 0.35,
    "MOVE_IN": 0.2,
    "MOVE_OUT": 0.15,
    "DEATH": 0.1,
    "BIRTH": 0.05,
    "HOUSEHOLD_CHANGE": 0.1,
    "NAME_CHANGE": 0.05,
}
PERSON_DETAIL = json.loads((ROOT / "bench" / "documents" / "kaigo_web.json").read_text())["operations"][0][
    "body"
]
MOVE = """mutation BenchMove($i: ResidentChangeInput!) { recordResidentChange(input: $i) {
  __typename ... on ResidentChangeApplied { change { id effect } person { id version address { line } } } } }"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def server_cpu(pgdata: Path) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster, its live children and those ended."""
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    t = postmaster.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.Error):
            c = child.cpu_times()
            total += c.user + c.system
    return total


async def residents(engine: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                text(
                    "SELECT p.id, p.addressee_code, p.version, p.household_code, p.birth_date FROM persons p"
                    " WHERE p.resident_status = '1' ORDER BY p.id"
                )
            )
        )


def feed_file(people: list[Any], lines: int, today: date, rng: random.Random) -> bytes:
    """A day's feed: ``lines`` changes of the mix above, each person named at most once."""
    header = [name for name, _, _ in COLUMNS]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    pool = rng.sample(people, min(len(people), lines))
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=lines)
    day = today.isoformat()
    for n, kind in enumerate(kinds):
        row: dict[str, str] = {"moved_on": day, "notified_on": day}
        person = pool[n % len(pool)]
        if kind in ("MOVE_IN", "BIRTH"):
            birth = today if kind == "BIRTH" else today - timedelta(days=rng.randrange(20 * 365, 95 * 365))
            row.update(
                kind=kind,
                addressee_code=f"{7_000_000_000 + n:010d}",
                household_code=f"{7_000_000_000 + n:010d}",
                relationship="01" if kind == "MOVE_IN" else "03",
                name="転入　花子",
                name_kana="テンニュウ　ハナコ",
                sex="2",
                birth_date=birth.isoformat(),
                postal_code="710-0001",
                address_code="33202001",
                address=f"倉敷市本町{n}-1",
            )
        else:
            row.update(kind=kind, addressee_code=person.addressee_code)
            if kind == "MOVE_WITHIN":
                row.update(postal_code="710-0055", address_code="33202055", address=f"倉敷市阿知{n}-2")
            elif kind == "MOVE_OUT":
                row.update(next_address="東京都千代田区1-1")
            elif kind == "HOUSEHOLD_CHANGE":
                row.update(household_code=f"{8_000_000_000 + n:010d}", relationship="01")
            elif kind == "NAME_CHANGE":
                row.update(name="改姓　花子", name_kana="カイセイ　ハナコ")
        writer.writerow(row)
    return out.getvalue().encode()


async def bench_feed(engine: Any, today: date, lines: int) -> dict[str, Any]:
    people = await residents(engine)
    data = feed_file(people, lines, today, random.Random(18))
    database = Database(engine)
    began = time.perf_counter()
    report = await intake_residents(database, read_feed(data), feed_id="bench-feed", actor=ACTOR, as_of=today)
    first = time.perf_counter() - began
    began = time.perf_counter()
    again = await intake_residents(database, read_feed(data), feed_id="bench-feed", actor=ACTOR, as_of=today)
    second = time.perf_counter() - began
    counts = report.counts()
    return {
        "lines": lines,
        "seconds": round(first, 3),
        "lines_per_s": round(lines / first, 1),
        "applied": counts["APPLIED"],
        "queued": counts["QUEUED"],
        "age_arrivals": report.age_arrivals,
        "replay_seconds": round(second, 3),
        "replay_lines_per_s": round(lines / second, 1),
        "replay_skipped": again.counts()["SKIPPED"],
    }


async def bench_assessment(engine: Any, today: date) -> dict[str, Any]:
    """The next fiscal year's assessment of the whole city (every liable first-category person)."""
    year = (today.year if today.month >= 4 else today.year - 1) + 1
    began = time.perf_counter()
    report = await assess_city(Database(engine), year, actor=Actor("bench-assess", ("kaigo_intake",)))
    seconds = time.perf_counter() - began
    return {
        "fiscal_year": year,
        "seconds": round(seconds, 1),
        "levies": report.assessed,
        "installments": report.installments,
        "levies_per_s": round(report.assessed / seconds, 1),
        "without_stage": len(report.no_stage),
    }


async def bench_write_vs_read(
    engine: Any, vault: NumberVault, tmp: Path, pgdata: Path, today: date, blocks: int, block: int
) -> dict[str, Any]:
    keys = ensure_dev_keys(tmp / "identity")
    verifier = TokenVerifier(
        jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
    )
    token = keys.issue_token("kaigo_section_chief", sub="bench")  # the read selects noAutomaticResponse
    app = create_app(Runtime(Database(engine), vault, verifier, guards=UNLIMITED))
    # the same read through strawberry's executor (as a write runs): the cost of the read planner set apart
    executor_app = create_app(
        Runtime(Database(engine), vault, verifier, guards=UNLIMITED, planned_reads=False)
    )
    settle_long_lived()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    executor = httpx.AsyncClient(transport=httpx.ASGITransport(app=executor_app), base_url="http://bench")
    headers = {"Authorization": f"Bearer {token}"}
    people = [p for p in await residents(engine)]
    random.Random(7).shuffle(people)
    reads = iter(people * 4)
    writes = iter(people)
    fiscal = today.year if today.month >= 4 else today.year - 1

    def read() -> dict[str, Any]:
        p = next(reads)
        variables = {
            "id": str(p.id),
            "fiscalYear": fiscal,
            "benefitsFrom": f"{fiscal}-04-01",
            "benefitsTo": f"{fiscal + 1}-03-31",
        }
        return {"query": PERSON_DETAIL, "variables": variables}

    def write() -> dict[str, Any]:
        p = next(writes)
        change = {
            "requestId": f"bench-{p.id}",
            "kind": "MOVE_WITHIN",
            "movedOn": today.isoformat(),
            "addresseeCode": p.addressee_code,
            "postalCode": "710-0055",
            "addressCode": "33202055",
            "address": f"倉敷市阿知{p.id}-3",
            "version": p.version,
        }
        return {"query": MOVE, "variables": {"i": change}}

    def executor_read() -> dict[str, Any]:
        return read() | {"executor": True}

    async def once(body: Callable[[], dict[str, Any]]) -> float:
        sent = body()
        via = executor if sent.pop("executor", False) else client
        cpu0 = time.process_time()
        r = await via.post("/graphql", json=sent, headers=headers)
        spent = time.process_time() - cpu0
        if r.status_code != 200 or "errors" in r.json():
            raise SystemExit(f"request failed: {r.status_code} {r.text[:300]}")
        return spent

    for _ in range(20):  # warm up: views, caches, pools
        await once(read)
        await once(executor_read)
        await once(write)
    sides: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("read", read),
        ("write", write),
        ("executor_read", executor_read),
    ]
    app_cpu: dict[str, list[float]] = {name: [] for name, _ in sides}
    db_cpu: dict[str, list[float]] = {name: [] for name, _ in sides}
    for b in range(blocks):
        for name, body in sides[b % 3 :] + sides[: b % 3]:
            pg0 = server_cpu(pgdata)
            for _ in range(block):
                app_cpu[name].append(await once(body))
            db_cpu[name].append((server_cpu(pgdata) - pg0) / block)
    await client.aclose()
    await executor.aclose()
    out: dict[str, Any] = {}
    for name, _ in sides:
        app = statistics.median(app_cpu[name])
        db = statistics.fmean(db_cpu[name])  # clock ticks of 10 ms: the mean over the blocks
        out[name] = {
            "app_ms": round(app * 1e3, 3),
            "db_ms": round(db * 1e3, 3),
            "cpu_ms": round((app + db) * 1e3, 3),
        }
    out["ratio"] = round(out["write"]["cpu_ms"] / out["read"]["cpu_ms"], 2)
    out["ratio_executor"] = round(out["write"]["cpu_ms"] / out["executor_read"]["cpu_ms"], 2)
    out["requests_per_side"] = blocks * block
    return out


async def timed(what: str, step: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    log(f"{what} …")
    found = await step()
    log(f"{what}: {found}")
    return found


async def main(args: argparse.Namespace) -> int:
    insured = args.insured or (6_000 if args.quick else 130_000)
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-writes-"))
    server = start(tmp / "data")
    today = date.today()
    result: dict[str, Any] = {"insured": insured, "today": today.isoformat(), "quick": args.quick}
    try:
        admin = await asyncpg.connect(server.url("postgres", "postgresql"))
        await admin.execute('CREATE DATABASE "bench"')
        await admin.close()
        engine = make_engine(server.url("bench"), pool_size=4)
        await upgrade(engine)
        vault = NumberVault(b"w" * 32)
        log(f"seeding {insured:,} insured")
        began = time.perf_counter()
        await seed_city(engine, vault, insured=insured, seed=1, today=today)
        result["seed_seconds"] = round(time.perf_counter() - began, 1)
        result["feed"] = await timed("feed", lambda: bench_feed(engine, today, args.feed_lines))
        result["assessment"] = await timed("assessment", lambda: bench_assessment(engine, today))
        blocks, block = (6, 10) if args.quick else (20, 20)
        result["write_vs_read"] = await timed(
            "write vs read",
            lambda: bench_write_vs_read(engine, vault, tmp, server.pgdata, today, blocks, block),
        )
        await engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    lines = table(result)
    print("\n".join(lines))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "writes-latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    (out / "writes-latest.md").write_text("\n".join(lines) + "\n")
    return 0


def table(r: dict[str, Any]) -> list[str]:
    feed, wr, a = r["feed"], r["write_vs_read"], r["assessment"]
    return [
        f"# Writes ({r['insured']:,} insured, {r['today']}{', quick' if r['quick'] else ''})",
        "",
        "| what | figure | target |",
        "|---|---|---|",
        f"| a day's feed of {feed['lines']:,} resident changes | {feed['lines_per_s']:,} lines/s ({feed['seconds']} s; "
        f"applied {feed['applied']}, queued {feed['queued']}, age arrivals {feed['age_arrivals']}) | ≥ 500 lines/s |",
        f"| the same feed again | {feed['replay_lines_per_s']:,} lines/s, {feed['replay_skipped']} skipped | — |",
        f"| the whole city's annual assessment (FY{a['fiscal_year']}) | {a['seconds']} s: {a['levies']:,} levies, "
        f"{a['installments']:,} installments ({a['levies_per_s']:,} levies/s; {a['without_stage']} without a stage) "
        f"| ≤ 60 s for 130,000 |",
        f"| write mutation vs person-detail read, server CPU per request | ×{wr['ratio']} (write {wr['write']['cpu_ms']} ms: "
        f"app {wr['write']['app_ms']} + PostgreSQL {wr['write']['db_ms']}; read {wr['read']['cpu_ms']} ms: "
        f"app {wr['read']['app_ms']} + PostgreSQL {wr['read']['db_ms']}; {wr['requests_per_side']} each) | ≤ ×2 |",
        f"| the same, against the read through strawberry's executor (as mutations run) | ×{wr['ratio_executor']} "
        f"(read {wr['executor_read']['cpu_ms']} ms: app {wr['executor_read']['app_ms']} + PostgreSQL "
        f"{wr['executor_read']['db_ms']}) | — |",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="6,000 insured, short runs")
    parser.add_argument("--insured", type=int, default=None, help="insured of the city (130,000)")
    parser.add_argument("--feed-lines", type=int, default=1000)
    raise SystemExit(asyncio.run(main(parser.parse_args())))
