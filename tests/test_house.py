"""The house rules a reader can check by reading the source: figures live in bench/ results and the docs,
not in the code's docstrings and comments (a figure in a docstring goes stale the day the code changes,
and nobody reruns it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("api", "resolvers", "schema", "persistence", "policies")

# A measured figure: a time in µs or ms, a ratio (×1.23), a throughput, a percentile.
FIGURE = re.compile(r"\d(?:[.,]\d+)?\s?(?:µs|ms)\b|×\s?\d+\.\d|\breq/s\b|\bp(?:50|95|99)\b")


def test_no_measured_figure_in_the_code() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FIGURE.search(line)
    ]
    assert found == [], "figures belong in bench/results and docs/figures.md"


def test_the_figure_finder_finds_figures() -> None:
    for figure in ("~27 µs each", "0.4 → 1.2 ms", "×1.23", "× 0.97", "57 req/s", "p99 35"):
        assert FIGURE.search(figure), figure
    for fine in ("KAIGO_STATEMENT_TIMEOUT_MS", "statement_timeout_ms=5000", "every 5 seconds", "単価 × 100"):
        assert not FIGURE.search(fine), fine
