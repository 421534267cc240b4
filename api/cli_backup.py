"""``kaigo backup [PATH]`` and ``kaigo restore PATH [--replace]`` (persistence/backup.py).

A backup runs beside a running ``kaigo serve`` (it attaches to the embedded PostgreSQL that one owns,
or uses DATABASE_URL). A restore never does: it refuses while a server uses the database. Neither
creates a key: the backup holds none, and a restore needs the backed-up server's data key (and audit
key, when that was set apart) from where they are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from .cli_audit import failure_reason, rollback_lines
from .settings import Settings

__all__ = ["add_backup_parsers", "cmd_backup", "cmd_restore"]


def _data_key(settings: Settings) -> bytes:
    """The data key where the server reads it, never created: a key made now would not be the
    backed-up server's."""
    from persistence.crypto import load_master_key

    key_file = None if settings.production else settings.key_file
    return load_master_key(env_value=settings.data_key, key_file=key_file, create_if_missing=False)


def _audit_key(settings: Settings, data_key: bytes | None = None) -> bytes:
    """KAIGO_AUDIT_KEY, or the key derived from the data key (as the server's)."""
    from persistence.crypto import audit_key, decode_key

    if settings.audit_key:
        return decode_key(settings.audit_key, "KAIGO_AUDIT_KEY")
    return audit_key(data_key if data_key is not None else _data_key(settings))


def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    from persistence.audit_checkpoints import Signer
    from persistence.backup import BackupError, take_backup
    from persistence.crypto import KeyConfigError

    from .cli import database_url

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(args.path) if args.path else settings.data_dir / "backups" / f"kaigo-{stamp}"
    try:
        audit = _audit_key(settings)
        with database_url(settings) as url:
            wait = max(5.0, 5.0 * settings.audit_seal_seconds)
            report = asyncio.run(take_backup(url, target.resolve(), Signer(audit), seal_wait=wait))
    except (KeyConfigError, BackupError) as exc:
        raise SystemExit(f"kaigo backup: {exc}") from None
    except Exception as exc:  # the embedded server did not start …
        raise SystemExit(f"kaigo backup: not written: {failure_reason(exc)}") from None
    print(
        f"backup of {report.written_at} (revision {report.revision}) written to {report.path}:"
        f" {report.entries} audit entries in {report.chains} chains; manifest signed with key {report.key_id}"
    )
    if report.unsealed:
        print(
            f"warning: {report.unsealed} audit entries of the backup had no seal yet (seals lost in a crash?);"
            " `kaigo audit verify` reports them",
            file=sys.stderr,
        )
    print(
        "No key is in it: keep KAIGO_DATA_KEY (in development KAIGO_DATA_DIR/keys/data.key) and"
        " KAIGO_AUDIT_KEY, if set, apart from the backup; a restore needs them.",
        file=sys.stderr,
    )


def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    from persistence.audit_checkpoints import CheckpointError, open_store
    from persistence.backup import BackupError, restore_backup
    from persistence.crypto import KeyConfigError, NumberVault

    from .cli import database_url

    source = Path(args.path).resolve()
    if not source.is_dir():
        raise SystemExit(f"kaigo restore: {source} is not a backup directory (`kaigo backup` makes one)")
    if not settings.database_url and not settings.production:
        from persistence.embedded import running

        if running(settings.data_dir) is not None:
            raise SystemExit(
                f"kaigo restore: `kaigo serve` is running on {settings.data_dir} and uses its database;"
                " stop it first: a restore replaces the database under a server"
            )
    if settings.data_key is None and (settings.production or not settings.key_file.exists()):
        raise SystemExit(
            "kaigo restore: no data key. The backup holds none: set KAIGO_DATA_KEY to the backed-up"
            f" server's (in development, or put its key file at {settings.key_file})"
        )
    try:
        master = _data_key(settings)
        audit = _audit_key(settings, master)
        store = open_store(settings.checkpoint_location, s3_endpoint=settings.audit_s3_endpoint)
        with database_url(settings, exclusive=True) as url:
            report = asyncio.run(
                restore_backup(
                    url,
                    source,
                    audit_key=audit,
                    vault=NumberVault(master),
                    store=store,
                    replace=args.replace,
                )
            )
    except (KeyConfigError, BackupError, CheckpointError) as exc:
        raise SystemExit(f"kaigo restore: {exc}") from None
    except Exception as exc:  # the server did not start or answer, a privilege missing …
        raise SystemExit(f"kaigo restore: not restored: {failure_reason(exc)}") from None
    result = report.verification
    print(
        f"restored the backup of {report.backup_written_at} into database {report.database}"
        f" (revision {report.revision}: `kaigo migrate` brings it to this version's)"
    )
    print(f"audit trail: {result.count} entries in {result.chains} chains ({result.sealed} sealed)")
    print("\n".join(rollback_lines(report.rollback, "restored")))
    if report.kept:
        print(f"the database it replaced is kept as {report.kept}: drop it once it is no longer needed")
    for broken in result.broken:
        print(f"warning: the backed-up trail was already broken at {broken.describe()}", file=sys.stderr)


def add_backup_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``backup`` and ``restore`` (hooked into api/cli.py's parser)."""
    p = sub.add_parser(
        "backup", help="back the database up (pg_dump; beside a running server too); no key goes in it"
    )
    p.add_argument("path", nargs="?", help="a new directory (default: KAIGO_DATA_DIR/backups/kaigo-<time>)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="restore a backup into the database (refused while a server uses it)")
    p.add_argument("path", help="the backup's directory")
    p.add_argument("--replace", action="store_true", help="replace a database that holds data")
    p.set_defaults(func=cmd_restore)
