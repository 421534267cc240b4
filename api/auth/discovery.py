"""The keys of an OpenID Connect issuer, found through its discovery document.

``KAIGO_OIDC_ISSUER`` alone is enough: ``<issuer>/.well-known/openid-configuration`` names the JWKS
(``jwks_uri``), so the operator never copies a key or a URL that the identity provider may move. authlib
builds the well-known URL and checks the document (``OpenIDProviderMetadata``: the issuer and the JWKS
URL use https, or http on a loopback address, and carry no query or fragment); the document's
``issuer`` must then be exactly the configured one (OpenID Connect Discovery 1.0 §4.3), or a document
served elsewhere could name keys for another issuer. The JWKS itself is fetched, cached and refetched
like a configured JWKS URL (api/auth/sources.py).

The document is read once, at the start (``prime``); if the provider does not answer then, every
request retries it (backing off) rather than trusting nothing forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url

from .errors import AuthConfigurationError
from .keys import MAX_JWKS_BYTES, VerificationKey
from .sources import FETCH_FAILURE_BACKOFF, HttpClient, KeySource, UrlKeySource, is_loopback

__all__ = ["DiscoveredKeySource", "discover_jwks_uri"]

logger = logging.getLogger("kaigo.auth")


async def discover_jwks_uri(client: httpx.AsyncClient, issuer: str, *, https_only: bool) -> str:
    """The ``jwks_uri`` of ``issuer``'s discovery document, once the document checks out; raise
    :class:`AuthConfigurationError` (a fixed message naming the URL and what is wrong) otherwise."""
    url = get_well_known_url(issuer, external=True)
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise AuthConfigurationError(f"{url}: discovery failed ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise AuthConfigurationError(f"{url}: discovery answered HTTP {response.status_code}")
    if len(response.content) > MAX_JWKS_BYTES:
        raise AuthConfigurationError(f"{url}: the discovery document is too large")
    try:
        document: Any = response.json()
    except ValueError as exc:
        raise AuthConfigurationError(f"{url}: the discovery document is not JSON") from exc
    if not isinstance(document, dict):
        raise AuthConfigurationError(f"{url}: the discovery document is not a JSON object")
    metadata = OpenIDProviderMetadata(document)
    try:
        metadata.validate_issuer()
        metadata.validate_jwks_uri()  # required by OpenID Connect, https (or loopback http)
    except ValueError as exc:
        raise AuthConfigurationError(f"{url}: {exc}") from None
    if metadata["issuer"] != issuer:
        raise AuthConfigurationError(f"{url}: the discovery document names another issuer")
    jwks_uri = metadata["jwks_uri"]
    if not isinstance(jwks_uri, str):
        raise AuthConfigurationError(f"{url}: jwks_uri is not a URL")
    if https_only and not jwks_uri.startswith("https://") and not is_loopback(jwks_uri):
        # authlib lets AUTHLIB_INSECURE_TRANSPORT relax its check; production does not.
        raise AuthConfigurationError(f"{url}: jwks_uri must use https in production")
    return jwks_uri


class DiscoveredKeySource(KeySource):
    """A :class:`UrlKeySource` whose URL the issuer's discovery document gives."""

    def __init__(
        self,
        issuer: str,
        *,
        refuse_dev_keys: bool,
        clock: Callable[[], float],
        cache_seconds: float,
        http_client: httpx.AsyncClient | None,
    ) -> None:
        super().__init__()
        self.issuer = issuer
        self.refuse_dev_keys = refuse_dev_keys
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._client = HttpClient(http_client)
        self._jwks: UrlKeySource | None = None
        self._retry_at: float | None = None
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _discover(self, *, raise_errors: bool) -> UrlKeySource | None:
        async with self._lock:
            if self._jwks is not None:
                return self._jwks
            now = self.clock()
            backing_off = (
                self._retry_at is not None and self._retry_at - FETCH_FAILURE_BACKOFF <= now < self._retry_at
            )
            if backing_off and not raise_errors:
                return None  # a failed discovery is retried after the backoff, not by every request
            try:
                jwks_uri = await discover_jwks_uri(
                    self._client(), self.issuer, https_only=self.refuse_dev_keys
                )
            except AuthConfigurationError as exc:
                self._retry_at = now + FETCH_FAILURE_BACKOFF
                if raise_errors:
                    raise
                logger.error("%s; no token is accepted until the issuer answers", exc)
                return None
            logger.info("%s: keys at %s (OpenID Connect discovery)", self.issuer, jwks_uri)
            self._jwks = UrlKeySource(
                jwks_uri,
                refuse_dev_keys=self.refuse_dev_keys,
                clock=self.clock,
                cache_seconds=self.cache_seconds,
                http_client=self._client(),
            )
            return self._jwks

    async def prime(self) -> None:
        jwks = await self._discover(raise_errors=True)
        assert jwks is not None
        await jwks.prime()
        self.keys = jwks.keys

    async def refresh_if_stale(self) -> None:
        jwks = await self._discover(raise_errors=False)
        if jwks is not None:
            await jwks.refresh_if_stale()
            self.keys = jwks.keys

    async def lookup(self, kid: str) -> VerificationKey | None:
        jwks = await self._discover(raise_errors=False)
        if jwks is None:
            return None
        found = await jwks.lookup(kid)
        self.keys = jwks.keys
        return found
