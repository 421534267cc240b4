"""Hands strawberry a document already parsed and validated for the request's view.

strawberry parses and validates every request's text; for a persisted document both were done once
(api/documents/cache.py). This extension, installed on each role view the HTTP layer serves, sets the
cached ``DocumentNode`` while strawberry parses (so it does not) and an empty error list while it
validates (so it does not): the same skip strawberry's own ``ParserCache``/``ValidationCache`` make.
It also hands ``resolvers.limits.ParseLimits`` the document's measure for that view, so the limits
are evaluated at the request's values rather than measured again. It acts only inside :func:`running`,
which the view enters for a document validated for that view.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from strawberry.extensions import SchemaExtension

from resolvers import KaigoSchema, schema_for
from resolvers.build import ScopedSchema
from resolvers.limits import measured

from .cache import PreparedDocument

__all__ = ["PreparedDocuments", "running", "served_view", "traced_document_id"]

_CURRENT: ContextVar[PreparedDocument | None] = ContextVar("kaigo_prepared_document", default=None)


class PreparedDocuments(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        document = _CURRENT.get()
        schema = self.execution_context.schema
        measure = None
        if document is not None and isinstance(schema, ScopedSchema) and schema.duties is not None:
            measure = document.measure(schema.duties)
        with measured(measure):
            yield

    def on_parse(self) -> Iterator[None]:
        document = _CURRENT.get()
        if document is not None:
            self.execution_context.graphql_document = document.node
        yield

    def on_validate(self) -> Iterator[None]:
        if _CURRENT.get() is not None:
            self.execution_context.pre_execution_errors = []  # validated for this view already
        yield


def traced_document_id() -> str | None:
    """The id spans name the running document by (an id instead of the text), unless its text holds a
    string literal: then its literal-blind hash alone (``graphql.document.hash``) names it."""
    document = _CURRENT.get()
    return document.id if document is not None and document.traceable else None


@contextmanager
def running(document: PreparedDocument | None) -> Iterator[None]:
    """Execute ``document`` (validated for the view about to run it) without parsing or validating."""
    token = _CURRENT.set(document)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def served_view(duties: frozenset[str]) -> KaigoSchema:
    """The role view of ``duties`` (``resolvers.schema_for``), with :class:`PreparedDocuments` installed.

    Installed here rather than in resolvers/build.py because persisted documents are the HTTP layer's
    concern; the extension does nothing outside :func:`running`.
    """
    schema = schema_for(duties)
    if PreparedDocuments not in schema.extensions:
        schema.extensions = (*schema.extensions, PreparedDocuments)
    return schema
