"""Running `kaigo serve` and the other commands as processes (tests/test_serve.py, tests/test_backup.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

KAIGO = str(Path(sys.executable).parent / "kaigo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `kaigo serve` on its own data directory and port (no key or server given)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KAIGO_DATA_KEY", "KAIGO_JWKS"}}
    env.update(KAIGO_DATA_DIR=str(data_dir), SEED_PERSONS="120", PORT=str(free_port()), **extra)
    return env


def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [KAIGO, "serve", "--migrate", "--seed-if-empty", "--print-tokens"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_ready(proc: subprocess.Popen[bytes], base: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"kaigo serve exited {proc.returncode}: {proc.stderr.read().decode()[-3000:]}"
            )  # type: ignore[union-attr]
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("kaigo serve did not become ready")


def postgres_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(data_dir) in cmdline:
            found.append(proc)
    return found


@contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A ready `kaigo serve`; stopped (SIGTERM) at the end, with any PostgreSQL it left behind."""
    proc = start(env)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_ready(proc, base)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        for leftover in postgres_of(Path(env["KAIGO_DATA_DIR"])):
            leftover.kill()


def kaigo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KAIGO, *args], env=env, capture_output=True, text=True, timeout=300)
