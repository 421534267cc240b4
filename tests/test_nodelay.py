"""Connections served by ``kaigo serve`` have TCP_NODELAY, even on a listener bound with protocol 0 (as
uvicorn's supervisor binds it for several workers): otherwise each keep-alive answer waits for the
client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import uvicorn

from api.connections import GuardedH11Protocol
from api.nodelay import NoDelayH11Protocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _nodelay_of_served_connections(protocol: Any) -> list[int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, like uvicorn's supervisor
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    config = uvicorn.Config(_app, http=protocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/")).status_code == 200
            return [
                c.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                for c in server.server_state.connections
            ]
    finally:
        server.should_exit = True
        await serving
        listener.close()


async def test_connections_get_tcp_nodelay() -> None:
    assert await _nodelay_of_served_connections("h11") == [0]  # the problem
    assert await _nodelay_of_served_connections(NoDelayH11Protocol) == [1]  # the fix


def test_serve_runs_uvicorn_with_the_protocol(monkeypatch: Any) -> None:
    import signal

    import api.cli
    from api.settings import Settings

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        args = api.cli.build_parser().parse_args(["serve", "--workers", "2"])
        api.cli.cmd_serve(args, Settings.from_env())
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    assert seen["workers"] == 2
    config = uvicorn.Config("api.asgi:create", http=seen["http"])
    config.load()
    assert config.http_protocol_class is GuardedH11Protocol  # a NoDelayH11Protocol
    assert issubclass(GuardedH11Protocol, NoDelayH11Protocol)
