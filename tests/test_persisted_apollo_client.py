"""Apollo Client's own persisted-query link (npm `@apollo/client`, pinned in tests/node/) against a running
server: a miss makes it retry with the text, which registers the document; the next time it sends the
hash alone. Over POST and over GET. Skipped, with the reason, when node or the npm packages are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.auth import TokenVerifier
from api.devkeys import DEV_ISSUER
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine

pytestmark = pytest.mark.db

NODE_DIR = Path(__file__).parent / "node"


def _node_or_skip() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run Apollo Client")
    if not (NODE_DIR / "node_modules" / "@apollo" / "client").is_dir():
        try:
            installed = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm ci (tests/node) timed out")
        if installed.returncode != 0:
            pytest.skip(f"npm ci (tests/node) failed: {installed.stderr.strip()[-300:]}")
    return node


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(30)


def test_apollo_client_persisted_query_link(
    empty_database_url: str, vault: NumberVault, dev_keys: Any
) -> None:
    node = _node_or_skip()
    authenticator = TokenVerifier(
        jwks=str(dev_keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
    )
    app = create_app(Runtime(Database(make_engine(empty_database_url, pool_size=2)), vault, authenticator))
    token = dev_keys.issue_token("kaigo_officer", sub="apollo-test")
    with _serving(app) as url:
        ran = subprocess.run(
            [node, str(NODE_DIR / "apq.mjs")],
            env={**os.environ, "KAIGO_URL": url, "KAIGO_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    for mode, method in (("post", "POST"), ("get", "GET")):
        first, second = out[mode]
        assert first["data"]["viewer"]["subject"] == second["data"]["viewer"]["subject"] == "apollo-test"
        miss, retry = first["requests"]
        assert miss == {
            "method": method,
            "sentQuery": False,
            "sentHash": True,
            "status": 200,
            "code": "PERSISTED_QUERY_NOT_FOUND",
        }
        assert retry["sentQuery"] and retry["sentHash"] and retry["status"] == 200 and retry["code"] is None
        assert second["requests"] == [
            {"method": method, "sentQuery": False, "sentHash": True, "status": 200, "code": None}
        ]
