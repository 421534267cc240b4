"""The executable schema: the root types, the configuration and the error handling."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import strawberry
from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from policies.visibility import may_see
from schema.duties import required_duties
from schema.scalars import SCALARS

from .errors import ErrorCodes, log_errors, new_correlation, present
from .introspection import IntrospectionGate
from .limits import ParseLimits
from .mutation import Mutation
from .query import Query
from .tracing import OperationTracing

__all__ = ["KaigoSchema", "ScopedSchema", "build_schema", "schema_config", "schema_for"]


def schema_config() -> StrawberryConfig:
    # No "Did you mean …?": a suggestion would name fields a role cannot see.
    return StrawberryConfig(auto_camel_case=True, disable_field_suggestions=True)


class OperationKind(SchemaExtension):
    """Tells the context whether the operation is a mutation, once the document is parsed: the HTTP
    layer rolls a failed mutation back as a whole (nothing half-written is committed)."""

    def on_parse(self) -> Iterator[None]:
        yield
        # strawberry would run the first of several operations when none is named; the specification
        # says "Must provide operation name" (the HTTP layer answers 400)
        context = self.execution_context
        document = context.graphql_document
        named = getattr(context, "_provided_operation_name", None) is not None
        if document is not None and not named:
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if operations > 1:
                raise MissingOperationName

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if hasattr(context, "operation_type"):
            context.operation_type = self.execution_context.operation_type
        audit = getattr(context, "audit", None)
        if audit is not None:  # the audit trail's operation name and trace id (resolvers/audit.py)
            audit.operation_name = self.execution_context.operation_name
            audit.capture_trace()
        yield


class MissingOperationName(CannotGetOperationTypeError):
    """A document of several operations, sent without ``operationName``."""

    def __init__(self) -> None:
        super().__init__(None)

    def as_http_error_reason(self) -> str:
        return "Must provide operation name if query contains multiple operations."


class KaigoSchema(strawberry.Schema):
    """``strawberry.Schema`` whose results only carry presentable errors (see resolvers/errors.py).

    Subclass this one (not ``strawberry.Schema``) for the role-scoped schemas, so every schema
    keeps the error handling and the limits: it always runs :class:`~resolvers.errors.ErrorCodes` and
    :class:`~resolvers.limits.ParseLimits` (before any extension given) and defaults to
    :func:`schema_config`.
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
            extensions=[
                ErrorCodes,
                ParseLimits,
                IntrospectionGate,
                OperationKind,
                OperationTracing,
                *extensions,
            ],
            config=config if config is not None else schema_config(),
            scalar_overrides=kwargs.pop("scalar_overrides", SCALARS),
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
        new_correlation()
        return self._present(await super().execute(*args, **kwargs))

    def execute_sync(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        new_correlation()
        return self._present(super().execute_sync(*args, **kwargs))


class ScopedSchema(KaigoSchema):
    """The one schema as a set of duties sees it.

    A field whose ``@requiresDuty`` directives ask for a duty the set lacks is dropped while the
    schema is built, so for that role it does not exist: not in introspection, not in the SDL, and a
    query selecting it fails validation. Types reachable only through dropped fields go with them.
    ``duties=None`` is the full schema (the SDL the team reviews), never served to a request.
    """

    def __init__(self, duties: frozenset[str] | None, **kwargs: Any) -> None:
        self.duties = duties  # read by get_fields during super().__init__
        super().__init__(**kwargs)

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        fields = super().get_fields(type_definition)
        if self.duties is None:
            return fields
        duties = self.duties
        return [f for f in fields if may_see(required_duties(f.directives), duties)]


def _any_visible(root: type, duties: frozenset[str]) -> bool:
    definition: StrawberryObjectDefinition = root.__strawberry_definition__  # type: ignore[attr-defined]
    return any(may_see(required_duties(f.directives), duties) for f in definition.fields)


def build_schema(duties: frozenset[str] | None = None) -> KaigoSchema:
    """A new schema: the full one, or the view of ``duties`` (use :func:`schema_for` to share them).

    A view in which no mutation is visible has no Mutation type at all (an empty root type is invalid
    GraphQL, and its name alone would tell a read-only role that mutations exist).
    """
    mutation = Mutation if duties is None or _any_visible(Mutation, duties) else None
    return ScopedSchema(duties, query=Query, mutation=mutation)


@lru_cache(maxsize=64)
def schema_for(duties: frozenset[str]) -> KaigoSchema:
    """The view of a set of duties, built once per process and shared by every request holding it."""
    return build_schema(duties)
