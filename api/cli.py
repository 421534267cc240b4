"""`kaigo`: the command line of kaigo-graph (serve, migrate, seed, schema, token, purge)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .logs import log_config
from .settings import Settings, asyncpg_url

log = logging.getLogger("kaigo")


@contextmanager
def database_url(settings: Settings, *, own: bool = False, exclusive: bool = False) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded server: the one a running ``kaigo serve`` owns (left
    running), else one started for the command and stopped when it ends. ``own`` (``kaigo serve``
    itself): never share one, and supervise it; ``exclusive`` (``kaigo restore``): never share one."""
    if settings.database_url:
        yield asyncpg_url(settings.database_url)
        return
    if settings.production:
        raise SystemExit("KAIGO_ENV=production needs DATABASE_URL: the embedded server is for development")
    from persistence.bootstrap import embedded_database
    from persistence.embedded import InUse

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with embedded_database(settings.data_dir, attach=not (own or exclusive), supervise=own) as url:
            yield url
    except InUse as busy:  # kaigo serve, while another one runs on the same data
        raise SystemExit(f"kaigo: {busy}") from None


async def _migrate(url: str) -> None:
    from persistence.bootstrap import ensure_database
    from persistence.db import make_engine
    from persistence.migrate import upgrade

    await ensure_database(url)
    engine = make_engine(url, pool_size=1)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(
    url: str, settings: Settings, persons: int, seed: int, *, only_if_empty: bool, replace: bool
) -> None:
    from sqlalchemy import text

    from persistence.db import make_engine
    from persistence.seed import seed_city

    from .runtime import load_vault

    engine = make_engine(url, pool_size=1)
    try:
        if only_if_empty:
            async with engine.connect() as conn:
                if (await conn.execute(text("SELECT EXISTS (SELECT 1 FROM persons)"))).scalar():
                    log.info("database already holds persons: not seeding")
                    return
        report = await seed_city(
            engine, load_vault(settings), insured=persons, seed=seed, replace=replace, progress=log.info
        )
        print(report.summary(), file=sys.stderr)
    finally:
        await engine.dispose()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    with database_url(settings) as url:
        asyncio.run(_migrate(url))
    print("migrations applied", file=sys.stderr)


def cmd_seed(args: argparse.Namespace, settings: Settings) -> None:
    from persistence.seed import SeedError

    with database_url(settings) as url:
        asyncio.run(_migrate(url))
        try:
            asyncio.run(
                _seed(url, settings, args.persons, args.seed, only_if_empty=False, replace=args.replace)
            )
        except SeedError as refused:  # an expected condition (a database already seeded): no traceback
            raise SystemExit(f"kaigo seed: {refused} (`kaigo seed --replace`)") from None


async def _purge(url: str, *, dry_run: bool) -> str:
    from persistence.db import make_engine
    from persistence.provision_records import purge

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:  # one transaction: all of it or nothing
            report = await purge(conn, dry_run=dry_run)
    finally:
        await engine.dispose()
    return report.summary()


def cmd_purge(args: argparse.Namespace, settings: Settings) -> None:
    """Remove provision records (情報提供等記録) older than the retention period, and print the counts."""
    with database_url(settings) as url:
        print(asyncio.run(_purge(url, dry_run=args.dry_run)))


def schema_views() -> dict[str, tuple[list[str] | None, str | None]]:
    """Every view ``make schema`` commits under schema/sdl/, by file name: ``full`` (the whole schema),
    each role's view, and a role that needs a department (receiving_department) once per department of
    別紙2, as ``role.department``. Such a role has no duties without a department, so it has no
    department-less file."""
    from policies.roles import ROLE_NAMES, departments, policy

    views: dict[str, tuple[list[str] | None, str | None]] = {"full": (None, None)}
    for role in sorted(ROLE_NAMES):
        if policy().roles[role].requires_department:
            views.update({f"{role}.{dept}": ([role], dept) for dept in sorted(departments())})
        else:
            views[role] = ([role], None)
    return views


def schema_sdl(roles: list[str] | None, department: str | None) -> str:
    """The SDL of the whole schema (no roles) or of the view of ``roles`` (with ``department`` for a role
    that needs one: its duties come with the department)."""
    from policies.roles import ROLE_NAMES, departments, policy, principal_from_claims
    from policies.roles import department as department_named
    from resolvers import build_schema, schema_for

    if not roles:
        if department is not None:
            raise SystemExit("kaigo schema: --department goes with --role receiving_department")
        return build_schema().as_str()
    unknown = sorted(set(roles) - ROLE_NAMES)
    if unknown:
        raise SystemExit(f"unknown role(s) {', '.join(unknown)}; roles: {', '.join(sorted(ROLE_NAMES))}")
    needing = sorted(r for r in set(roles) if policy().roles[r].requires_department)
    if needing and department_named(department) is None:
        raise SystemExit(
            f"kaigo schema: {', '.join(needing)} sees the schema through its department: add --department, "
            f"one of {', '.join(sorted(departments()))}"
        )
    if department is not None and not needing:
        raise SystemExit("kaigo schema: --department goes with --role receiving_department")
    principal = principal_from_claims("kaigo-schema", roles, department)
    return schema_for(principal.duties).as_str()


def cmd_schema(args: argparse.Namespace, settings: Settings) -> None:
    if args.out is None:
        print(schema_sdl(args.role, args.department))
        return
    if args.role or args.department:
        raise SystemExit("kaigo schema --out writes every view: leave out --role and --department")
    out, views = Path(args.out), schema_views()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.graphql"):
        if stale.stem not in views:
            stale.unlink()
    for name, (roles, department) in views.items():
        (out / f"{name}.graphql").write_text(schema_sdl(roles, department) + "\n", encoding="utf-8")


