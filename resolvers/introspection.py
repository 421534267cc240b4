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

from graphql import DocumentNode, ExecutableDefinitionNode, FieldNode, GraphQLError, SelectionSetNode
from strawberry.extensions import SchemaExtension

__all__ = ["INTROSPECTION_DISABLED", "IntrospectionGate"]

INTROSPECTION_DISABLED: Final = "INTROSPECTION_DISABLED"
_INTROSPECTION_FIELDS: Final = frozenset({"__schema", "__type"})


class IntrospectionGate(SchemaExtension):
    """Refuses an operation that introspects the schema when the request's context says its principal
    may not (``Context.introspection``); a context without the flag (tests, scripts) may."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        allowed = getattr(context.context, "introspection", True)
        if not allowed and context.graphql_document is not None:
            found = _introspection_field(context.graphql_document)
            if found is not None:
                raise GraphQLError(
                    "Introspection is not available to this role on this server.",
                    nodes=found,
                    extensions={"code": INTROSPECTION_DISABLED},
                )
        yield


def _introspection_field(document: DocumentNode) -> FieldNode | None:
    """The first ``__schema`` or ``__type`` field anywhere in the document (fragments included: each
    fragment definition is walked on its own)."""
    pending: list[SelectionSetNode] = [
        d.selection_set for d in document.definitions if isinstance(d, ExecutableDefinitionNode)
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode) and selection.name.value in _INTROSPECTION_FIELDS:
                return selection
            child = getattr(selection, "selection_set", None)
            if child is not None:
                pending.append(child)
    return None
