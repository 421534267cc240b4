"""``kaigo intake``: files other systems hand the section, applied to the file.

``kaigo assess --fiscal-year Y [--stages FILE]``: the whole city's annual assessment (本算定,
persistence/assessment.py).

``kaigo intake claims FILE``: the federation's (国保連) monthly claim results (給付実績), a CSV of the layout
in README "Benefits", applied like the resident feed.

``kaigo intake residents FILE``: the resident register's daily feed (住民異動, 市民課 through the common
platform), a CSV of the layout in README "Residents' moves"; each line applied, skipped (received before
under the same feed id) or queued for staff, with a report on stdout. Exit 0 once the file was read and
applied (queued lines included: staff work them through ``residentChangeReviews``), 2 when the file
as a whole was refused (nothing applied).

Every transaction writes its audit entry (subject ``--by``, role ``kaigo_intake``), sealed with the
server's audit key. Runs beside a running ``kaigo serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from .settings import Settings

__all__ = ["INTAKE_ROLE", "add_intake_parser"]

INTAKE_ROLE: Final = "kaigo_intake"
REFUSED: Final = 2


Job = Callable[[Any, Any, Any], Awaitable[Any]]  # (database, actor, sealer) → a report with .summary()


async def _batch(url: str, settings: Settings, by: str, job: Job) -> str:
    """Run ``job`` on its own engine, as ``by`` with the role :data:`INTAKE_ROLE`; its audit entries are
    sealed with the server's audit key. The report's summary."""
    from persistence.audit import Sealer
    from persistence.db import Database, make_engine
    from persistence.provision_records import Actor

    from .runtime import load_audit_key

    sealer = Sealer(load_audit_key(settings))
    engine = make_engine(url, pool_size=1)
    try:
        report = await job(Database(engine), Actor(by, (INTAKE_ROLE,)), sealer)
        await sealer.flush(engine)
    finally:
        await engine.dispose()
    summary: str = report.summary()
    return summary


async def _residents(url: str, settings: Settings, args: argparse.Namespace, data: bytes) -> str:
    from persistence.resident_feed import intake_residents, read_feed
    from resolvers.context import request_date

    records = read_feed(data)
    feed_id = args.feed_id or Path(args.file).name
    as_of = args.as_of or request_date()
    return await _batch(
        url,
        settings,
        args.by,
        lambda db, actor, sealer: intake_residents(
            db, records, feed_id=feed_id, actor=actor, as_of=as_of, sealer=sealer
        ),
    )


async def _claims(url: str, settings: Settings, args: argparse.Namespace, data: bytes) -> str:
    from persistence.claim_feed import intake_claims, read_claims

    records = read_claims(data)
    feed_id = args.feed_id or Path(args.file).name
    return await _batch(
        url,
        settings,
        args.by,
        lambda db, actor, sealer: intake_claims(db, records, feed_id=feed_id, actor=actor, sealer=sealer),
    )


def cmd_intake_claims(args: argparse.Namespace, settings: Settings) -> None:
    _intake(args, settings, _claims)


def cmd_intake_residents(args: argparse.Namespace, settings: Settings) -> None:
    _intake(args, settings, _residents)


def _intake(args: argparse.Namespace, settings: Settings, run: Any) -> None:
    from persistence.resident_feed import FeedError

    from .cli import database_url

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"kaigo intake: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(REFUSED) from None
    with database_url(settings) as url:
        try:
            print(asyncio.run(run(url, settings, args, data)))
        except FeedError as refused:
            print(f"kaigo intake: {args.file} refused, nothing applied: {refused}", file=sys.stderr)
            raise SystemExit(REFUSED) from None


async def _assess(
    url: str, settings: Settings, args: argparse.Namespace, stages: dict[str, str] | None
) -> str:
    from persistence.assessment import assess_city

    return await _batch(
        url,
        settings,
        args.by,
        lambda db, actor, sealer: assess_city(
            db, args.fiscal_year, actor=actor, stages=stages, sealer=sealer
        ),
    )


def cmd_assess(args: argparse.Namespace, settings: Settings) -> None:
    """本算定 of the whole city for a fiscal year: every liable first-category insured person without a levy."""
    from persistence.assessment import read_stages

    from .cli import database_url

    stages = None
    if args.stages:
        try:
            stages = read_stages(Path(args.stages).read_bytes())
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            print(f"kaigo assess: {args.stages} refused: {exc}", file=sys.stderr)
            raise SystemExit(REFUSED) from None
    with database_url(settings) as url:
        print(asyncio.run(_assess(url, settings, args, stages)))


def add_intake_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    intake = sub.add_parser("intake", help="apply files of other systems (the resident register's feed …)")
    kinds = intake.add_subparsers(dest="intake", required=True, metavar="KIND")
    p = kinds.add_parser("residents", help="the resident register's daily feed (住民異動, CSV)")
    p.add_argument("file", help="the feed file (UTF-8 CSV with a header line)")
    p.add_argument("--feed-id", help="the feed's id, the key of its lines (default: the file's name)")
    p.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        help="the feed's day: persons reaching 65 by it acquire (default: today in Japan)",
    )
    p.add_argument("--by", default="resident-register-feed", help="who runs it (the audit entry's subject)")
    p.set_defaults(func=cmd_intake_residents)
    p = kinds.add_parser("claims", help="the federation's (国保連) monthly claim results (給付実績, CSV)")
    p.add_argument("file", help="the claim results file (UTF-8 CSV with a header line)")
    p.add_argument("--feed-id", help="the file's id, the key of its lines (default: the file's name)")
    p.add_argument("--by", default="kokuhoren-claims", help="who runs it (the audit entry's subject)")
    p.set_defaults(func=cmd_intake_claims)

    p = sub.add_parser(
        "assess", help="本算定: the annual premium of every liable first-category insured person"
    )
    p.add_argument("--fiscal-year", type=int, required=True, help="the fiscal year (April – March) assessed")
    p.add_argument(
        "--stages", help="UTF-8 CSV addressee_code,income_stage (市民税課); else last year's stage"
    )
    p.add_argument("--by", default="annual-assessment", help="who runs it (the audit entry's subject)")
    p.set_defaults(func=cmd_assess)
