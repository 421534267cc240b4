"""Security headers on every answer; CORS only for configured origins."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from api.app import create_app

pytestmark = pytest.mark.db
QUERY = {"query": "{ viewer { subject } }"}


async def test_security_headers_on_data_refusals_and_health(
    client: httpx.AsyncClient, token_for: Any
) -> None:
    answers = [
        await client.post(
            "/graphql", json=QUERY, headers={"Authorization": f"Bearer {token_for('kaigo_officer')}"}
        ),
        await client.post("/graphql", json=QUERY),  # 401
        await client.get("/healthz"),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in answer.headers


async def test_the_graphiql_page_keeps_its_scripts(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "content-security-policy" not in page.headers
    assert page.headers["x-frame-options"] == "DENY"


async def test_no_cors_unless_configured(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


@pytest.fixture
async def cors_client(app: Any) -> Any:
    runtime = dataclasses.replace(
        app.state.runtime, cors_origins=("https://kaigo.city.example",), hsts_seconds=31536000
    )
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_cors_for_listed_origins_only(cors_client: httpx.AsyncClient) -> None:
    allowed = await cors_client.options(
        "/graphql",
        headers={
            "Origin": "https://kaigo.city.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://kaigo.city.example"
    assert "access-control-allow-credentials" not in allowed.headers
    refused = await cors_client.options(
        "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    health = await cors_client.get("/healthz")
    assert health.headers["strict-transport-security"].startswith("max-age=31536000")
