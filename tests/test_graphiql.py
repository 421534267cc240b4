"""The GraphiQL page as the server serves it (api/graphiql/): its own files only, pinned and checked,
an example per role that runs, development tokens on the local machine only, nothing of it in production.
The page in a real browser: tests/test_graphiql_browser.py."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, validate
from joserfc.jwk import ECKey
from starlette.datastructures import Headers

from api.app import create_app
from api.graphiql import HERE, VENDOR, examples
from api.runtime import build_runtime
from api.settings import Settings
from policies.clients import clients
from policies.roles import ROLE_NAMES, duties_for
from resolvers import schema_for
from tests.conftest import TEST_KEY

pytestmark = pytest.mark.db

PAGE = {"Accept": "text/html"}


@pytest.fixture
async def local(app_with: Callable[..., Any], dev_keys: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The development app with its token minter, called from the machine itself."""
    transport = httpx.ASGITransport(app=app_with(dev_tokens=dev_keys))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


def _linked(page: str) -> list[tuple[str, str | None]]:
    """(path, integrity) of every script and stylesheet of the page."""
    found = []
    for tag in re.findall(r"<script\b[^>]*>|<link\b[^>]*rel=\"stylesheet\"[^>]*>", page):
        target = re.search(r'(?:src|href)="([^"]*)"', tag)
        integrity = re.search(r'integrity="([^"]+)"', tag)
        found.append((target.group(1) if target else "", integrity.group(1) if integrity else None))
    return found


async def test_the_page_loads_only_the_servers_own_files_each_checked(local: httpx.AsyncClient) -> None:
    page = await local.get("/graphql", headers=PAGE)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?:src|href)=\"(?:[a-z]+:)?//", page.text)  # no URL of another origin
    assert "<script>" not in page.text  # no inline script (the CSP would refuse it anyway)
    linked = _linked(page.text)
    assert {path for path, _ in linked} >= {
        "graphiql/vendor/react.production.min.js",
        "graphiql/vendor/react-dom.production.min.js",
        "graphiql/vendor/graphiql.min.js",
        "graphiql/vendor/graphiql.min.css",
        "graphiql/kaigo-graphiql.js",
    }
    for path, integrity in linked:
        served = await local.get(f"/{path}")
        assert served.status_code == 200, path
        digest = base64.b64encode(hashlib.sha256(served.content).digest()).decode()
        assert integrity == f"sha256-{digest}", path
        kind = served.headers["content-type"]
        assert kind.startswith("text/javascript" if path.endswith(".js") else "text/css"), path


def test_the_vendored_files_are_the_pinned_ones_with_their_licences() -> None:
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    package = json.loads((HERE / "package.json").read_text())
    lock = json.loads((HERE / "package-lock.json").read_text())
    for name, version in manifest["versions"].items():
        assert package["dependencies"][name] == version == lock["packages"][f"node_modules/{name}"]["version"]
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk == {*manifest["files"], "manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    licences = (VENDOR / "LICENSES.txt").read_text()
    for path, entry in lock["packages"].items():
        if path:
            assert f"{path.rsplit('node_modules/', 1)[-1]} {entry['version']} (" in licences, path
    css = (VENDOR / "graphiql.min.css").read_text()
    assert re.findall(r"url\(([^)]*)\)", css) and all(
        u.startswith("assets/") for u in re.findall(r"url\(([^)]*)\)", css)
    )
    for script in ("graphiql.min.js", "react.production.min.js", "react-dom.production.min.js"):
        assert "sourceMappingURL" not in (VENDOR / script).read_text()[-500:]


async def test_only_the_listed_files_are_served(local: httpx.AsyncClient) -> None:
    for path in (
        "/graphiql/examples.toml",
        "/graphiql/__init__.py",
        "/graphiql/package.json",
        "/graphiql/vendor/../__init__.py",
        "/graphiql/vendor/manifest.json",
        "/graphiql/node_modules/react/package.json",
    ):
        assert (await local.get(path)).status_code == 404, path
    assert (await local.get("/graphiql/vendor/LICENSES.txt")).status_code == 200


def test_every_role_graphiql_can_serve_has_an_example_valid_in_its_view() -> None:
    trusted = clients().trusted_roles
    offered = [example.role for example in examples()]
    assert sorted(offered) == sorted(ROLE_NAMES - trusted)
    assert offered[0] == "kaigo_officer"  # the default: every area, no individual numbers
    for example in examples():
        view = schema_for(duties_for([example.role], example.department))
        assert validate(view._schema, parse(example.query)) == [], example.role


async def test_every_example_runs_on_the_demo_city(gql: Callable[..., Any]) -> None:
    for example in examples():
        answer = await gql(example.query, role=example.role, department=example.department)
        assert "errors" not in answer and answer["data"], (example.role, answer)
    persons = (await gql(examples()[0].query, role="kaigo_officer"))["data"]["persons"]["edges"]
    assert persons  # the default example shows data


async def test_the_role_picker_offers_the_examples(local: httpx.AsyncClient) -> None:
    offered = (await local.get("/graphiql/roles")).json()
    assert offered["tokens"] is True
    assert [r["role"] for r in offered["roles"]] == [e.role for e in examples()]
    assert offered["roles"][0]["example"] == examples()[0].query
    assert offered["roles"][0]["ja"].startswith("介護保険課")


async def test_a_minted_token_is_one_the_server_accepts(local: httpx.AsyncClient, authenticator: Any) -> None:
    minted = await local.post("/graphiql/token", json={"role": "security_auditor"})
    assert minted.status_code == 200, minted.text
    body = minted.json()
    assert body["role"] == "security_auditor" and body["expiresIn"] == 8 * 3600
    principal = await authenticator.authenticate(Headers({"authorization": f"Bearer {body['token']}"}))
    assert list(principal.roles) == ["security_auditor"]
    viewer = await local.post(
        "/graphql",
        json={"query": "{ viewer { subject roles } }"},
        headers={"Authorization": f"Bearer {body['token']}"},
    )
    assert viewer.json() == {
        "data": {"viewer": {"subject": "dev-security_auditor", "roles": ["security_auditor"]}}
    }


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"role": "mayor"}, {}, 400, "BAD_REQUEST"),
        ({"role": "receiving_department"}, {}, 400, "BAD_REQUEST"),  # needs a department
        ({"role": "receiving_department", "department": "nowhere"}, {}, 400, "BAD_REQUEST"),
        ([1, 2], {}, 400, "BAD_REQUEST"),
        (
            {"role": "kaigo_officer"},
            {"Host": "kaigo.attacker.example:8000"},
            403,
            "FORBIDDEN",
        ),  # DNS rebinding
    ],
)
async def test_token_requests_refused(
    local: httpx.AsyncClient, body: Any, headers: dict[str, str], status: int, code: str
) -> None:
    refused = await local.post("/graphiql/token", json=body, headers=headers)
    assert refused.status_code == status
    assert refused.json()["errors"][0]["extensions"]["code"] == code
    assert "token" not in refused.json()


