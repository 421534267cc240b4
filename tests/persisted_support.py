"""Helpers shared by the persisted-document tests: an app in trusted-documents mode, ids, registration."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from api.documents import document_id
from persistence import documents as store

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "documents"
VIEWER = "query Viewer { viewer { subject roles department } }"


def sha(text: str) -> str:
    return f"sha256:{document_id(text)}"


def apq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_id(text)}}


def manifest_operation(client: str, name: str) -> dict[str, Any]:
    manifest = json.loads((MANIFESTS / f"{client}.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = next(op for op in manifest["operations"] if op["name"] == name)
    return found


async def register(conn: AsyncConnection, text: str, client: str, *, kind: str = "query") -> str:
    await store.register(
        conn,
        store.StoredDocument(
            id=document_id(text),
            client_name=client,
            text=text,
            operation_name=None,
            operation_type=kind,
            registered_by="test",
        ),
    )
    return document_id(text)


@asynccontextmanager
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def code_of(response: httpx.Response) -> str | None:
    body = response.json()
    errors = body.get("errors") or [{}]
    code: str | None = errors[0].get("extensions", {}).get("code")
    return code


def refusal(response: httpx.Response, status: int, code: str) -> None:
    """The response is a GraphQL-shaped refusal with this status and code, and no data."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body
    assert isinstance(body["errors"][0]["message"], str)