def cmd_token(args: argparse.Namespace, settings: Settings) -> None:
    from datetime import timedelta

    from .devkeys import existing_dev_keys

    if settings.production:
        raise SystemExit("kaigo token issues development tokens only; production tokens come from the IdP")
    keys = existing_dev_keys(settings.data_dir)
    if keys is None:
        raise SystemExit(
            f"kaigo token: no development signing key under {settings.data_dir}/identity. A token must be "
            "signed with the key of the server that will check it: start the server first (`make run` or "
            "`kaigo serve`, which make the key), or set KAIGO_DATA_DIR to the server's data directory."
        )
    ttl = _parse_ttl(args.ttl)
    token = keys.issue_token(
        args.role,
        sub=args.sub or f"dev-{args.role[0]}",
        department=args.department,
        ttl=timedelta(seconds=ttl),
    )
    print(token)


def _parse_ttl(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1] in units:
            return int(text[:-1]) * units[text[-1]]
        return int(text)
    except (ValueError, IndexError) as exc:
        raise SystemExit("--ttl takes a number with s, m, h or d (e.g. 8h)") from exc


HTTP_PROTOCOL = "api.connections:GuardedH11Protocol"  # TCP_NODELAY, header/body deadlines, a bound


class Shutdown(Exception):
    """SIGINT or SIGTERM: unwind so that the embedded server is stopped on the way out."""


def _raise_shutdown(signum: int, frame: object) -> None:
    raise Shutdown(signal.Signals(signum).name)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    # uvicorn shuts down gracefully, then re-raises the signal it caught: with these handlers that
    # becomes an exception here, so the `with` below still stops the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    with database_url(settings, own=True) as url:
        if args.migrate:
            asyncio.run(_migrate(url))
        if args.seed_if_empty:
            asyncio.run(_seed(url, settings, settings.seed_persons, 1, only_if_empty=True, replace=False))
        # Workers read the resolved URL from the environment (the embedded server's socket), and
        # /readyz the embedded server's supervisor state.
        if not settings.database_url:
            from persistence.bootstrap import STATE_FILE

            os.environ["KAIGO_EMBEDDED_STATE"] = str(settings.data_dir / STATE_FILE)
        os.environ["DATABASE_URL"] = url
        if args.print_tokens and not settings.production:
            _print_dev_headers(settings)
        print(f"kaigo-graph: http://{settings.host}:{settings.port}/graphql", file=sys.stderr)
        workers = args.workers or settings.workers  # --workers, else WEB_CONCURRENCY
        uvicorn.run(
            "api.asgi:create",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers if workers > 1 else None,
            log_config=log_config(),
            proxy_headers=False,
            http=HTTP_PROTOCOL,  # TCP_NODELAY whoever bound the socket; slow clients cut (api/connections.py)
        )


def _print_dev_headers(settings: Settings) -> None:
    from datetime import timedelta

    from policies.roles import ROLE_NAMES

    from .devkeys import ensure_dev_keys

    keys = ensure_dev_keys(settings.data_dir)
    print("\nDevelopment tokens (valid 8 h), one per role — paste into GraphiQL's headers:", file=sys.stderr)
    for role in sorted(ROLE_NAMES):
        department = "seikatsu_fukushi" if role == "receiving_department" else None
        token = keys.issue_token(role, sub=f"dev-{role}", department=department, ttl=timedelta(hours=8))
        print(f'  {role:24} {{"Authorization": "Bearer {token}"}}', file=sys.stderr)
    print(file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kaigo", description="kaigo-graph: the LTCI records GraphQL API")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="serve the GraphQL API (uvicorn)")
    p.add_argument("--migrate", action="store_true", help="apply migrations first")
    p.add_argument("--seed-if-empty", action="store_true", help="seed a demo city ($SEED_PERSONS) when empty")
    p.add_argument("--print-tokens", action="store_true", help="print a development token per role")
    p.add_argument("--workers", type=int, help="uvicorn worker processes (default: $WEB_CONCURRENCY)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed", help="fill the database with a deterministic synthetic city")
    p.add_argument(
        "--persons", type=int, default=3000, help="insured persons (household members come on top)"
    )
    p.add_argument("--seed", type=int, default=1, help="random seed: same seed, same city")
    p.add_argument("--replace", action="store_true", help="empty the data tables first")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("purge", help="remove provision records older than the retention period (7 years)")
    p.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("schema", help="print the GraphQL schema (SDL), whole or as a role sees it")
    p.add_argument("--role", action="append", help="print the view of this role (repeat for several)")
    p.add_argument(
        "--department", help="the department whose view to print (receiving_department; required with it)"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write every view into DIR instead (full.graphql, ROLE.graphql, receiving_department.DEPT.graphql)",
    )
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("token", help="print a development JWT the server accepts")
    p.add_argument("--role", action="append", required=True, help="role (repeat for several)")
    p.add_argument("--sub", help="subject (staff id)")
    p.add_argument("--department", help="department (receiving_department only)")
    p.add_argument("--ttl", default="8h", help="lifetime, e.g. 30m, 8h")
    p.set_defaults(func=cmd_token)

    from .cli_pq import add_pq_parser  # kaigo pq import|list|revoke: persisted documents

    add_pq_parser(sub)

    from .cli_audit import add_audit_parser  # kaigo audit verify: the audit trail's hash chain

    add_audit_parser(sub)

    from .cli_backup import add_backup_parsers  # kaigo backup | restore

    add_backup_parsers(sub)

    from .cli_intake import add_intake_parser  # kaigo intake residents|claims FILE, kaigo assess

    add_intake_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.config.dictConfig(log_config())
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        args.func(args, settings)
    except Shutdown as stop:
        log.info("stopped by %s", stop)


if __name__ == "__main__":
    main()
