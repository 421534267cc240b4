"""Authentication: verify a Bearer JWT against a JWKS and turn it into a ``Principal``.

What we accept is decided here, not by the token:

- signature algorithms RS256, ES256 and EdDSA only, and each key verifies with exactly one of them
  (RSA ≥ 2048 bits → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA). ``none``, HS* and anything else
  are refused before a key is even looked up; symmetric (``oct``) keys in a JWKS are never loaded,
  so no public key can be used as an HMAC secret;
- the key is chosen by the header's ``kid`` (required) from our JWKS only (``jku``/``jwk``/``x5u``
  headers are ignored);
- ``iss``, ``aud``, ``exp``, ``sub`` and a non-empty ``roles`` list are required; ``nbf`` and ``iat``
  are checked when present, all with a small leeway;
- the token names roles only; duties come from ``policies.roles`` (a ``duties`` claim is ignored).

Keys rotate without a restart: a JWKS file is re-read when its mtime/size/inode changes (checked at
most once per second); a JWKS URL is cached (5 minutes by default) and refetched at once, at most every
10 s, when a token names an unknown ``kid``. Verified tokens are cached briefly, keyed by the SHA-256
of the token (never the token), and dropped when their key leaves the JWKS.

Error descriptions are fixed strings: they never contain the token, a claim value or key material.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSAlgModel, JWSRegistry
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from api.devkeys import DEV_ISSUER, is_dev_jwks
from policies.principals import Principal
from policies.roles import principal_from_claims, unknown_roles
from resolvers.errors import language
from schema.errors import UNAUTHENTICATED, localize, token_hint

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REALM",
    "AuthConfigurationError",
    "AuthSettings",
    "AuthenticationError",
    "DevKeysRefusedError",
    "TokenVerifier",
    "unauthenticated_response",
]

logger = logging.getLogger("kaigo.auth")

REALM = "kaigo-graph"
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "ES256", "EdDSA"})
MIN_RSA_BITS = 2048
MAX_TOKEN_LENGTH = 8192
MAX_JWKS_BYTES = 1 << 20
FILE_CHECK_INTERVAL = 1.0
UNKNOWN_KID_REFETCH_INTERVAL = 10.0
FETCH_FAILURE_BACKOFF = 10.0
_MAX_CLAIM_LENGTH = 256
_MAX_ROLES = 64

# RFC 6750 b64token; a JWT only uses base64url and dots, which this admits.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_B64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")

ErrorCode = Literal["invalid_request", "invalid_token", "insufficient_scope"]


class AuthenticationError(Exception):
    """A request could not be authenticated.

    ``error`` is the RFC 6750 code: ``invalid_request`` for a missing, malformed or repeated
    Authorization header, ``invalid_token`` for anything about the token. ``description`` is short
    and safe to show a client. ``credentials_missing`` is true when no Bearer credentials were sent
    at all (no header, or another scheme): the challenge then carries no error code (RFC 6750 §3.1).
    """

    def __init__(self, error: ErrorCode, description: str, *, credentials_missing: bool = False) -> None:
        super().__init__(error, description)
        self.error: ErrorCode = error
        self.description = description
        self.credentials_missing = credentials_missing
        # where `kaigo token` finds the key this server trusts (development), for the answer's hint
        self.dev_data_dir: str | None = None

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"

    def __repr__(self) -> str:
        return f"AuthenticationError(error={self.error!r}, description={self.description!r})"


class AuthConfigurationError(Exception):
    """The authentication settings cannot be used (e.g. a dev JWKS in production, unreadable JWKS)."""


class DevKeysRefusedError(AuthConfigurationError):
    """A development JWKS was configured (or appeared) while dev keys are refused (production)."""


def _invalid_token(description: str) -> AuthenticationError:
    return AuthenticationError("invalid_token", description)


def _invalid_request(description: str) -> AuthenticationError:
    return AuthenticationError("invalid_request", description)


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthSettings:
    """What the verifier trusts (the keyword arguments of ``TokenVerifier``).

    ``jwks`` is a file path or an http(s) URL. ``refuse_dev_keys`` is set in production: the dev
    JWKS (api.devkeys) and tokens with ``iss = DEV_ISSUER`` are then refused. Reading these from the
    environment is api.settings' job.
    """

    issuer: str
    audience: str
    jwks: str | os.PathLike[str]
    leeway_seconds: float = 30.0
    refuse_dev_keys: bool = False
    jwks_cache_seconds: float = 300.0
    token_cache_seconds: float = 60.0
    token_cache_size: int = 10_000


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


class _PinnedRegistry(JWSRegistry):
    """A JWS registry that admits exactly one algorithm, the one our key dictates.

    joserfc warns on every ``EdDSA`` use (RFC 9864 deprecates the name in favour of ``Ed25519``);
    we allow it on purpose, so ``get_alg`` skips that warning.
    """

    def __init__(self, algorithm: str) -> None:
        if algorithm not in ALLOWED_ALGORITHMS:
            raise ValueError(f"algorithm {algorithm!r} is not allowed")
        super().__init__(algorithms=[algorithm], strict_check_header=False)
        self.algorithm = algorithm

    def get_alg(self, name: str) -> JWSAlgModel:
        if name != self.algorithm:
            raise UnsupportedAlgorithmError("algorithm not allowed for this key")
        return self.algorithms[name]


_REGISTRIES: dict[str, _PinnedRegistry] = {alg: _PinnedRegistry(alg) for alg in ALLOWED_ALGORITHMS}


@dataclass(frozen=True)
class _VerificationKey:
    kid: str
    alg: str
    key: Key
    thumbprint: str


class _UnusableKey(Exception):
    pass


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _import_public_key(kid: str, raw: Mapping[str, Any]) -> _VerificationKey:
    """Import only the public members of one JWK and bind it to its single algorithm."""
    use = raw.get("use")
    if use is not None and use != "sig":
        raise _UnusableKey("not a signature key")
    key_ops = raw.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise _UnusableKey("key_ops does not allow verify")
    kty = raw.get("kty")
    key: Key
    if kty == "RSA":
        n, e = raw["n"], raw["e"]
        if not isinstance(n, str) or _b64url_int(n).bit_length() < MIN_RSA_BITS:
            raise _UnusableKey("RSA key too small")
        alg, key = "RS256", RSAKey.import_key({"kty": "RSA", "n": n, "e": e})
    elif kty == "EC":
        if raw.get("crv") != "P-256":
            raise _UnusableKey("EC curve not allowed")
        alg, key = "ES256", ECKey.import_key({"kty": "EC", "crv": "P-256", "x": raw["x"], "y": raw["y"]})
    elif kty == "OKP":
        if raw.get("crv") != "Ed25519":
            raise _UnusableKey("OKP curve not allowed")
        alg, key = "EdDSA", OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": raw["x"]})
    else:
        # "oct" (HMAC) keys and anything unknown are never loaded.
        raise _UnusableKey("key type not allowed")
    declared = raw.get("alg")
    if declared is not None and declared != alg:
        raise _UnusableKey("declared alg does not match key type")
    return _VerificationKey(kid=kid, alg=alg, key=key, thumbprint=key.thumbprint())


def _parse_jwks(doc: Any, *, refuse_dev_keys: bool, source: str) -> dict[str, _VerificationKey]:
    """The usable verification keys of a JWKS document, by kid; kids that repeat are dropped."""
    if refuse_dev_keys and isinstance(doc, Mapping) and is_dev_jwks(doc):
        raise DevKeysRefusedError(f"{source}: a development JWKS is not accepted in production")
    if not isinstance(doc, Mapping) or not isinstance(doc.get("keys"), list):
        raise AuthConfigurationError(f"{source}: not a JWKS document")
    keys: dict[str, _VerificationKey] = {}
    repeated: set[str] = set()
    for index, raw in enumerate(doc["keys"]):
        kid = raw.get("kid") if isinstance(raw, Mapping) else None
        if not isinstance(kid, str) or not kid:
            logger.warning("%s: key #%d has no kid; ignored", source, index)
            continue
        if kid in keys or kid in repeated:
            repeated.add(kid)
            keys.pop(kid, None)
            continue
        try:
            keys[kid] = _import_public_key(kid, raw)
        except _UnusableKey as exc:
            logger.warning("%s: key #%d ignored: %s", source, index, exc)
        except (JoseError, KeyError, ValueError, TypeError):
            logger.warning("%s: key #%d ignored: malformed", source, index)
    for kid in repeated:
        logger.warning("%s: a kid appears more than once; those keys are ignored", source)
        keys.pop(kid, None)
    return keys


class _KeySource:
    """Where verification keys come from; subclasses keep them fresh."""

    def __init__(self) -> None:
        self.keys: dict[str, _VerificationKey] = {}

    async def refresh_if_stale(self) -> None:
        raise NotImplementedError

    async def lookup(self, kid: str) -> _VerificationKey | None:
        await self.refresh_if_stale()
        return self.keys.get(kid)

    async def prime(self) -> None:
        """Load the keys now; raise AuthConfigurationError when none can be used."""
        raise NotImplementedError


class _FileKeySource(_KeySource):
    def __init__(self, path: Path, *, refuse_dev_keys: bool, clock: Callable[[], float]) -> None:
        super().__init__()
        self.path = path
        self.refuse_dev_keys = refuse_dev_keys
        self.clock = clock
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = clock()
        self._load_or_raise()
        if not self.keys:
            raise AuthConfigurationError(f"{path}: the JWKS has no usable signing key")

    def _stat(self) -> tuple[int, int, int]:
        st = self.path.stat()
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load_or_raise(self) -> None:
        try:
            signature = self._stat()
            data = self.path.read_bytes()
        except OSError as exc:
            raise AuthConfigurationError(f"{self.path}: cannot read the JWKS") from exc
        if len(data) > MAX_JWKS_BYTES:
            raise AuthConfigurationError(f"{self.path}: the JWKS is too large")
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise AuthConfigurationError(f"{self.path}: the JWKS is not JSON") from exc
        self.keys = _parse_jwks(doc, refuse_dev_keys=self.refuse_dev_keys, source=str(self.path))
        self._signature = signature

    async def prime(self) -> None:
        self._checked_at = self.clock()
        self._load_or_raise()
        if not self.keys:
            raise AuthConfigurationError(f"{self.path}: the JWKS has no usable signing key")

    async def refresh_if_stale(self) -> None:
        now = self.clock()
        if 0 <= now - self._checked_at < FILE_CHECK_INTERVAL:
            return
        self._checked_at = now
        try:
            signature = self._stat()
        except OSError:
            logger.error("%s: cannot stat the JWKS; keeping the keys loaded before", self.path)
            return
        if signature == self._signature:
            return
        try:
            self._load_or_raise()
        except DevKeysRefusedError as exc:
            logger.error("%s; no token is accepted until it is replaced", exc)
            self.keys = {}
            self._signature = signature
            return
        except AuthConfigurationError as exc:
            # Probably caught mid-write: keep the old keys and look again on the next check.
            logger.error("%s; keeping the keys loaded before", exc)
            return
        logger.info("%s: JWKS reloaded (%d keys)", self.path, len(self.keys))


class _UrlKeySource(_KeySource):
    def __init__(
        self,
        url: str,
        *,
        refuse_dev_keys: bool,
        clock: Callable[[], float],
        cache_seconds: float,
        http_client: httpx.AsyncClient | None,
    ) -> None:
        super().__init__()
        self.url = url
        self.refuse_dev_keys = refuse_dev_keys
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._http = http_client
        self._owns_http = http_client is None
        self._fetched_at: float | None = None
        self._forced_at: float | None = None
        self._retry_at: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _download(self) -> dict[str, _VerificationKey]:
        response = await self._client().get(self.url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise AuthConfigurationError(f"{self.url}: JWKS answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise AuthConfigurationError(f"{self.url}: the JWKS is too large")
        try:
            doc = response.json()
        except ValueError as exc:
            raise AuthConfigurationError(f"{self.url}: the JWKS is not JSON") from exc
        return _parse_jwks(doc, refuse_dev_keys=self.refuse_dev_keys, source=self.url)

    async def _fetch(self, seen_generation: int, *, raise_errors: bool = False) -> None:
        async with self._lock:
            if self._generation != seen_generation:
                return  # another request fetched while we waited
            now = self.clock()
            try:
                keys = await self._download()
            except AuthConfigurationError as exc:
                if isinstance(exc, DevKeysRefusedError):
                    self.keys = {}  # fail closed: production must never trust the dev keys
                logger.error("%s; keeping %d keys loaded before", exc, len(self.keys))
                self._retry_at = now + FETCH_FAILURE_BACKOFF
                if raise_errors:
                    raise
                return
            except httpx.HTTPError as exc:
                logger.error("%s: JWKS fetch failed (%s)", self.url, type(exc).__name__)
                self._retry_at = now + FETCH_FAILURE_BACKOFF
                if raise_errors:
                    raise AuthConfigurationError(f"{self.url}: JWKS fetch failed") from exc
                return
            self.keys = keys
            self._fetched_at = now
            self._forced_at = now  # an unknown kid right after a fetch is not worth another one
            self._retry_at = None
            self._generation += 1

    def _may_try(self, now: float) -> bool:
        """False while backing off after a failed fetch (a clock that went back ends the backoff)."""
        return self._retry_at is None or not (self._retry_at - FETCH_FAILURE_BACKOFF <= now < self._retry_at)

    async def prime(self) -> None:
        await self._fetch(self._generation, raise_errors=True)
        if not self.keys:
            raise AuthConfigurationError(f"{self.url}: the JWKS has no usable signing key")

    async def refresh_if_stale(self) -> None:
        now = self.clock()
        stale = self._fetched_at is None or not (0 <= now - self._fetched_at < self.cache_seconds)
        if stale and self._may_try(now):
            await self._fetch(self._generation)

    async def lookup(self, kid: str) -> _VerificationKey | None:
        await self.refresh_if_stale()
        found = self.keys.get(kid)
        if found is not None:
            return found
        now = self.clock()
        recently = self._forced_at is not None and 0 <= now - self._forced_at < UNKNOWN_KID_REFETCH_INTERVAL
        if not recently and self._may_try(now):
            self._forced_at = now
            await self._fetch(self._generation)
        return self.keys.get(kid)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Verifier
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CacheEntry:
    expires_at: float
    principal: Principal
    kid: str
    thumbprint: str


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    raw = base64.b64decode(padded, altchars=b"-_", validate=True)
    return json.loads(raw)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _short_string(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_CLAIM_LENGTH


class TokenVerifier:
    """Verifies Bearer JWTs against the configured JWKS and returns the caller's ``Principal``.

    ``clock`` (seconds since the epoch) is injectable for tests; ``http_client`` serves a JWKS URL
    (one is created when not given, and closed by ``aclose``).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: str | os.PathLike[str],
        leeway_seconds: float = 30.0,
        refuse_dev_keys: bool = False,
        jwks_cache_seconds: float = 300.0,
        token_cache_seconds: float = 60.0,
        token_cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        settings = AuthSettings(
            issuer=issuer,
            audience=audience,
            jwks=jwks,
            leeway_seconds=leeway_seconds,
            refuse_dev_keys=refuse_dev_keys,
            jwks_cache_seconds=jwks_cache_seconds,
            token_cache_seconds=token_cache_seconds,
            token_cache_size=token_cache_size,
        )
        if not settings.issuer or not settings.audience:
            raise AuthConfigurationError("issuer and audience must be set")
        if not 0 <= settings.leeway_seconds <= 300:
            raise AuthConfigurationError("leeway_seconds must be between 0 and 300")
        if settings.token_cache_size < 0 or settings.token_cache_seconds < 0:
            raise AuthConfigurationError("token cache size and seconds must not be negative")
        if settings.refuse_dev_keys and settings.issuer == DEV_ISSUER:
            raise AuthConfigurationError("the development issuer is not accepted in production")
        self.settings = settings
        self._clock = clock
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()
        source = os.fspath(settings.jwks)
        self._source: _KeySource
        # A verifier of the development issuer trusts the key of `kaigo token` under this data directory.
        self.dev_data_dir = (
            str(Path(source).resolve().parent.parent)
            if settings.issuer == DEV_ISSUER and not _is_url(source)
            else None
        )
        if _is_url(source):
            if settings.refuse_dev_keys and source.startswith("http://") and not _is_loopback(source):
                raise AuthConfigurationError("a JWKS URL must use https in production")
            self._source = _UrlKeySource(
                source,
                refuse_dev_keys=settings.refuse_dev_keys,
                clock=clock,
                cache_seconds=settings.jwks_cache_seconds,
                http_client=http_client,
            )
        else:
            # Raises AuthConfigurationError for a missing, malformed, empty or (in production) dev JWKS.
            self._source = _FileKeySource(Path(source), refuse_dev_keys=settings.refuse_dev_keys, clock=clock)

    @classmethod
    def from_settings(
        cls,
        settings: AuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        http_client: httpx.AsyncClient | None = None,
    ) -> TokenVerifier:
        return cls(**dataclasses.asdict(settings), clock=clock, http_client=http_client)

    def __repr__(self) -> str:
        return f"TokenVerifier(issuer={self.settings.issuer!r}, audience={self.settings.audience!r})"

    async def prime(self) -> None:
        """Load the JWKS now (call from the app's lifespan); raise AuthConfigurationError if unusable.

        For a URL this is the only place a dev JWKS in production is reported before the first request.
        """
        await self._source.prime()

    async def aclose(self) -> None:
        if isinstance(self._source, _UrlKeySource):
            await self._source.aclose()

    @property
    def cached_tokens(self) -> int:
        return len(self._cache)

    async def authenticate(self, headers: Headers) -> Principal:
        """The principal of the request's ``Authorization: Bearer`` token, or AuthenticationError (telling
        where this server's development tokens come from, when it trusts them)."""
        try:
            return await self._authenticate(headers)
        except AuthenticationError as err:
            err.dev_data_dir = self.dev_data_dir
            raise

    async def _authenticate(self, headers: Headers) -> Principal:
        values = headers.getlist("authorization")
        if not values:
            raise AuthenticationError("invalid_request", "Authentication required", credentials_missing=True)
        if len(values) > 1:
            raise _invalid_request("Only one Authorization header is allowed")
        scheme, _, credentials = values[0].strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationError(
                "invalid_request", "Bearer authentication required", credentials_missing=True
            )
        token = credentials.strip(" ")
        if not token:
            raise _invalid_request("Bearer token is empty")
        if not _B64TOKEN.fullmatch(token):
            raise _invalid_request("Malformed Authorization header")
        return await self.verify(token)

    async def verify(self, token: str) -> Principal:
        """Verify one compact JWT; raise AuthenticationError("invalid_token", …) when it fails."""
        now = self._clock()
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        cached = await self._cached(digest, now)
        if cached is not None:
            return cached

        header = self._header(token)
        kid = header["kid"]
        entry = await self._source.lookup(kid)
        if entry is None:
            raise _invalid_token("Token signing key is unknown")
        if header["alg"] != entry.alg:
            raise _invalid_token("Token algorithm does not match its key")
        try:
            claims = jwt.decode(token, entry.key, registry=_REGISTRIES[entry.alg]).claims
        except (JoseError, ValueError, TypeError, KeyError):
            raise _invalid_token("Token signature is invalid") from None

        principal, exp = self._principal(claims, now)
        self._remember(digest, now, exp, principal, entry)
        return principal

    # -- steps --------------------------------------------------------------------------------

    async def _cached(self, digest: str, now: float) -> Principal | None:
        entry = self._cache.get(digest)
        if entry is None:
            return None
        if now >= entry.expires_at:
            del self._cache[digest]
            return None
        await self._source.refresh_if_stale()
        current = self._source.keys.get(entry.kid)
        if current is None or current.thumbprint != entry.thumbprint:
            del self._cache[digest]
            return None
        return entry.principal

    def _remember(
        self, digest: str, now: float, exp: float, principal: Principal, key: _VerificationKey
    ) -> None:
        limit = self.settings.token_cache_size
        expires_at = min(now + self.settings.token_cache_seconds, exp)
        if limit == 0 or expires_at <= now:
            return
        while len(self._cache) >= limit:
            self._cache.popitem(last=False)
        self._cache[digest] = _CacheEntry(expires_at, principal, key.kid, key.thumbprint)

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise _invalid_token("Token is too large")
        parts = token.split(".")
        if len(parts) != 3 or not all(_B64URL_SEGMENT.fullmatch(p) for p in parts):
            raise _invalid_token("Malformed token")
        if not parts[0] or not parts[1]:
            raise _invalid_token("Malformed token")
        if not parts[2]:
            raise _invalid_token("Token is not signed")
        try:
            header = _b64url_json(parts[0])
        except (binascii.Error, ValueError):
            raise _invalid_token("Malformed token") from None
        if not isinstance(header, dict):
            raise _invalid_token("Malformed token")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise _invalid_token("Token algorithm is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid_token("Token has no key id")
        if "crit" in header or "b64" in header:
            raise _invalid_token("Token uses unsupported header parameters")
        return header

    def _principal(self, claims: Mapping[str, Any], now: float) -> tuple[Principal, float]:
        s = self.settings
        leeway = s.leeway_seconds

        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != s.issuer or (s.refuse_dev_keys and iss == DEV_ISSUER):
            raise _invalid_token("Token issuer is not accepted")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or s.audience not in [a for a in audiences if isinstance(a, str)]:
            raise _invalid_token("Token audience is not accepted")

        exp = _number(claims.get("exp"))
        if exp is None:
            raise _invalid_token("Token has no valid expiry")
        if now >= exp + leeway:
            raise _invalid_token("Token has expired")
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None:
                raise _invalid_token("Token claim is malformed: nbf")
            if now + leeway < nbf:
                raise _invalid_token("Token is not yet valid")
        if "iat" in claims:
            iat = _number(claims["iat"])
            if iat is None:
                raise _invalid_token("Token claim is malformed: iat")
            if iat > now + leeway:
                raise _invalid_token("Token was issued in the future")

        sub = claims.get("sub")
        if not _short_string(sub):
            raise _invalid_token("Token has no subject")
        roles = claims.get("roles")
        if (
            not isinstance(roles, list)
            or not roles
            or len(roles) > _MAX_ROLES
            or not all(_short_string(r) for r in roles)
        ):
            raise _invalid_token("Token has no roles")

        department = claims.get("department")
        if department is not None and not _short_string(department):
            raise _invalid_token("Token claim is malformed: department")
        client_name: str | None = None
        for name in ("client_name", "azp", "client_id"):
            if claims.get(name) is not None:
                if not _short_string(claims[name]):
                    raise _invalid_token(f"Token claim is malformed: {name}")
                client_name = claims[name]
                break

        unknown = unknown_roles(roles)
        if unknown:
            logger.warning("token names %d role(s) the policy does not define; ignored", len(unknown))
        # Any "duties" claim is ignored on purpose: duties come from policy only.
        principal = principal_from_claims(sub, roles, department, client_name)
        if not principal.roles:  # a signed token, but for nothing this service knows: not a viewer
            raise AuthenticationError("insufficient_scope", "Token names no role of this service")
        return principal, exp


# ---------------------------------------------------------------------------------------------
# HTTP response
# ---------------------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A safe RFC 6750 quoted-string value: printable ASCII without quote or backslash."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')


def unauthenticated_response(err: AuthenticationError) -> Response:
    """The HTTP answer to a failed authentication, with a GraphQL-shaped JSON body whose message (in the
    request's language) also says how to get a token: `kaigo token` in development, else the identity
    provider.

    No credentials → 401 ``Bearer realm="kaigo-graph"``; a bad token → 401 with
    ``error="invalid_token"``; a malformed or repeated header → 400 with ``error="invalid_request"``;
    a valid token naming no role of this service → 403 ``FORBIDDEN`` with ``error="insufficient_scope"``.
    """
    code = "UNAUTHENTICATED"
    if err.credentials_missing:
        status, challenge = 401, f'Bearer realm="{REALM}"'
    else:
        status = {"invalid_request": 400, "insufficient_scope": 403}.get(err.error, 401)
        code = "FORBIDDEN" if status == 403 else code
        challenge = (
            f'Bearer realm="{REALM}", error="{err.error}", error_description="{_quoted(err.description)}"'
        )
    extensions = {"code": code}
    chosen = language()
    said = localize(err.description, extensions, chosen)
    said = said if said.endswith(("。", ".")) else f"{said}."
    if code == UNAUTHENTICATED:  # a token with a role of this service is what is missing: how to get one
        said = f"{said}{'' if chosen == 'ja' else ' '}{token_hint(err.dev_data_dir, chosen)}"
    body = {"data": None, "errors": [{"message": said, "extensions": extensions}]}
    return JSONResponse(
        body,
        status_code=status,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
        media_type="application/json",
    )
