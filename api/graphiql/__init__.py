"""GraphiQL served by the server itself, for development: no CDN, no network, a role picker.

- ``GET /graphql`` from a browser (``Accept: text/html``, no operation named) answers :func:`page`, which
  loads React, ReactDOM and GraphiQL from ``/graphiql/vendor/`` (pinned in package-lock.json, built by
  build.mjs into vendor/, committed) and its own script; the page's Content-Security-Policy allows the
  server's own files only (api/http_surface.py ``PAGE_CSP``), each script and stylesheet is checked
  against its sha256 (``integrity``);
- ``GET /graphiql/roles`` lists the roles the picker offers, each with an example operation of its view
  (examples.toml), and whether the server mints development tokens;
- ``POST /graphiql/token`` mints a development token for the chosen role (:func:`mint`), which the page
  puts in GraphiQL's ``Authorization`` header before its first request (introspection included).

None of these routes exists in production (``Runtime.graphql_ide`` is off there, ``Runtime.dev_tokens``
is None): :func:`routes` gives none. The token route exists only while the server trusts the development
signing key (no ``KAIGO_JWKS``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from policies.clients import clients
from policies.roles import department, policy

from ..devkeys import DevKeys
from ..refusals import BAD_REQUEST, Refusal

__all__ = ["TOKEN_TTL", "Example", "examples", "page", "routes"]

HERE: Final = Path(__file__).parent
VENDOR: Final = HERE / "vendor"
OWN_FILES: Final = ("kaigo-graphiql.js", "kaigo-graphiql.css", "favicon.svg")
TOKEN_TTL: Final = timedelta(hours=8)  # as `make run` prints them
MAX_TOKEN_REQUEST_BYTES: Final = 1024
MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# Host names a development token is given to: the developer's own machine. A page of another site that a
# DNS name rebinds to 127.0.0.1 still sends its own name as Host, and is refused.
LOCAL_HOSTS: Final = frozenset({"localhost"})


@dataclass(frozen=True)
class Example:
    """A role the picker offers, with the operation GraphiQL opens with for it."""

    role: str
    query: str
    department: str | None = None


@cache
def examples() -> tuple[Example, ...]:
    """examples.toml, in its order (the first is the page's default role)."""
    raw = tomllib.loads((HERE / "examples.toml").read_text(encoding="utf-8"))
    return tuple(
        Example(role=role, query=entry["query"].strip() + "\n", department=entry.get("department"))
        for role, entry in raw["roles"].items()
    )


@cache
def _vendored() -> Mapping[str, str]:
    """vendor/manifest.json's files (name → sha256 hex): the only vendored files served."""
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    files: dict[str, str] = manifest["files"]
    return files


def _integrity(name: str) -> str:
    if name in OWN_FILES:  # read at each page: an edit shows at the next reload
        digest = hashlib.sha256((HERE / name).read_bytes()).digest()
    else:
        digest = bytes.fromhex(_vendored()[name])
    return "sha256-" + base64.b64encode(digest).decode()


def _script(path: str, name: str) -> str:
    return f'<script src="{path}{name}" integrity="{_integrity(name)}"></script>'


def _stylesheet(path: str, name: str) -> str:
    return f'<link rel="stylesheet" href="{path}{name}" integrity="{_integrity(name)}">'


def _page_html() -> str:
    # Paths relative to /graphql, so the page also works behind a proxy that adds a prefix.
    vendor, own = "graphiql/vendor/", "graphiql/"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="ja">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>kaigo-graph GraphiQL</title>",
            f'<link rel="icon" href="{own}favicon.svg" type="image/svg+xml">',
            _stylesheet(vendor, "graphiql.min.css"),
            _stylesheet(own, "kaigo-graphiql.css"),
            "</head>",
            "<body>",
            '<header id="kaigo-bar">',
            "<strong>kaigo-graph</strong>",
            '<label>ロール / role <select id="kaigo-role" disabled></select></label>',
            '<span id="kaigo-status" role="status">読み込み中… / Loading…</span>',
            '<a href="graphiql/vendor/LICENSES.txt" target="_blank" rel="noopener">Licences</a>',
            "</header>",
            '<main id="graphiql"></main>',
            _script(vendor, "react.production.min.js"),
            _script(vendor, "react-dom.production.min.js"),
            _script(vendor, "graphiql.min.js"),
            _script(own, "kaigo-graphiql.js"),
            "</body>",
            "</html>",
            "",
        ]
    )


