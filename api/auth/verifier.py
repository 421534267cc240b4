"""The token verifier: a Bearer JWT checked against the trusted keys and turned into a ``Principal``.

What we accept is decided here, not by the token: the algorithm its key dictates (api/auth/keys.py);
the key chosen by the header's ``kid`` (required) from our JWKS only (``jku``/``jwk``/``x5u`` headers
are ignored); ``iss``, ``aud``, ``exp``, ``sub`` and a non-empty ``roles`` list required, ``nbf`` and
``iat`` checked when present, all with a small leeway; the token names roles only, and duties come from
``policies.roles`` (a ``duties`` claim is ignored). Verified tokens are cached briefly, keyed by the
SHA-256 of the token (never the token), and dropped when their key leaves the JWKS.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
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
from typing import Any, TypeGuard

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.datastructures import Headers

from api.devkeys import DEV_ISSUER
from policies.principals import Principal
from policies.roles import principal_from_claims, unknown_roles

from .discovery import DiscoveredKeySource
from .errors import AuthConfigurationError, AuthenticationError, invalid_request, invalid_token
from .keys import ALLOWED_ALGORITHMS, REGISTRIES, VerificationKey
from .sources import FileKeySource, KeySource, UrlKeySource, is_loopback, is_url

__all__ = ["AuthSettings", "TokenVerifier"]

logger = logging.getLogger("kaigo.auth")

MAX_TOKEN_LENGTH = 8192
_MAX_CLAIM_LENGTH = 256
_MAX_ROLES = 64

# RFC 6750 b64token; a JWT only uses base64url and dots, which this admits.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_B64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class AuthSettings:
    """What the verifier trusts (the keyword arguments of ``TokenVerifier``).

    ``jwks`` is a file path or an http(s) URL; ``None``: the issuer's OpenID Connect discovery document
    names it (api/auth/discovery.py). ``refuse_dev_keys`` is set in production: the dev
    JWKS (api.devkeys) and tokens with ``iss = DEV_ISSUER`` are then refused. Reading these from the
    environment is api.settings' job.
    """

    issuer: str
    audience: str
    jwks: str | os.PathLike[str] | None = None
    leeway_seconds: float = 30.0
    refuse_dev_keys: bool = False
    jwks_cache_seconds: float = 300.0
    token_cache_seconds: float = 60.0
    token_cache_size: int = 10_000


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
        jwks: str | os.PathLike[str] | None = None,
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
        self._source = self._key_source(settings, clock, http_client)
        # A verifier of the development issuer trusts the key of `kaigo token` under this data directory.
        jwks = os.fspath(settings.jwks) if settings.jwks is not None else None
        self.dev_data_dir = (
            str(Path(jwks).resolve().parent.parent)
            if settings.issuer == DEV_ISSUER and jwks is not None and not is_url(jwks)
            else None
        )

    @staticmethod
    def _key_source(
        settings: AuthSettings, clock: Callable[[], float], http_client: httpx.AsyncClient | None
    ) -> KeySource:
        """The issuer's discovery document (no ``jwks``), a JWKS URL, or a JWKS file; https in production
        (loopback addresses aside)."""
        production = settings.refuse_dev_keys
        if settings.jwks is None:
            if production and not settings.issuer.startswith("https://") and not is_loopback(settings.issuer):
                raise AuthConfigurationError("an OpenID Connect issuer must use https in production")
            return DiscoveredKeySource(
                settings.issuer,
                refuse_dev_keys=production,
                clock=clock,
                cache_seconds=settings.jwks_cache_seconds,
                http_client=http_client,
            )
        source = os.fspath(settings.jwks)
        if is_url(source):
            if production and source.startswith("http://") and not is_loopback(source):
                raise AuthConfigurationError("a JWKS URL must use https in production")
            return UrlKeySource(
                source,
                refuse_dev_keys=production,
                clock=clock,
                cache_seconds=settings.jwks_cache_seconds,
                http_client=http_client,
            )
        # Raises AuthConfigurationError for a missing, malformed, empty or (in production) dev JWKS.
        return FileKeySource(Path(source), refuse_dev_keys=production, clock=clock)

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
            raise invalid_request("Only one Authorization header is allowed")
        scheme, _, credentials = values[0].strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationError(
                "invalid_request", "Bearer authentication required", credentials_missing=True
            )
        token = credentials.strip(" ")
        if not token:
            raise invalid_request("Bearer token is empty")
        if not _B64TOKEN.fullmatch(token):
            raise invalid_request("Malformed Authorization header")
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
            raise invalid_token("Token signing key is unknown")
        if header["alg"] != entry.alg:
            raise invalid_token("Token algorithm does not match its key")
        try:
            claims = jwt.decode(token, entry.key, registry=REGISTRIES[entry.alg]).claims
        except (JoseError, ValueError, TypeError, KeyError):
            raise invalid_token("Token signature is invalid") from None

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
        self, digest: str, now: float, exp: float, principal: Principal, key: VerificationKey
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
            raise invalid_token("Token is too large")
        parts = token.split(".")
        if len(parts) != 3 or not all(_B64URL_SEGMENT.fullmatch(p) for p in parts):
            raise invalid_token("Malformed token")
        if not parts[0] or not parts[1]:
            raise invalid_token("Malformed token")
        if not parts[2]:
            raise invalid_token("Token is not signed")
        try:
            header = _b64url_json(parts[0])
        except (binascii.Error, ValueError):
            raise invalid_token("Malformed token") from None
        if not isinstance(header, dict):
            raise invalid_token("Malformed token")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise invalid_token("Token algorithm is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("Token has no key id")
        if "crit" in header or "b64" in header:
            raise invalid_token("Token uses unsupported header parameters")
        return header

    def _principal(self, claims: Mapping[str, Any], now: float) -> tuple[Principal, float]:
        s = self.settings
        leeway = s.leeway_seconds

        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != s.issuer or (s.refuse_dev_keys and iss == DEV_ISSUER):
            raise invalid_token("Token issuer is not accepted")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or s.audience not in [a for a in audiences if isinstance(a, str)]:
            raise invalid_token("Token audience is not accepted")

        exp = _number(claims.get("exp"))
        if exp is None:
            raise invalid_token("Token has no valid expiry")
        if now >= exp + leeway:
            raise invalid_token("Token has expired")
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None:
                raise invalid_token("Token claim is malformed: nbf")
            if now + leeway < nbf:
                raise invalid_token("Token is not yet valid")
        if "iat" in claims:
            iat = _number(claims["iat"])
            if iat is None:
                raise invalid_token("Token claim is malformed: iat")
            if iat > now + leeway:
                raise invalid_token("Token was issued in the future")

        sub = claims.get("sub")
        if not _short_string(sub):
            raise invalid_token("Token has no subject")
        roles = claims.get("roles")
        if (
            not isinstance(roles, list)
            or not roles
            or len(roles) > _MAX_ROLES
            or not all(_short_string(r) for r in roles)
        ):
            raise invalid_token("Token has no roles")

        department = claims.get("department")
        if department is not None and not _short_string(department):
            raise invalid_token("Token claim is malformed: department")
        client_name: str | None = None
        for name in ("client_name", "azp", "client_id"):
            if claims.get(name) is not None:
                if not _short_string(claims[name]):
                    raise invalid_token(f"Token claim is malformed: {name}")
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
