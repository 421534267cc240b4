"""wrk on loopback with a Lua script: many bodies and principals in rotation, GraphQL errors counted.

A request file holds one request a line: ``<bearer token>\\t<JSON body>``. Each wrk connection walks
the lines from its own offset; ``@RID@`` in a body becomes a request id unique to the run, the thread
and the request (mutations are idempotent on it: a repeated id would be a replay, not the operation).
An answer counts as an error when its status is not 200 or its body carries GraphQL ``errors``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = r"""
local lines = {}
local n = 0
local counter = 0
local errors = 0
local gql_errors = 0
local threads = {}
local tag = "run"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    n = n + 1
    lines[n] = { token = line:sub(1, tab - 1), body = line:sub(tab + 1) }
  end
  tag = args[2] or "run"
  counter = (tid or 1) * 7919
end

function request()
  counter = counter + 1
  local item = lines[(counter % n) + 1]
  local body = item.body
  if body:find("@RID@", 1, true) then
    body = body:gsub("@RID@", tag .. "-" .. (tid or 0) .. "-" .. counter)
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. item.token,
  }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
  elseif body:find('"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
end

function done(summary, latency, requests)
  local http_errors, graphql_errors = 0, 0
  for _, t in ipairs(threads) do
    http_errors = http_errors + (t:get("errors") or 0)
    graphql_errors = graphql_errors + (t:get("gql_errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, "http_errors": %d, "graphql_errors": %d, ' ..
    '"socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, http_errors, graphql_errors,
    e.connect + e.read + e.write, e.timeout))
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    detail: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "mean_ms": round(self.mean_ms, 2),
            "errors": self.errors,
            "error_detail": self.detail,
        }


class Wrk:
    def __init__(self, binary: str, work: Path, run_tag: str) -> None:
        self.binary = binary
        self.script = work / "bench.lua"
        self.script.write_text(LUA)
        self.work = work
        self.tag = run_tag
        self.runs = 0

    def write_requests(self, name: str, rows: list[tuple[str, dict[str, Any]]]) -> Path:
        path = self.work / f"requests-{name}.tsv"
        with path.open("w", encoding="utf-8") as out:
            for token, body in rows:
                out.write(token + "\t" + json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
        return path

    def run(self, url: str, requests: Path, connections: int, seconds: float) -> LoadResult:
        self.runs += 1
        threads = 1 if connections < 8 else 2
        command = [
            self.binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(self.script),
            url + "/graphql",
            "--",
            str(requests),
            f"{self.tag}{self.runs}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
        if line is None:
            raise SystemExit(f"wrk gave no result (exit {done.returncode}): {done.stderr[-500:]}")
        raw = json.loads(line[len("BENCHJSON ") :])
        secs = raw["duration_us"] / 1e6
        detail = {
            "http_non_200": raw["http_errors"],
            "graphql_errors": raw["graphql_errors"],
            "socket": raw["socket_errors"],
            "timeouts": raw["timeouts"],
        }
        return LoadResult(
            requests=raw["requests"],
            seconds=secs,
            rps=raw["requests"] / secs if secs else 0.0,
            p50_ms=raw["p50_us"] / 1000,
            p90_ms=raw["p90_us"] / 1000,
            p95_ms=raw["p95_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            mean_ms=raw["mean_us"] / 1000,
            errors=sum(detail.values()),
            detail=detail,
        )


def combine(results: list[LoadResult]) -> dict[str, Any]:
    """The slices of one side as one figure: requests/s over all of them, the median of their percentiles."""
    requests = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)
    return {
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": round(statistics.median(r.p50_ms for r in results), 3),
        "p95_ms": round(statistics.median(r.p95_ms for r in results), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in results), 3),
        "requests": requests,
        "errors": sum(r.errors for r in results),
        "slices": len(results),
    }
