"""Connections that cannot be held open for ever: deadlines for a request's headers and body, and a
bound on open connections per worker.

uvicorn's keep-alive timer is cancelled by every byte received, and ``KAIGO_REQUEST_TIMEOUT_SECONDS``
starts once the body has been read: a client sending its headers, or its body, one line every two
seconds held its connection (and a file descriptor) for ever, 2,000 of them 2,019 descriptors (issue 16).
Here, whatever stands in front of the app:

* the headers of a request must arrive within ``KAIGO_HEADER_TIMEOUT_SECONDS`` (10) of the
  connection's start or of the previous answer: else 408 and the connection is closed;
* its body within ``KAIGO_BODY_TIMEOUT_SECONDS`` (60) of its headers: else 408 (when nothing was
  answered yet) and closed; the app, waiting for the body, logs one line with its correlation id;
* a worker keeps at most ``KAIGO_MAX_CONNECTIONS`` (1000) open connections: one more is answered 503
  and closed at once, so descriptors stay bounded by that number (plus the listener's backlog, which
  the kernel holds).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import h11

from .guards import BODY_DEADLINE_PASSED, REQUEST_TIMEOUT
from .nodelay import NoDelayH11Protocol
from .settings import Settings

__all__ = ["ConnectionLimits", "GuardedH11Protocol"]

log = logging.getLogger("kaigo.http")
_SUMMARY_SECONDS: Final = 10.0
SERVER_BUSY: Final = "SERVER_BUSY"  # a connection over KAIGO_MAX_CONNECTIONS, answered before any request


@dataclass(frozen=True)
class ConnectionLimits:
    header_seconds: float = 10.0
    body_seconds: float = 60.0
    max_connections: int = 1000


@functools.cache
def _from_settings() -> ConnectionLimits:
    settings = Settings.from_env()
    return ConnectionLimits(
        float(settings.header_timeout_seconds), float(settings.body_timeout_seconds), settings.max_connections
    )


def _raw_response(status: int, reason: str, code: str, message: str, *extra: str) -> bytes:
    """A whole HTTP/1.1 answer for a connection h11 cannot answer any more (no request read yet)."""
    body = json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]})
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        "cache-control: no-store",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


class _Tally:
    """Counts closed connections and logs at most one summary line every 10 s (a flood of slow or
    surplus connections must not become a flood of log lines)."""

    def __init__(self, what: str) -> None:
        self.what, self.count, self.since = what, 0, time.monotonic()

    def add(self) -> None:
        self.count += 1
        now = time.monotonic()
        if self.count == 1 or now - self.since >= _SUMMARY_SECONDS:
            log.warning("%d connections %s in the last %.0f s", self.count, self.what, now - self.since)
            self.count, self.since = 0, now


_late_headers = _Tally("closed: headers not received in time (408)")
_late_bodies = _Tally("closed: body not received in time (408)")
_surplus = _Tally("refused: too many open connections (503)")


class GuardedH11Protocol(NoDelayH11Protocol):
    """uvicorn's HTTP/1.1 protocol (with TCP_NODELAY) with header and body deadlines and a connection
    bound. ``limits`` None: from the settings (KAIGO_HEADER_TIMEOUT_SECONDS, KAIGO_BODY_TIMEOUT_SECONDS,
    KAIGO_MAX_CONNECTIONS)."""

    limits: ClassVar[ConnectionLimits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = self.limits or _from_settings()
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: object = None  # the h11 state of the client the deadline is armed for

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            _surplus.add()
            transport.write(
                _raw_response(
                    503,
                    "Service Unavailable",
                    SERVER_BUSY,
                    "Too many open connections; try again.",
                    "retry-after: 1",
                )
            )
            transport.close()
            return
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline of the phase the client is in: headers (IDLE), body (SEND_BODY), none after."""
        if self.transport is None or self.transport.is_closing():
            self._disarm()
            return
        phase = self.conn.their_state
        if phase is self._phase and self._deadline is not None:
            return  # the same phase: its deadline runs on
        self._disarm()
        self._phase = phase
        if phase is h11.IDLE:
            self._deadline = self.loop.call_later(self._limits.header_seconds, self._headers_late)
        elif phase is h11.SEND_BODY:
            self._deadline = self.loop.call_later(self._limits.body_seconds, self._body_late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        _late_headers.add()
        seconds = self._limits.header_seconds
        if self.cycle is None or self.cycle.response_complete:
            message = f"The request headers were not received within {seconds:g} seconds."
            self.transport.write(_raw_response(408, "Request Timeout", REQUEST_TIMEOUT, message))
        self.transport.close()

    def _body_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        _late_bodies.add()
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self.scope["state"][BODY_DEADLINE_PASSED] = True  # the app's one log line says why
            seconds = self._limits.body_seconds
            message = f"The request body was not received within {seconds:g} seconds."
            body = json.dumps(
                {"data": None, "errors": [{"message": message, "extensions": {"code": REQUEST_TIMEOUT}}]}
            )
            headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
            for event in (
                h11.Response(status_code=408, headers=headers, reason=b"Request Timeout"),
                h11.Data(data=body.encode()),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event) or b"")
            cycle.response_started = cycle.response_complete = True
        if cycle is not None:
            cycle.disconnected = True  # the app's receive() answers http.disconnect; its sends are dropped
            cycle.message_event.set()
        self.transport.close()
