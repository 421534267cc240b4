"""Apollo Client's own persisted-query link (npm `@apollo/client`, pinned in tests/node/) against a running
server: a miss makes it retry with the text, which registers the document; the next time it sends the
hash alone. Over POST and over GET. Skipped, with the reason, when node or the npm packages are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from api.app import create_app
from api.auth import TokenVerifier
from api.devkeys import DEV_ISSUER
from api.runtime import Runtime
from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from tests.node_support import NODE_DIR, node_or_skip, serving

pytestmark = pytest.mark.db


def test_apollo_client_persisted_query_link(
    empty_database_url: str, vault: NumberVault, dev_keys: Any
) -> None:
    node = node_or_skip("@apollo/client")
    authenticator = TokenVerifier(
        jwks=str(dev_keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
    )
    app = create_app(Runtime(Database(make_engine(empty_database_url, pool_size=2)), vault, authenticator))
    token = dev_keys.issue_token("kaigo_officer", sub="apollo-test")
    with serving(app) as url:
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
