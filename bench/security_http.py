"""The issue's overhead target over HTTP: person detail with tracing and the audit trail on, side by side
with both off, in one run.

    python bench/security_http.py [--insured 10000] [--slice 4] [--pairs 4] [--concurrency 1 8 32] [--each]
                                 [--sample 0.25]

Two `kaigo serve`-like servers on one seeded city (production settings, the same workers, TCP_NODELAY):
*on* is the production server exporting every span (default sampler: every request traced) to a local
OTLP/HTTP sink that reads each export; *off* has no tracing provider and ``Runtime.audit_enabled=False``
(bench/harness/variants.py); ``--each`` adds tracing alone, the audit alone, and a second server with
both off (an A/A control: the machine's noise); ``--sample`` traces that share of requests (the
standard ``parentbased_traceidratio`` sampler). wrk replays the department's persisted person-detail
document against each, alternated in slices (A B B A …) so both see the same machine. Prints requests/s
and p50 per side and the throughput ratio per concurrency; the target is on/off ≥ 0.90. The full
`make bench` run has the same comparison among its layers.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import city  # noqa: E402
from harness.load import Wrk  # noqa: E402
from harness.machine import Identity, data_key, database_server, ensure_wrk  # noqa: E402
from harness.server import OtlpSink, Server, ServerConfig  # noqa: E402
from run import alternate  # noqa: E402

from persistence.crypto import NumberVault  # noqa: E402


async def main(args: Any) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="kaigo-bench-security-"))
    key = data_key()
    vault = NumberVault(base64.b64decode(key))
    identity = Identity.create(tmp / "idp")
    wrk = Wrk(ensure_wrk(), tmp, run_tag=f"s{random.randrange(16**6):06x}")
    servers: list[Server] = []
    today = date.today()
    sampler = (
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": str(args.sample)}
        if args.sample is not None
        else {}
    )

    def serve(url: str, name: str, *, audit: bool, otlp: str | None) -> Server:
        config = ServerConfig(
            database_url=url,
            data_key=key,
            jwks_path=identity.jwks_path,
            workers=args.workers,
            log_dir=tmp,
            tracing=otlp is not None,
            audit=audit,
            nodelay=True,
            otlp_endpoint=otlp,
            extra_env=sampler if otlp is not None else {},
        )
        server = Server(config, name)
        servers.append(server)
        return server.start()

    try:
        with database_server(tmp) as dbs, OtlpSink() as sink:
            url = await dbs.create("kaigo_bench_security")
            print(f"seeding {args.insured:,} insured …", file=sys.stderr)
            await city.seed(url, vault, args.insured, today)
            city.import_documents(url)
            inputs = await city.sample(dbs.dsn("kaigo_bench_security"), today, random.Random(8))
            city.issue_tokens(identity, inputs)
            off = serve(url, "both-off", audit=False, otlp=None)
            sides = {"tracing + audit": serve(url, "both-on", audit=True, otlp=sink.endpoint)}
            if args.each:
                sides["tracing"] = serve(url, "tracing-only", audit=False, otlp=sink.endpoint)
                sides["audit"] = serve(url, "audit-only", audit=True, otlp=None)
                sides["nothing (A/A)"] = serve(url, "both-off-2", audit=False, otlp=None)  # the noise
            rows = city.requests_for("person_detail", inputs)
            for server in (off, *sides.values()):
                city.check(server.url, "person_detail", rows)
            requests = wrk.write_requests("person_detail", rows)
            print(
                f"person detail (persisted document), {args.workers} workers, {args.pairs} slices of "
                f"{args.slice:g} s per side; each side against both off; traces: "
                f"{'every request' if args.sample is None else f'{args.sample:.0%} of requests'}"
            )
            print(
                f"{'on':16} {'conc':>4} {'on req/s':>9} {'off req/s':>9} {'ratio':>6} {'on p50':>8} {'off p50':>8}"
            )
            for name, on in sides.items():
                for c in args.concurrency:
                    a, b = alternate(wrk, (on, requests), (off, requests), c, args.slice, args.pairs)
                    print(
                        f"{name:16} {c:4d} {a['rps']:9.0f} {b['rps']:9.0f} ×{a['rps'] / b['rps']:.3f} "
                        f"{a['p50_ms']:7.2f}ms {b['p50_ms']:7.2f}ms  CPU/request ×{a['cpu_ms'] / b['cpu_ms']:.3f} "
                        f"({a['cpu_ms']:.2f} / {b['cpu_ms']:.2f} ms; app ×{a['app_ms'] / b['app_ms']:.3f}; "
                        f"machine busy {a['busy']:.0%} / {b['busy']:.0%})",
                        flush=True,
                    )
            if not sink.requests:
                print("the OTLP sink received no export: the 'on' server did not trace", file=sys.stderr)
                return 1
            print(f"OTLP sink: {sink.requests} exports, {sink.bytes / 2**20:.1f} MiB")
            await dbs.drop_created()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--insured", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slice", type=float, default=4.0, help="seconds per alternation slice")
    parser.add_argument("--pairs", type=int, default=4, help="slices per side")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--each", action="store_true", help="also tracing alone and audit alone")
    parser.add_argument(
        "--sample", type=float, default=None, help="trace this share of requests (parentbased_traceidratio)"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
