"""An identity provider named by its issuer alone: OpenID Connect discovery against a real HTTP server.

The provider is a ``ThreadingHTTPServer`` on a loopback port serving ``/.well-known/openid-configuration``
and the JWKS it names, as Keycloak lays them out; the verifier finds the keys from the issuer URL only.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, RSAKey
from starlette.datastructures import Headers

from api.auth import AuthConfigurationError, AuthenticationError, TokenVerifier
from api.runtime import build_authenticator
from api.settings import Settings

AUDIENCE = "kaigo-graph"
T0 = 1_750_000_000.0


@dataclass
class Provider:
    """What the local identity provider serves: path → (status, body); and the paths asked for."""

    base: str
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base}/realms/kaigo"

    def serve_json(self, path: str, document: Any, status: int = 200) -> None:
        self.routes[path] = (status, json.dumps(document).encode())

    def publish(self, *keys: Key, discovery: dict[str, Any] | None = None) -> None:
        """The discovery document (by default the issuer's own) and a JWKS of ``keys``."""
        jwks_path = "/realms/kaigo/protocol/openid-connect/certs"
        self.serve_json(
            "/realms/kaigo/.well-known/openid-configuration",
            discovery
            if discovery is not None
            else {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/protocol/openid-connect/auth",
                "token_endpoint": f"{self.issuer}/protocol/openid-connect/token",
                "jwks_uri": f"{self.base}{jwks_path}",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            },
        )
        self.serve_json(jwks_path, {"keys": [k.as_dict(private=False) for k in keys]})


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.asked.append(self.path)
            status, body = state.routes.get(self.path, (404, b'{"error": "not found"}'))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def rsa() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "idp-rsa-1"})


def token(key: Key, alg: str, issuer: str, now: float, **claims: Any) -> str:
    payload = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "staff-0042",
        "iat": int(now),
        "exp": int(now) + 600,
        "roles": ["kaigo_officer"],
        **claims,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])


def bearer(value: str) -> Headers:
    return Headers(raw=[(b"authorization", f"Bearer {value}".encode("latin-1"))])


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def test_the_issuer_alone_configures_the_verifier(
    provider: Provider, rsa: RSAKey, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    provider.publish(rsa)
    for name in ("KAIGO_JWKS", "KAIGO_JWT_ISSUER", "KAIGO_JWT_AUDIENCE", "AUTHLIB_INSECURE_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAIGO_ENV", "production")  # no development key to fall back on
    monkeypatch.setenv("KAIGO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KAIGO_OIDC_ISSUER", provider.issuer)
    verifier = build_authenticator(Settings.from_env())
    try:
        await verifier.prime()
        assert provider.asked == [
            "/realms/kaigo/.well-known/openid-configuration",
            "/realms/kaigo/protocol/openid-connect/certs",
        ]
        principal = await verifier.authenticate(bearer(token(rsa, "RS256", provider.issuer, time.time())))
        assert principal.subject == "staff-0042"
        assert "kaigo_officer" in principal.roles
        # The issuer is the configured one, not merely one the provider could sign for.
        with pytest.raises(AuthenticationError, match="issuer"):
            await verifier.authenticate(
                bearer(token(rsa, "RS256", f"{provider.base}/realms/other", time.time()))
            )
        assert not list(tmp_path.iterdir())  # no development key was made
    finally:
        await verifier.aclose()


async def test_a_rotated_key_is_found_through_the_discovered_jwks(provider: Provider, rsa: RSAKey) -> None:
    provider.publish(rsa)
    clock = Clock()
    verifier = TokenVerifier(issuer=provider.issuer, audience=AUDIENCE, clock=clock)
    try:
        await verifier.prime()
        ec = ECKey.generate_key("P-256", parameters={"kid": "idp-ec-2"})
        provider.publish(rsa, ec)
        clock.now += 11  # past the refetch interval for an unknown kid
        principal = await verifier.authenticate(bearer(token(ec, "ES256", provider.issuer, clock.now)))
        assert principal.subject == "staff-0042"
        # Discovered once; the JWKS fetched again.
        assert provider.asked.count("/realms/kaigo/.well-known/openid-configuration") == 1
        assert provider.asked.count("/realms/kaigo/protocol/openid-connect/certs") == 2
    finally:
        await verifier.aclose()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: {"issuer": f"{p.base}/realms/other", "jwks_uri": f"{p.base}/certs"}, "another issuer"),
        (lambda p: {"issuer": p.issuer}, "jwks_uri"),
        (lambda p: {"issuer": p.issuer, "jwks_uri": "http://idp.city.example/certs"}, "https"),
        (lambda p: {"issuer": f"{p.issuer}?x=1", "jwks_uri": f"{p.base}/certs"}, "query or fragment"),
        (lambda p: ["not", "an", "object"], "not a JSON object"),
    ],
    ids=["another-issuer", "no-jwks-uri", "plain-http-jwks", "issuer-with-query", "not-an-object"],
)
async def test_a_discovery_document_that_does_not_check_out_stops_the_start(
    provider: Provider, rsa: RSAKey, change: Any, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    provider.publish(rsa, discovery=change(provider))
    verifier = TokenVerifier(issuer=provider.issuer, audience=AUDIENCE)
    try:
        with pytest.raises(AuthConfigurationError, match=message):
            await verifier.prime()
        assert "/realms/kaigo/protocol/openid-connect/certs" not in provider.asked
    finally:
        await verifier.aclose()


async def test_an_issuer_that_does_not_answer_is_retried_after_a_backoff(
    provider: Provider, rsa: RSAKey
) -> None:
    provider.serve_json("/realms/kaigo/.well-known/openid-configuration", {"error": "starting"}, status=503)
    clock = Clock()
    verifier = TokenVerifier(issuer=provider.issuer, audience=AUDIENCE, clock=clock)
    try:
        with pytest.raises(AuthConfigurationError, match="HTTP 503"):
            await verifier.prime()
        provider.publish(rsa)
        signed = token(rsa, "RS256", provider.issuer, clock.now)
        with pytest.raises(AuthenticationError, match="unknown"):  # still backing off: nothing trusted
            await verifier.authenticate(bearer(signed))
        assert provider.asked.count("/realms/kaigo/.well-known/openid-configuration") == 1
        clock.now += 11
        assert (await verifier.authenticate(bearer(signed))).subject == "staff-0042"
    finally:
        await verifier.aclose()


def test_the_issuer_with_another_source_of_keys_is_refused(tmp_path: Any) -> None:
    issuer = "https://idp.city.example/realms/kaigo"
    with pytest.raises(SystemExit, match="not both"):
        build_authenticator(Settings(data_dir=tmp_path, oidc_issuer=issuer, jwks="/etc/jwks.json"))
    with pytest.raises(SystemExit, match="KAIGO_JWT_ISSUER"):
        build_authenticator(
            Settings(data_dir=tmp_path, oidc_issuer=issuer, jwt_issuer="https://other.example")
        )
    with pytest.raises(AuthConfigurationError, match="https"):
        build_authenticator(
            Settings(env="production", data_dir=tmp_path, oidc_issuer="http://idp.city.example/r")
        )
