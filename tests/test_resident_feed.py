"""The resident register's daily feed (issue 18 item 1): a CSV applied in order, qualifications as the law
says, a report, and the same file again changes nothing more."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.db import Database
from persistence.provision_records import Actor
from persistence.resident_feed import FeedError, intake_residents, read_feed
from policies.insured import reaches_age

pytestmark = pytest.mark.db

ACTOR = Actor("feed-test", ("resident_register_feed",))
AS_OF = dt.date(2026, 11, 20)
HEADER = (
    "kind,moved_on,notified_on,addressee_code,household_code,relationship,name,name_kana,sex,birth_date,"
    "postal_code,address_code,address,address_building,next_address,facility_number,nationality"
)
TABLES = (
    "persons",
    "resident_moves",
    "qualifications",
    "qualification_events",
    "record_history",
    "resident_changes",
    "audit_events",
)


def csv_of(*lines: str) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode()


def born_aged(age: int, on: dt.date) -> dt.date:
    return on.replace(year=on.year - age) - dt.timedelta(days=30)


async def counts(conn: AsyncConnection) -> dict[str, int]:
    return {t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()) for t in TABLES}


async def insured(conn: AsyncConnection, offset: int = 0, *, domicile: bool = False) -> Any:
    """A resident insured person (first category, not lost)."""
    return (
        await conn.execute(
            text(
                "SELECT p.id, p.addressee_code, p.version, p.household_code, q.id AS qid, q.version AS qversion"
                " FROM persons p JOIN qualifications q ON q.person_id = p.id"
                " WHERE p.resident_status = '1' AND q.lost_on IS NULL AND q.category = '1'"
                " AND q.domicile_exception = :d ORDER BY p.id OFFSET :o LIMIT 1"
            ),
            {"o": offset, "d": domicile},
        )
    ).one()


async def run(
    engine: AsyncEngine, conn: AsyncConnection, data: bytes, feed: str = "idou-20261120.csv"
) -> Any:
    return await intake_residents(
        Database(engine, bind=conn), read_feed(data), feed_id=feed, actor=ACTOR, as_of=AS_OF
    )


async def test_moves_drive_qualifications_and_a_replay_changes_nothing(
    seeded_engine: AsyncEngine, seeded_conn: AsyncConnection
) -> None:
    a = await insured(seeded_conn, 0)
    b = await insured(seeded_conn, 1)
    c = await insured(seeded_conn, 2)
    old = born_aged(70, AS_OF)
    young = born_aged(50, AS_OF)
    turning = AS_OF.replace(year=AS_OF.year - 65) + dt.timedelta(days=10)  # reaches 65 in 10 days
    nearly = AS_OF.replace(year=AS_OF.year - 65) - dt.timedelta(days=2)  # reaches 65 two days before AS_OF
    data = csv_of(
        f"転入,2026-11-05,2026-11-06,9000000001,9100000001,01,新井　一郎,アライ　イチロウ,1,{old},710-0001,33202001,倉敷市本町1-1,,,,",
        f"転入,2026-11-05,,9000000002,9100000002,01,新井　二郎,アライ　ジロウ,1,{young},710-0001,33202001,倉敷市本町1-2,,,,",
        f"転入,2026-11-05,,9000000003,9100000003,01,新井　三郎,アライ　サブロウ,1,{nearly},710-0001,33202001,倉敷市本町1-3,,,,",
        f"転入,2026-11-05,,9000000004,9100000004,01,新井　四郎,アライ　シロウ,1,{turning},710-0001,33202001,倉敷市本町1-4,,,,",
        "出生,2026-11-07,,9000000005,9100000002,03,新井　花子,アライ　ハナコ,2,2026-11-07,710-0001,33202001,倉敷市本町1-2,,,,",
        f"転居,2026-11-08,2026-11-08,{a.addressee_code},,,,,,,710-0002,33202002,倉敷市新町2-2,301号,,,",
        f"転出,2026-11-09,2026-11-01,{b.addressee_code},,,,,,,,,,,東京都千代田区1-1,,",
        f"死亡,2026-11-10,,{c.addressee_code},,,,,,,,,,,,,",
        "転出,2026-11-10,,9999999999,,,,,,,,,,,,,",  # unknown person: queued
        "転居,2026-11-10,,12,,,,,,,710-0002,33202002,倉敷市,,,,",  # malformed 宛名コード: queued
        f"死亡,2026-11-11,,{c.addressee_code},,,,,,,,,,,,,",  # dead already: queued
    )
    before = await counts(seeded_conn)
    report = await run(seeded_engine, seeded_conn, data)
    outcomes = [(x.line, x.outcome, x.reason, x.effect) for x in report.lines]
    assert outcomes == [
        (1, "APPLIED", None, "ACQUIRE"),
        (2, "APPLIED", None, None),
        (3, "APPLIED", None, None),
        (4, "APPLIED", None, None),
        (5, "APPLIED", None, None),
        (6, "APPLIED", None, "ADDRESS_CHANGE"),
        (7, "APPLIED", None, "LOSE"),
        (8, "APPLIED", None, "LOSE"),
        (9, "QUEUED", "UNKNOWN_PERSON", None),
        (10, "QUEUED", "INVALID_LINE", None),
        (11, "QUEUED", "DECEASED", None),
    ], report.summary()
    assert report.lines[9].field == "addressee_code"
    assert report.age_arrivals == 1  # line 3's person reached 65 two days before the feed's day

    q = {
        r.addressee_code: r
        for r in await seeded_conn.execute(
            text(
                "SELECT p.addressee_code, p.resident_status, q.category, q.acquired_on, q.acquisition_reason,"
                " q.lost_on, q.loss_reason, q.insured_number FROM persons p"
                " LEFT JOIN qualifications q ON q.person_id = p.id WHERE p.addressee_code = ANY(:c)"
            ),
            {
                "c": [
                    "9000000001",
                    "9000000002",
                    "9000000003",
                    "9000000004",
                    "9000000005",
                    b.addressee_code,
                    c.addressee_code,
                ]
            },
        )
    }
    moved_in = q["9000000001"]
    assert (moved_in.category, moved_in.acquired_on, moved_in.acquisition_reason) == (
        "1",
        dt.date(2026, 11, 5),
        "12",
    )
    assert moved_in.insured_number >= "1000000001"
    assert q["9000000002"].category is None and q["9000000005"].category is None  # under 65, newborn
    arrived = q["9000000003"]
    assert (arrived.acquired_on, arrived.acquisition_reason) == (reaches_age(nearly, 65), "11")
    assert q["9000000004"].category is None  # not 65 yet on the feed's day
    assert (
        q[b.addressee_code].resident_status,
        q[b.addressee_code].lost_on,
        q[b.addressee_code].loss_reason,
    ) == (
        "3",
        dt.date(2026, 11, 10),
        "22",
    )
    assert (
        q[c.addressee_code].resident_status,
        q[c.addressee_code].lost_on,
        q[c.addressee_code].loss_reason,
    ) == (
        "4",
        dt.date(2026, 11, 11),
        "21",
    )
    # the history of a's address: old and new values, version bumped, who and which line
    history = (
        await seeded_conn.execute(
            text(
                "SELECT field, old_value, new_value, version, changed_by, source FROM record_history"
                " WHERE record_table = 'persons' AND record_id = :id ORDER BY id"
            ),
            {"id": a.id},
        )
    ).all()
    fields = {h.field: h for h in history}
    assert fields["address"].new_value == "倉敷市新町2-2" and fields["address"].old_value != "倉敷市新町2-2"
    assert fields["address_building"].new_value == "301号"
    assert {h.version for h in history} == {a.version + 1}
    assert fields["address"].changed_by == "feed-test" and fields["address"].source == "idou-20261120.csv:6"
    move = (
        await seeded_conn.execute(
            text(
                "SELECT previous_address, reason FROM resident_moves WHERE person_id = :p ORDER BY id DESC LIMIT 1"
            ),
            {"p": a.id},
        )
    ).one()
    assert move.reason == "03" and move.previous_address == fields["address"].old_value

    after = await counts(seeded_conn)
    assert after["persons"] == before["persons"] + 5
    assert after["resident_changes"] == before["resident_changes"] + 11
    assert after["audit_events"] == before["audit_events"] + 2  # the lines' chunk, the age arrivals

    again = await run(seeded_engine, seeded_conn, data)
    assert [x.outcome for x in again.lines] == ["SKIPPED"] * 11 and again.age_arrivals == 0
    assert await counts(seeded_conn) == after  # nothing more: not even an audit entry (nobody touched)


async def test_a_changed_line_under_the_same_feed_is_refused(
    seeded_engine: AsyncEngine, seeded_conn: AsyncConnection
) -> None:
    a = await insured(seeded_conn, 3)
    first = csv_of(f"転居,2026-11-08,,{a.addressee_code},,,,,,,710-0002,33202002,倉敷市新町2-3,,,,")
    second = csv_of(f"転居,2026-11-08,,{a.addressee_code},,,,,,,710-0002,33202002,倉敷市新町9-9,,,,")
    await run(seeded_engine, seeded_conn, first, "f1")
    report = await run(seeded_engine, seeded_conn, second, "f1")
    assert [(x.outcome, x.reason) for x in report.lines] == [("SKIPPED", "LINE_CHANGED")]
    address = (
        await seeded_conn.execute(text("SELECT address FROM persons WHERE id = :i"), {"i": a.id})
    ).scalar_one()
    assert address == "倉敷市新町2-3"


async def test_domicile_exception_kept_on_moving_out_into_a_facility(
    seeded_engine: AsyncEngine, seeded_conn: AsyncConnection
) -> None:
    a = await insured(seeded_conn, 4)
    data = csv_of(f"転出,2026-11-09,,{a.addressee_code},,,,,,,,,,,岡山市北区1-1 特養,3310000001,")
    report = await run(seeded_engine, seeded_conn, data)
    assert [(x.outcome, x.effect) for x in report.lines] == [("APPLIED", "DOMICILE_EXCEPTION_START")]
    row = (
        await seeded_conn.execute(
            text(
                "SELECT p.resident_status, q.lost_on, q.domicile_exception, q.version FROM persons p"
                " JOIN qualifications q ON q.person_id = p.id WHERE p.id = :i"
            ),
            {"i": a.id},
        )
    ).one()
    assert (row.resident_status, row.lost_on, row.domicile_exception, row.version) == (
        "5",
        None,
        True,
        a.qversion + 1,
    )
    event = (
        await seeded_conn.execute(
            text(
                "SELECT occurred_on, reason FROM qualification_events WHERE qualification_id = :q ORDER BY id DESC LIMIT 1"
            ),
            {"q": a.qid},
        )
    ).one()
    assert (event.occurred_on, event.reason) == (dt.date(2026, 11, 10), "33")


def test_a_file_of_no_layout_is_refused() -> None:
    with pytest.raises(FeedError):
        read_feed(b"")
    with pytest.raises(FeedError):
        read_feed(b"kind,moved_on,addressee_code,secret\n")
    with pytest.raises(FeedError):
        read_feed(b"kind,moved_on\n")
    with pytest.raises(FeedError):
        read_feed("kind,moved_on,addressee_code\n".encode("shift_jis") + "転入".encode("shift_jis"))


async def test_the_command_applies_a_file_once_and_seals_its_entries(
    empty_database_url: str, private_tmp_path: Any
) -> None:
    import asyncio
    import os
    import sys

    import asyncpg
    from sqlalchemy.engine import make_url

    feed = private_tmp_path / "idou-20261120.csv"
    feed.write_bytes(
        csv_of(
            f"転入,2026-11-05,,9000000011,9100000011,01,新井　一郎,アライ　イチロウ,1,{born_aged(70, AS_OF)},710-0001,33202001,倉敷市本町1-1,,,,",
            "転出,2026-11-10,,9999999999,,,,,,,,,,,,,",
        )
    )
    url = make_url(empty_database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "KAIGO_DATA_DIR": str(private_tmp_path / "data")}
    kaigo = os.path.join(os.path.dirname(sys.executable), "kaigo")

    async def intake(path: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            kaigo,
            "intake",
            "residents",
            path,
            "--as-of",
            AS_OF.isoformat(),
            "--by",
            "batch-job-7",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        return process.returncode or 0, out.decode(), err.decode()

    code, out, _ = await intake(str(feed))
    assert code == 0 and "applied 1, skipped 0, queued for review 1" in out, out
    code, out, _ = await intake(str(feed))
    assert code == 0 and "applied 0, skipped 2, queued for review 0" in out, out
    bad = private_tmp_path / "bad.csv"
    bad.write_bytes(b"kind,moved_on\n")
    code, _, err = await intake(str(bad))
    assert code == 2 and "refused, nothing applied" in err

    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM persons") == 1
        entries = await conn.fetch("SELECT chain, link, subject, roles FROM audit_events ORDER BY seq")
        assert [(e["subject"], list(e["roles"])) for e in entries] == [("batch-job-7", ["kaigo_intake"])]
        sealed = await conn.fetchval(
            "SELECT count(*) FROM audit_seals s JOIN audit_events e ON (e.chain, e.link) = (s.chain, s.link)"
        )
        assert sealed == len(entries)
    finally:
        await conn.close()
