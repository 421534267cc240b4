"""Introspection (``__schema``, ``__type``) per role: every role's own view in development; in
production only the roles the deployment names (``KAIGO_INTROSPECTION_ROLES``; none by default).

Checked when validation starts, like the operation limits, so a persisted document (which skips
validation) meets the same gate. ``__typename`` is not introspection of the schema and stays allowed:
clients use it to tell result types apart. Front-end teams get the SDL of a role with
``kaigo schema --role``, not from the production server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from graphql import GraphQLError, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

__all__ = ["INTROSPECTION_DISABLED", "IntrospectionGate"]

INTROSPECTION_DISABLED: Final = "INTROSPECTION_DISABLED"


class IntrospectionGate(SchemaExtension):
    """Refuses an operation that introspects the schema when the request's context says its principal
    may not (``Context.introspection``); a context without the flag (tests, scripts) may."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        allowed = getattr(context.context, "introspection", True)
        if not allowed and context.graphql_document is not None:
            found = validate(
                context.schema._schema, context.graphql_document, (NoSchemaIntrospectionCustomRule,)
            )
            if found:
                raise GraphQLError(
                    "Introspection is not available to this role on this server.",
                    nodes=found[0].nodes,
                    extensions={"code": INTROSPECTION_DISABLED},
                )
        yield
