"""`kaigo pq`: the persisted-document registry (import manifests, list, revoke).

    kaigo pq import FILE... [--client NAME] [--dry-run]   # Apollo or Relay manifests; client: the file's stem
    kaigo pq list [--client NAME] [--live]
    kaigo pq revoke ID [--client NAME]

An import is all or nothing: when any document of the files is refused (the reason is printed), none is
registered. Importing again is harmless (registered documents stay as they are; revoked ones stay
revoked), so `make run` imports the departments' manifests of documents/ at every start.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .settings import Settings

if TYPE_CHECKING:  # the commands import their modules when they run: `kaigo --help` stays light
    from sqlalchemy.ext.asyncio import AsyncConnection

    from persistence.documents import StoredDocument

    from .documents.manifests import Checked

__all__ = ["add_pq_parser"]

T = TypeVar("T")


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    from .cli import database_url

    with database_url(settings) as url:
        yield url


async def _migrate(url: str) -> None:
    from .cli import _migrate as migrate  # one way to migrate, whichever command needs it

    await migrate(url)


async def _in_transaction(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    from persistence.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


def _checked_files(files: list[Path], client_name: str | None) -> dict[str, list[Checked]]:
    """client → the checked documents of its files; exits with the reasons when something is refused."""
    from policies.clients import clients

    from .documents.manifests import ManifestError, check, load_manifest

    known = clients().clients
    checked: dict[str, list[Checked]] = {}
    refused = 0
    for path in files:
        name = client_name or path.stem
        client = known.get(name)
        if client is None:
            raise SystemExit(f"{path}: client {name!r} is not in policies/data/clients.toml (use --client)")
        try:
            operations = load_manifest(path)
        except ManifestError as exc:
            raise SystemExit(f"{path}: {exc}") from exc
        for result in (check(op, client) for op in operations):
            checked.setdefault(name, []).append(result)
            label = result.operation.name or (result.document and result.document.operation_name) or "-"
            for problem in result.problems:
                refused += 1
                print(
                    f"refused  {path.name}  {label}  {result.operation.id[:20]}…: {problem}", file=sys.stderr
                )
    if refused:
        raise SystemExit(f"{refused} problem(s): nothing was imported")
    return checked


async def _import(conn: AsyncConnection, checked: dict[str, list[Checked]], by: str) -> list[str]:
    from persistence import documents as store

    from .documents.ids import PREFIX

    lines = []
    for client_name, results in checked.items():
        for result in results:
            document = result.document
            assert document is not None and document.operation_type is not None  # accepted ones are parsed
            row = store.StoredDocument(
                id=document.id,
                client_name=client_name,
                text=document.text,
                operation_name=document.operation_name,
                operation_type=document.operation_type,
                registered_by=by,
            )
            if await store.register(conn, row):
                state = "registered"
            elif await store.find(conn, document.id, client_name) is None:
                state = "revoked (stays revoked)"
            else:
                state = "unchanged"
            name = document.operation_name or "-"
            lines.append(
                f"{state:24} {client_name:20} {document.operation_type:9} {name:36} {PREFIX}{document.id}"
            )
    return lines


def cmd_import(args: argparse.Namespace, settings: Settings) -> None:
    checked = _checked_files([Path(f) for f in args.files], args.client)
    if args.dry_run:
        for client_name, results in checked.items():
            print(f"{client_name}: {len(results)} document(s) would be imported", file=sys.stderr)
        return
    by = f"kaigo pq import ({getpass.getuser()})"
    with _database(settings) as url:
        asyncio.run(_migrate(url))
        lines = asyncio.run(_in_transaction(url, lambda conn: _import(conn, checked, by)))
    for line in lines:
        print(line)


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    from persistence import documents as store

    from .documents.ids import PREFIX

    async def listing(conn: AsyncConnection) -> list[StoredDocument]:
        return await store.list_documents(conn, args.client, include_revoked=not args.live)

    with _database(settings) as url:
        rows = asyncio.run(_in_transaction(url, listing))
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
        client = row.client_name or "(any, APQ)"
        print(
            f"{client:20} {row.operation_type:9} {row.operation_name or '-':36} {PREFIX}{row.id} "
            f"{row.registered_at:%Y-%m-%d %H:%M} {state:24} {row.registered_by}"
        )


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> None:
    from persistence import documents as store

    from .documents.ids import parse_document_id

    document_id = parse_document_id(args.id)
    if document_id is None:
        raise SystemExit("ID is sha256:<64 lowercase hex digits> (or the bare hex)")
    with _database(settings) as url:
        count = asyncio.run(_in_transaction(url, lambda conn: store.revoke(conn, document_id, args.client)))
    if not count:
        raise SystemExit("no live registration of this document (for this client)")
    print(
        f"revoked {count} registration(s); servers stop running it within {settings.document_recheck_seconds} s"
    )


def add_pq_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `kaigo pq …` on the main parser's subcommands."""
    pq = sub.add_parser("pq", help="persisted documents: import manifests, list, revoke")
    commands = pq.add_subparsers(dest="pq_command", required=True, metavar="PQ_COMMAND")

    p = commands.add_parser("import", help="register the documents of Apollo or Relay manifests")
    p.add_argument("files", nargs="+", metavar="FILE", help="manifest (JSON)")
    p.add_argument("--client", help="client of every FILE (default: each file's name without .json)")
    p.add_argument("--dry-run", action="store_true", help="check only; touch no database")
    p.set_defaults(func=cmd_import)

    p = commands.add_parser("list", help="list registered documents")
    p.add_argument("--client", help="only this client's")
    p.add_argument("--live", action="store_true", help="leave revoked ones out")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("revoke", help="revoke a document (for every client, or one)")
    p.add_argument("id", metavar="ID", help="sha256:<hex>")
    p.add_argument("--client", help="only this client's registration")
    p.set_defaults(func=cmd_revoke)
