"""``kaigo audit verify``: walk the audit trail's hash chains and name the first broken link.

Exit 0 and the number of entries when every chain holds; exit 1 naming the chain and link of the first
entry that does not (missing, relinked or changed) otherwise. Read-only: one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from .settings import Settings

__all__ = ["add_audit_parser", "cmd_audit_verify"]


async def _verify(url: str) -> tuple[int, str]:
    from persistence.audit import verify
    from persistence.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                result = await verify(conn)
    finally:
        await engine.dispose()
    if result.broken is None:
        return 0, f"audit trail intact: {result.count} entries in {result.chains} chains"
    return 1, f"audit trail broken at {result.broken.describe()} ({result.count} intact before it)"


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> None:
    from .cli import database_url

    with database_url(settings) as url:
        code, message = asyncio.run(_verify(url))
    print(message, file=sys.stdout if code == 0 else sys.stderr)
    if code:
        raise SystemExit(code)


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``audit`` command group (hooked into api/cli.py's parser)."""
    audit = sub.add_parser("audit", help="the audit trail (アクセス記録)")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = commands.add_parser("verify", help="check the hash chain; exit 1 naming the first broken entry")
    p.set_defaults(func=cmd_audit_verify)
