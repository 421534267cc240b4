"""Lifecycle of the embedded PostgreSQL server: start, reuse, leftovers of killed runs, stale lock files."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest

from persistence import embedded
from persistence.embedded import EmbeddedServer, create_database, drop_database, start, wait_ready

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tmp_path(private_tmp_path: Path) -> Path:
    """Data directories of the embedded server live outside pytest's base directory (see conftest)."""
    return private_tmp_path


def _server_processes(pgdata: Path) -> list[psutil.Process]:
    """Live postgres processes of this cluster (postmaster: -D pgdata; all of them: cwd pgdata)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if Path(proc.cwd()) == pgdata or str(pgdata) in proc.cmdline():
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _assert_no_server(pgdata: Path) -> None:
    deadline = time.monotonic() + 5
    while _server_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _server_processes(pgdata) == []


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _pid(server: EmbeddedServer) -> int:
    return int((server.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def _fetch(server: EmbeddedServer, sql: str, database: str = "postgres", *, script: bool = False) -> Any:
    """First value of ``sql`` over the unix socket; ``script=True`` runs several statements instead."""

    async def run() -> Any:
        conn = await asyncpg.connect(server.url(database, driver="postgresql"))
        try:
            return await (conn.execute(sql) if script else conn.fetchval(sql))
        finally:
            await conn.close()

    return asyncio.run(run())


def _write_pid_file(pgdata: Path, pid: int) -> None:
    (pgdata / "postmaster.pid").write_text(f"{pid}\n{pgdata}\n")


def test_start_connect_stop_and_restart_reuses_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"
    server = start(data_dir, settings=FAST)
    try:
        assert server.pgdata == pgdata
        assert server.socket_dir == pgdata
        assert server.url("kaigo") == f"postgresql+asyncpg://postgres@/kaigo?host={pgdata}&port=5432"
        assert _fetch(server, "select 1") == 1
        assert _fetch(server, "show listen_addresses") == ""
        assert _fetch(server, "show max_connections") == "200"
        assert _fetch(server, "show fsync") == "off"
        _fetch(server, "create table kept (v text); insert into kept values ('before restart')", script=True)
        # pg_ctl setsid()s the postmaster: a terminal Ctrl-C (sent to our process group) cannot reach it.
        pid = _pid(server)
        assert os.getsid(pid) == pid != os.getsid(0)
        assert os.getpgid(pid) != os.getpgid(0)
    finally:
        server.stop()
    _assert_no_server(pgdata)
    server.stop()  # idempotent

    def no_initdb(*args: object) -> None:
        raise AssertionError("initdb must not run on an initialized data directory")

    monkeypatch.setattr(embedded, "_initdb", no_initdb)
    server = start(data_dir, settings=FAST)
    try:
        assert _fetch(server, "select v from kept") == "before restart"
    finally:
        server.stop()
    _assert_no_server(pgdata)

    with pytest.raises(RuntimeError, match="shared_buffers") as failure:
        start(data_dir, settings={"shared_buffers": "lots"})
    assert "last lines of" in str(failure.value)
    _assert_no_server(pgdata)


def test_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="listen_addresses"):
        start(tmp_path / "data", settings={"listen_addresses": "*"})
    with pytest.raises(ValueError, match="invalid"):
        start(tmp_path / "data", settings={"fsync=off -c x": "on"})


def test_start_stops_a_server_whose_handle_was_lost(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"
    forgotten = start(data_dir)
    try:
        assert _fetch(forgotten, "show fsync") == "on"  # real dev data: fsync stays on by default
        old_pid = _pid(forgotten)
        with caplog.at_level(logging.INFO, logger=embedded.__name__):
            server = start(data_dir, settings=FAST)
        assert any("left behind" in r.getMessage() for r in caplog.records)
        assert _gone(old_pid)
        assert _pid(server) != old_pid
        wait_ready(server, timeout=5)
        assert _fetch(server, "select 1") == 1
        server.stop()
    finally:
        forgotten.stop()  # same cluster: a no-op unless the test failed half-way
    _assert_no_server(pgdata)


def test_stop_is_clean_even_when_pg_ctl_cannot_do_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"
    server = start(data_dir, settings=FAST)
    try:
        # A pytest session starting elsewhere chmods /tmp/pytest-of-root back to 0700 (as root, this locks
        # the embedded_postgres user out of the data dir's path); stop() must open it again for pg_ctl.
        tmp_path.chmod(0o700)
        with caplog.at_level(logging.WARNING, logger=embedded.__name__):
            server.stop()
        assert [
            r for r in caplog.records if r.name == embedded.__name__ and r.levelno >= logging.WARNING
        ] == []
        _assert_no_server(pgdata)

        server = start(data_dir, settings=FAST)
        real_run = embedded._run

        def failing_pg_ctl_stop(args: Any, **kwargs: Any) -> str:
            if "stop" in map(str, args):
                raise subprocess.CalledProcessError(1, args, output="pg_ctl: simulated failure")
            return real_run(args, **kwargs)

        monkeypatch.setattr(embedded, "_run", failing_pg_ctl_stop)
        server.stop()  # falls back to SIGINT: still a clean fast shutdown
        _assert_no_server(pgdata)
        assert (pgdata / "log").read_text().rstrip().endswith("database system is shut down")
    finally:
        monkeypatch.undo()
        server.stop()
    _assert_no_server(pgdata)


CHILD = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    from persistence.embedded import start

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # survive the simulated Ctrl-C; only postgres is under test
    server = start(Path(sys.argv[1]), settings={"fsync": "off"})
    print(server.pgdata, flush=True)
    time.sleep(120)
    """
)


