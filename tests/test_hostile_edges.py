"""Edges a hostile or broken client still found (issue 16): numbers past Python's 4,300 digits, a client
hanging up mid-body, a token for no role of this service. Each gets its own clear answer and one short
log line; no exception reaches uvicorn (httpx's ASGI transport would raise it here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.db

HUGE = "1" * 4301
VIEWER = "{ viewer { subject } }"
DOCUMENT = "sha256:" + "a" * 64


def _bearer(token_for: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('kaigo_officer')}"}


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        ("POST", f'{{"query": "{VIEWER}", "variables": {{"n": {HUGE}}}}}'),
        ("POST", f'{{"documentId": "{DOCUMENT}", "variables": {{"n": {HUGE}}}}}'),
        ("POST", f'{{"query": "{VIEWER}", "extensions": {{"n": -{HUGE}}}}}'),
        ("GET", {"query": VIEWER, "variables": f'{{"n": {HUGE}}}'}),
        ("GET", {"documentId": DOCUMENT, "variables": f'{{"n": [{HUGE}]}}'}),
    ],
)
async def test_a_number_of_over_4300_digits_is_a_bad_request(
    client: httpx.AsyncClient,
    token_for: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
    method: str,
    payload: Any,
) -> None:
    headers = _bearer(token_for)
    with caplog.at_level(logging.INFO, logger="kaigo.http"):
        if method == "POST":
            headers["content-type"] = "application/json"
            response = await client.post("/graphql", content=payload, headers=headers)
        else:
            response = await client.get("/graphql", params=payload, headers=headers)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    correlation = error["extensions"]["correlationId"]
    [line] = [r for r in caplog.records if r.name == "kaigo.http"]
    assert correlation in line.getMessage() and line.exc_info is None
    server_lines = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")  # not the client's
    assert HUGE[:50] not in response.text and HUGE[:50] not in server_lines


async def test_a_client_hanging_up_mid_body_makes_one_quiet_line(
    app: Any, token_for: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    headers = [
        (b"authorization", _bearer(token_for)["Authorization"].encode()),
        (b"content-type", b"application/json"),
        (b"content-length", b"1000"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [
        {"type": "http.request", "body": b'{"query": "{ vie', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        await app(scope, receive, send)
    lines = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("kaigo")]
    assert len(lines) == 1 and "hung up" in lines[0].getMessage() and lines[0].exc_info is None
    assert "correlation id" in lines[0].getMessage()
    assert "Traceback" not in caplog.text


async def test_a_token_for_no_known_role_is_forbidden(client: httpx.AsyncClient, dev_keys: Any) -> None:
    token = dev_keys.issue_token("superuser", sub="intruder")
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_an_unexpected_error_is_answered_with_its_correlation_id(
    client: httpx.AsyncClient,
    token_for: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.graphql_view import KaigoGraphQL

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise LookupError("a defect")

    monkeypatch.setattr(KaigoGraphQL, "parse_http_body", broken)
    with caplog.at_level(logging.ERROR, logger="kaigo.http"):
        response = await client.post("/graphql", json={"query": VIEWER}, headers=_bearer(token_for))
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["correlationId"] in caplog.text and "a defect" not in response.text
