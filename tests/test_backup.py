"""`kaigo backup` beside a serving `kaigo serve`, and `kaigo restore` into a fresh server and in place.

One city, one backup taken under load: the restored server answers the same data (individual numbers
decrypted, found through the blind index), `kaigo audit verify` passes there and in place, where
checkpoints newer than the backup cover entries the restore discards. Refused: a restore while the
server runs, without the data key, into a database holding data, from an altered or foreign backup.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from persistence.crypto import audit_key
from persistence.embedded import PG_BIN

from .serve_support import environment, kaigo, serving

pytestmark = pytest.mark.serve
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