def page() -> Response:
    """The GraphiQL page (its CSP comes from api/http_surface.py, as for every page)."""
    return HTMLResponse(_page_html())


async def _file(request: Request) -> Response:
    name = request.path_params["name"]
    if name in OWN_FILES:
        path = HERE / name
    elif name.startswith("vendor/") and name.removeprefix("vendor/") in _vendored():
        path = VENDOR / name.removeprefix("vendor/")
    else:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


def _role_entry(example: Example) -> dict[str, Any]:
    role = policy().roles[example.role]
    return {
        "id": example.role if example.department is None else f"{example.role}:{example.department}",
        "role": example.role,
        "department": example.department,
        "ja": role.ja,
        "en": role.en,
        "example": example.query,
    }


def _roles(dev_tokens: DevKeys | None) -> Any:
    async def roles(request: Request) -> Response:
        """The roles of the picker: those with an example, less the trusted-documents roles (they run only
        registered documents, so GraphiQL's free text and introspection would be refused)."""
        trusted = clients().trusted_roles
        offered = [_role_entry(e) for e in examples() if e.role not in trusted]
        return JSONResponse({"tokens": dev_tokens is not None, "roles": offered})

    return roles


def _local(request: Request) -> bool:
    host = request.url.hostname or ""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _minter(keys: DevKeys) -> Any:
    async def mint(request: Request) -> Response:
        """A development token for ``{"role", "department"}`` (JSON): ``{"token", "role", "department",
        "expiresIn"}``. Only to the local machine (Host), only for JSON (a form of another site cannot
        post one without CORS allowing it)."""
        if not _local(request):
            return Refusal(403, "FORBIDDEN", "Development tokens are given to localhost only").response()
        if "application/json" not in request.headers.get("content-type", ""):
            return Refusal(400, BAD_REQUEST, "Unsupported content type").response()
        body = await request.body()
        try:
            asked = json.loads(body) if len(body) <= MAX_TOKEN_REQUEST_BYTES else None
        except ValueError:
            asked = None
        if not isinstance(asked, dict):
            return Refusal(400, BAD_REQUEST, "The request must be a JSON object").response()
        role, dept = asked.get("role"), asked.get("department")
        known = policy().roles.get(role) if isinstance(role, str) else None
        if known is None:
            return Refusal(400, BAD_REQUEST, "Unknown role").response()
        if dept is not None and (not isinstance(dept, str) or department(dept) is None):
            return Refusal(400, BAD_REQUEST, "Unknown department").response()
        if known.requires_department and dept is None:
            return Refusal(400, BAD_REQUEST, "This role needs a department").response()
        token = keys.issue_token(known.name, sub=f"dev-{known.name}", department=dept, ttl=TOKEN_TTL)
        return JSONResponse(
            {"token": token, "role": role, "department": dept, "expiresIn": int(TOKEN_TTL.total_seconds())}
        )

    return mint


def routes(*, graphql_ide: bool, dev_tokens: DevKeys | None) -> list[Route]:
    """The page's routes: none in production; the token route only with a development signing key."""
    if not graphql_ide:
        return []
    found = [
        Route("/graphiql/roles", _roles(dev_tokens), methods=["GET"]),
        Route("/graphiql/{name:path}", _file, methods=["GET"]),
    ]
    if dev_tokens is not None:
        found.insert(0, Route("/graphiql/token", _minter(dev_tokens), methods=["POST"]))
    return found
