"""Servers of the layer comparisons: uvicorn with the workers and logs of `kaigo serve`, and one change.

    PYTHONPATH=bench:. python -m harness.variants [--audit-off] [--nodelay]

``--audit-off``: the app built from the production settings with ``Runtime.audit_enabled=False`` (for
the benchmark only: ``api/audit.py`` refuses it under ``KAIGO_ENV=production``, so that server's
environment says development while its settings — introspection off, no IDE, dev keys refused — and its
log format are production's).

``--nodelay``: the listening socket is created with ``IPPROTO_TCP``. uvicorn's supervisor (``--workers``
> 1) binds it with ``proto`` 0; accepted sockets inherit that and asyncio then leaves ``TCP_NODELAY`` off,
so every keep-alive answer after the first waits for the client's delayed ACK (~40 ms on Linux;
uvicorn issue #3149). ``kaigo serve`` with several workers has this today; the bench measures it as a
layer, and the other layers on servers without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging.config
import os
import socket

from starlette.applications import Starlette


def create_audit_off() -> Starlette:
    from api.app import create_app
    from api.runtime import build_runtime
    from api.settings import Settings

    # The production server's settings (introspection off, no IDE, the dev keys refused), read as
    # production reads them; then the environment says development, which api/audit.py requires to let
    # the audit trail be switched off.
    os.environ["KAIGO_ENV"] = "production"
    settings = Settings.from_env()
    os.environ["KAIGO_ENV"] = "development"
    runtime = dataclasses.replace(build_runtime(settings), audit_enabled=False)
    return create_app(runtime)


def tcp_nodelay_listener() -> None:
    """Make uvicorn's bound listener an IPPROTO_TCP socket, so asyncio sets TCP_NODELAY on its connections."""
    from uvicorn.config import Config

    original = Config.bind_socket

    def bind_socket(self: Config) -> socket.socket:
        sock = original(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            fixed = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=sock.detach())
            fixed.set_inheritable(True)
            return fixed
        return sock

    Config.bind_socket = bind_socket  # type: ignore[method-assign]


def main() -> None:
    import uvicorn

    from api.logs import log_config
    from api.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--audit-off", action="store_true")
    parser.add_argument("--nodelay", action="store_true")
    args = parser.parse_args()
    if args.nodelay:
        tcp_nodelay_listener()
    logging.config.dictConfig(log_config())
    settings = Settings.from_env()
    uvicorn.run(
        "harness.variants:create_audit_off" if args.audit_off else "api.asgi:create",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        log_config=log_config(),
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
