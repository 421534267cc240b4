"""`kaigo backup` beside a serving `kaigo serve`, and `kaigo restore` into a fresh server and in place.

One city, one backup taken under load: the restored server answers the same data (individual numbers
decrypted, found through the blind index), `kaigo audit verify` passes there and in place, where
checkpoints newer than the backup cover entries the restore discards. Refused: a restore while the
server runs, without the data key, into a database holding data, from an altered or foreign backup.
And the same functions on the suite's own server (CI's second run: another PostgreSQL version).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from persistence.audit import AuditEntry, Sealer, append
from persistence.audit_checkpoints import DirectoryStore, Signer
from persistence.backup import RestoreRefused, restore_backup, take_backup
from persistence.crypto import NumberVault, audit_key
from persistence.db import Database, make_engine
from persistence.embedded import PG_BIN

from .conftest import SEED_TODAY, PgServer
from .serve_support import environment, kaigo, serving

OFFICER = "kaigo_number_officer"
PERSONS = """{ persons(first: 40) { edges { node { id addresseeCode name nameKana birthDate individualNumber
  certifications { decision { careLevel validTo } } } } } }"""
BY_NUMBER = "query($n: String!) { personByIndividualNumber(individualNumber: $n) { id } }"


def _token(env: dict[str, str], role: str = OFFICER) -> str:
    return kaigo(env, "token", "--role", role).stdout.strip()


def _ask(base: str, token: str, query: str = PERSONS, **variables: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def _covered(store: Path) -> int:
    """Entries the newest checkpoint of a store covers."""
    names = sorted(p.name for p in store.glob("checkpoint-*.json"))
    if not names:
        return 0
    return sum(int(h["count"]) for h in json.loads((store / names[-1]).read_text())["chains"])


def _no_key_in(backup: Path, key: str) -> None:
    raw = base64.b64decode(key)
    secrets_ = [key.encode(), raw, raw.hex().encode(), audit_key(raw), audit_key(raw).hex().encode()]
    sql = subprocess.run(
        [str(PG_BIN / "pg_restore"), "--file", "-", str(backup / "database.dump")],
        capture_output=True,
        check=True,
    ).stdout
    assert b"CREATE TABLE public.persons" in sql
    for blob in [sql, *(path.read_bytes() for path in backup.iterdir())]:
        assert not any(secret in blob for secret in secrets_)


@pytest.mark.serve
def test_backup_and_restore(private_tmp_path: Path) -> None:
    root = private_tmp_path
    a_env = environment(root / "a", KAIGO_AUDIT_CHECKPOINT_SECONDS="2")
    backup = root / "backup"
    with serving(a_env) as (proc, base):
        token = _token(a_env)
        before = _ask(base, token)
        stop, answered = threading.Event(), [0]

        def load() -> None:  # entries committed, and their seals written, while the snapshot is taken
            while not stop.is_set():
                _ask(base, token)
                answered[0] += 1

        loader = threading.Thread(target=load)
        loader.start()
        try:
            while answered[0] < 5:
                time.sleep(0.05)
            made = kaigo(a_env, "backup", str(backup))
        finally:
            stop.set()
            loader.join(60)
        assert made.returncode == 0 and "Traceback" not in made.stderr, made.stderr
        assert f"written to {backup}" in made.stdout and "No key is in it" in made.stderr
        assert sorted(p.name for p in backup.iterdir()) == [
            "audit_seals.csv",
            "database.dump",
            "manifest.json",
        ]
        assert backup.stat().st_mode & 0o777 == 0o700
        assert {p.stat().st_mode & 0o777 for p in backup.iterdir()} == {0o600}
        key = (root / "a" / "keys" / "data.key").read_text().strip()
        _no_key_in(backup, key)
        backed_up = sum(h["count"] for h in json.loads((backup / "manifest.json").read_text())["chains"])

        for _ in range(5):  # entries after the backup, then a checkpoint that covers them
            _ask(base, token)
        deadline = time.monotonic() + 90
        while _covered(root / "a" / "audit-checkpoints") <= backed_up + 5 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _covered(root / "a" / "audit-checkpoints") > backed_up + 5

        refused = kaigo(a_env, "restore", "--replace", str(backup))
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "`kaigo serve` is running" in refused.stderr and "stop it first" in refused.stderr
        assert proc.poll() is None and httpx.get(f"{base}/readyz").status_code == 200

    b_env = environment(root / "b")  # a fresh server: the key kept apart is given to it
    no_key = kaigo(b_env, "restore", str(backup))
    assert no_key.returncode == 1 and "no data key" in no_key.stderr and "Traceback" not in no_key.stderr
    assert not (root / "b").exists()
    b_env["KAIGO_DATA_KEY"] = key
    restored = kaigo(b_env, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "discarded" not in restored.stdout  # nothing before it in this store, nothing replaced
    with serving(b_env) as (_, base):
        token = _token(b_env)
        assert _ask(base, token) == before
        person = next(e["node"] for e in before["persons"]["edges"] if e["node"]["individualNumber"])
        found = _ask(base, token, BY_NUMBER, n=person["individualNumber"])
        assert found == {"personByIndividualNumber": {"id": person["id"]}}
    verified = kaigo(b_env, "audit", "verify")
    assert verified.returncode == 0 and "audit trail intact" in verified.stdout, verified.stderr

    holding = kaigo(a_env, "restore", str(backup))  # in place: the database holds data
    assert holding.returncode == 1 and "--replace" in holding.stderr, holding.stderr
    replaced = kaigo(a_env, "restore", "--replace", str(backup))
    assert replaced.returncode == 0, replaced.stderr
    assert (
        "discarded by the rollback: chain" in replaced.stdout and "kept as kaigo_replaced_" in replaced.stdout
    )
    verified = kaigo(a_env, "audit", "verify")
    assert verified.returncode == 0 and f"intact: {backed_up} entries" in verified.stdout, verified.stderr
    # the restore's checkpoint is what lets the rolled-back trail verify: the older ones cover more
    signed = replaced.stdout.split("audit checkpoint ")[1].split()[0]
    store = root / "a" / "audit-checkpoints"
    shutil.move(store / signed, root / signed)
    unsigned = kaigo(a_env, "audit", "verify")
    assert unsigned.returncode == 1 and "removed" in unsigned.stderr, unsigned.stdout
    # as after a point-in-time recovery: a checkpoint is not signed over a cut trail, unless asked to
    cut = kaigo(a_env, "audit", "checkpoint")
    assert cut.returncode == 1 and "no longer extends" in cut.stderr and "--after-recovery" in cut.stderr
    recovered = kaigo(a_env, "audit", "checkpoint", "--after-recovery")
    assert recovered.returncode == 0 and "discarded by the rollback: chain" in recovered.stdout, (
        recovered.stderr
    )
    assert kaigo(a_env, "audit", "verify").returncode == 0

    c_env = {**environment(root / "c"), "KAIGO_DATA_KEY": key}
    altered = root / "altered"
    shutil.copytree(backup, altered)
    with open(altered / "database.dump", "r+b") as dump:
        dump.seek(-100, 2)
        byte = dump.read(1)
        dump.seek(-100, 2)
        dump.write(bytes([byte[0] ^ 1]))
    refused = kaigo(c_env, "restore", str(altered))
    assert refused.returncode == 1 and "does not match the backup's signed manifest" in refused.stderr
    other_key = base64.b64encode(secrets.token_bytes(32)).decode()
    foreign = kaigo({**c_env, "KAIGO_DATA_KEY": other_key}, "restore", str(backup))
    assert foreign.returncode == 1 and "another audit key" in foreign.stderr, foreign.stderr
    apart = {**c_env, "KAIGO_AUDIT_KEY": base64.b64encode(audit_key(base64.b64decode(key))).decode()}
    wrong_data_key = kaigo({**apart, "KAIGO_DATA_KEY": other_key}, "restore", str(backup))
    assert wrong_data_key.returncode == 1 and "does not open" in wrong_data_key.stderr, wrong_data_key.stderr


AUDIT_KEY = bytes(range(32))


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return {
            t["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"') for t in tables
        }
    finally:
        await conn.close()


@pytest.mark.db
async def test_backup_and_restore_on_the_suites_server(
    pg_server: PgServer, empty_database_url: str, vault: NumberVault, private_tmp_path: Path
) -> None:
    from persistence.seed import seed_city

    engine = make_engine(empty_database_url, pool_size=2)
    try:
        await seed_city(engine, vault, insured=20, seed=3, today=SEED_TODAY)
        sealer = Sealer(AUDIT_KEY)
        for n in range(3):
            async with Database(engine).session() as session:
                entry = AuditEntry(dt.datetime.now(dt.UTC), f"s{n}", ("kaigo_officer",), None, "query", None)
                await append(session, entry, sealer=sealer)
        await sealer.flush(engine)
    finally:
        await engine.dispose()
    signer, store = Signer(AUDIT_KEY), DirectoryStore(private_tmp_path / "checkpoints")
    report = await take_backup(empty_database_url, private_tmp_path / "backup", signer, seal_wait=0)
    assert report.entries == 3 and report.unsealed == 0

    target = f"{make_url(empty_database_url).database}_r"
    target_url = make_url(empty_database_url).set(database=target).render_as_string(hide_password=False)
    try:
        restored = await restore_backup(
            target_url, private_tmp_path / "backup", audit_key=AUDIT_KEY, vault=vault, store=store
        )
        assert restored.verification.intact and restored.verification.count == 3
        assert restored.rollback.discarded == () and restored.kept is None
        assert await _counts(target_url) == await _counts(empty_database_url)
        with pytest.raises(RestoreRefused, match=r"holds \d+ tables already"):
            await restore_backup(
                target_url, private_tmp_path / "backup", audit_key=AUDIT_KEY, vault=vault, store=store
            )
        conn = await asyncpg.connect(
            make_url(target_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:  # a session on the target: a server still using it
            with pytest.raises(RestoreRefused, match="1 sessions are connected"):
                await restore_backup(
                    target_url,
                    private_tmp_path / "backup",
                    audit_key=AUDIT_KEY,
                    vault=vault,
                    store=store,
                    replace=True,
                )
        finally:
            await conn.close()
        again = await restore_backup(
            target_url,
            private_tmp_path / "backup",
            audit_key=AUDIT_KEY,
            vault=vault,
            store=store,
            replace=True,
        )
        assert again.kept is not None and again.rollback.superseded == restored.rollback.checkpoint
        assert await _counts(target_url) == await _counts(empty_database_url)
    finally:
        await pg_server.drop(target)
        for kept in await _databases_like(pg_server, f"{target}_replaced_%"):
            await pg_server.drop(kept)
        assert await _databases_like(pg_server, f"{target[:40]}_restoring_%") == []  # none left behind


async def _databases_like(pg_server: PgServer, pattern: str) -> list[str]:
    conn = await asyncpg.connect(pg_server.url("postgres", "postgresql"))
    try:
        return [
            r["datname"]
            for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", pattern)
        ]
    finally:
        await conn.close()
