"""What a running server holds, built from the settings: database, number vault, token verifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from persistence.audit import Sealer
from persistence.audit_checkpoints import Checkpointer, Signer, open_store
from persistence.crypto import NumberVault, audit_key, decode_key, load_master_key
from persistence.db import Database, make_engine
from policies.clients import clients
from resolvers.limits import Limits, configure

from .auth import TokenVerifier
from .devkeys import DEV_ISSUER, DevKeys, ensure_dev_keys
from .graphql_view import Authenticator
from .guards import Guards
from .settings import Settings, asyncpg_url


@dataclass
class Runtime:
    """What the app serves with. ``build_runtime`` (every real server) puts the roles of
    policies/data/clients.toml ``trusted_roles`` in trusted-documents mode; a Runtime built by hand
    (tests) has them in that mode only when given ``trusted_roles``."""

    database: Database
    vault: NumberVault
    authenticator: Authenticator
    graphql_ide: bool = True  # the GraphiQL page and its files (api/graphiql/); off in production
    trusted_roles: frozenset[str] = frozenset()
    trusted_clients: frozenset[str] = frozenset()  # KAIGO_TRUSTED_CLIENTS
    document_recheck_seconds: float = 5.0
    audit_enabled: bool = True  # False only for the audit-overhead benchmark; refused in production
    audit_durable_reads: bool = True  # KAIGO_AUDIT_READ_COMMIT=durable (api/audit.py)
    planned_reads: bool = True  # False: every query through strawberry's executor (benchmarks, tests)
    cors_origins: tuple[str, ...] = ()  # KAIGO_CORS_ORIGINS: browser origins allowed to call the API
    cors_localhost: bool = False  # development: also http://localhost:* and http://127.0.0.1:* (Vite …)
    dev_tokens: DevKeys | None = None  # development signing key: GraphiQL's role picker mints tokens with it
    hsts_seconds: int = 0  # KAIGO_HSTS_SECONDS: Strict-Transport-Security when served only over HTTPS
    guards: Guards = field(default_factory=Guards)  # body size, rate per principal, request time limit
    introspection_roles: frozenset[str] | None = None  # KAIGO_INTROSPECTION_ROLES; None: every role
    sealer: Sealer | None = None  # seals each audit entry after its commit (build_runtime: always)
    seal_seconds: float = 1.0  # KAIGO_AUDIT_SEAL_SECONDS: how often the queued seals are written
    checkpointer: Checkpointer | None = None  # signs the chains' heads outside the database
    embedded_state: Path | None = None  # the embedded server's supervisor state (kaigo serve)


def _master_key(settings: Settings) -> bytes:
    return load_master_key(
        env_value=settings.data_key,
        key_file=None if settings.production else settings.key_file,
        create_if_missing=not settings.production,
    )


def load_vault(settings: Settings) -> NumberVault:
    """KAIGO_DATA_KEY, or in development a key file under the data dir created on first use."""
    return NumberVault(_master_key(settings))


def load_audit_key(settings: Settings) -> bytes:
    """KAIGO_AUDIT_KEY, or a key derived from the data key: the seals' HMAC key and the checkpoints'
    signing seed. The database never holds it."""
    if settings.audit_key:
        return decode_key(settings.audit_key, "KAIGO_AUDIT_KEY")
    return audit_key(_master_key(settings))


def build_checkpointer(settings: Settings, key: bytes) -> Checkpointer:
    store = open_store(settings.checkpoint_location, s3_endpoint=settings.audit_s3_endpoint)
    return Checkpointer(
        store,
        Signer(key),
        every=settings.audit_checkpoint_seconds,
        settle=5.0 * settings.audit_seal_seconds,  # the seals of the heads are written meanwhile
    )


def build_authenticator(settings: Settings) -> TokenVerifier:
    """The identity provider by its issuer (OpenID Connect discovery) or by its JWKS; in development, with
    neither, the dev key under the data dir (refused in production)."""
    if settings.oidc_issuer:
        if settings.jwks:
            raise SystemExit(
                "set KAIGO_OIDC_ISSUER or KAIGO_JWKS, not both: the issuer's discovery names the JWKS"
            )
        if settings.jwt_issuer and settings.jwt_issuer != settings.oidc_issuer:
            raise SystemExit("KAIGO_JWT_ISSUER differs from KAIGO_OIDC_ISSUER: leave it unset")
        return TokenVerifier(
            issuer=settings.oidc_issuer,
            audience=settings.jwt_audience,
            refuse_dev_keys=settings.production,
        )
    if settings.jwks:
        return TokenVerifier(
            jwks=settings.jwks,
            issuer=settings.jwt_issuer or "",
            audience=settings.jwt_audience,
            refuse_dev_keys=settings.production,
        )
    if settings.production:
        raise SystemExit(
            "KAIGO_ENV=production needs the identity provider: KAIGO_OIDC_ISSUER (its issuer URL), "
            "or KAIGO_JWKS (a path or https URL) and KAIGO_JWT_ISSUER"
        )
    keys = ensure_dev_keys(settings.data_dir)
    return TokenVerifier(
        jwks=str(keys.jwks_path), issuer=DEV_ISSUER, audience=settings.jwt_audience, refuse_dev_keys=False
    )


def limits_of(settings: Settings) -> Limits:
    """The operation limits of the settings (KAIGO_MAX_*), for ``resolvers.limits.configure``."""
    return Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_root_fields=settings.max_root_fields,
        max_tokens=settings.max_tokens,
        max_cost=settings.max_cost,
    )


def build_runtime(settings: Settings) -> Runtime:
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set (kaigo serve sets it before starting workers)")
    if min(settings.pool_size, settings.pool_timeout_seconds, settings.connect_timeout_seconds) < 1:
        raise SystemExit(
            "KAIGO_DB_POOL_SIZE, KAIGO_DB_POOL_TIMEOUT_SECONDS and KAIGO_DB_CONNECT_TIMEOUT_SECONDS must be >= 1"
        )
    engine = make_engine(
        asyncpg_url(settings.database_url),
        pool_size=settings.pool_size,
        pool_timeout=settings.pool_timeout_seconds,  # then DATABASE_BUSY (api/faults.py)
        connect_timeout=settings.connect_timeout_seconds,  # then DATABASE_UNAVAILABLE
        pool_pre_ping=settings.pre_ping,  # off: closed connections are refused at checkout anyway
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    configure(limits_of(settings))
    key = load_audit_key(settings)
    return Runtime(
        database=Database(engine),
        vault=load_vault(settings),
        authenticator=build_authenticator(settings),
        graphql_ide=not settings.production,
        cors_localhost=not settings.production,
        dev_tokens=None
        if settings.production or settings.jwks or settings.oidc_issuer
        else ensure_dev_keys(settings.data_dir),
        trusted_roles=clients().trusted_roles,
        trusted_clients=settings.trusted_clients,
        document_recheck_seconds=settings.document_recheck_seconds,
        cors_origins=settings.cors_origins,
        hsts_seconds=settings.hsts_seconds,
        introspection_roles=settings.introspection_roles,
        guards=Guards(
            max_body_bytes=settings.max_body_bytes,
            rate_per_second=settings.rate_per_second,
            rate_burst=settings.rate_burst,
            request_timeout_seconds=settings.request_timeout_seconds,
        ),
        sealer=Sealer(key),
        audit_durable_reads=settings.audit_read_commit == "durable",
        seal_seconds=settings.audit_seal_seconds,
        checkpointer=build_checkpointer(settings, key),
        embedded_state=settings.embedded_state,
    )
