"""The per-request CPU of the operation limits: a walk of the document with the request's values (as
before, and still for a text seen once) against the measure kept with a prepared document for its view
(resolvers/limits.py ``measure_document``), evaluated at the request's values.

    python bench/limits_kept.py [--rounds 30] [--batch 200]

In-process, no database: the checks alone, on the registered documents the load bench runs, each on the
view of the role that runs it. Batches of the two ways alternate so both see the same machine state;
prints CPU µs per request (median over the rounds), their ratio, and what measuring once costs. The
check of strings holding U+0000 is the same either way and is left out. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graphql import DocumentNode, GraphQLSchema, parse  # noqa: E402

from policies.roles import duties_for  # noqa: E402
from resolvers import limits, schema_for  # noqa: E402


def _operation(path: Path, name: str) -> str:
    found = next(op for op in json.loads(path.read_text())["operations"] if op["name"] == name)
    body: str = found["body"]
    return body


WEB = ROOT / "bench" / "documents" / "kaigo_web.json"
TRANSFER_ITEMS = ["QUALIFICATION", "CERTIFICATION", "COPAY_RATIO", "COST_LIMIT", "BENEFITS"]
DEPARTMENT = "fukushi_engo"
# (label, role, document, one request's variables)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "person detail (BenchPersonDetail)",
        "kaigo_number_officer",
        _operation(WEB, "BenchPersonDetail"),
        {"id": "p", "fiscalYear": 2026, "benefitsFrom": "2025-04-01", "benefitsTo": "2026-03-31"},
    ),
    (
        "kana search (BenchPersonSearch)",
        "kaigo_officer",
        _operation(WEB, "BenchPersonSearch"),
        {"prefix": "ア"},
    ),
    (
        "transfer page (TransferInformation, first: $input.first)",
        "receiving_department",
        _operation(ROOT / "documents" / f"{DEPARTMENT}.json", "TransferInformation"),
        {"input": {"requestId": "r", "items": TRANSFER_ITEMS, "first": 300}},
    ),
]


def _cpu_us(check: Callable[[], object], batch: int) -> float:
    started = time.process_time_ns()
    for _ in range(batch):
        check()
    return (time.process_time_ns() - started) / batch / 1000


def _bench(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], rounds: int, batch: int
) -> None:
    def walked() -> object:
        return limits._token_errors(document) or limits.operation_errors(schema, document, variables)

    measure = limits.measure_document(schema, document)

    def kept() -> object:
        return measure.errors(variables)

    assert [e.formatted for e in walked()] == [e.formatted for e in kept()]  # type: ignore[attr-defined]
    before, after = [], []
    for _ in range(rounds):
        before.append(_cpu_us(walked, batch))
        after.append(_cpu_us(kept, batch))
    once = _cpu_us(lambda: limits.measure_document(schema, document), max(batch // 10, 1))
    b, a = statistics.median(before), statistics.median(after)
    print(
        f"  walk per request {b:8.1f} µs   kept measure {a:6.1f} µs   ratio {a / b:.3f}   measuring once {once:.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    print("CPU of the operation limits per request (median of rounds, µs)")
    for label, role, text, variables in CASES:
        print(label)
        view = schema_for(duties_for([role], DEPARTMENT))._schema
        _bench(view, parse(text), variables, args.rounds, args.batch)


if __name__ == "__main__":
    main()
