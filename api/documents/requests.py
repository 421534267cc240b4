"""Which persisted document a request names, in the three protocols clients speak.

- Apollo automatic persisted queries: ``extensions.persistedQuery = {version: 1, sha256Hash}``, with or
  without ``query`` (with it, the client registers the text; without it, a miss asks for the text);
- GraphQL-over-HTTP persisted documents: ``documentId: "sha256:<hex>"``;
- Relay: ``doc_id`` (the relay compiler's ``persistConfig`` with ``algorithm: "SHA256"``).

Each may come in a POST body or as GET parameters. A text sent along with an id must hash to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from strawberry.http import GraphQLRequestData

from api.refusals import BAD_REQUEST, PERSISTED_QUERY_HASH_MISMATCH, Refusal

from .ids import document_id, parse_document_id

__all__ = ["DocumentReference", "DocumentRequestData", "Protocol", "reference_of"]

Protocol = Literal["apq", "documentId", "doc_id"]


@dataclass(frozen=True)
class DocumentReference:
    id: str
    protocol: Protocol


@dataclass
class DocumentRequestData(GraphQLRequestData):
    """strawberry's request data plus the document the request names (strawberry has no slot for it)."""

    reference: DocumentReference | None = None


def _apq(extensions: Mapping[str, Any] | None) -> DocumentReference | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        raise Refusal(400, BAD_REQUEST, "Unsupported persisted query version (1 is supported)")
    hex_id = parse_document_id(persisted.get("sha256Hash"))
    if hex_id is None:
        raise Refusal(400, BAD_REQUEST, "persistedQuery.sha256Hash must be 64 lowercase hex digits")
    return DocumentReference(hex_id, "apq")


def _by_id(data: Mapping[str, Any], key: Literal["documentId", "doc_id"]) -> DocumentReference | None:
    value = data.get(key)
    if value is None:
        return None
    hex_id = parse_document_id(value)
    if hex_id is None:
        raise Refusal(400, BAD_REQUEST, f"{key} must be sha256:<64 lowercase hex digits>")
    return DocumentReference(hex_id, key)


def reference_of(
    data: Mapping[str, Any], extensions: Mapping[str, Any] | None, query: str | None
) -> DocumentReference | None:
    """The document a request's parameters name (None: free text); refuses malformed or clashing ids."""
    found = [r for r in (_apq(extensions), _by_id(data, "documentId"), _by_id(data, "doc_id")) if r]
    if not found:
        return None
    if len({r.id for r in found}) > 1:
        raise Refusal(400, PERSISTED_QUERY_HASH_MISMATCH, "The request names two different documents")
    if query is not None and document_id(query) != found[0].id:
        raise Refusal(400, PERSISTED_QUERY_HASH_MISMATCH, "The query text does not match its sha256 hash")
    return found[0]
