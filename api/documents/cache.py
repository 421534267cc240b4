"""The in-process cache of persisted documents: parsed once, validated once per role view.

Two bounded LRU maps, shared by every request of the worker:

- document id → :class:`PreparedDocument` (text, parsed ``DocumentNode``, and the duty sets whose
  view validated it, each with the document's measure against the limits on that view). Keyed by the
  id alone: the text behind an id never changes. A duty set is the identity of a role view
  (``resolvers.schema_for`` builds one schema per duty set), so "validated for these duties" is exact,
  with no id() of a schema object that could be reused.
- (client, document id) → when the database last confirmed the registration is live. Trusted clients
  are re-checked after ``recheck_seconds``, so a revocation reaches every worker within that time.

Nothing else is cached: no variables, no results, no principal. Every other worker rebuilds its own
entries from the database on a miss (one primary-key query, one parse, one validation).

:class:`TextCache` keeps free texts (sent without an id) the same way, apart, by their sha256: a
stream of one-off texts cannot push the persisted documents out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
    specified_rules,
)
from strawberry import Schema
from strawberry.schema.schema import validate_document

from policies.individual_number import contains_valid_number
from resolvers.limits import DocumentMeasure, holds_string_literal, measure_document

from .ids import document_id

__all__ = ["DocumentCache", "PreparedDocument", "TextCache", "prepare_document", "prepare_node"]


@dataclass(eq=False)
class PreparedDocument:
    id: str
    text: str
    node: DocumentNode
    operation_name: str | None
    operation_type: str | None  # None when the document holds several operations
    # the views that accept it, each with its measure there (resolvers/limits.py), taken once with the
    # validation: a request evaluates the measure at its values instead of walking the document
    valid_for: dict[frozenset[str], DocumentMeasure] = field(default_factory=dict)
    invalid_for: set[frozenset[str]] = field(default_factory=set)  # validated once too: left to strawberry
    # Whether spans may name it by id: not when its text holds a string literal. The id is the text's
    # sha256, so whoever knows the rest of the text could find the literal (a name, a kana) by guessing.
    traceable: bool = True
    # the read planner's plans of its operations, per view and operation name (api/reads.py); None:
    # the planner declines it there
    read_plans: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def validate(self, schema: Schema, duties: frozenset[str]) -> bool:
        """Whether the view of ``duties`` accepts the document (graphql-core, once per view), its
        operations within the limits at the defaults they declare (its tokens are checked per request)."""
        if duties in self.valid_for:
            return True
        if duties in self.invalid_for:
            return False
        if not validate_document(schema._schema, self.node, specified_rules):
            measure = measure_document(schema._schema, self.node)
            if not measure.operation_errors(None):
                self.valid_for[duties] = measure
                return True
        self.invalid_for.add(duties)
        return False  # the request runs on the ordinary path, which reports the errors

    def measure(self, duties: frozenset[str]) -> DocumentMeasure | None:
        """The document's measure on the view of ``duties``, if that view accepted it."""
        return self.valid_for.get(duties)

    def limit_errors(
        self,
        schema: Schema,
        duties: frozenset[str],
        variables: Mapping[str, Any] | None,
        *,
        reviewed: bool,
    ) -> list[GraphQLError]:
        """The limits this request of the document is over (``QUERY_TOO_LARGE`` alone, or one error per
        limit an operation is over), as ``resolvers.limits.ParseLimits`` finds them: it answers the
        first. Costed at ``variables``, or when ``reviewed`` (a trusted client's imported document) at
        the defaults its operations declare. From the measure kept for the view: no walk.

        Only for a view that accepts the document (:meth:`validate`; else ValueError: the ordinary
        path reports what is wrong with it). Besides, the caller must refuse a string holding U+0000
        (``resolvers.limits.nul_errors``, which reads the variables) when these are empty.
        """
        measure = self.measure(duties) if self.validate(schema, duties) else None
        if measure is None:
            raise ValueError("the document is not valid for this view")
        return measure.errors(None if reviewed else variables)


def prepare_node(document: PreparedDocument, node: DocumentNode) -> PreparedDocument:
    """Another tree for a document already validated for a view (the read planner's version of it):
    run through ``running`` like the document itself, named on spans as the document is."""
    return PreparedDocument(
        document.id,
        document.text,
        node,
        document.operation_name,
        document.operation_type,
        traceable=document.traceable,
    )


