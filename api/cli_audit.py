"""``kaigo audit verify``: check every chain of the audit trail against its links, its seals and the
latest signed checkpoint, and name every broken chain.

Exit 0 when every chain holds (entries without a seal yet, newer than the last checkpoint, are printed
as warnings); 1 naming each broken chain (an entry missing, changed or relinked, a seal that does not
match, a tail removed before the last checkpoint, an entry the checkpoint covers without a seal, a
checkpoint that does not verify); 2 when the trail could not be checked (no database, no key, the
checkpoint store unreadable). Read-only: one REPEATABLE READ snapshot. Runs beside a running
``kaigo serve``: it attaches to the embedded server that one owns.

``kaigo audit checkpoint`` signs the heads now, as the server does every KAIGO_AUDIT_CHECKPOINT_SECONDS,
and like it refuses a trail that no longer extends the latest checkpoint. ``--after-recovery``: a
point-in-time recovery rolled the trail back on purpose; the checkpoint supersedes the latest one and
names the links lost (as ``kaigo restore`` does for a backup).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import TYPE_CHECKING, Final

from .settings import Settings

if TYPE_CHECKING:
    from persistence.backup import Rollback

__all__ = ["add_audit_parser", "cmd_audit_checkpoint", "cmd_audit_verify", "failure_reason", "rollback_lines"]

INTACT: Final = 0
BROKEN: Final = 1
UNCHECKED: Final = 2


async def _verify(url: str, settings: Settings) -> tuple[int, list[str]]:
    from persistence.audit import verify
    from persistence.audit_checkpoints import Signer, latest_checkpoint, open_store
    from persistence.db import make_engine

    from .runtime import load_audit_key

    key = load_audit_key(settings)
    store = open_store(settings.checkpoint_location, s3_endpoint=settings.audit_s3_endpoint)
    checkpoint, forged = await latest_checkpoint(store, Signer(key))
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                result = await verify(conn, key=key, checkpoint=checkpoint)
    finally:
        await engine.dispose()
    lines = [f"audit trail broken at {b.describe()}" for b in result.broken]
    lines += [f"audit checkpoint store {store.describe()}: {problem}" for problem in forged]
    if lines:
        chains = len({b.chain for b in result.broken})
        lines.append(f"{chains} broken chains; {result.count} entries intact before their breaks")
        return BROKEN, lines
    where = (
        f"checkpoint {checkpoint.name} of {checkpoint.written_at}"
        if checkpoint is not None
        else f"no checkpoint yet in {store.describe()}"
    )
    lines.append(
        f"audit trail intact: {result.count} entries in {result.chains} chains"
        f" ({result.sealed} sealed; {where})"
    )
    lines += [
        f"warning: unsealed {u.describe()} (newer than the last checkpoint: seals not written yet, or lost)"
        for u in result.unsealed
    ]
    return INTACT, lines


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> None:
    from persistence.audit_checkpoints import CheckpointError
    from persistence.crypto import KeyConfigError

    from .cli import database_url

    try:
        with database_url(settings) as url:
            code, lines = asyncio.run(_verify(url, settings))
    except (KeyConfigError, CheckpointError) as exc:
        code, lines = UNCHECKED, [f"audit trail not checked: {exc}"]
    except SystemExit as exc:  # the database could not be had (production without DATABASE_URL …)
        code, lines = UNCHECKED, [f"audit trail not checked: {exc.code}"]
    except Exception as exc:  # the database or the store did not answer
        code, lines = UNCHECKED, [f"audit trail not checked: {failure_reason(exc)}"]
    print("\n".join(lines), file=sys.stdout if code == INTACT else sys.stderr)
    if code:
        raise SystemExit(code)


async def _checkpoint(url: str, settings: Settings, *, after_recovery: bool) -> list[str]:
    from persistence.audit_checkpoints import Signer, open_store, write_checkpoint
    from persistence.backup import checkpoint_rollback
    from persistence.db import make_engine

    from .runtime import load_audit_key

    store = open_store(settings.checkpoint_location, s3_endpoint=settings.audit_s3_endpoint)
    signer = Signer(load_audit_key(settings))
    engine = make_engine(url, pool_size=1)
    try:
        if after_recovery:
            cause = {"recovered_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            return rollback_lines(await checkpoint_rollback(engine, store, signer, cause=cause), "recovered")
        # the seals of the heads are written meanwhile by a running server's workers
        settle = 5.0 * settings.audit_seal_seconds
        name = await write_checkpoint(engine, store, signer, settle=settle)
        return [f"audit checkpoint {name} written to {store.describe()}"]
    finally:
        await engine.dispose()


def cmd_audit_checkpoint(args: argparse.Namespace, settings: Settings) -> None:
    from persistence.audit_checkpoints import CheckpointError
    from persistence.crypto import KeyConfigError

    from .cli import database_url

    try:
        with database_url(settings) as url:
            lines = asyncio.run(_checkpoint(url, settings, after_recovery=args.after_recovery))
    except (KeyConfigError, CheckpointError) as exc:
        hint = "" if args.after_recovery else " (after a point-in-time recovery: --after-recovery)"
        raise SystemExit(f"kaigo audit checkpoint: {exc}{hint}") from None
    except Exception as exc:
        raise SystemExit(f"kaigo audit checkpoint: not written: {failure_reason(exc)}") from None
    print("\n".join(lines))


def rollback_lines(rollback: Rollback, how: str) -> list[str]:
    """What a restore's or a recovery's checkpoint says: what it supersedes, what was discarded."""
    lines = [
        f"audit checkpoint {rollback.checkpoint} signs the {how} heads"
        + (f"; it supersedes {rollback.superseded}" if rollback.superseded else "")
    ]
    return lines + [f"discarded by the rollback: {gone.describe()}" for gone in rollback.discarded]


def failure_reason(exc: BaseException) -> str:
    """The class and, for the errors that carry no data, their message (no SQL, no values)."""
    if isinstance(exc, OSError | RuntimeError | TimeoutError) and str(exc):
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return type(exc).__name__


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``audit`` command group (hooked into api/cli.py's parser)."""
    audit = sub.add_parser("audit", help="the audit trail (アクセス記録)")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = commands.add_parser(
        "verify",
        help="check links, seals and the latest checkpoint; exit 0 intact, 1 broken (each chain named), 2 unchecked",
    )
    p.set_defaults(func=cmd_audit_verify)
    p = commands.add_parser(
        "checkpoint",
        help="sign the chains' heads now; --after-recovery: also when they no longer extend the latest checkpoint",
    )
    p.add_argument(
        "--after-recovery",
        action="store_true",
        help="after a point-in-time recovery rolled the trail back: supersede the latest checkpoint, naming the links lost",
    )
    p.set_defaults(func=cmd_audit_checkpoint)
