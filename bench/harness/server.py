"""The server under load: `kaigo serve` as a subprocess with production settings, and its variants.

Production settings: ``KAIGO_ENV=production`` (JSON logs, uvicorn access lines, no GraphiQL, dev keys
refused), a real JWKS and issuer, ``KAIGO_DATA_KEY``, ``DATABASE_URL``, ``WEB_CONCURRENCY`` workers,
every guard at its default (the load spreads over many principals so the per-principal rate limit is
not what is measured). Variants change one thing each:

- tracing: the same, plus ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at :class:`OtlpSink`, a local
  HTTP server that reads and counts every OTLP/HTTP export (real protobuf encoding and HTTP posts).
- audit off: ``Runtime.audit_enabled=False``, which the code refuses under ``KAIGO_ENV=production``;
  so this one server's environment says ``KAIGO_ENV=development`` while :mod:`harness.variants` builds
  its app from the production settings (introspection off, no GraphiQL, dev keys refused) and log
  format, with uvicorn and the same workers: in the request path it differs only in the audit trail.
- nodelay: the listener patched so the workers' connections get TCP_NODELAY (see harness.variants).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

from .machine import ISSUER, ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerConfig:
    database_url: str
    data_key: str
    jwks_path: Path
    workers: int
    log_dir: Path
    tracing: bool = False  # OTLP export to otlp_endpoint
    audit: bool = True  # False: harness.variants --audit-off
    nodelay: bool = False  # True: harness.variants --nodelay (TCP_NODELAY on the workers' connections)
    otlp_endpoint: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


class ProcessTree:
    """A server started as a subprocess on a free loopback port: its process tree's CPU and RSS, waiting
    for its workers to go idle, stopping it. :meth:`stop` ends only what it started."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def launch(
        self, command: list[str], cwd: Path, env: dict[str, str], ready: Callable[[], bool], timeout: float
    ) -> None:
        """Start ``command`` (its output in the run's log dir) and wait until ``ready()``: else stop it and
        end the run with the log's name."""
        self._log = open(self.log_dir / f"server-{self.name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"server {self.name} exited ({self.process.returncode}); see {self._log.name}"
                )
            self._log.flush()
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"server {self.name} not ready after {timeout:.0f} s; see {self._log.name}")

    def check_alive(self) -> None:
        """End the run, naming the server and its log, if it has exited."""
        if self.process is not None and self.process.poll() is not None:
            log = self._log.name if self._log is not None else "its log"
            raise SystemExit(f"server {self.name} exited ({self.process.returncode}) under load; see {log}")

    def log_text(self) -> bytes:
        return Path(self._log.name).read_bytes() if self._log is not None else b""

    def workers(self) -> list[psutil.Process]:
        """The worker processes (the supervisor and multiprocessing helpers excluded)."""
        if self.process is None:
            return []
        root = psutil.Process(self.process.pid)
        out = []
        for child in root.children(recursive=True):
            try:
                cmd = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "resource_tracker" in cmd or "semaphore_tracker" in cmd:
                continue
            out.append(child)
        return out or [root]

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) of the server's process tree so far: the supervisor and workers."""
        if self.process is None:
            return 0.0
        root = psutil.Process(self.process.pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                t = process.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def rss_mib(self) -> list[float]:
        values = []
        for worker in self.workers():
            try:
                values.append(round(worker.memory_info().rss / 2**20, 1))
            except psutil.Error:
                continue
        return sorted(values)

    def settle(self, idle_percent: float = 10.0, timeout: float = 90.0) -> float:
        """Wait until the workers are idle (requests wrk left in flight are finished); the seconds waited."""
        began = time.monotonic()
        procs = self.workers()
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.cpu_percent(None)
        while time.monotonic() - began < timeout:
            time.sleep(0.5)
            busy = 0.0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    busy += p.cpu_percent(None)
            if busy < idle_percent:
                break
        return time.monotonic() - began

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM to the process we started: it stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None


class Server(ProcessTree):
    """`kaigo serve` (or a variant of harness.variants) with production settings."""

    def __init__(self, config: ServerConfig, name: str) -> None:
        super().__init__(name, config.log_dir)
        self.config = config

    def env(self) -> dict[str, str]:
        c = self.config
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KAIGO_"))}
        env.update(
            KAIGO_ENV="production",
            KAIGO_LOG_FORMAT="json",
            DATABASE_URL=c.database_url,
            KAIGO_DATA_KEY=c.data_key,
            KAIGO_JWKS=str(c.jwks_path),
            KAIGO_JWT_ISSUER=ISSUER,
            KAIGO_DATA_DIR=str(c.log_dir / "data"),
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(c.workers),
            PYTHONPATH=os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        )
        if c.tracing:
            assert c.otlp_endpoint
            env.update(
                OTEL_EXPORTER_OTLP_ENDPOINT=c.otlp_endpoint,
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_SERVICE_NAME="kaigo-graph-bench",
            )
        if not c.audit:
            env["KAIGO_ENV"] = "development"  # api/audit.py refuses audit off in production
        env.update(c.extra_env)
        return env

    def start(self, timeout: float = 90.0) -> Server:
        c = self.config
        if not c.audit or c.nodelay:
            command = [sys.executable, "-m", "harness.variants"]
            command += ["--audit-off"] * (not c.audit) + ["--nodelay"] * c.nodelay
        else:
            command = [str(BIN / "kaigo"), "serve", "--workers", str(self.config.workers)]

        def ready() -> bool:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200 and self._all_workers_up()

        self.launch(command, ROOT, self.env(), ready, timeout)
        return self

    def _all_workers_up(self) -> bool:
        if self.config.workers <= 1:
            return True
        # uvicorn's supervisor spawns the workers; each logs "Application startup complete".
        return self.log_text().count(b"Application startup complete") >= self.config.workers


class OtlpSink:
    """A tiny OTLP/HTTP collector on loopback: reads every export, counts requests and bytes, answers 200
    with an empty ExportTraceServiceResponse. The exporter does its real work (batching, protobuf, HTTP)."""

    def __init__(self) -> None:
        sink = self
        self.requests = 0
        self.bytes = 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # http.server's name for the handler
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with sink._lock:
                    sink.requests += 1
                    sink.bytes += len(body)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