async def test_a_form_post_cannot_mint(local: httpx.AsyncClient) -> None:
    # what a page of another site can send without a CORS preflight
    form = await local.post("/graphiql/token", data={"role": "kaigo_officer"})
    assert form.status_code == 400 and "token" not in form.json()


async def test_no_token_route_without_the_development_key(client: httpx.AsyncClient) -> None:
    # (405: the files' GET route matches the path)
    assert (await client.post("/graphiql/token", json={"role": "kaigo_officer"})).status_code == 405
    assert (await client.get("/graphiql/roles")).json()["tokens"] is False


def _idp_jwks(tmp_path: Path) -> Path:
    key = ECKey.generate_key("P-256", parameters={"kid": "idp-1"})
    path = tmp_path / "idp-jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return path


def _settings(tmp_path: Path, url: str, **over: Any) -> Settings:
    return dataclasses.replace(
        Settings(
            data_dir=tmp_path,
            database_url=url,
            data_key=base64.b64encode(TEST_KEY).decode(),
            jwks=str(_idp_jwks(tmp_path)),
            jwt_issuer="https://idp.city.example",
        ),
        **over,
    )


async def test_production_has_no_graphiql_no_token_route_no_local_cors(
    tmp_path: Path, empty_database_url: str
) -> None:
    runtime = build_runtime(_settings(tmp_path, empty_database_url, env="production"))
    assert runtime.dev_tokens is None and not runtime.graphql_ide and not runtime.cors_localhost
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
        assert (await c.post("/graphiql/token", json={"role": "kaigo_officer"})).status_code == 404
        assert (await c.get("/graphiql/roles")).status_code == 404
        assert (await c.get("/graphiql/vendor/graphiql.min.js")).status_code == 404
        page = await c.get("/graphql", headers=PAGE)
        assert page.status_code == 401  # no page: an operation like any other, which needs a token
        assert "kaigo token" not in page.text and "identity provider" in page.text
        preflight = await c.options(
            "/graphql", headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers
    await runtime.database.engine.dispose()


async def test_development_with_an_identity_provider_mints_nothing(
    tmp_path: Path, empty_database_url: str
) -> None:
    runtime = build_runtime(_settings(tmp_path, empty_database_url))
    assert runtime.dev_tokens is None and runtime.graphql_ide and runtime.cors_localhost
    assert not (tmp_path / "identity").exists()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://127.0.0.1"
    ) as c:
        assert (await c.post("/graphiql/token", json={"role": "kaigo_officer"})).status_code == 405
        assert (await c.get("/graphiql/roles")).json()["tokens"] is False
    await runtime.database.engine.dispose()


async def test_development_serves_the_page_and_mints_with_its_key(
    tmp_path: Path, empty_database_url: str
) -> None:
    runtime = build_runtime(_settings(tmp_path, empty_database_url, jwks=None, jwt_issuer=None))
    assert runtime.dev_tokens is not None
    assert runtime.dev_tokens.jwks_path == tmp_path / "identity" / "jwks.json"  # the key the server trusts
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://localhost:8000"
    ) as c:
        assert (await c.post("/graphiql/token", json={"role": "kaigo_officer"})).status_code == 200
    await runtime.database.engine.dispose()
