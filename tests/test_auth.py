"""Authentication (api/auth/) and the dev identity (api/devkeys.py): no database needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import (
    AuthConfigurationError,
    AuthenticationError,
    AuthSettings,
    DevKeysRefusedError,
    TokenVerifier,
    unauthenticated_response,
)
from api.auth import verifier as verifier_module
from api.auth.keys import REGISTRIES
from api.devkeys import DEV_AUDIENCE, DEV_ISSUER, ensure_dev_keys, is_dev_jwks

ISSUER = "https://idp.city.example/realms/kaigo"
AUDIENCE = "kaigo-graph"
T0 = 1_750_000_000.0
ALL_READS = {"read_persons", "read_qualifications", "read_certifications", "read_benefits", "read_levies"}
SECTION_WRITES = {  # issue 18: the section's officers keep the file current
    "write_residents",
    "write_qualifications",
    "write_certifications",
    "write_levies",
    "write_benefits",
}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Keys:
    rsa: RSAKey
    ec: ECKey
    ed: OKPKey
    extra: dict[str, Key] = field(default_factory=dict)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64json(obj: Any) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(now: float = T0, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "staff-0042",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 600,
        "roles": ["kaigo_officer"],
    }
    for name, value in overrides.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def sign(key: Key, alg: str, payload: dict[str, Any], **header: Any) -> str:
    hdr: dict[str, Any] = {"alg": alg, "kid": key.kid}
    for name, value in header.items():
        if value is None:
            hdr.pop(name, None)
        else:
            hdr[name] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(hdr, payload, key, algorithms=[alg])


def hmac_token(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    signing_input = f"{_b64json(header)}.{_b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def bearer(token: str) -> Headers:
    return Headers(raw=[(b"authorization", f"Bearer {token}".encode("latin-1"))])


def public_jwk(key: Key) -> dict[str, Any]:
    return key.as_dict(private=False)


def write_jwks(path: Path, keys: list[dict[str, Any]]) -> None:
    """Write a JWKS and move its mtime forward so a change is seen even within one clock tick."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(json.dumps({"keys": keys}), encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


@pytest.fixture(scope="module")
def keys() -> Keys:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    ed = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
    rsa2 = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
    return Keys(rsa, ec, ed, {"rsa-2": rsa2})


@pytest.fixture
def jwks_path(tmp_path: Path, keys: Keys) -> Path:
    path = tmp_path / "jwks.json"
    oct_key = {"kty": "oct", "kid": "hmac-1", "k": _b64(b"s" * 32)}
    write_jwks(path, [public_jwk(keys.rsa), public_jwk(keys.ec), public_jwk(keys.ed), oct_key])
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_verifier(jwks_path: Path, clock: FakeClock) -> Iterator[Callable[..., TokenVerifier]]:
    def make(**settings: Any) -> TokenVerifier:
        values: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks_path}
        values.update(settings)
        return TokenVerifier(**values, clock=clock)

    yield make


@pytest.fixture
def verifier(make_verifier: Callable[..., TokenVerifier]) -> TokenVerifier:
    return make_verifier()


async def refused(
    verifier: TokenVerifier, headers: Headers, error: str = "invalid_token"
) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        await verifier.authenticate(headers)
    err = info.value
    assert err.error == error, err
    return err


def assert_no_leak(err: AuthenticationError, token: str) -> None:
    texts = [str(err), repr(err), err.description, *(str(a) for a in err.args)]
    segments = [s for s in token.split(".") if len(s) >= 8]
    for text in texts:
        assert token not in text
        for segment in segments:
            assert segment not in text
    assert err.__cause__ is None


# ---------------------------------------------------------------------------------------------
# valid tokens
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("which", "alg"), [("rsa", "RS256"), ("ec", "ES256"), ("ed", "EdDSA")])
async def test_valid_tokens_are_accepted(verifier: TokenVerifier, keys: Keys, which: str, alg: str) -> None:
    key = getattr(keys, which)
    token = sign(key, alg, claims(roles=["kaigo_number_officer"], azp="frontend"))
    principal = await verifier.authenticate(bearer(token))
    assert principal.subject == "staff-0042"
    assert principal.roles == frozenset({"kaigo_number_officer"})
    assert principal.duties == frozenset(
        {
            "number_use",
            "inquire",
            "handle_subject_requests",
            "read_legal_bases",
            *ALL_READS,
            *SECTION_WRITES,
            "write_individual_numbers",
        }
    )
    assert principal.client_name == "frontend"
    assert principal.department is None


