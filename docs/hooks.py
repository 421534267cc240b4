"""MkDocs hook: the tables the code and its data files already hold, written into the pages at build time.

A page asks for one with a marker line, ``<!-- generated: NAME -->``; the marker is replaced by the table
made from the source named below, so the site cannot drift from the data the server runs on. Nothing
here is served: the hook runs only when the site is built (``make docs``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
ROOT = Path(__file__).resolve().parent.parent


def cell(value: object) -> str:
    """A table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def table(head: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(head)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _legal_bases() -> Mapping[str, Any]:
    text = resources.files("policies").joinpath("data/legal_bases.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _root_fields(schema: Any, root: str) -> list[str]:
    type_ = schema._schema.type_map.get(root)
    return sorted(type_.fields) if type_ is not None else []


def roles() -> str:
    """Each role: its duties and the root fields of its view (policies/data/roles.toml, the views)."""
    from policies.roles import policy, principal_from_claims
    from resolvers import schema_for

    rows = []
    for name, role in sorted(policy().roles.items()):
        department = "seikatsu_fukushi" if role.requires_department else None
        view = schema_for(principal_from_claims("docs", [name], department).duties)
        queries = ", ".join(f"`{f}`" for f in _root_fields(view, "Query"))
        mutations = ", ".join(f"`{f}`" for f in _root_fields(view, "Mutation")) or "none"
        duties = ", ".join(f"`{d}`" for d in sorted(role.duties))
        rows.append((f"`{name}`", f"{role.ja} — {role.en}", duties, queries, mutations))
    return table(("role", "who", "duties", "queries", "mutations"), rows)


def duties() -> str:
    from policies.roles import policy

    return table(
        ("duty", "事務", "what it allows", "the assessment's passage"),
        ((f"`{name}`", d.ja, d.en, d.seed) for name, d in sorted(policy().duties.items())),
    )


def departments() -> str:
    from policies.roles import policy

    return table(
        (
            "department (client and `department` claim)",
            "部署",
            "its 別表第2 items (the affairs it applies under)",
        ),
        ((f"`{i}`", f"{d.ja} — {d.en}", ", ".join(d.items)) for i, d in policy().departments.items()),
    )


def _when(entry: Mapping[str, Any], commencements: Mapping[str, Any]) -> str:
    def day(value: object) -> str:
        if isinstance(value, str) and value in commencements:
            return f"{commencements[value]['date']} ({value})"
        return str(value)

    text = f"from {day(entry['valid_from'])}"
    return text + (f" to {day(entry['valid_to'])}" if "valid_to" in entry else "")


def law() -> str:
    """Every entry of policies/data/legal_bases.toml with the passage of the assessment it comes from."""
    data = _legal_bases()
    commencements = data["commencements"]
    sections = []
    for direction, title, sheet in (
        ("USE", "Use of the number (I-4)", None),
        ("INQUIRY", "Inquiries (I-5 【情報照会】)", None),
        ("PROVISION", "Provisions (別紙1, I-5 【情報提供】)", "別紙1"),
        ("TRANSFER", "Transfers (別紙2)", "別紙2"),
    ):
        entries = [e for e in data["entries"] if e["direction"] == direction]
        rows = [
            (
                f"{sheet} No.{e['sheet_no']}" if sheet and "sheet_no" in e else "—",
                f"`{direction}` `{e['item']}`",
                e["counterparty"],
                e["purpose_en"],
                ", ".join(e["items"]),
                _when(e, commencements),
                ("automatic" if e.get("auto_response") else "staff confirm")
                if direction == "PROVISION"
                else "—",
                e["seed"] + (" — unverified: see the entry" if "unverified" in e else ""),
            )
            for e in entries
        ]
        sections.append(
            f"### {title}\n\n{len(entries)} {'entry' if len(entries) == 1 else 'entries'}.\n\n"
            + table(
                (
                    "seed row",
                    "data file entry (direction, item)",
                    "counterparty",
                    "affair",
                    "permitted items",
                    "in force",
                    "answer",
                    "seed passage",
                ),
                rows,
            )
        )
    return "\n\n".join(sections)


def commencements() -> str:
    data = _legal_bases()
    return table(
        ("key", "day", "what changes", "verified", "source"),
        (
            (f"`{key}`", c["date"], c["what"], "yes" if c["verified"] else "no", c["source"])
            for key, c in data["commencements"].items()
        ),
    )


def bench_latest() -> str:
    """bench/results/latest.md, its headings moved under the page's own."""
    path = ROOT / "bench" / "results" / "latest.md"
    text = path.read_text(encoding="utf-8")
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.MULTILINE)


GENERATORS: Mapping[str, Callable[[], str]] = {
    "roles": roles,
    "duties": duties,
    "departments": departments,
    "law": law,
    "commencements": commencements,
    "bench-latest": bench_latest,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"docs: no generated section named {name!r}")
        return GENERATORS[name]()

    return MARKER.sub(fill, markdown)
