"""Where verification keys come from, kept fresh without a restart: a JWKS file is re-read when its
mtime/size/inode changes (checked at most once per second); a JWKS URL is cached (5 minutes by default)
and refetched at once, at most every 10 s, when a token names an unknown ``kid``; a failed fetch keeps
the keys loaded before and backs off."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .errors import AuthConfigurationError, DevKeysRefusedError
from .keys import MAX_JWKS_BYTES, VerificationKey, parse_jwks

__all__ = ["FileKeySource", "HttpClient", "KeySource", "UrlKeySource", "is_loopback", "is_url"]

logger = logging.getLogger("kaigo.auth")

FILE_CHECK_INTERVAL = 1.0
UNKNOWN_KID_REFETCH_INTERVAL = 10.0
FETCH_FAILURE_BACKOFF = 10.0


class KeySource:
    """Where verification keys come from; subclasses keep them fresh."""

    def __init__(self) -> None:
        self.keys: dict[str, VerificationKey] = {}

    async def refresh_if_stale(self) -> None:
        raise NotImplementedError

    async def lookup(self, kid: str) -> VerificationKey | None:
        await self.refresh_if_stale()
        return self.keys.get(kid)

    async def prime(self) -> None:
        """Load the keys now; raise AuthConfigurationError when none can be used."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the source holds open (an HTTP client)."""


class FileKeySource(KeySource):
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
        self.keys = parse_jwks(doc, refuse_dev_keys=self.refuse_dev_keys, source=str(self.path))
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


class HttpClient:
    """The HTTP client of a key source: the caller's, or one made on first use and closed by ``aclose``
    (no redirects: a JWKS or discovery URL answers itself)."""

    def __init__(self, given: httpx.AsyncClient | None) -> None:
        self._client = given
        self._owned = given is None

    def __call__(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._owned and self._client is not None:
            await self._client.aclose()
            self._client = None


class UrlKeySource(KeySource):
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
        self._client = HttpClient(http_client)
        self._fetched_at: float | None = None
        self._forced_at: float | None = None
        self._retry_at: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _download(self) -> dict[str, VerificationKey]:
        response = await self._client().get(self.url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise AuthConfigurationError(f"{self.url}: JWKS answered HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise AuthConfigurationError(f"{self.url}: the JWKS is too large")
        try:
            doc = response.json()
        except ValueError as exc:
            raise AuthConfigurationError(f"{self.url}: the JWKS is not JSON") from exc
        return parse_jwks(doc, refuse_dev_keys=self.refuse_dev_keys, source=self.url)

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

    async def lookup(self, kid: str) -> VerificationKey | None:
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


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
