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


async def test_the_graphiql_page_may_load_the_servers_own_files_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    policy = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert {policy[d] for d in ("script-src", "style-src", "img-src", "font-src", "connect-src")} == {
        "'self'"
    }
    assert policy["frame-ancestors"] == "'none'"
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


@pytest.fixture
async def development_client(app: Any) -> Any:
    runtime = dataclasses.replace(
        app.state.runtime, cors_localhost=True
    )  # as build_runtime sets it in development
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:3000", "http://[::1]:8080"]
)
async def test_development_answers_local_dev_servers(
    development_client: httpx.AsyncClient, token_for: Any, origin: str
) -> None:
    preflight = await development_client.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answer = await development_client.post(
        "/graphql",
        json=QUERY,
        headers={"Origin": origin, "Authorization": f"Bearer {token_for('kaigo_officer')}"},
    )
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.json() == {"data": {"viewer": {"subject": "test-kaigo_officer"}}}


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost.attacker.example:5173",
        "http://localhost:5173.attacker.example",
        "http://192.168.1.20:5173",
        "https://kaigo.city.example",
        "null",
    ],
)
async def test_development_refuses_other_origins(development_client: httpx.AsyncClient, origin: str) -> None:
    refused = await development_client.options(
        "/graphql", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
