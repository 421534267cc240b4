"""The Starlette application: health, readiness and the GraphQL endpoint."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from persistence.migrate import is_current
from persistence.supervisor import read_state
from policies.roles import ROLE_NAMES, departments, duties_for
from resolvers import build_schema
from resolvers.errors import DATABASE_BUSY, DATABASE_UNAVAILABLE, database_fault

from . import graphiql
from .audit import AuditTrail
from .documents import DocumentCache, Registry, served_view
from .faults import RETRY_AFTER_SECONDS
from .graphql_view import KaigoGraphQL
from .http_surface import CORS_HEADERS, LOCAL_ORIGINS, RequestLanguage, SecurityHeaders
from .memory import return_large_blocks
from .runtime import Runtime
from .telemetry import instrument_app, shutdown, start_from_env

log = logging.getLogger("kaigo.app")


async def healthz(request: Request) -> JSONResponse:
    """The process is alive (no dependency checked)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the head migration (503 while it is down — "restarting"
    while ``kaigo serve`` brings its embedded server back — and again ready as soon as it is back: the
    pool replaces the connections the outage closed, persistence/db.py)."""
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current = await is_current(runtime.database.engine)
    except Exception as exc:  # any failure means "not ready"; the reason class only, no details
        log.warning("readiness check failed: %s", type(exc).__name__)
        # busy: every pooled connection stayed taken for KAIGO_DB_POOL_TIMEOUT_SECONDS (DATABASE_BUSY)
        busy = database_fault(exc) == DATABASE_BUSY
        retry = RETRY_AFTER_SECONDS[DATABASE_BUSY if busy else DATABASE_UNAVAILABLE]
        state = read_state(runtime.embedded_state) if runtime.embedded_state is not None else None
        restarting = not busy and state is not None and state.get("state") == "restarting"
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "restarting" if restarting else "busy" if busy else "unreachable",
            },
            status_code=503,
            headers={"Retry-After": str(retry)},
        )
    if not current:
        return JSONResponse({"status": "unavailable", "database": "migrations pending"}, status_code=503)
    return JSONResponse({"status": "ready"})


def settle_long_lived() -> None:
    """Build every role's schema view now (not on a role's first request), then move everything the
    process holds for its lifetime out of the garbage collector's reach (``gc.freeze``): the views are
    large, and every full collection would otherwise walk them again."""
    some_department = next(iter(departments()), None)  # a role's duties do not depend on which one
    for role in sorted(ROLE_NAMES):
        served_view(duties_for([role], some_department))
    gc.collect()
    gc.freeze()


def _trail_tasks(runtime: Runtime) -> list[asyncio.Task[None]]:
    engine = runtime.database.engine
    tasks = []
    if runtime.sealer is not None:
        tasks.append(asyncio.create_task(runtime.sealer.run(engine, every=runtime.seal_seconds)))
    if runtime.checkpointer is not None:
        tasks.append(asyncio.create_task(runtime.checkpointer.run(engine)))
    return tasks


def create_app(runtime: Runtime) -> Starlette:
    documents = Registry(
        runtime.database,
        trusted_roles=runtime.trusted_roles,
        trusted_clients=runtime.trusted_clients,
        cache=DocumentCache(recheck_seconds=runtime.document_recheck_seconds),
    )
    graphql = KaigoGraphQL(
        build_schema(),
        database=runtime.database,
        vault=runtime.vault,
        authenticator=runtime.authenticator,
        graphql_ide=runtime.graphql_ide,
        documents=documents,
        audit=AuditTrail(
            runtime.database,
            enabled=runtime.audit_enabled,
            sealer=runtime.sealer,
            durable_reads=runtime.audit_durable_reads,
        ),
        guards=runtime.guards,
        introspection_roles=runtime.introspection_roles,
        planned_reads=runtime.planned_reads,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.authenticator.prime()  # fetch the JWKS now: a bad one fails the start, not a request
        tracing = start_from_env(runtime.vault)  # OTEL_* variables; off unless they ask for traces
        settle_long_lived()
        return_large_blocks()  # a transfer page's buffers given back when freed (api/memory.py)
        trail = _trail_tasks(runtime)  # seals and checkpoints, off the request path
        try:
            yield
        finally:
            for task in trail:
                task.cancel()
            await asyncio.gather(*trail, return_exceptions=True)  # the sealer writes its last batch
            if tracing:
                shutdown()  # flushes the spans still queued
            await runtime.authenticator.aclose()
            await runtime.database.engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            # Route, not Mount: Mount would answer /graphql with a 307 to /graphql/.
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *graphiql.routes(graphql_ide=runtime.graphql_ide, dev_tokens=runtime.dev_tokens),
        ],
        lifespan=lifespan,
    )
    instrument_app(app, runtime.database.engine)  # HTTP and statement spans, idle while tracing is off
    if runtime.cors_origins or runtime.cors_localhost:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(runtime.cors_origins),
            allow_origin_regex=LOCAL_ORIGINS if runtime.cors_localhost else None,
            allow_methods=["GET", "POST"],
            allow_headers=list(CORS_HEADERS),
            allow_credentials=False,  # bearer tokens, never cookies
            max_age=600,
        )
    app.add_middleware(RequestLanguage)  # error messages in Japanese for Accept-Language: ja
    app.add_middleware(SecurityHeaders, hsts_seconds=runtime.hsts_seconds)  # outermost: on every answer
    app.state.runtime = runtime
    app.state.documents = documents
    app.state.graphql = graphql  # its planned reads are counted (api/reads.py)
    return app