def prepare_document(
    document_id: str, text: str, *, max_tokens: int | None = None, named: bool = True
) -> PreparedDocument:
    """Parse a document (raises ``GraphQLSyntaxError``, also past ``max_tokens``); ``document_id`` must
    be the text's sha256. ``named=False``: a text its client sent without an id, never named by one."""
    node = parse(text, max_tokens=max_tokens)
    traceable = named and not holds_string_literal(node)
    operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1:
        only = operations[0]
        name = only.name.value if only.name else None
        return PreparedDocument(document_id, text, node, name, only.operation.value, traceable=traceable)
    return PreparedDocument(document_id, text, node, None, None, traceable=traceable)


class DocumentCache:
    """At most ``size`` documents whose texts total at most ``text_budget`` characters, least recently
    used out first. The budget bounds the memory: a parsed document weighs far more than its text
    (docs/figures.md), and any client may register documents."""

    def __init__(
        self,
        *,
        size: int = 1024,
        text_budget: int = 1024 * 1024,
        recheck_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.text_budget = text_budget
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._documents: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._text = 0  # characters of the texts kept
        self._confirmed: OrderedDict[tuple[str, str], float] = OrderedDict()

    def get(self, document_id: str) -> PreparedDocument | None:
        found = self._documents.get(document_id)
        if found is not None:
            self._documents.move_to_end(document_id)
        return found

    def put(self, document: PreparedDocument) -> PreparedDocument:
        """Keep ``document`` (or the entry already kept for its id, which every request then shares)."""
        kept = self._documents.setdefault(document.id, document)
        if kept is document:
            self._text += len(document.text)
        self._documents.move_to_end(document.id)
        while len(self._documents) > 1 and (
            len(self._documents) > self.size or self._text > self.text_budget
        ):
            _, evicted = self._documents.popitem(last=False)
            self._text -= len(evicted.text)
        return kept

    def registered(self, client_name: str, document_id: str) -> bool:
        """The database confirmed this registration live less than ``recheck_seconds`` ago."""
        checked = self._confirmed.get((client_name, document_id))
        return checked is not None and self._clock() - checked < self.recheck_seconds

    def confirm(self, client_name: str, document_id: str) -> None:
        key = (client_name, document_id)
        self._confirmed[key] = self._clock()
        self._confirmed.move_to_end(key)
        while len(self._confirmed) > 4 * self.size:
            self._confirmed.popitem(last=False)

    def forget(self, client_name: str, document_id: str) -> None:
        self._confirmed.pop((client_name, document_id), None)

    def __len__(self) -> int:
        return len(self._documents)


class TextCache:
    """Free texts (sent without an id) prepared like automatic persisted queries, from their second
    sighting on: a front end repeating its operations then skips parsing and validation as a persisted
    document does, while a text sent once costs a hash, no parse more. Keyed by the text's sha256;
    a text holding a literal shaped like an individual number (個人番号) is never kept, nor one over
    ``max_text`` characters. Nothing is registered and no span names these by id."""

    def __init__(self, *, size: int = 128, max_text: int = 8 * 1024, text_budget: int = 256 * 1024) -> None:
        self.max_text = max_text
        self._documents = DocumentCache(size=size, text_budget=text_budget)
        self._sighted: OrderedDict[str, None] = OrderedDict()  # ids seen once (bounded)
        self._sighted_size = 4 * size

    def prepared(self, text: str, *, max_tokens: int | None) -> PreparedDocument | None:
        """The kept document for ``text``; None the first time it is seen (or when it is not kept)."""
        if len(text) > self.max_text:
            return None
        key = document_id(text)
        found = self._documents.get(key)
        if found is not None:
            return found  # kept, so found clean when it was first sighted
        if contains_valid_number(text):
            return None
        if key not in self._sighted:
            self._sighted[key] = None
            while len(self._sighted) > self._sighted_size:
                self._sighted.popitem(last=False)
            return None
        del self._sighted[key]
        try:
            return self._documents.put(prepare_document(key, text, max_tokens=max_tokens, named=False))
        except GraphQLSyntaxError:
            return None  # the ordinary path reports it (GRAPHQL_PARSE_FAILED, QUERY_TOO_LARGE)
