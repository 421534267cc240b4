"""Slow clients are cut off and open connections are bounded (issue 16: headers or a body sent one line
every 2 s stayed open for ever; 2,000 such connections held 2,019 descriptors). Real sockets against a
real uvicorn serving the app with the protocol `kaigo serve` uses, with short deadlines."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

from api.connections import ConnectionLimits, GuardedH11Protocol

pytestmark = pytest.mark.db

LIMITS = ConnectionLimits(header_seconds=1.0, body_seconds=1.0, max_connections=8)
GIVE_UP = 20.0  # seconds a test waits for the server to act (it never would without the deadlines)


class ShortDeadlines(GuardedH11Protocol):
    limits = LIMITS


@pytest.fixture
async def served(app: Any) -> AsyncIterator[tuple[int, uvicorn.Server]]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    config = uvicorn.Config(app, http=ShortDeadlines, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield listener.getsockname()[1], server
    finally:
        server.should_exit = True
        await serving
        listener.close()


async def trickle(port: int, lines: list[bytes], every: float = 0.4) -> bytes:
    """Send ``lines`` one at a time, ``every`` seconds apart, then wait; returns all the server sent
    before closing (b"" if it closed at once)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        for line in lines:
            writer.write(line)
            await writer.drain()
            await asyncio.sleep(every)
        await asyncio.sleep(GIVE_UP)

    sending = asyncio.create_task(send())
    try:
        return await asyncio.wait_for(reader.read(-1), GIVE_UP)  # until the server closes
    finally:
        sending.cancel()
        writer.close()


async def test_headers_sent_one_line_at_a_time_are_cut_off(served: tuple[int, uvicorn.Server]) -> None:
    port, _ = served
    lines = [b"POST /graphql HTTP/1.1\r\n", *(f"x-slow-{i}: {i}\r\n".encode() for i in range(60))]
    answer = await trickle(port, lines)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"code": "REQUEST_TIMEOUT"' in answer and b"headers were not received within 1 seconds" in answer


async def test_a_body_sent_one_byte_at_a_time_is_cut_off(
    served: tuple[int, uvicorn.Server], token_for: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    port, _ = served
    head = (
        "POST /graphql HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 200\r\n"
        f"authorization: Bearer {token_for('kaigo_officer')}\r\n\r\n"
    ).encode()
    with caplog.at_level(logging.INFO, logger="kaigo.http"):
        answer = await trickle(port, [head, *(b" " for _ in range(60))])
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"body was not received within 1 seconds" in answer
    for _ in range(100):  # the app's one line, once its receive() is answered
        if any("cut off at the body deadline" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    lines = [r for r in caplog.records if "before its request body was read" in r.getMessage()]
    assert len(lines) == 1 and "cut off at the body deadline" in lines[0].getMessage()
    assert "Traceback" not in caplog.text


async def test_a_trickled_body_after_an_early_answer_is_cut_off(served: tuple[int, uvicorn.Server]) -> None:
    """No token: the app answers 401 without reading the body; the client keeps trickling it."""
    port, _ = served
    head = (
        b"POST /graphql HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n"
    )
    answer = await trickle(port, [head, *(b" " for _ in range(60))])
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]  # and then the connection closed


async def test_open_connections_are_bounded(served: tuple[int, uvicorn.Server]) -> None:
    port, server = served
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(LIMITS.max_connections)]
    await asyncio.sleep(0.2)
    assert len(server.server_state.connections) == LIMITS.max_connections
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = await asyncio.wait_for(reader.read(-1), GIVE_UP)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer
    assert len(server.server_state.connections) <= LIMITS.max_connections
    # the held ones, idle, are closed at their header deadline: their descriptors come back
    for r, w in held:
        assert (await asyncio.wait_for(r.read(-1), GIVE_UP)).startswith(b"HTTP/1.1 408 ")
        w.close()
    for _ in range(100):
        if not server.server_state.connections:
            break
        await asyncio.sleep(0.05)
    assert not server.server_state.connections
