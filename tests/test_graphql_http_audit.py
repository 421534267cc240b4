"""The graphql-http audit suite (npm `graphql-http`, pinned in tests/node/): every MUST and SHOULD of the
GraphQL-over-HTTP specification against the live server. Skipped, with the reason, without node."""

from __future__ import annotations

import json
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


def test_graphql_over_http_audits(empty_database_url: str, vault: NumberVault, dev_keys: Any) -> None:
    node = node_or_skip("graphql-http")
    authenticator = TokenVerifier(
        jwks=str(dev_keys.jwks_path), issuer=DEV_ISSUER, audience="kaigo-graph", refuse_dev_keys=False
    )
    app = create_app(Runtime(Database(make_engine(empty_database_url, pool_size=2)), vault, authenticator))
    token = dev_keys.issue_token("kaigo_officer", sub="graphql-http-audit")
    with serving(app) as url:
        ran = subprocess.run(
            [node, str(NODE_DIR / "audit.mjs"), url, token], capture_output=True, text=True, timeout=300
        )
    assert ran.returncode == 0, ran.stderr[-2000:]
    results = json.loads(ran.stdout)
    assert len(results) > 30
    failed = [f"{r['id']} {r['name']}: {r['reason']}" for r in results if r["status"] != "ok"]
    assert failed == [], "\n".join(failed)