async def test_audience_list_containing_ours_is_accepted(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ec, "ES256", claims(aud=["other-api", AUDIENCE]))
    assert (await verifier.authenticate(bearer(token))).duties == frozenset({*ALL_READS, *SECTION_WRITES})


async def test_duties_claim_is_ignored(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ed, "EdDSA", claims(roles=["system_operator"], duties=["number_use", "read_persons"]))
    principal = await verifier.authenticate(bearer(token))
    assert principal.duties == frozenset({"read_schema"})


async def test_receiving_department_claims(verifier: TokenVerifier, keys: Keys) -> None:
    good = sign(keys.rsa, "RS256", claims(roles=["receiving_department"], department="seikatsu_fukushi"))
    principal = await verifier.authenticate(bearer(good))
    assert principal.department == "seikatsu_fukushi"
    assert principal.duties == frozenset({"request_transfer", "receive_transfer"})
    none = sign(keys.rsa, "RS256", claims(roles=["receiving_department"]))
    assert (await verifier.authenticate(bearer(none))).duties == frozenset()
    bad = sign(keys.rsa, "RS256", claims(roles=["receiving_department"], department="somewhere_else"))
    assert (await verifier.authenticate(bearer(bad))).duties == frozenset()


async def test_a_token_with_no_known_role_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    """A signed token for nothing this service knows is not a viewer (issue 16: ``superuser`` was)."""
    token = sign(keys.rsa, "RS256", claims(roles=["root", "superuser"]))
    err = await refused(verifier, bearer(token), "insufficient_scope")
    response = unauthenticated_response(err)
    assert response.status_code == 403
    assert json.loads(bytes(response.body))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    mixed = sign(keys.rsa, "RS256", claims(roles=["superuser", "kaigo_officer"]))
    assert (await verifier.authenticate(bearer(mixed))).roles == frozenset({"kaigo_officer"})


async def test_leeway_tolerates_small_clock_skew(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ec, "ES256", claims(exp=int(T0) - 10, iat=int(T0) + 10, nbf=int(T0) + 10))
    assert (await verifier.authenticate(bearer(token))).subject == "staff-0042"


async def test_scheme_is_case_insensitive(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ec, "ES256", claims())
    headers = Headers(raw=[(b"authorization", f"bearer {token}".encode())])
    assert (await verifier.authenticate(headers)).subject == "staff-0042"


# ---------------------------------------------------------------------------------------------
# hostile tokens
# ---------------------------------------------------------------------------------------------


async def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64json({'alg': alg, 'kid': 'rsa-1'})}.{_b64json(claims())}."
        err = await refused(verifier, bearer(unsigned))
        assert_no_leak(err, unsigned)
        # The same with some bytes in the signature slot.
        forged = unsigned + _b64(b"x" * 32)
        err = await refused(verifier, bearer(forged))
        assert err.description == "Token algorithm is not accepted"


async def test_hs256_with_rsa_public_key_as_secret_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    pem = keys.rsa.as_pem(private=False)
    n_bytes = base64.urlsafe_b64decode(public_jwk(keys.rsa)["n"] + "==")
    jwk_json = json.dumps(public_jwk(keys.rsa)).encode()
    for secret in (pem, n_bytes, jwk_json):
        for alg in ("HS256", "HS384", "HS512"):
            token = hmac_token(secret, {"alg": alg, "kid": "rsa-1", "typ": "JWT"}, claims())
            err = await refused(verifier, bearer(token))
            assert err.description == "Token algorithm is not accepted"
            assert_no_leak(err, token)


def test_pinned_registries_never_run_hmac(keys: Keys) -> None:
    """Defence in depth: even past our header check, the library is pinned to the key's algorithm."""
    token = hmac_token(keys.rsa.as_pem(private=False), {"alg": "HS256", "kid": "rsa-1"}, claims())
    for alg, key in (("RS256", keys.rsa), ("ES256", keys.ec), ("EdDSA", keys.ed)):
        with pytest.raises(JoseError):
            jwt.decode(token, key, registry=REGISTRIES[alg])
    assert set(REGISTRIES) == {"RS256", "ES256", "EdDSA"}


