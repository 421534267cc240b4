"""Guards in front of execution: body size (413), rate per principal (429), time limit (504)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.guards import Guards, RateLimiter
from api.refusals import Refusal

QUERY = {"query": "{ viewer { subject } }"}


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.take("staff-1")
    with pytest.raises(Refusal) as refused:
        limiter.take("staff-1")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "1"
    limiter.take("staff-2")  # another principal has its own bucket
    now[0] = 0.5  # one token back
    limiter.take("staff-1")
    with pytest.raises(Refusal):
        limiter.take("staff-1")


@pytest.fixture
def guarded(app: Any) -> Any:
    def build(**limits: Any) -> httpx.AsyncClient:
        runtime = dataclasses.replace(app.state.runtime, guards=Guards(**limits))
        transport = httpx.ASGITransport(app=create_app(runtime))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    return build


@pytest.mark.db
async def test_a_body_over_the_limit_is_refused_before_parsing(guarded: Any, token_for: Any) -> None:
    headers = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    async with guarded(max_body_bytes=200) as client:
        ok = await client.post("/graphql", json=QUERY, headers=headers)
        assert ok.status_code == 200
        big = {"query": "{ viewer { subject } }" + " " * 500}
        refused = await client.post("/graphql", json=big, headers=headers)
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"

        async def chunks() -> Any:  # no Content-Length: counted while reading
            for _ in range(10):
                yield b" " * 50

        streamed = await client.post("/graphql", content=chunks(), headers=headers)
        assert streamed.status_code == 413


@pytest.mark.db
async def test_a_principal_over_its_rate_gets_429(guarded: Any, token_for: Any) -> None:
    officer = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    chief = {"Authorization": f"Bearer {token_for('kaigo_section_chief')}"}
    async with guarded(rate_per_second=0.01, rate_burst=2) as client:
        assert [
            (await client.post("/graphql", json=QUERY, headers=officer)).status_code for _ in range(2)
        ] == [
            200,
            200,
        ]
        limited = await client.post("/graphql", json=QUERY, headers=officer)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert (await client.post("/graphql", json=QUERY, headers=chief)).status_code == 200


@pytest.mark.db
async def test_a_request_over_its_time_is_cancelled(
    guarded: Any, token_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strawberry.asgi import GraphQL

    original = GraphQL.run

    async def slow(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1)
        return await original(self, request, *args, **kwargs)

    monkeypatch.setattr(GraphQL, "run", slow)
    headers = {"Authorization": f"Bearer {token_for('kaigo_officer')}"}
    async with guarded(request_timeout_seconds=0.05) as client:
        answer = await client.post("/graphql", json=QUERY, headers=headers)
    assert answer.status_code == 504
    assert answer.json()["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
