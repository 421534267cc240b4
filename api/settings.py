"""Configuration from the environment, read once at start-up.

Every setting has a documented default so that `make run` works on a fresh machine; production
(`KAIGO_ENV=production`) refuses the development conveniences (dev keys, key files, embedded server).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer") from exc


def _split(raw: str) -> frozenset[str]:
    """A comma-separated list of names (spaces around names ignored)."""
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _names(name: str) -> frozenset[str]:
    return _split(os.environ.get(name, ""))


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when unset)."""
    value = os.environ.get(name) or choices[0]
    if value not in choices:
        raise SystemExit(f"{name} must be one of: {', '.join(choices)}")
    return value


def _introspection_roles(env: Mapping[str, str]) -> frozenset[str] | None:
    """KAIGO_INTROSPECTION_ROLES: ``*`` (every role), or the roles allowed, comma-separated. Unset:
    every role in development, none in production."""
    raw = env.get("KAIGO_INTROSPECTION_ROLES")
    if raw is None:
        return frozenset() if env.get("KAIGO_ENV") == "production" else None
    if raw.strip() == "*":
        return None
    return _split(raw)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".data")
    database_url: str | None = None  # unset: an embedded PostgreSQL under data_dir/pg
    data_key: str | None = field(default=None, repr=False)  # KAIGO_DATA_KEY (base64 of 32 bytes)
    seed_persons: int = 3000
    workers: int = 1
    pool_size: int = 10
    pool_timeout_seconds: int = 5  # a request waits this long for a pooled connection (then DATABASE_BUSY)
    connect_timeout_seconds: int = 5  # opening a connection (then DATABASE_UNAVAILABLE)
    pre_ping: bool = False  # a round trip before each checkout; for paths that drop connections silently
    jwt_issuer: str | None = None
    jwt_audience: str = "kaigo-graph"
    jwks: str | None = None  # a path or an https URL
    oidc_issuer: str | None = None  # KAIGO_OIDC_ISSUER: the JWKS found through its discovery document
    trusted_clients: frozenset[str] = frozenset()  # clients that run registered documents only
    document_recheck_seconds: int = 5  # a revoked document stops running within this time
    statement_timeout_ms: int = 5000  # PostgreSQL cancels a statement of the app running longer
    max_depth: int = 12  # limits on operations (resolvers/limits.py): refused before anything runs
    max_aliases: int = 30
    max_root_fields: int = 10
    max_tokens: int = 5000
    max_cost: int = 50_000
    max_body_bytes: int = 1_048_576  # guards in front of execution (api/guards.py)
    rate_per_second: int = 20
    rate_burst: int = 100
    request_timeout_seconds: int = 30
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API (none by default)
    hsts_seconds: int = 0  # Strict-Transport-Security, for deployments served only over HTTPS
    introspection_roles: frozenset[str] | None = None  # roles that may introspect; None: every role
    audit_key: str | None = field(default=None, repr=False)  # KAIGO_AUDIT_KEY; unset: from the data key
    audit_checkpoints: str | None = None  # KAIGO_AUDIT_CHECKPOINTS; unset: <data dir>/audit-checkpoints
    audit_s3_endpoint: str | None = None  # an S3-compatible server's URL (MinIO …); unset: AWS
    audit_checkpoint_seconds: int = 300  # how often the heads of the chains are signed
    audit_seal_seconds: int = 1  # how often each worker writes its queued seals
    audit_read_commit: str = "durable"  # a read's entry on the disk before its answer, or "async"
    header_timeout_seconds: int = 10  # a request's headers must arrive within this (then 408, closed)
    body_timeout_seconds: int = 60  # and its body within this after them
    max_connections: int = 1000  # open connections per worker; more are closed at once (503)
    embedded_state: Path | None = None  # KAIGO_EMBEDDED_STATE, set by kaigo serve: its supervisor's state

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "keys" / "data.key"

    @property
    def checkpoint_location(self) -> str:
        return self.audit_checkpoints or str(self.data_dir / "audit-checkpoints")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            env=env.get("KAIGO_ENV", "development"),
            host=env.get("HOST", "127.0.0.1"),
            port=_int("PORT", 8000),
            data_dir=Path(env.get("KAIGO_DATA_DIR", ".data")).resolve(),
            database_url=env.get("DATABASE_URL") or None,
            data_key=env.get("KAIGO_DATA_KEY") or None,
            seed_persons=_int("SEED_PERSONS", 3000),
            workers=_int("WEB_CONCURRENCY", 1),
            pool_size=_int("KAIGO_DB_POOL_SIZE", 10),
            pool_timeout_seconds=_int("KAIGO_DB_POOL_TIMEOUT_SECONDS", 5),
            connect_timeout_seconds=_int("KAIGO_DB_CONNECT_TIMEOUT_SECONDS", 5),
            pre_ping=_int("KAIGO_DB_PRE_PING", 0) == 1,
            jwt_issuer=env.get("KAIGO_JWT_ISSUER") or None,
            jwt_audience=env.get("KAIGO_JWT_AUDIENCE", "kaigo-graph"),
            jwks=env.get("KAIGO_JWKS") or None,
            oidc_issuer=env.get("KAIGO_OIDC_ISSUER") or None,
            trusted_clients=_names("KAIGO_TRUSTED_CLIENTS"),
            document_recheck_seconds=_int("KAIGO_DOCUMENT_RECHECK_SECONDS", 5),
            statement_timeout_ms=_int("KAIGO_STATEMENT_TIMEOUT_MS", 5000),
            max_depth=_int("KAIGO_MAX_DEPTH", 12),
            max_aliases=_int("KAIGO_MAX_ALIASES", 30),
            max_root_fields=_int("KAIGO_MAX_ROOT_FIELDS", 10),
            max_tokens=_int("KAIGO_MAX_TOKENS", 5000),
            max_cost=_int("KAIGO_MAX_COST", 50_000),
            max_body_bytes=_int("KAIGO_MAX_BODY_BYTES", 1_048_576),
            rate_per_second=_int("KAIGO_RATE_PER_SECOND", 20),
            rate_burst=_int("KAIGO_RATE_BURST", 100),
            request_timeout_seconds=_int("KAIGO_REQUEST_TIMEOUT_SECONDS", 30),
            cors_origins=tuple(sorted(_names("KAIGO_CORS_ORIGINS"))),
            introspection_roles=_introspection_roles(env),
            hsts_seconds=_int("KAIGO_HSTS_SECONDS", 0),
            audit_key=env.get("KAIGO_AUDIT_KEY") or None,
            audit_checkpoints=env.get("KAIGO_AUDIT_CHECKPOINTS") or None,
            audit_s3_endpoint=env.get("KAIGO_AUDIT_S3_ENDPOINT") or None,
            audit_checkpoint_seconds=_int("KAIGO_AUDIT_CHECKPOINT_SECONDS", 300),
            audit_seal_seconds=_int("KAIGO_AUDIT_SEAL_SECONDS", 1),
            audit_read_commit=_choice("KAIGO_AUDIT_READ_COMMIT", ("durable", "async")),
            header_timeout_seconds=_int("KAIGO_HEADER_TIMEOUT_SECONDS", 10),
            body_timeout_seconds=_int("KAIGO_BODY_TIMEOUT_SECONDS", 60),
            max_connections=_int("KAIGO_MAX_CONNECTIONS", 1000),
            embedded_state=Path(env["KAIGO_EMBEDDED_STATE"]) if env.get("KAIGO_EMBEDDED_STATE") else None,
        )


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the SQLAlchemy asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise SystemExit("DATABASE_URL must start with postgresql:// (or postgres://)")