async def test_oct_keys_in_the_jwks_are_never_loaded(verifier: TokenVerifier) -> None:
    token = hmac_token(b"s" * 32, {"alg": "HS256", "kid": "hmac-1"}, claims())
    assert (await refused(verifier, bearer(token))).description == "Token algorithm is not accepted"
    disguised = hmac_token(b"s" * 32, {"alg": "RS256", "kid": "hmac-1"}, claims())
    assert (await refused(verifier, bearer(disguised))).description == "Token signing key is unknown"


@pytest.mark.parametrize(
    ("header_alg", "kid", "signer"),
    [("RS256", "ec-1", "ec"), ("ES256", "rsa-1", "rsa"), ("EdDSA", "ec-1", "ec"), ("RS256", "ed-1", "ed")],
)
async def test_algorithm_must_match_the_key_type(
    verifier: TokenVerifier, keys: Keys, header_alg: str, kid: str, signer: str
) -> None:
    # Signed with the real algorithm of the key, then the header is relabelled.
    real_alg = {"rsa": "RS256", "ec": "ES256", "ed": "EdDSA"}[signer]
    token = sign(getattr(keys, signer), real_alg, claims())
    _, payload, signature = token.split(".")
    relabelled = f"{_b64json({'alg': header_alg, 'kid': kid})}.{payload}.{signature}"
    err = await refused(verifier, bearer(relabelled))
    assert err.description == "Token algorithm does not match its key"


async def test_es256_signature_on_an_rsa_kid_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ec, "ES256", claims(), kid="rsa-1")
    assert (await refused(verifier, bearer(token))).description == "Token algorithm does not match its key"


async def test_signature_by_another_key_of_the_same_type_is_refused(
    verifier: TokenVerifier, keys: Keys
) -> None:
    token = sign(keys.extra["rsa-2"], "RS256", claims(), kid="rsa-1")
    err = await refused(verifier, bearer(token))
    assert err.description == "Token signature is invalid"
    assert_no_leak(err, token)


async def test_tampered_payload_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ed, "EdDSA", claims(roles=["kaigo_officer"]))
    head, _, sig = token.split(".")
    forged = f"{head}.{_b64json(claims(roles=['kaigo_number_officer']))}.{sig}"
    assert (await refused(verifier, bearer(forged))).description == "Token signature is invalid"


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"exp": int(T0) - 100}, "Token has expired"),
        ({"exp": None}, "Token has no valid expiry"),
        ({"exp": "tomorrow"}, "Token has no valid expiry"),
        ({"exp": True}, "Token has no valid expiry"),
        ({"nbf": int(T0) + 120}, "Token is not yet valid"),
        ({"iat": int(T0) + 120}, "Token was issued in the future"),
        ({"iss": "https://evil.example"}, "Token issuer is not accepted"),
        ({"iss": None}, "Token issuer is not accepted"),
        ({"aud": "another-api"}, "Token audience is not accepted"),
        ({"aud": ["a", "b"]}, "Token audience is not accepted"),
        ({"aud": None}, "Token audience is not accepted"),
        ({"sub": None}, "Token has no subject"),
        ({"sub": ""}, "Token has no subject"),
        ({"sub": 42}, "Token has no subject"),
        ({"roles": None}, "Token has no roles"),
        ({"roles": []}, "Token has no roles"),
        ({"roles": "kaigo_officer"}, "Token has no roles"),
        ({"roles": ["kaigo_officer", 7]}, "Token has no roles"),
        ({"department": ["seikatsu_fukushi"]}, "Token claim is malformed: department"),
        ({"client_name": {"x": 1}}, "Token claim is malformed: client_name"),
    ],
)
async def test_bad_claims_are_refused(
    verifier: TokenVerifier, keys: Keys, overrides: dict[str, Any], description: str
) -> None:
    token = sign(keys.rsa, "RS256", claims(**overrides))
    err = await refused(verifier, bearer(token))
    assert err.description == description
    assert_no_leak(err, token)
    for value in overrides.values():
        if isinstance(value, str) and value:
            assert value not in err.description


async def test_unknown_kid_and_missing_kid(verifier: TokenVerifier, keys: Keys) -> None:
    unknown = sign(keys.rsa, "RS256", claims(), kid="rsa-9")
    assert (await refused(verifier, bearer(unknown))).description == "Token signing key is unknown"
    missing = sign(keys.rsa, "RS256", claims(), kid=None)
    assert (await refused(verifier, bearer(missing))).description == "Token has no key id"
    empty = sign(keys.rsa, "RS256", claims(), kid="")
    assert (await refused(verifier, bearer(empty))).description == "Token has no key id"


