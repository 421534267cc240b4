"""The results: one JSON document, and the same as Markdown tables (printed and written)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .machine import ROOT
from .peer import TARGETS

RESULTS = ROOT / "bench" / "results"

OPERATION_NAMES = {
    "person_detail": "person detail (number officer)",
    "kana_search": "kana search, 50 persons",
    "transfer_page": "transfer page, 500 persons",
    "provision": "provision request",
    "audit_page": "audit-events page (100)",
}


def _f(x: Any, digits: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def markdown(r: dict[str, Any]) -> str:
    m, v, s = r["machine"], r["versions"], r["settings"]
    out = [
        f"# kaigo-graph benchmark — {r['timestamp']} ({r['mode']})",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_mib']:,} MiB, Linux {m['kernel']}, "
        f"load average at start {m['load_average_at_start']} (shared machine: compare ratios within this run).",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val) + ".",
        f"Database: {r['database']['where']}, PostgreSQL {r['database']['version']}.",
        f"Server: `kaigo serve`, KAIGO_ENV=production, {s['workers']} uvicorn workers, JSON access logs, real "
        f"ES256 JWKS, guards at their defaults ({s['principals']} principals per role in rotation), "
        f"persisted documents. Load: wrk {v.get('wrk')} on loopback, {s['duration_s']} s per cell.",
        "",
        "## Load (full city, `kaigo serve` as it ships)",
        "",
        f"City: {_f(r['cities']['full']['insured'])} insured, {_f(r['cities']['full']['persons'])} persons, "
        f"{_f(r['cities']['full']['rows'])} rows.",
        "",
        "| operation | conc. | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    page = r["settings"].get("transfer_page", 500)
    names = {**OPERATION_NAMES, "transfer_page": f"transfer page, {page} persons"}
    for row in r["load"]:
        out.append(
            f"| {names[row['operation']]} | {row['concurrency']} | {_f(row['rps'])} | "
            f"{_f(row['p50_ms'], 2)} | {_f(row['p95_ms'], 2)} | {_f(row['p99_ms'], 2)} | {row['errors']} |"
        )
    rss = r["rss_mib"]
    out += [
        "",
        f"Server RSS per worker (MiB): at start {rss['start']}, after the load {rss['after']}.",
        "",
        "## The floor (person detail)",
        "",
        "The three measured in turns (floor batch, in-process batch, wrk slice, repeated), same persons.",
        "",
        "| path | p50 ms | p95 ms | ratio to the floor (p50) |",
        "|---|---:|---:|---:|",
    ]
    f = r["floor"]
    out += [
        f"| plain asyncpg, the {f['data_statements']} data statements of the read path before issue 14, "
        f"one warm connection | {_f(f['floor_ms']['p50'], 2)} | {_f(f['floor_ms']['p95'], 2)} | 1.00 |",
        f"| the app in-process (ASGI, no socket; {f['statements']} statements incl. document and audit) | "
        f"{_f(f['in_process_ms']['p50'], 2)} | {_f(f['in_process_ms']['p95'], 2)} | "
        f"{_f(f['ratio_in_process'], 2)} |",
        f"| HTTP request, wrk, 1 connection, production settings with TCP_NODELAY | "
        f"{_f(f['http_ms']['p50'], 2)} | {_f(f['http_ms']['p95'], 2)} | **{_f(f['ratio_request'], 2)}** |",
        f"| HTTP request, wrk, 1 connection, `kaigo serve` as it ships (no TCP_NODELAY) | "
        f"{_f(f['http_shipped_ms']['p50'], 2)} | {_f(f['http_shipped_ms']['p95'], 2)} | "
        f"{_f(f['ratio_request_shipped'], 2)} |",
        "",
        "## Layers (person detail, each against the server with that layer off, same run)",
        "",
        "| layer | conc. | on: req/s, p50 ms | off: req/s, p50 ms | time × (p50 on/off) | throughput × (on/off) "
        "| server CPU per request × (on/off) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["layers"]:
        on, off = row["on"], row["off"]
        cpu = row.get("server_cpu_ratio")  # runs before it was measured have none
        out.append(
            f"| {row['layer']} | {row['concurrency']} | {_f(on['rps'])}, {_f(on['p50_ms'], 2)} | "
            f"{_f(off['rps'])}, {_f(off['p50_ms'], 2)} | ×{_f(row['time_ratio'], 2)} | "
            f"×{_f(row['throughput_ratio'], 2)} | {'×' + _f(cpu, 2) if cpu is not None else '–'} |"
        )
    out += [
        "",
        "Server CPU per request: CPU seconds of the server's processes during its slices over the requests "
        "they completed. It depends on the work a request is, not on how fast the shared machine was at "
        "that moment: the steadiest figure here (two identical servers: within about ±6 % over 4 slices of "
        "4 s in bench/security_http.py, ±10 % over a quick run's 2 slices of 2 s; throughput: ±20 %).",
    ]
    out += ["", "How each layer is switched off:", ""]
    out += [f"- **{name}**: {how}" for name, how in r["layer_methods"].items()]
    sc = r["scale"]
    out += [
        "",
        "## Scale",
        "",
        f"| | {_f(sc['small']['insured'])} insured | {_f(sc['full']['insured'])} insured | ratio |",
        "|---|---:|---:|---:|",
    ]
    for op in ("person_detail", "kana_search"):
        a, b = sc["small"]["load"][op], sc["full"]["load"][op]
        out.append(
            f"| {OPERATION_NAMES[op]}, p50 ms (wrk, conc. 1) | {_f(a['p50_ms'], 2)} | {_f(b['p50_ms'], 2)} | "
            f"×{_f(b['p50_ms'] / a['p50_ms'], 2)} |"
        )
        a, b = sc["small"]["load"][op].get("pg_ms"), sc["full"]["load"][op].get("pg_ms")
        if a and b:
            out.append(
                f"| {OPERATION_NAMES[op]}, PostgreSQL CPU ms per request (wrk, conc. 1, every connection "
                f"warm) | {_f(a, 3)} | {_f(b, 3)} | ×{_f(b / a, 2)} |"
            )
        a, b = sc["small"]["in_process"][op], sc["full"]["in_process"][op]
        out.append(
            f"| {OPERATION_NAMES[op]}, p50 ms in-process | {_f(a['p50'], 2)} | {_f(b['p50'], 2)} | "
            f"×{_f(b['p50'] / a['p50'], 2)} |"
        )
    g = r["generator"]
    out.append(
        f"| generator (`seed_city`): persons/s, rows/s | {_f(g['small']['persons_per_s'])}, "
        f"{_f(g['small']['rows_per_s'])} | {_f(g['full']['persons_per_s'])}, {_f(g['full']['rows_per_s'])} | |"
    )
    out.append(f"| generator: seconds | {_f(g['small']['seconds'])} | {_f(g['full']['seconds'])} | |")
    t = r["transfer_whole_city"]
    out += [
        "",
        f"Whole-city transfer (department's document, pages of {t['page_size']}, one request id, sequential): "
        f"{_f(t['persons'])} persons in {t['pages']} pages, {_f(t['seconds'])} s, "
        f"**{_f(t['persons_per_s'])} persons/s**"
        + (
            ""
            if t["complete"]
            else f" (stopped at the time cap; all {_f(t['city_persons'])} persons at this rate: "
            f"~{_f(t['projected_whole_city_s'])} s)"
        )
        + ".",
        "",
        "## Plans (EXPLAIN ANALYZE of every data statement of one request)",
        "",
    ]
    for scale in ("small", "full"):
        for op in ("person_detail", "kana_search"):
            plans = r["plans"][scale][op]
            big_seq = sorted({s["relation"] for p in plans for s in p["seq_scans_on_big_tables"]})
            out.append(
                f"- {OPERATION_NAMES[op]}, {_f(r['cities'][scale]['insured'])} insured: {len(plans)} statements, "
                f"indexes used: {', '.join(sorted({i for p in plans for i in p['indexes']})) or 'none'}; "
                f"sequential scans of tables over 10,000 rows: {', '.join(big_seq) or 'none'}; "
                f"total execution {_f(sum(p['execution_ms'] for p in plans), 2)} ms."
            )
    out += ["", "Plan shapes (full city):", ""]
    for op in ("person_detail", "kana_search"):
        out.append(f"{OPERATION_NAMES[op]}:")
        out.append("")
        for i, p in enumerate(r["plans"]["full"][op], 1):
            out.append(f"{i}. {' → '.join(p['nodes'])} ({_f(p['execution_ms'], 3)} ms)  ")
            out.append(f"   `{p['statement'][:110]}…`")
        out.append("")
    if r.get("peers"):
        out += peers_markdown(r["peers"])
    if r.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in r["notes"]] + [""]
    return "\n".join(out) + "\n"


def write(r: dict[str, Any]) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / r["timestamp"]
    if r["mode"] != "full":
        stem = RESULTS / f"{r['timestamp']}-{r['mode']}"
    text = markdown(r)
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(text)
    shutil.copyfile(json_path, RESULTS / "latest.json")
    shutil.copyfile(md_path, RESULTS / "latest.md")
    return json_path, md_path


FIGURES = {
    "detail_cpu_vs_postgraphile": "person detail, CPU per request, kaigo ÷ PostGraphile",
    "detail_cpu_vs_floor": "person detail, CPU per request, kaigo ÷ the asyncpg floor",
    "detail_throughput_vs_postgraphile_at_8": "person detail, req/s at 8 connections, kaigo ÷ PostGraphile",
    "detail_p99_ms_at_8": "person detail, kaigo's p99 at 8 connections (ms)",
    "search_cpu_vs_postgraphile": "kana search, CPU per request, kaigo ÷ PostGraphile",
}


def peers_markdown(p: dict[str, Any]) -> list[str]:
    """The side-by-side section of issue 14: kaigo, PostGraphile 5 and the floor on one database."""
    out = ["## Peers: PostGraphile 5 and the asyncpg floor (issue 14)", ""]
    if p.get("skipped"):
        return [*out, f"Skipped: {p['skipped']}", ""]
    v = p["versions"]
    c = p["checked"]
    out += [
        f"{_f(p.get('insured'))} insured; PostGraphile {v['postgraphile']} (connection filter "
        f"{v['postgraphile-plugin-connection-filter']}) on Node {v['node']}; {p['workers']} workers each; "
        f"{p['pairs']} slices of {p['slice_s']:g} s per side and concurrency. The same data from both "
        f"servers, checked before measuring: {c['person_detail']} persons, {c['kana_search']} kana prefixes, "
        f"{_f(c['rows'])} rows; person details showing "
        + ", ".join(f"{part}: {_f(n)}" for part, n in c.get("covered", {}).items())
        + f". The floor runs the {_f(p['floor_statements'])} data statements of kaigo's read path before "
        "issue 14 (bench/harness/floor_person_detail.sql).",
        "",
        "| operation | conc. | side | req/s | p50 ms | p99 ms | CPU ms per request: app + PostgreSQL = total "
        "| errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for op, label in (("person_detail", "person detail"), ("kana_search", "kana search, 50 persons")):
        for conc, sides in p[op].items():
            for side, x in sides.items():
                pg = x.get("pg_ms")
                cpu = f"{_f(x['app_ms'], 2)} + {_f(pg, 2)} = **{_f(x['cpu_ms'], 2)}**"
                out.append(
                    f"| {label} | {conc} | {side} | {_f(x['rps'])} | {_f(x['p50_ms'], 2)} | "
                    f"{_f(x['p99_ms'], 2)} | {cpu} | {x['errors']} |"
                )
    ratios = p["ratios"]
    out += ["", "| figure (all slices) | value | target | |", "|---|---:|---:|---|"]
    for key, label in FIGURES.items():
        value = ratios.get(key)
        if value is None:
            continue
        shown = _f(value, 1) if key.startswith("detail_p99") else f"×{_f(value, 2)}"
        met = ratios.get("met", {}).get(key)
        op, target = TARGETS[key]
        out.append(f"| {label} | {shown} | {op} {target:g} | {'met' if met else 'not met'} |")
    off = ratios.get("unaudited")
    if off:
        out += [
            "",
            "Without the audit trail (kaigo_unaudited, for the record — PostGraphile keeps none; not a target):",
            "",
            "| figure (all slices) | value |",
            "|---|---:|",
            f"| person detail, CPU per request vs PostGraphile | ×{_f(off['detail_cpu_vs_postgraphile'], 2)} |",
            f"| kana search, CPU per request vs PostGraphile | ×{_f(off['search_cpu_vs_postgraphile'], 2)} |",
            f"| the trail's share of kaigo's CPU, person detail | {_f(100 * off['detail_cpu_trail_share'], 0)} % |",
            f"| the trail's share of kaigo's CPU, kana search | {_f(100 * off['search_cpu_trail_share'], 0)} % |",
        ]
    fast = ratios.get("async_reads")
    if fast:
        out += [
            "",
            "With KAIGO_AUDIT_READ_COMMIT=async (kaigo_async_reads: a read's entry committed without waiting "
            "for the disk; docs/security.md):",
            "",
            "| figure (all slices) | value |",
            "|---|---:|",
        ]
        for key, value in fast.items():
            label = FIGURES.get(key, key)
            shown = _f(value, 1) if key.startswith("detail_p99") else f"×{_f(value, 2)}"
            out.append(f"| {label} | {shown} |")
    out += ["", p["method"], ""]
    return out
