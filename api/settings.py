"""Configuration from the environment, read once at start-up.

Every setting has a documented default so that `make run` works on a fresh machine; production
(`KAIGO_ENV=production`) refuses the development conveniences (dev keys, key files, embedded server).
"""

from __future__ import annotations

import os
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


def _names(name: str) -> frozenset[str]:
    """A comma-separated list of names (spaces around names ignored)."""
    return frozenset(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


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
    jwt_issuer: str | None = None
    jwt_audience: str = "kaigo-graph"
    jwks: str | None = None  # a path or an https URL
    trusted_clients: frozenset[str] = frozenset()  # clients that run registered documents only
    document_recheck_seconds: int = 5  # a revoked document stops running within this time

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "keys" / "data.key"

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
            jwt_issuer=env.get("KAIGO_JWT_ISSUER") or None,
            jwt_audience=env.get("KAIGO_JWT_AUDIENCE", "kaigo-graph"),
            jwks=env.get("KAIGO_JWKS") or None,
            trusted_clients=_names("KAIGO_TRUSTED_CLIENTS"),
            document_recheck_seconds=_int("KAIGO_DOCUMENT_RECHECK_SECONDS", 5),
        )


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the SQLAlchemy asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise SystemExit("DATABASE_URL must start with postgresql:// (or postgres://)")