def rs256_raw(key: RSAKey, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Sign with RS256 without any library checks on the header."""
    signing_input = f"{_b64json(header)}.{_b64json(payload)}"
    private = key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


async def test_unsupported_critical_header_is_refused(verifier: TokenVerifier, keys: Keys) -> None:
    header = {"alg": "RS256", "kid": "rsa-1", "crit": ["urn:example:policy"], "urn:example:policy": 1}
    token = rs256_raw(keys.rsa, header, claims())
    plain = rs256_raw(keys.rsa, {"alg": "RS256", "kid": "rsa-1"}, claims())
    assert await verifier.authenticate(bearer(plain))  # the hand-made signature itself is good
    assert (await refused(verifier, bearer(token))).description == "Token uses unsupported header parameters"


async def test_malformed_tokens_are_refused(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ec, "ES256", claims())
    head, payload, sig = token.split(".")
    cases = {
        token[:-12]: "invalid_token",  # truncated signature
        f"{head}.{payload}": "invalid_token",  # two segments
        f"{head}.{payload}.{sig}.{sig}": "invalid_token",
        token[: len(head) // 2]: "invalid_token",
        "garbage": "invalid_token",
        "a.b.c": "invalid_token",
        f"{_b64(b'[1,2]')}.{payload}.{sig}": "invalid_token",  # header not an object
        f"{_b64(b'not json')}.{payload}.{sig}": "invalid_token",
        "x" * 9000: "invalid_token",
        "tok en": "invalid_request",
        "tok,en": "invalid_request",
        "tøken": "invalid_request",
    }
    for value, error in cases.items():
        headers = Headers(raw=[(b"authorization", f"Bearer {value}".encode())])
        err = await refused(verifier, headers, error)
        assert_no_leak(err, value)


async def test_header_shapes(verifier: TokenVerifier, keys: Keys) -> None:
    token = sign(keys.ec, "ES256", claims())

    err = await refused(verifier, Headers(raw=[]), "invalid_request")
    assert err.credentials_missing

    for empty in (b"Bearer ", b"Bearer", b"Bearer    "):
        err = await refused(verifier, Headers(raw=[(b"authorization", empty)]), "invalid_request")
        assert not err.credentials_missing
        assert err.description == "Bearer token is empty"

    basic = base64.b64encode(b"staff:password").decode()
    err = await refused(
        verifier, Headers(raw=[(b"authorization", f"Basic {basic}".encode())]), "invalid_request"
    )
    assert err.credentials_missing
    assert basic not in repr(err)

    twice = Headers(raw=[(b"authorization", f"Bearer {token}".encode()), (b"authorization", b"Bearer x.y.z")])
    err = await refused(verifier, twice, "invalid_request")
    assert err.description == "Only one Authorization header is allowed"
    assert_no_leak(err, token)

    # The same valid token twice is still two headers.
    same = Headers(raw=[(b"authorization", f"Bearer {token}".encode())] * 2)
    await refused(verifier, same, "invalid_request")


# ---------------------------------------------------------------------------------------------
# rotation and caching
# ---------------------------------------------------------------------------------------------


async def test_new_key_in_the_file_is_picked_up(
    verifier: TokenVerifier, jwks_path: Path, keys: Keys, clock: FakeClock
) -> None:
    new = keys.extra["rsa-2"]
    token = sign(new, "RS256", claims())
    await refused(verifier, bearer(token))  # not yet published

    write_jwks(jwks_path, [public_jwk(keys.rsa), public_jwk(new)])
    clock.advance(0.5)
    await refused(verifier, bearer(token))  # the file is looked at no more than once a second
    clock.advance(1.0)
    assert (await verifier.authenticate(bearer(token))).subject == "staff-0042"


async def test_removed_key_is_refused_even_while_cached(
    verifier: TokenVerifier, jwks_path: Path, keys: Keys, clock: FakeClock
) -> None:
    token = sign(keys.ec, "ES256", claims())
    await verifier.authenticate(bearer(token))
    assert verifier.cached_tokens == 1

    write_jwks(jwks_path, [public_jwk(keys.rsa), public_jwk(keys.ed)])
    clock.advance(2)  # well inside the 60 s token cache
    assert (await refused(verifier, bearer(token))).description == "Token signing key is unknown"
    # The other keys still work.
    assert await verifier.authenticate(bearer(sign(keys.ed, "EdDSA", claims(iat=int(clock.now)))))


async def test_unreadable_rewrite_keeps_the_old_keys(
    verifier: TokenVerifier, jwks_path: Path, keys: Keys, clock: FakeClock
) -> None:
    jwks_path.write_text('{"keys": [', encoding="utf-8")  # caught mid-write
    os.utime(jwks_path, ns=(1, 1))
    clock.advance(2)
    assert await verifier.authenticate(bearer(sign(keys.rsa, "RS256", claims())))


async def test_cache_is_used_then_expires(
    verifier: TokenVerifier, keys: Keys, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sign(keys.rsa, "RS256", claims(exp=int(T0) + 3600))
    await verifier.authenticate(bearer(token))

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise JoseError("decode must not be called")

    monkeypatch.setattr(verifier_module.jwt, "decode", boom)
    clock.advance(59)
    assert (await verifier.authenticate(bearer(token))).subject == "staff-0042"  # served from cache
    clock.advance(2)
    await refused(verifier, bearer(token))  # 61 s later it is verified again


async def test_cache_never_outlives_exp(
    make_verifier: Callable[..., TokenVerifier], keys: Keys, clock: FakeClock
) -> None:
    verifier = make_verifier(leeway_seconds=0)
    token = sign(keys.ed, "EdDSA", claims(exp=int(T0) + 20))
    await verifier.authenticate(bearer(token))
    clock.advance(19)
    await verifier.authenticate(bearer(token))
    clock.advance(1)
    assert (await refused(verifier, bearer(token))).description == "Token has expired"


async def test_cache_is_bounded_and_keyed_by_digest(
    make_verifier: Callable[..., TokenVerifier], keys: Keys
) -> None:
    verifier = make_verifier(token_cache_size=2)
    tokens = [sign(keys.rsa, "RS256", claims(sub=f"staff-{i}")) for i in range(3)]
    for token in tokens:
        await verifier.authenticate(bearer(token))
    assert verifier.cached_tokens == 2
    stored = list(verifier._cache)
    assert stored == [hashlib.sha256(t.encode()).hexdigest() for t in tokens[1:]]  # oldest evicted
    for token in tokens:
        assert all(token not in key for key in stored)


async def test_url_jwks_cache_and_refetch_on_unknown_kid(keys: Keys, clock: FakeClock) -> None:
    published: list[dict[str, Any]] = [public_jwk(keys.rsa)]
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return httpx.Response(200, json={"keys": published})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    settings = AuthSettings(issuer=ISSUER, audience=AUDIENCE, jwks="https://idp.city.example/jwks")
    verifier = TokenVerifier.from_settings(settings, clock=clock, http_client=client)
    try:
        await verifier.authenticate(bearer(sign(keys.rsa, "RS256", claims())))
        assert len(requests) == 1
        await verifier.authenticate(bearer(sign(keys.rsa, "RS256", claims(sub="b"))))
        assert len(requests) == 1  # cached

        ec_token = sign(keys.ec, "ES256", claims())
        await refused(verifier, bearer(ec_token))  # fetched just now: no refetch
        assert len(requests) == 1
        clock.advance(10)
        await refused(verifier, bearer(ec_token))  # unknown kid → one immediate refetch
        assert len(requests) == 2
        published.append(public_jwk(keys.ec))
        clock.advance(5)
        await refused(verifier, bearer(ec_token))  # within 10 s: no second refetch
        assert len(requests) == 2
        clock.advance(6)
        assert await verifier.authenticate(bearer(ec_token))
        assert len(requests) == 3

        clock.advance(301)  # the 5-minute cache expires
        late = claims(sub="c", iat=int(clock.now), exp=int(clock.now) + 600)
        await verifier.authenticate(bearer(sign(keys.rsa, "RS256", late)))
        assert len(requests) == 4
    finally:
        await client.aclose()


async def test_url_jwks_failure_keeps_old_keys(keys: Keys, clock: FakeClock) -> None:
    state = {"fail": False, "calls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        state["calls"] += 1
        if state["fail"]:
            return httpx.Response(503)
        return httpx.Response(200, json={"keys": [public_jwk(keys.ed)]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    settings = AuthSettings(issuer=ISSUER, audience=AUDIENCE, jwks="https://idp.city.example/jwks")
    verifier = TokenVerifier.from_settings(settings, clock=clock, http_client=client)
    try:
        await verifier.prime()
        state["fail"] = True
        clock.advance(400)
        token = sign(keys.ed, "EdDSA", claims(iat=int(clock.now), exp=int(clock.now) + 600))
        assert await verifier.authenticate(bearer(token))
        calls = state["calls"]
        await verifier.authenticate(bearer(sign(keys.ed, "EdDSA", claims(sub="z", iat=int(clock.now)))))
        assert state["calls"] == calls  # backing off, not hammering the IdP
    finally:
        await client.aclose()


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


def test_configuration_errors(tmp_path: Path, jwks_path: Path) -> None:
    with pytest.raises(AuthConfigurationError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[]", encoding="utf-8")
    with pytest.raises(AuthConfigurationError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=tmp_path / "bad.json")
    (tmp_path / "hmac.json").write_text(json.dumps({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}))
    with pytest.raises(AuthConfigurationError, match="no usable"):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=tmp_path / "hmac.json")
    with pytest.raises(AuthConfigurationError, match="https"):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks="http://idp.example/jwks", refuse_dev_keys=True)
    with pytest.raises(AuthConfigurationError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_path, leeway_seconds=-1)


def test_small_rsa_and_wrong_curves_are_not_loaded(tmp_path: Path, keys: Keys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        small = RSAKey.generate_key(1024, parameters={"kid": "small"}, private=False)
    p384 = ECKey.generate_key("P-384", parameters={"kid": "p384"}, private=False)
    mislabelled = dict(public_jwk(keys.ec), alg="RS256")
    path = tmp_path / "jwks.json"
    write_jwks(path, [public_jwk(small), public_jwk(p384), mislabelled, public_jwk(keys.ed)])
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=path)
    assert set(verifier._source.keys) == {"ed-1"}


# ---------------------------------------------------------------------------------------------
# dev keys
# ---------------------------------------------------------------------------------------------


async def test_dev_keys_round_trip(tmp_path: Path) -> None:
    dev = ensure_dev_keys(tmp_path)
    assert stat.S_IMODE(dev.private_key_path.stat().st_mode) == 0o600
    assert dev.private_key_path.parent == tmp_path / "identity"
    doc = json.loads(dev.jwks_path.read_text(encoding="utf-8"))
    assert [k["kid"] for k in doc["keys"]] == [dev.kid]
    assert "d" not in doc["keys"][0]
    assert OKPKey.import_key(doc["keys"][0]).thumbprint() == dev.kid  # RFC 7638
    assert is_dev_jwks(dev.jwks_path) and is_dev_jwks(doc)
    assert "PRIVATE" not in repr(dev)

    again = ensure_dev_keys(tmp_path)
    assert again.kid == dev.kid

    verifier = TokenVerifier(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=dev.jwks_path)
    token = dev.issue_token(["kaigo_section_chief"], sub="dev-chief")
    principal = await verifier.authenticate(bearer(token))
    assert principal.subject == "dev-chief"
    assert "review_provisions" in principal.duties and "number_use" in principal.duties

    dept = dev.issue_token("receiving_department", sub="dev-dept", department="bosai_kiki_kanri")
    assert (await verifier.authenticate(bearer(dept))).duties == {"request_transfer", "receive_transfer"}


def test_is_dev_jwks_on_other_documents(jwks_path: Path, tmp_path: Path) -> None:
    assert not is_dev_jwks(jwks_path)
    assert not is_dev_jwks(tmp_path / "missing.json")
    assert not is_dev_jwks({"keys": [{"kty": "OKP", "kaigo_dev": False}]})
    assert is_dev_jwks({"keys": [{"kty": "OKP", "kaigo_dev": "true"}]})


def test_production_refuses_the_dev_jwks(tmp_path: Path) -> None:
    dev = ensure_dev_keys(tmp_path)
    with pytest.raises(DevKeysRefusedError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=dev.jwks_path, refuse_dev_keys=True)
    with pytest.raises(AuthConfigurationError):
        TokenVerifier(issuer=DEV_ISSUER, audience=AUDIENCE, jwks=tmp_path, refuse_dev_keys=True)


async def test_production_refuses_dev_issuer_tokens_and_a_dev_jwks_swapped_in(
    tmp_path: Path, jwks_path: Path, keys: Keys, clock: FakeClock
) -> None:
    settings = AuthSettings(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_path, refuse_dev_keys=True)
    verifier = TokenVerifier.from_settings(settings, clock=clock)
    dev_iss = sign(keys.rsa, "RS256", claims(iss=DEV_ISSUER))
    assert (await refused(verifier, bearer(dev_iss))).description == "Token issuer is not accepted"

    dev = ensure_dev_keys(tmp_path / "data")
    jwks_path.write_bytes(dev.jwks_path.read_bytes())
    os.utime(jwks_path, ns=(10**18, 10**18))
    clock.advance(2)
    token = dev.issue_token("kaigo_officer", sub="x", issuer=ISSUER, audience=AUDIENCE)
    await refused(verifier, bearer(token))
    # Fail closed: even the keys trusted before are dropped.
    await refused(verifier, bearer(sign(keys.rsa, "RS256", claims(iat=int(clock.now)))))


async def test_production_refuses_a_dev_jwks_served_by_url(tmp_path: Path) -> None:
    dev = ensure_dev_keys(tmp_path)
    doc = json.loads(dev.jwks_path.read_text(encoding="utf-8"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=doc)))
    settings = AuthSettings(
        issuer=ISSUER, audience=AUDIENCE, jwks="https://idp.city.example/jwks", refuse_dev_keys=True
    )
    verifier = TokenVerifier.from_settings(settings, http_client=client)
    try:
        with pytest.raises(DevKeysRefusedError):
            await verifier.prime()
        token = dev.issue_token("kaigo_officer", sub="x", issuer=ISSUER, audience=AUDIENCE)
        await refused(verifier, bearer(token))
    finally:
        await client.aclose()


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def test_unauthenticated_response_for_missing_credentials() -> None:
    response = unauthenticated_response(
        AuthenticationError("invalid_request", "Authentication required", credentials_missing=True)
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="kaigo-graph"'
    assert response.headers["content-type"] == "application/json"
    assert json.loads(bytes(response.body)) == {
        "data": None,
        "errors": [
            {
                "message": "Authentication required. Send `Authorization: Bearer <token>` with a token from "
                "the city's identity provider.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }


def test_unauthenticated_response_for_bad_token_and_bad_request() -> None:
    bad = unauthenticated_response(AuthenticationError("invalid_token", "Token has expired"))
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == (
        'Bearer realm="kaigo-graph", error="invalid_token", error_description="Token has expired"'
    )
    assert json.loads(bytes(bad.body))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    dup = unauthenticated_response(
        AuthenticationError("invalid_request", "Only one Authorization header is allowed")
    )
    assert dup.status_code == 400
    assert 'error="invalid_request"' in dup.headers["www-authenticate"]
    assert json.loads(bytes(dup.body))["data"] is None

    odd = unauthenticated_response(AuthenticationError("invalid_token", 'quote " back\\slash\nnewline'))
    assert '"' not in odd.headers["www-authenticate"].split("error_description=")[1][1:-1]


async def test_through_a_starlette_app(verifier: TokenVerifier, keys: Keys) -> None:
    async def whoami(request: Request) -> Response:
        try:
            principal = await verifier.authenticate(request.headers)
        except AuthenticationError as err:
            return unauthenticated_response(err)
        return JSONResponse({"sub": principal.subject, "duties": sorted(principal.duties)})

    app = Starlette(routes=[Route("/whoami", whoami)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        token = sign(keys.ed, "EdDSA", claims(roles=["security_auditor"]))
        ok = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert ok.json() == {"sub": "staff-0042", "duties": ["read_audit"]}

        missing = await client.get("/whoami")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="kaigo-graph"'
        assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        expired = sign(keys.ed, "EdDSA", claims(exp=int(T0) - 3600))
        bad = await client.get("/whoami", headers={"Authorization": f"Bearer {expired}"})
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
        assert expired not in bad.text

        twice = await client.get(
            "/whoami", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
        )
        assert twice.status_code == 400
        assert 'error="invalid_request"' in twice.headers["www-authenticate"]


def test_verifier_repr_shows_no_keys(verifier: TokenVerifier, keys: Keys) -> None:
    text = repr(verifier)
    assert public_jwk(keys.rsa)["n"][:20] not in text
    assert "TokenVerifier(" in text
