"""Guards in front of execution: request body size, a rate per principal, a time limit per request.

Each refuses with its own code (api/refusals.py shapes the body). The rate is counted per worker process:
a deployment with several workers or replicas puts a shared limiter in front as well.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from starlette.requests import ClientDisconnect, Request

from .refusals import Refusal

REQUEST_TOO_LARGE: Final = "REQUEST_TOO_LARGE"
RATE_LIMITED: Final = "RATE_LIMITED"
REQUEST_TIMEOUT: Final = "REQUEST_TIMEOUT"


@dataclass(frozen=True)
class Guards:
    """The limits, with their documented defaults (README, "Limits")."""

    max_body_bytes: int = 1_048_576  # KAIGO_MAX_BODY_BYTES
    rate_per_second: float = 20.0  # KAIGO_RATE_PER_SECOND, per principal, refilled continuously
    rate_burst: int = 100  # KAIGO_RATE_BURST
    request_timeout_seconds: float = 30.0  # KAIGO_REQUEST_TIMEOUT_SECONDS


async def read_body(request: Request, limit: int) -> None:
    """Read the body once, refusing it (413) as soon as it passes ``limit``, before anything parses it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, REQUEST_TOO_LARGE, f"The request body is larger than {limit} bytes.")
    size, chunks = 0, []
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refusal(413, REQUEST_TOO_LARGE, f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone(request.scope.get("state", {}).get(BODY_DEADLINE_PASSED, False)) from None
    request._body = b"".join(chunks)  # Starlette's own cache: strawberry reads the body from there


BODY_DEADLINE_PASSED: Final = "kaigo.body_deadline_passed"
"""Set in the request's scope state by the HTTP protocol (api/connections.py) when it closed the
connection because the body did not arrive in time."""


class ClientGone(Exception):
    """The client hung up (or was cut off at the body deadline) before its body was read: nobody
    is left to answer; one log line says so."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("timed out" if timed_out else "disconnected")
        self.timed_out = timed_out


class RateLimiter:
    """A token bucket per principal subject: ``burst`` requests at once, ``rate`` per second after that."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_principals: int = 10_000,
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.max_principals = max_principals
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # subject → (tokens, at)

    def take(self, subject: str) -> None:
        """Spend one token of ``subject``'s bucket, or refuse with 429 and the seconds to wait."""
        now = self.clock()
        tokens, at = self._buckets.pop(subject, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[subject] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self.rate) if self.rate > 0 else 60
            raise Refusal(
                429,
                RATE_LIMITED,
                f"Too many requests: at most {self.rate:g} per second (bursts of {self.burst}).",
                headers={"Retry-After": str(max(1, wait))},
            )
        self._buckets[subject] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_principals:
            self._buckets.popitem(last=False)  # the longest idle principal starts afresh


def timeout_refusal(seconds: float) -> Refusal:
    return Refusal(
        504, REQUEST_TIMEOUT, f"The request took longer than {seconds:g} seconds and was cancelled."
    )
