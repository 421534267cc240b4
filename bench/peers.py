"""kaigo side by side with PostGraphile 5 and the plain-asyncpg floor, in one run (issue 14).

    python bench/peers.py                  # 10,000 insured, slices of 5 s, 4 per side (~6 min on 2 cores)
    python bench/peers.py --quick          # 2,000 insured, slices of 2 s, 2 per side: a smoke test
    python bench/peers.py --seconds 5 --pairs 6 --workers 2 --insured 10000 --json out.json

Seeds a city (bench/harness/city.py) into an embedded PostgreSQL in a temp dir (or DATABASE_URL's
server), serves it with `kaigo serve` (production settings, persisted documents, real ES256 JWTs) and with
PostGraphile 5 (bench/peers/postgraphile: installed with `npm ci` on first use, Node 22 from the npm
registry), the same worker count each. Both answer the same persons and prefixes first and the answers are
compared (the run stops at a difference). Then person detail (kaigo, PostGraphile, the floor) and kana
search (kaigo, PostGraphile) at 1 and 8 connections, the sides in turns; prints requests/s, p50/p99 and
CPU per request (the side's processes + PostgreSQL) and the issue's ratios with their targets. Without npm
or Node 22 it says why and exits 0 (skipped). `make bench` runs the same comparison as one section.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import city, peer, report  # noqa: E402
from harness.load import Wrk  # noqa: E402
from harness.machine import Identity, data_key, database_server, ensure_wrk  # noqa: E402
from harness.server import Server, ServerConfig  # noqa: E402

from persistence.crypto import NumberVault  # noqa: E402


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def main(args: argparse.Namespace) -> int:
    try:
        runtime = peer.ensure_postgraphile()
    except peer.PeerUnavailable as e:
        print(f"skipped: {e}")
        return 0
    insured = args.insured or (2_000 if args.quick else 10_000)
    slice_s = args.seconds or (2.0 if args.quick else 5.0)
    pairs = args.pairs or (2 if args.quick else 4)
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-peers-"))
    key = data_key()
    vault = NumberVault(base64.b64decode(key))
    identity = Identity.create(tmp / "idp")
    wrk = Wrk(ensure_wrk(), tmp, run_tag=f"p{random.randrange(16**6):06x}")
    today = date.today()
    kaigo: Server | None = None
    unaudited: Server | None = None
    async_reads: Server | None = None
    keep = args.keep_logs
    try:
        with database_server(tmp) as dbs:
            database = "kaigo_bench_peers"
            url = await dbs.create(database)
            _log(f"seed {insured:,} insured")
            await city.seed(url, vault, insured, today)
            city.import_documents(url)
            dsn = dbs.dsn(database)
            inputs = await city.sample(dsn, today, random.Random(8))
            city.issue_tokens(identity, inputs)
            config = ServerConfig(
                database_url=url,
                data_key=key,
                jwks_path=identity.jwks_path,
                workers=args.workers,
                log_dir=tmp,
            )
            _log(f"start kaigo ({args.workers} workers)")
            kaigo = Server(config, "kaigo").start()
            if args.async_reads:
                _log("start kaigo with KAIGO_AUDIT_READ_COMMIT=async")
                env = {**config.extra_env, "KAIGO_AUDIT_READ_COMMIT": "async"}
                async_reads = Server(replace(config, extra_env=env), "kaigo-async-reads").start()
            if args.unaudited:
                _log("start kaigo with the audit trail off (the trail's share of the gap)")
                unaudited = Server(replace(config, audit=False, nodelay=True), "kaigo-unaudited").start()
            comparison = peer.Comparison(
                dsn=dsn,
                postgres_cpu=lambda: dbs.cpu_seconds(database),
                kaigo=kaigo,
                inputs=inputs,
                vault=vault,
                wrk=wrk,
                workers=args.workers,
                log_dir=tmp,
                slice_s=slice_s,
                pairs=pairs,
                check_persons=args.check,
                unaudited=unaudited,
                async_reads=async_reads,
            )
            result = await peer.compare(comparison, runtime, _log)
            result["insured"] = insured
            kaigo.stop()
            for extra in (unaudited, async_reads):
                if extra is not None:
                    extra.stop()
            await dbs.drop_created()
    except BaseException:
        keep = True  # a failed run keeps the servers' logs
        raise
    finally:
        for server in (kaigo, unaudited, async_reads):
            if server is not None:
                server.stop()
        if keep:
            print(f"server logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(report.peers_markdown(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 insured, slices of 2 s, 2 per side")
    parser.add_argument("--insured", type=int, default=None, help="insured of the city (10000; quick 2000)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per slice (5; quick 2)")
    parser.add_argument("--pairs", type=int, default=None, help="slices per side (4; quick 2)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server (2)")
    parser.add_argument("--check", type=int, default=20, help="persons whose answers are compared (20)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument(
        "--no-unaudited",
        dest="unaudited",
        action="store_false",
        help="skip the side of kaigo with the audit trail off",
    )
    parser.add_argument(
        "--async-reads",
        action="store_true",
        help="also a side of kaigo with KAIGO_AUDIT_READ_COMMIT=async",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the temp dir (server logs)")
    sys.exit(asyncio.run(main(parser.parse_args())))