def test_start_stops_the_server_of_a_killed_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, standing for the terminal's foreground group
    )
    server = None
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == str(pgdata), child.stderr and child.stderr.read()
        old_pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        # The owner is alive: its server must not be killed under its feet.
        with pytest.raises(RuntimeError, match="in use by running process"):
            start(data_dir)
        assert not _gone(old_pid)

        # Ctrl-C in the terminal = SIGINT to the foreground process group: postgres is not in it.
        os.killpg(child.pid, signal.SIGINT)
        time.sleep(0.3)
        assert not _gone(old_pid)
        assert _fetch(EmbeddedServer(pgdata=pgdata, socket_dir=pgdata), "select 1") == 1

        child.kill()  # kill -9: no finally, no lifespan shutdown
        child.wait(10)
        assert not _gone(old_pid)  # postgres survived its owner (own session)

        server = start(data_dir, settings=FAST)
        assert _gone(old_pid)
        assert _fetch(server, "select 1") == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if server is not None:
            server.stop()
        else:
            EmbeddedServer(pgdata=pgdata, socket_dir=pgdata).stop()
    _assert_no_server(pgdata)


def test_stale_lock_files_do_not_break_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"
    sleeper = subprocess.Popen(["sleep", "60"])
    server = start(data_dir, settings={"fsync": "off"})
    try:
        _fetch(server, "create table kept (v int); insert into kept values (42)", script=True)

        # Crash: the postmaster itself is kill -9'd; its lock files stay behind.
        pid = _pid(server)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        server = start(data_dir, settings={"fsync": "off"})
        assert _fetch(server, "select v from kept") == 42  # crash recovery
        server.stop()
        _assert_no_server(pgdata)

        # postmaster.pid naming a dead process.
        dead = subprocess.Popen(["true"])
        dead.wait()
        _write_pid_file(pgdata, dead.pid)
        server = start(data_dir, settings=FAST)
        assert _fetch(server, "select 1") == 1
        server.stop()
        _assert_no_server(pgdata)

        # postmaster.pid naming a live process that is not postgres: start, and leave it alone.
        _write_pid_file(pgdata, sleeper.pid)
        server = start(data_dir, settings=FAST)
        assert _fetch(server, "select 1") == 1
        assert sleeper.poll() is None
    finally:
        server.stop()
        sleeper.kill()
        sleeper.wait()
    _assert_no_server(pgdata)


def test_long_data_dir_gets_a_short_private_socket_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / ("d" * 100)
    server = start(data_dir, settings=FAST)
    try:
        assert server.socket_dir != server.pgdata
        assert server.socket_dir.parent == Path("/tmp")
        assert server.socket_dir.stat().st_mode & 0o777 == 0o700  # trust auth: keep other users out
        assert _fetch(server, "select 1") == 1

        create_database(server, 'kaigo "test"')
        create_database(server, 'kaigo "test"')  # idempotent
        assert _fetch(server, "select current_database()", 'kaigo "test"') == 'kaigo "test"'
        drop_database(server, 'kaigo "test"')
        drop_database(server, 'kaigo "test"')
        assert _fetch(server, "select count(*) from pg_database where datname like 'kaigo%'") == 0
    finally:
        server.stop()
        shutil.rmtree(server.socket_dir, ignore_errors=True)
    _assert_no_server(server.pgdata)
