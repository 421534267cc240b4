"""`kaigo serve` as `make run` starts it: embedded PostgreSQL, migrate, seed, serve, stop cleanly.

Also the case the README promises: a run killed with SIGKILL leaves its PostgreSQL behind, and the
next start finds and stops it instead of failing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .serve_support import KAIGO, environment, kaigo, postgres_of, serving, start, wait_ready

pytestmark = pytest.mark.serve


@pytest.fixture
def tmp_path(private_tmp_path: Path) -> Path:
    """Data directories of the embedded server live outside pytest's base directory (see conftest)."""
    return private_tmp_path


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    return environment(tmp_path / "data")


@pytest.fixture
def server(serve_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str, dict[str, str]]]:
    with serving(serve_env) as (proc, base):
        yield proc, base, serve_env


def test_serves_queries_and_stops_cleanly(
    server: tuple[subprocess.Popen[bytes], str, dict[str, str]],
) -> None:
    proc, base, env = server
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    token = subprocess.run(
        [KAIGO, "token", "--role", "kaigo_officer"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    query = {"query": "{ persons(first: 3) { edges { node { id nameKana birthDate } } } }"}
    answer = httpx.post(f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["data"]["persons"]["edges"]) == 3

    refused = httpx.post(f"{base}/graphql", json=query)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # how to get a token this server accepts: `kaigo token` with the server's own data directory
    data_dir = Path(env["KAIGO_DATA_DIR"]).resolve()
    assert f"KAIGO_DATA_DIR={data_dir} kaigo token --role" in refused.json()["errors"][0]["message"]
    elsewhere = subprocess.run(
        [KAIGO, "token", "--role", "kaigo_officer"],
        env={**env, "KAIGO_DATA_DIR": str(data_dir.parent / "elsewhere")},
        capture_output=True,
        text=True,
    )
    assert elsewhere.returncode != 0 and "no development signing key" in elsewhere.stderr
    assert not (data_dir.parent / "elsewhere").exists()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert postgres_of(Path(env["KAIGO_DATA_DIR"])) == []


def test_a_killed_run_leaves_nothing_that_blocks_the_next(serve_env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{serve_env['PORT']}"
    data_dir = Path(serve_env["KAIGO_DATA_DIR"])
    first = start(serve_env)
    try:
        wait_ready(first, base)
        os.killpg(first.pid, signal.SIGKILL)  # kaigo and uvicorn die; postgres runs in its own session
        first.wait(30)
        assert postgres_of(data_dir), "the embedded server should have outlived the killed run"

        second = start(serve_env)
        try:
            wait_ready(second, base)  # the leftover server was found and stopped, a fresh one started
        finally:
            second.send_signal(signal.SIGINT)
            assert second.wait(60) == 0
        assert postgres_of(data_dir) == []
    finally:
        for leftover in postgres_of(data_dir):
            leftover.kill()


def test_commands_attach_to_the_embedded_server_kaigo_serve_owns(
    server: tuple[subprocess.Popen[bytes], str, dict[str, str]],
) -> None:
    """`kaigo audit verify` and the other commands beside a running server use its PostgreSQL (they
    used to fail with a RuntimeError traceback: the server is in use by another process)."""
    proc, base, env = server
    token = kaigo(env, "token", "--role", "kaigo_officer").stdout.strip()
    query = {"query": "{ persons(first: 3) { edges { node { id } } } }"}
    assert httpx.post(f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {token}"}).is_success
    verified = kaigo(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit trail intact: 1 entries" in verified.stdout and "Traceback" not in verified.stderr
    listed = kaigo(env, "pq", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    seeded = kaigo(env, "seed")  # an expected condition: the server's database holds its city already
    assert seeded.returncode == 1 and "Traceback" not in seeded.stderr, seeded.stderr
    assert "already holds" in seeded.stderr and "kaigo seed --replace" in seeded.stderr
    assert proc.poll() is None and httpx.get(f"{base}/readyz").status_code == 200  # left running


def test_the_embedded_server_is_brought_back_after_it_dies(
    server: tuple[subprocess.Popen[bytes], str, dict[str, str]],
) -> None:
    """kill -9 of the postmaster under load: `kaigo serve` starts it again, /readyz is ready again by
    itself, and every request answered before, during and after left its committed audit entry."""
    proc, base, env = server
    pgdata = Path(env["KAIGO_DATA_DIR"]) / "pg"
    token = kaigo(env, "token", "--role", "kaigo_officer").stdout.strip()
    query = {"query": "{ persons(first: 2) { edges { node { id } } } }"}
    answered, statuses, stop = [0], set(), threading.Event()

    def load() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            while not stop.is_set():
                try:
                    response = c.post("/graphql", json=query)
                except httpx.TransportError:
                    continue
                statuses.add(response.status_code)
                if response.status_code == 200 and "errors" not in response.json():
                    answered[0] += 1  # its entry committed with it

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        while answered[0] < 20:
            time.sleep(0.05)
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        seen_down = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready = httpx.get(f"{base}/readyz", timeout=5)
            if ready.status_code == 503:
                seen_down = True
                assert ready.json()["database"] in {"restarting", "unreachable"}
            elif seen_down:
                break
            time.sleep(0.05)
        assert ready.status_code == 200, ready.text
        after = answered[0]
        while answered[0] < after + 20:  # served again
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert 503 in statuses or seen_down
    time.sleep(2)  # the seals queued while the database was away are written
    verified = kaigo(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    count = int(verified.stdout.split("intact: ")[1].split()[0])
    assert count >= answered[0]
    assert proc.poll() is None
