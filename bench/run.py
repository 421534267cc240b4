"""Benchmarks of issue 8: how fast, how big, and how far from the floor.

    python bench/run.py            # the full city (130,000 insured), ~20-25 min on 2 cores
    python bench/run.py --quick    # a small city and short runs: a smoke test of a few minutes

1. Seeds two cities (10,000 and 130,000 insured; quick: 2,000 and 6,000) into fresh databases of an
   embedded PostgreSQL in a temp dir (or of DATABASE_URL's server), registers the documents
   (`kaigo pq import documents/*.json bench/documents/kaigo_web.json`).
2. Serves each with `kaigo serve` as a subprocess with production settings (KAIGO_ENV=production, a real
   ES256 JWKS, KAIGO_DATA_KEY, WEB_CONCURRENCY workers, guards at their defaults).
3. Loads them with wrk on loopback: five persisted operations at concurrency 1, 8 and 32: requests/s,
   p50/p95/p99, errors, RSS per worker before and after.
4. The floor: the same rows of person detail through plain asyncpg; the layers (role scoping, audit,
   tracing, persisted vs free text), each against the server with that layer off, alternated in slices
   (A B B A …) so both sides see the same machine.
5. Scale: search and person detail on both cities, side by side; EXPLAIN of every statement; generator
   throughput; a whole-city transfer in persons/s.
6. Peers (issue 14): on the small city, `kaigo serve` side by side with PostGraphile 5 (bench/peers/,
   installed from npm on first use; skipped with the reason without npm or Node 22) and the asyncpg
   floor, in slices of 5 s; the same data from both checked first (as bench/peers.py does alone).
7. Writes bench/results/<UTC timestamp>.json and .md and bench/results/latest.{json,md}, prints the table.

The machine is shared: absolute figures move with the neighbours' load; the ratios are taken within
one run. Nothing printed or written names a person.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import city, floor, peer, report  # noqa: E402
from harness.load import LoadResult, Wrk, combine  # noqa: E402
from harness.machine import (  # noqa: E402
    Identity,
    cpu_busy,
    data_key,
    database_server,
    ensure_wrk,
    machine,
    stamp,
    versions,
)
from harness.server import OtlpSink, Server, ServerConfig  # noqa: E402

from persistence.crypto import NumberVault  # noqa: E402

OPERATIONS = ["person_detail", "kana_search", "transfer_page", "provision", "audit_page"]
CONCURRENCY = [1, 8, 32]
LAYER_CONCURRENCY = [1, 8]

LAYER_METHODS = {
    "uvicorn workers without TCP_NODELAY": "on: `kaigo serve` as it ships (before 1154e2b uvicorn's "
    "supervisor bound the listener with proto 0, so asyncio left TCP_NODELAY off and each keep-alive answer "
    "waited for the client's delayed ACK; uvicorn issue #3149); off: the same app, settings and workers with "
    "the listener forced to IPPROTO_TCP (bench/harness/variants.py --nodelay). ×1.00 means `kaigo serve` "
    "has TCP_NODELAY. The other layers are measured on servers with the forced listener.",
    "persisted → free text": "the same server and operation; the body carries the document's text "
    "(`query`) instead of its `documentId` (on: free text, off: persisted). The same texts come round "
    "again, as a front end's do, so each worker keeps them from their second sighting (TextCache).",
    "persisted → one-off text": "as above, with a comment of its own in each request's text (`# @RID@`), "
    "so every text is new to the server: each request is parsed and validated.",
    "role scoping": "the same server and document; on: the number officer's scoped view (fields of other "
    "duties removed from the schema), off: a principal holding every role, whose view is the whole schema. "
    "Scoping is decided when a view is built (once per duty set per worker) and per request is one cached "
    "lookup, so the honest 'off' is the unscoped view, not a different code path.",
    "audit trail": "on: the production server; off: the same settings and workers with "
    "`Runtime.audit_enabled=False` (bench/harness/variants.py: production settings, with KAIGO_ENV=development "
    "in its environment because production refuses it; JSON logs kept).",
    "tracing": "on: the production server plus OTEL_EXPORTER_OTLP_ENDPOINT at a local OTLP/HTTP sink that "
    "reads every export (batch span processor, protobuf, HTTP); off: the production server (no provider).",
    "tracing + audit": "issue 6's target (at most 10 % of the throughput): on: the tracing server above "
    "(every request traced, audit on); off: the audit-off server without tracing. Also on its own: "
    "bench/security_http.py.",
}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(wrk: Wrk, server: Server, requests: Path, c: int, seconds: float) -> LoadResult:
    """One wrk run, then wait until the server has finished what wrk left in flight."""
    result = wrk.run(server.url, requests, c, seconds)
    server.settle()
    return result


def _postgres_cpu(dbs: Any, databases: list[str]) -> float | None:
    """PostgreSQL's CPU seconds for the load on ``databases``: the embedded server's once, or the sum of
    each database's backends on DATABASE_URL's server."""
    if dbs.embedded is not None:
        return float(dbs.cpu_seconds(databases[0]))
    seen = [dbs.cpu_seconds(d) for d in databases]
    return None if all(s is None for s in seen) else sum(s or 0.0 for s in seen)


def alternate(
    wrk: Wrk,
    a: tuple[Server, Path],
    b: tuple[Server, Path],
    c: int,
    slice_s: float,
    pairs: int,
    postgres: Callable[[], float | None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A B B A A B …: ``pairs`` slices of each side, each side first half of the time. Besides wrk's
    figures, CPU per request: the server's own (``app_ms``: its process tree) and the whole machine's
    (``cpu_ms``: the server, PostgreSQL, wrk), and how busy the machine was (``busy``). The server's
    CPU per request does not depend on how fast the shared machine is at the moment, only on how much
    work a request is: the steadiest figure of a comparison. With ``postgres`` (PostgreSQL's CPU seconds
    so far), also PostgreSQL's CPU per request (``pg_ms``)."""
    got: dict[str, list[LoadResult]] = {"a": [], "b": []}
    spent: dict[str, list[float]] = {"a": [0.0] * 4, "b": [0.0] * 4}  # app, busy, all, PostgreSQL

    def pg() -> float:
        return (postgres() or 0.0) if postgres is not None else 0.0

    for i in range(pairs):
        order = (("a", a), ("b", b)) if i % 2 == 0 else (("b", b), ("a", a))
        for key, (server, requests) in order:
            app0, (busy0, all0), pg0 = server.cpu_seconds(), cpu_busy(), pg()
            got[key].append(measure(wrk, server, requests, c, slice_s))
            app1, (busy1, all1), pg1 = server.cpu_seconds(), cpu_busy(), pg()
            for n, d in enumerate((app1 - app0, busy1 - busy0, all1 - all0, pg1 - pg0)):
                spent[key][n] += d
    out = []
    for key in ("a", "b"):
        combined = combine(got[key])
        app_s, busy_s, all_s, pg_s = spent[key]
        n = max(1, combined["requests"])
        combined.update(
            app_ms=round(1e3 * app_s / n, 3),
            pg_ms=round(1e3 * pg_s / n, 3) if postgres is not None else None,
            cpu_ms=round(1e3 * busy_s / n, 3),
            busy=round(busy_s / all_s, 3) if all_s else 0.0,
        )
        out.append(combined)
    return out[0], out[1]


