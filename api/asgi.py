"""The ASGI factory uvicorn workers call (`uvicorn --factory api.asgi:create`)."""

from __future__ import annotations

from starlette.applications import Starlette

from .app import create_app
from .runtime import build_runtime
from .settings import Settings


def create() -> Starlette:
    return create_app(build_runtime(Settings.from_env()))
