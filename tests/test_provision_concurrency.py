"""The same request id at the same time, on real connections and real commits: one record, one answer.

Requests are held behind the request's advisory lock by a third connection, so they really overlap:
all of them wait, then run one after the other; the first decides and commits, the others replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.crypto import NumberVault
from persistence.db import Database, make_engine
from persistence.seed import seed_city

from .provision_documents import CONFIRM, PROVIDE, today

pytestmark = pytest.mark.db

LOCK = "SELECT pg_advisory_lock(hashtextextended(:scope, 0))"
UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(:scope, 0))"


@pytest.fixture
async def city(empty_database_url: str, vault: NumberVault) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_database_url, pool_size=6)
    await seed_city(engine, vault, insured=50, seed=3, today=date(2026, 11, 1))
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(
    city: AsyncEngine, vault: NumberVault, authenticator: Any
) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app
    from api.runtime import Runtime

    app = create_app(Runtime(Database(city), vault, authenticator))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def _linkage_code(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        code: str = (
            await conn.execute(
                text(
                    "SELECT p.linkage_code FROM persons p JOIN qualifications q ON q.person_id = p.id"
                    " WHERE NOT p.no_automatic_response ORDER BY p.id LIMIT 1"
                )
            )
        ).scalar_one()
    return code


async def _held(engine: AsyncEngine, scope: str, calls: list[Any]) -> list[Any]:
    """Run ``calls`` concurrently while ``scope``'s lock is held elsewhere; release it; their results."""
    async with engine.connect() as blocker:
        await blocker.execute(text(LOCK), {"scope": scope})
        tasks = [asyncio.create_task(call) for call in calls]
        await asyncio.sleep(0.3)
        assert not any(t.done() for t in tasks), "the requests should be waiting on the request's lock"
        await blocker.execute(text(UNLOCK), {"scope": scope})
        await blocker.commit()
        return list(await asyncio.gather(*tasks))


async def _count(engine: AsyncEngine, where: str = "true") -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text(f"SELECT count(*) FROM provision_records WHERE {where}"))).scalar_one()
        )


def _post(client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]) -> Any:
    return client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_same_request_concurrently_gives_one_record_and_one_answer(
    city: AsyncEngine, client: httpx.AsyncClient, token_for: Any
) -> None:
    values = {
        "requestId": "conc-1",
        "permitNumber": "P-1",
        "inquirer": "総社市長",
        "basisItem": "94",
        "subject": {"linkageCode": await _linkage_code(city)},
        "items": ["QUALIFICATION", "CERTIFICATION", "LEVY"],
        "requestDate": today().isoformat(),
    }
    token = token_for("intermediate_server")
    responses = await _held(
        city, "PROVISION:conc-1", [_post(client, token, PROVIDE, {"input": values}) for _ in range(4)]
    )
    bodies = [r.json() for r in responses]
    assert bodies[0]["data"]["provideInformation"]["__typename"] == "Provided"
    assert all(b == bodies[0] for b in bodies)
    assert await _count(city) == 1  # committed once

    # Other input under the same id, also concurrently: one error each, nothing more recorded.
    other = {**values, "items": ["LEVY"]}
    responses = await _held(
        city, "PROVISION:conc-1", [_post(client, token, PROVIDE, {"input": other}) for _ in range(2)]
    )
    for response in responses:
        assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_ID_REUSED"
    assert await _count(city) == 1


async def test_a_denial_is_committed_once(
    city: AsyncEngine, client: httpx.AsyncClient, token_for: Any
) -> None:
    values = {
        "requestId": "conc-2",
        "permitNumber": "P-2",
        "inquirer": "株式会社どこか",
        "basisItem": "94",
        "subject": {"linkageCode": await _linkage_code(city)},
        "items": ["QUALIFICATION"],
        "requestDate": today().isoformat(),
    }
    token = token_for("intermediate_server")
    responses = await _held(
        city, "PROVISION:conc-2", [_post(client, token, PROVIDE, {"input": values}) for _ in range(3)]
    )
    answers = [r.json()["data"]["provideInformation"] for r in responses]
    assert {a["code"] for a in answers} == {"COUNTERPARTY_MISMATCH"}
    assert len({a["record"]["id"] for a in answers}) == 1
    assert await _count(city, "outcome = 'DENIED'") == 1


async def test_confirming_concurrently_confirms_once(
    city: AsyncEngine, client: httpx.AsyncClient, token_for: Any
) -> None:
    code = await _linkage_code(city)
    async with city.begin() as conn:
        await conn.execute(
            text("UPDATE persons SET no_automatic_response = true WHERE linkage_code = :c"), {"c": code}
        )
    values = {
        "requestId": "conc-3",
        "permitNumber": "P-3",
        "inquirer": "総社市長",
        "basisItem": "94",
        "subject": {"linkageCode": code},
        "items": ["QUALIFICATION"],
        "requestDate": today().isoformat(),
    }
    pending = (await _post(client, token_for("intermediate_server"), PROVIDE, {"input": values})).json()
    record_id = pending["data"]["provideInformation"]["record"]["id"]
    chief = token_for("kaigo_section_chief")
    responses = await _held(
        city,
        f"CONFIRM:{record_id}",
        [_post(client, chief, CONFIRM, {"id": record_id, "approve": n == 0}) for n in range(3)],
    )
    bodies = [r.json() for r in responses]
    done = [b for b in bodies if b.get("data")]
    failed = [b["errors"][0]["extensions"]["code"] for b in bodies if not b.get("data")]
    assert len(done) == 1 and failed == ["ALREADY_CONFIRMED", "ALREADY_CONFIRMED"]
    assert await _count(city, f"resolves_record_id = {record_id}") == 1
