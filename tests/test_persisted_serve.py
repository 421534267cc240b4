"""`make run`'s path for persisted documents: `kaigo pq import documents/*.json`, then `kaigo serve`; a
receiving department runs its registered operations by id (the README's curl example) and nothing else."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .persisted_support import MANIFESTS, ROOT, manifest_operation

pytestmark = pytest.mark.serve
KAIGO = str(Path(sys.executable).parent / "kaigo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_make_run_registers_the_departments_documents(private_tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KAIGO_DATA_KEY", "KAIGO_JWKS"}}
    env.update(KAIGO_DATA_DIR=str(private_tmp_path / "data"), SEED_PERSONS="60", PORT=str(_free_port()))
    manifests = sorted(str(p) for p in MANIFESTS.glob("*.json"))
    for _ in range(2):  # every `make run` imports again: harmless
        subprocess.run(
            [KAIGO, "pq", "import", *manifests], env=env, cwd=ROOT, check=True, capture_output=True
        )

    proc = subprocess.Popen(
        [KAIGO, "serve", "--migrate", "--seed-if-empty"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kaigo serve did not become ready"
            time.sleep(0.3)

        token = subprocess.run(
            [KAIGO, "token", "--role", "receiving_department", "--department", "fukushi_engo"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        auth = {"Authorization": f"Bearer {token}"}
        status = manifest_operation("fukushi_engo", "DepartmentTransferPermissions")
        listed = httpx.get(f"{base}/graphql", params={"documentId": f"sha256:{status['id']}"}, headers=auth)
        assert listed.json() == {"data": {"departmentTransferPermissions": []}}, listed.text
        # the persons a transfer held back (自動応答不可), once the chief confirmed them: registered too
        reviewed = manifest_operation("fukushi_engo", "ReviewedTransfers")
        variables = '{"permissionId": "987654"}'
        ran = httpx.get(
            f"{base}/graphql",
            params={"documentId": f"sha256:{reviewed['id']}", "variables": variables},
            headers=auth,
        )
        assert ran.json()["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "permissionId"}
        free = httpx.post(f"{base}/graphql", json={"query": status["body"]}, headers=auth)
        assert free.status_code == 400
        assert free.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_ID_REQUIRED"
        other = {**auth, "graphql-client-name": "bosai_kiki_kanri"}  # another department's client
        refused = httpx.get(f"{base}/graphql", params={"documentId": f"sha256:{status['id']}"}, headers=other)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "CLIENT_NAME_MISMATCH"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
