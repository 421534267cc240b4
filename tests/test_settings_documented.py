"""Every environment variable the server reads is documented on the settings page, and the page names
none the code has forgotten."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "operations" / "settings.md"
LAYERS = ("api", "resolvers", "schema", "persistence", "policies")
NAME = re.compile(r'"((?:KAIGO|OTEL)_[A-Z0-9_]+|DATABASE_URL|SEED_PERSONS|HOST|PORT|WEB_CONCURRENCY)"')
DOCUMENTED = re.compile(r"`((?:KAIGO|OTEL)_[A-Z0-9_]+)`")


def read_by(paths: list[Path]) -> set[str]:
    return {name for path in paths for name in NAME.findall(path.read_text(encoding="utf-8"))}


def test_every_variable_the_code_reads_is_on_the_settings_page() -> None:
    code = read_by([p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")])
    page = PAGE.read_text(encoding="utf-8")
    assert sorted(name for name in code if f"`{name}`" not in page) == []


def test_the_settings_page_names_no_variable_nobody_reads() -> None:
    everything = read_by(
        [
            p
            for p in ROOT.rglob("*")
            if p.suffix in {".py", ".mjs"} and ".venv" not in p.parts and "node_modules" not in p.parts
        ]
    )
    everything |= set(re.findall(r"(KAIGO_[A-Z0-9_]+)", (ROOT / "tests" / "node" / "apq.mjs").read_text()))
    page = set(DOCUMENTED.findall(PAGE.read_text(encoding="utf-8")))
    exporters_own = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}  # read by the code and by the SDK alike
    assert sorted(page - everything - exporters_own) == []