async def prepare_city(
    dbs: Any, name: str, insured: int, vault: NumberVault, today: date, identity: Identity, capture_n: int
) -> dict[str, Any]:
    database = f"kaigo_bench_{name}"
    _log(f"{name} city: create database, migrate, seed {insured:,} insured")
    url = await dbs.create(database)
    generator = await city.seed(url, vault, insured, today)
    _log(
        f"{name} city: {generator['persons']:,} persons, {generator['rows']:,} rows in {generator['seconds']} s"
    )
    city.import_documents(url)
    dsn = dbs.dsn(database)
    inputs = await city.sample(dsn, today, random.Random(8))
    city.issue_tokens(identity, inputs)
    _log(f"{name} city: in-process requests with statement capture, EXPLAIN")
    captured = await floor.capture(url, vault, identity, inputs, ["person_detail", "kana_search"], capture_n)
    plans = {op: await floor.explain(dsn, captured[op]["requests"][0]) for op in captured}
    return {
        "url": url,
        "dsn": dsn,
        "database": database,
        "generator": generator,
        "inputs": inputs,
        "captured": captured,
        "plans": plans,
    }


async def peers(
    dbs: Any,
    small: dict[str, Any],
    insured: int,
    vault: NumberVault,
    wrk: Wrk,
    serve: Callable[..., Server],
    stop: Callable[[Server], None],
    workers: int,
    tmp: Path,
    slice_s: float,
    pairs: int,
) -> dict[str, Any]:
    """The peer comparison of bench/peers.py on the small city; skipped (with the reason) without Node 22."""
    try:
        runtime = peer.ensure_postgraphile()
    except peer.PeerUnavailable as e:
        _log(f"peers: skipped: {e}")
        return {"skipped": str(e)}
    kaigo = serve(small["url"], "peers-kaigo")
    # how much of the gap is the audit trail's, and what KAIGO_AUDIT_READ_COMMIT=async changes
    unaudited = serve(small["url"], "peers-kaigo-unaudited", audit=False, nodelay=True)
    async_reads = serve(small["url"], "peers-kaigo-async", env={"KAIGO_AUDIT_READ_COMMIT": "async"})
    try:
        comparison = peer.Comparison(
            dsn=small["dsn"],
            postgres_cpu=lambda: dbs.cpu_seconds("kaigo_bench_small"),
            kaigo=kaigo,
            inputs=small["inputs"],
            vault=vault,
            wrk=wrk,
            workers=workers,
            log_dir=tmp,
            slice_s=slice_s,
            pairs=pairs,
            unaudited=unaudited,
            async_reads=async_reads,
        )
        return {**await peer.compare(comparison, runtime, _log), "insured": insured}
    finally:
        for server in (kaigo, unaudited, async_reads):
            stop(server)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small cities, short runs (a smoke test)")
    parser.add_argument("--insured", type=int, default=None, help="insured of the full city (130000)")
    parser.add_argument("--small", type=int, default=None, help="insured of the small city (10000)")
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn workers (default: the core count, at least 2)"
    )
    parser.add_argument("--duration", type=float, default=None, help="seconds per load cell (10; quick 3)")
    parser.add_argument(
        "--slice", type=float, default=None, help="seconds per alternation slice (4; quick 2)"
    )
    parser.add_argument("--pairs", type=int, default=None, help="slices per side in comparisons (4; quick 2)")
    parser.add_argument(
        "--transfer-max-seconds",
        type=float,
        default=None,
        help="cap on the whole-city transfer (240; quick none)",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the temp dir (server logs) for debugging"
    )
    args = parser.parse_args(argv)

    import os

    quick = args.quick
    insured = args.insured or (6_000 if quick else 130_000)
    small = args.small or (2_000 if quick else 10_000)
    workers = args.workers or max(2, os.cpu_count() or 2)
    duration = args.duration or (3.0 if quick else 10.0)
    slice_s = args.slice or (2.0 if quick else 4.0)
    pairs = args.pairs or (2 if quick else 4)
    capture_n = 20 if quick else 60
    peer_slice = 2.0 if quick else 5.0

    wrk_bin = ensure_wrk()
    today = date.today()
    result: dict[str, Any] = {
        "timestamp": stamp(),
        "mode": "quick" if quick else "full",
        "machine": machine(),
        "versions": versions(wrk_bin),
        "settings": {
            "workers": workers,
            "duration_s": duration,
            "slice_s": slice_s,
            "pairs": pairs,
            "principals": city.PRINCIPALS,
            "concurrency": CONCURRENCY,
        },
        "layer_methods": LAYER_METHODS,
        "notes": [
            "wrk counts only requests completed within the run: at 32 connections on slow operations the "
            "percentiles are of the requests that finished (see requests), the others were cut off.",
        ],
    }
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-"))
    key = data_key()
    vault = NumberVault(base64.b64decode(key))
    identity = Identity.create(tmp / "idp")
    wrk = Wrk(wrk_bin, tmp, run_tag=f"b{random.randrange(16**6):06x}")
    servers: list[Server] = []

    def serve(
        url: str,
        name: str,
        *,
        nodelay: bool = False,
        audit: bool = True,
        otlp: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Server:
        config = ServerConfig(
            database_url=url,
            data_key=key,
            jwks_path=identity.jwks_path,
            workers=workers,
            log_dir=tmp,
            tracing=otlp is not None,
            audit=audit,
            nodelay=nodelay,
            otlp_endpoint=otlp,
            extra_env=env or {},
        )
        server = Server(config, name)
        servers.append(server)
        _log(f"start server {name} ({workers} workers)")
        return server.start()

    def stop(server: Server) -> None:
        server.stop()
        servers.remove(server)

    started = time.perf_counter()
    try:
        with database_server(tmp) as dbs:
            result["database"] = {"where": dbs.description, "version": await dbs.version()}
            cities = {
                "small": await prepare_city(dbs, "small", small, vault, today, identity, capture_n),
                "full": await prepare_city(dbs, "full", insured, vault, today, identity, capture_n),
            }
            full, inputs = cities["full"], cities["full"]["inputs"]
            result["cities"] = {k: c["generator"] for k, c in cities.items()}
            result["generator"] = {k: c["generator"] for k, c in cities.items()}
            result["plans"] = {k: c["plans"] for k, c in cities.items()}

            # `kaigo serve` as it ships, and the same with TCP_NODELAY on its connections (harness.variants).
            main_server = serve(full["url"], "full")
            fixed = serve(full["url"], "full-nodelay", nodelay=True)
            result["rss_mib"] = {"start": main_server.rss_mib()}

            # Scale: both cities served at once, alternated (servers with TCP_NODELAY: the app's time).
            small_server = serve(cities["small"]["url"], "small-nodelay", nodelay=True)
            scale: dict[str, Any] = {
                k: {"insured": c["generator"]["insured"], "load": {}, "in_process": {}}
                for k, c in cities.items()
            }
            for op in ("person_detail", "kana_search"):
                files = {}
                for k, server in (("small", small_server), ("full", fixed)):
                    rows = city.requests_for(op, cities[k]["inputs"])
                    city.check(server.url, op, rows)
                    files[k] = (server, wrk.write_requests(f"scale-{k}-{op}", rows))
                    scale[k]["in_process"][op] = cities[k]["captured"][op]["in_process_ms"]
                # warm: every connection the servers use past its 20th execution of the statement
                # (PostgreSQL's plan cache settles on its 6th), the cities' pages in the cache
                for server, requests in files.values():
                    measure(wrk, server, requests, 1, max(3.0, slice_s))
                _log(f"scale: {op}, concurrency 1, both cities alternated")
                a, b = alternate(
                    wrk,
                    files["small"],
                    files["full"],
                    1,
                    slice_s,
                    pairs,
                    postgres=lambda: _postgres_cpu(dbs, [c["database"] for c in cities.values()]),
                )
                scale["small"]["load"][op], scale["full"]["load"][op] = a, b
            stop(small_server)
            result["scale"] = scale

            # The load matrix on the full city, `kaigo serve` as it ships.
            city.prepare_server_state(main_server.url, inputs)
            load = []
            request_files: dict[str, Path] = {}
            city.settle_transfer_page(main_server.url, inputs)
            if inputs.transfer_refusals:
                result["notes"].append(
                    f"the department's TransferInformation document was refused at page sizes "
                    f"{inputs.transfer_refusals} (a registered document and a page the README allows, up "
                    f"to 1000); the transfer rows are measured at {inputs.transfer_page} persons a page"
                )
            result["settings"]["transfer_page"] = inputs.transfer_page
            for op in OPERATIONS:
                rows = city.requests_for(op, inputs)
                city.check(main_server.url, op, rows)
                request_files[op] = wrk.write_requests(op, rows)
                for c in CONCURRENCY:
                    # A transfer page takes seconds: longer runs, or nothing completes at 32 connections.
                    secs = duration * (4 if op == "transfer_page" else 1)
                    _log(f"load: {op}, concurrency {c}, {secs:.0f} s")
                    r = measure(wrk, main_server, request_files[op], c, secs)
                    load.append({"operation": op, "concurrency": c, "seconds_run": secs, **r.as_dict()})
            result["load"] = load
            result["rss_mib"]["after"] = main_server.rss_mib()

            # The floor: plain asyncpg, the app in-process and HTTP (wrk, one connection), in turns.
            _log("floor: plain asyncpg, in-process app and HTTP in turns")
            captured = full["captured"]["person_detail"]
            rows = city.requests_for("person_detail", inputs)
            persons = floor.floor_persons(inputs)[: len(captured["requests"])]
            replay = await floor.Floor.connect(full["dsn"])
            app = floor.InProcess(full["url"], vault, identity)
            floor_times: list[float] = []
            app_times: list[float] = []
            http_runs: dict[str, list[LoadResult]] = {"fixed": [], "shipped": []}
            try:
                await replay.run(persons[:5])
                await app.run(rows, 5)
                for i in range(pairs):
                    floor_times += await replay.run(persons)
                    times, _, _ = await app.run(rows, len(persons), offset=i * 7)
                    app_times += times
                    for k, server in (("fixed", fixed), ("shipped", main_server)):
                        http_runs[k].append(measure(wrk, server, request_files["person_detail"], 1, slice_s))
            finally:
                await replay.close()
                await app.close()
            floor_ms, app_ms = floor.summary(floor_times), floor.summary(app_times)
            http = combine(http_runs["fixed"])
            shipped = combine(http_runs["shipped"])
            result["floor"] = {
                "floor_ms": floor_ms,
                "in_process_ms": app_ms,
                "http_ms": {"p50": http["p50_ms"], "p95": http["p95_ms"]},
                "http_shipped_ms": {"p50": shipped["p50_ms"], "p95": shipped["p95_ms"]},
                "ratio_request": round(http["p50_ms"] / floor_ms["p50"], 2),
                "ratio_request_shipped": round(shipped["p50_ms"] / floor_ms["p50"], 2),
                "ratio_in_process": round(app_ms["p50"] / floor_ms["p50"], 2),
                "statements": captured["statements_per_request"],
                "data_statements": statistics.median(replay.statements),
            }

            # The layers, person detail, each side alternated, on servers with TCP_NODELAY.
            layers = []
            base = (fixed, request_files["person_detail"])

            def compare(
                layer: str,
                on: tuple[Server, Path],
                off: tuple[Server, Path],
                conc: list[int] = LAYER_CONCURRENCY,
            ) -> None:
                for c in conc:
                    _log(f"layer {layer}: concurrency {c}")
                    a, b = alternate(wrk, on, off, c, slice_s, pairs)
                    layers.append(
                        {
                            "layer": layer,
                            "concurrency": c,
                            "on": a,
                            "off": b,
                            "time_ratio": round(a["p50_ms"] / b["p50_ms"], 3),
                            "throughput_ratio": round(a["rps"] / b["rps"], 3),
                            "server_cpu_ratio": round(a["app_ms"] / b["app_ms"], 3),
                        }
                    )

            compare(
                "uvicorn workers without TCP_NODELAY",
                (main_server, request_files["person_detail"]),
                base,
                CONCURRENCY,
            )

            rows = city.requests_for("person_detail", inputs, free_text=True)
            city.check(fixed.url, "person_detail", rows)
            compare("persisted → free text", (fixed, wrk.write_requests("free", rows)), base)
            one_off = [(token, {**body, "query": body["query"] + "\n# @RID@"}) for token, body in rows]
            compare("persisted → one-off text", (fixed, wrk.write_requests("one-off", one_off)), base)

            rows = city.requests_for("person_detail", inputs, role="every_duty")
            city.check(fixed.url, "person_detail", rows)
            compare("role scoping", base, (fixed, wrk.write_requests("unscoped", rows)))
            stop(main_server)

            with OtlpSink() as sink:
                traced = serve(full["url"], "tracing", nodelay=True, otlp=sink.endpoint)
                city.check(traced.url, "person_detail", city.requests_for("person_detail", inputs))
                compare("tracing", (traced, request_files["person_detail"]), base)
                stop(traced)
                result["tracing_sink"] = {"exports": sink.requests, "bytes": sink.bytes}
            if not sink.requests:
                result["notes"].append("the OTLP sink received no export: the tracing run did not trace")

            audit_off = serve(full["url"], "audit-off", nodelay=True, audit=False)
            city.check(audit_off.url, "person_detail", city.requests_for("person_detail", inputs))
            compare("audit trail", base, (audit_off, request_files["person_detail"]))
            with OtlpSink() as sink:
                traced = serve(full["url"], "tracing", nodelay=True, otlp=sink.endpoint)
                compare(
                    "tracing + audit",
                    (traced, request_files["person_detail"]),
                    (audit_off, request_files["person_detail"]),
                    CONCURRENCY,
                )
                stop(traced)
            stop(audit_off)
            result["layers"] = layers
            nagle = next(x for x in layers if x["layer"].startswith("uvicorn") and x["concurrency"] == 1)
            if nagle["time_ratio"] > 1.5:
                result["notes"].insert(
                    0,
                    "`kaigo serve` with several workers leaves TCP_NODELAY off on its connections (uvicorn "
                    "#3149): each keep-alive answer waits for the client's delayed ACK (~40 ms on Linux). The "
                    "load table is the server as it ships; floor, scale and layers are on servers with "
                    "TCP_NODELAY.",
                )
            else:
                result["notes"].insert(
                    0,
                    f"`kaigo serve` sets TCP_NODELAY on its connections: against a listener forced to "
                    f"IPPROTO_TCP its time ratio at one connection is ×{nagle['time_ratio']:.2f}.",
                )

            _log("whole-city transfer")
            cap = args.transfer_max_seconds or (None if quick else 240.0)
            transfer = city.whole_city_transfer(fixed.url, inputs, max_seconds=cap)
            transfer["city_persons"] = full["generator"]["persons"]
            transfer["projected_whole_city_s"] = round(
                full["generator"]["persons"] / transfer["persons_per_s"]
            )
            result["transfer_whole_city"] = transfer
            stop(fixed)

            # Issue 14: kaigo, PostGraphile 5 and the asyncpg floor side by side on the small city.
            result["peers"] = await peers(
                dbs,
                cities["small"],
                small,
                vault,
                wrk,
                serve,
                stop,
                workers,
                tmp,
                args.slice or peer_slice,
                pairs,
            )
            await dbs.drop_created()
    finally:
        for server in list(servers):
            server.stop()
        if args.keep_logs:
            print(f"server logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    result["elapsed_s"] = round(time.perf_counter() - started)
    json_path, md_path = report.write(result)
    print(report.markdown(result))
    print(f"written: {json_path.relative_to(ROOT)}, {md_path.relative_to(ROOT)} (and latest.*)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
