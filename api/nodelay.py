"""uvicorn's HTTP/1.1 protocol with ``TCP_NODELAY`` on every connection.

With several workers uvicorn's supervisor binds the listening socket itself, with protocol number 0;
asyncio sets ``TCP_NODELAY`` only on sockets whose protocol is ``IPPROTO_TCP``, so every keep-alive
answer then waited for the client's delayed ACK, which dominated a small request at one connection
(uvicorn issue #3149; the figures are in docs/figures.md). Setting the option on each accepted
connection fixes it whoever bound the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["NoDelayH11Protocol"]


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
