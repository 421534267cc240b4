"""情報提供等記録 in the database: immutable (UPDATE and DELETE refused by a trigger), kept 7 years and
purged after (``kaigo purge``); transfer permissions decided once, inquiries answered once."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.db import make_engine
from persistence.provision_records import JST, purge
from policies.decisions import purge_before

pytestmark = pytest.mark.db

INSERT = text(
    "INSERT INTO provision_records (recorded_at, direction, outcome, code, reason_ja, reason_en, provider,"
    " recipient, basis_item, items, actor_subject, actor_roles, person_id)"
    " VALUES (:at, :direction, 'PROVIDED', 'PROVIDED', '提供しました。', 'Provided.', '倉敷市長', '市町村長', '94',"
    " ARRAY['QUALIFICATION'], 'test', ARRAY['intermediate_server'], :person) RETURNING id"
)


async def _today(conn: AsyncConnection) -> date:
    value: date = (
        await conn.execute(text("SELECT (now() AT TIME ZONE 'UTC' + interval '9 hours')::date"))
    ).scalar_one()
    return value


async def _insert(
    conn: AsyncConnection, at: datetime, direction: str = "PROVISION", person: int | None = None
) -> int:
    return int(
        (await conn.execute(INSERT, {"at": at, "direction": direction, "person": person})).scalar_one()
    )


async def _refused(conn: AsyncConnection, statement: str, message: str) -> None:
    with pytest.raises(DBAPIError, match=message):
        async with conn.begin_nested():
            await conn.execute(text(statement))


async def test_records_cannot_be_changed_or_deleted(migrated_conn: AsyncConnection) -> None:
    now = datetime.now(JST)
    record = await _insert(migrated_conn, now)
    await _refused(
        migrated_conn, f"UPDATE provision_records SET code = 'X' WHERE id = {record}", "cannot be changed"
    )
    await _refused(
        migrated_conn,
        f"UPDATE provision_records SET recorded_at = recorded_at - interval '8 years' WHERE id = {record}",
        "cannot be changed",
    )
    await _refused(migrated_conn, f"DELETE FROM provision_records WHERE id = {record}", "kept 7 years")
    await _refused(migrated_conn, "TRUNCATE provision_records CASCADE", "cannot be truncated")
    # Older than the retention period: the database lets it go, and only it.
    old = await _insert(migrated_conn, now - timedelta(days=365 * 7 + 10))
    await _refused(
        migrated_conn, f"UPDATE provision_records SET code = 'X' WHERE id = {old}", "cannot be changed"
    )
    await migrated_conn.execute(text(f"DELETE FROM provision_records WHERE id = {old}"))
    ids = (await migrated_conn.execute(text("SELECT id FROM provision_records"))).scalars().all()
    assert ids == [record]


async def test_the_database_cut_is_the_policy_cut(migrated_conn: AsyncConnection) -> None:
    days = [date(2028, 2, 29), date(2028, 2, 28), date(2028, 3, 1), date(2027, 2, 28), date(2026, 1, 1)]
    days += [date(2026, 11, 27) + timedelta(days=n) for n in range(0, 400, 37)]
    for day in days:
        cut = (
            await migrated_conn.execute(text("SELECT provision_records_purge_before(:d)"), {"d": day})
        ).scalar_one()
        assert cut == purge_before(day), day


async def test_purge_removes_only_records_older_than_seven_years(migrated_conn: AsyncConnection) -> None:
    today = await _today(migrated_conn)
    cut = datetime.combine(purge_before(today), time(0), JST)
    kept_edge = await _insert(migrated_conn, cut)  # dated the first kept day
    await _insert(migrated_conn, cut - timedelta(seconds=1))  # the day before: gone
    await _insert(migrated_conn, cut - timedelta(days=400), "TRANSFER")
    recent = await _insert(migrated_conn, datetime.now(JST))

    dry = await purge(migrated_conn, dry_run=True)
    assert (dry.total, dict(dry.counts), dry.kept, dry.cut) == (
        2,
        {"PROVISION": 1, "TRANSFER": 1},
        2,
        cut.date(),
    )
    assert "would remove 2" in dry.summary()
    assert (await migrated_conn.execute(text("SELECT count(*) FROM provision_records"))).scalar_one() == 4

    done = await purge(migrated_conn)
    assert (done.total, done.kept) == (2, 2)
    ids = sorted((await migrated_conn.execute(text("SELECT id FROM provision_records"))).scalars().all())
    assert ids == sorted([kept_edge, recent])
    again = await purge(migrated_conn)
    assert again.total == 0


async def test_kaigo_purge_command(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for days in (3000, 2600, 10):
                await _insert(conn, datetime.now(JST) - timedelta(days=days))
    finally:
        await engine.dispose()
    kaigo = str(Path(sys.executable).with_name("kaigo"))
    env = {**os.environ, "DATABASE_URL": empty_database_url}

    async def run(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            kaigo, "purge", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    dry = await run("--dry-run")
    assert "would remove 2 (PROVISION 2); kept 1" in dry
    done = await run()
    assert "removed 2 (PROVISION 2); kept 1" in done
    assert "removed 0 (none); kept 1" in await run()


async def test_permissions_and_inquiries_change_once(seeded_conn: AsyncConnection) -> None:
    permission = (
        await seeded_conn.execute(
            text(
                "INSERT INTO transfer_permissions (department, basis_item, basis_id, items, purpose, valid_from,"
                " request_id, requested_by) VALUES ('bosai_kiki_kanri', '56の2', 'transfer.56の2@2016-01-01',"
                " ARRAY['QUALIFICATION'], '被災者台帳', current_date, 'p-1', 'test') RETURNING id"
            )
        )
    ).scalar_one()
    where = f"WHERE id = {permission}"
    await _refused(
        seeded_conn, f"UPDATE transfer_permissions SET items = ARRAY['LEVY'] {where}", "decided once"
    )
    await _refused(
        seeded_conn,
        f"UPDATE transfer_permissions SET status = 'APPROVED', decided_at = now(), valid_to = '2099-12-31' {where}",
        "decided once",
    )
    await seeded_conn.execute(
        text(
            f"UPDATE transfer_permissions SET status = 'APPROVED', decided_at = now(), decided_by = 'chief' {where}"
        )
    )
    await _refused(
        seeded_conn,
        f"UPDATE transfer_permissions SET status = 'REJECTED', decided_at = now() {where}",
        "decided once",
    )
    await _refused(seeded_conn, f"DELETE FROM transfer_permissions {where}", "never deleted")

    person = (await seeded_conn.execute(text("SELECT id FROM persons LIMIT 1"))).scalar_one()
    inquiry = (
        await seeded_conn.execute(
            text(
                "INSERT INTO inquiries (request_id, permit_number, basis_item, basis_id, provider, person_id, items,"
                " requested_by) VALUES ('i-1', 'P', '94', 'inquiry.94@2024-05-27', '岡山市長', :p,"
                " ARRAY['LEVY'], 'test') RETURNING id"
            ),
            {"p": person},
        )
    ).scalar_one()
    where = f"WHERE id = {inquiry}"
    await _refused(seeded_conn, f"UPDATE inquiries SET provider = 'X' {where}", "answered once")
    answer = (
        "answered_at = now(), answered_by = 'staff', answered_items = ARRAY['LEVY'], response_summary = 'ok'"
    )
    await seeded_conn.execute(text(f"UPDATE inquiries SET {answer} {where}"))
    await _refused(seeded_conn, f"UPDATE inquiries SET {answer} {where}", "answered once")
    await _refused(seeded_conn, f"DELETE FROM inquiries {where}", "never deleted")
    await _refused(seeded_conn, f"DELETE FROM persons WHERE id = {person}", "fk_inquiries_person_id_persons")

    # A person with records is not deleted from under them (and no cascade could delete the records).
    other = (await seeded_conn.execute(text("SELECT max(id) FROM persons"))).scalar_one()
    await _insert(seeded_conn, datetime.now(JST), person=other)
    await _refused(
        seeded_conn, f"DELETE FROM persons WHERE id = {other}", "fk_provision_records_person_id_persons"
    )
