"""The executable schema: the root types, the configuration and the error handling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult

from .errors import ErrorCodes, log_errors, present
from .query import Query

__all__ = ["KaigoSchema", "build_schema", "schema_config"]


def schema_config() -> StrawberryConfig:
    # No "Did you mean …?": a suggestion would name fields a role cannot see.
    return StrawberryConfig(auto_camel_case=True, disable_field_suggestions=True)


class KaigoSchema(strawberry.Schema):
    """``strawberry.Schema`` whose results only carry presentable errors (see resolvers/errors.py).

    Subclass this one (not ``strawberry.Schema``) for the role-scoped schemas, so every schema
    keeps the error handling: it always runs :class:`~resolvers.errors.ErrorCodes` (before any
    extension given) and defaults to :func:`schema_config`.
    """

    def __init__(
        self,
        query: type = Query,
        *,
        extensions: Sequence[Any] = (),
        config: StrawberryConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            query=query,
            extensions=[ErrorCodes, *extensions],
            config=config if config is not None else schema_config(),
            **kwargs,
        )

    def process_errors(self, errors: list[Any], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)  # instead of strawberry's logger, which prints messages unredacted

    @staticmethod
    def _present(result: ExecutionResult) -> ExecutionResult:
        if result.errors:
            result.errors = [present(e) for e in result.errors]
        return result

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        return self._present(await super().execute(*args, **kwargs))

    def execute_sync(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        return self._present(super().execute_sync(*args, **kwargs))


def build_schema() -> KaigoSchema:
    """The schema of the read API (every field; the per-role variant comes with issue 3)."""
    return KaigoSchema(query=Query)
