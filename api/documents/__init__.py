"""Persisted documents: registered operations for the departments, automatic persisted queries for
front ends, and the cache that lets a known document skip parsing and validation.

``requests`` reads which document a request names (Apollo APQ, ``documentId``, Relay ``doc_id``);
``registry`` decides what the caller may run; ``cache`` and ``extension`` make a known document cost
one parse and one validation per worker and role view; ``manifests`` imports what clients register.
"""

from .cache import DocumentCache, PreparedDocument, TextCache
from .extension import running, served_view, traced_document_id
from .ids import document_id, parse_document_id
from .registry import Caller, Plan, Registry
from .requests import DocumentReference, DocumentRequestData, reference_of

__all__ = [
    "Caller",
    "DocumentCache",
    "DocumentReference",
    "DocumentRequestData",
    "Plan",
    "PreparedDocument",
    "Registry",
    "TextCache",
    "document_id",
    "parse_document_id",
    "reference_of",
    "running",
    "served_view",
    "traced_document_id",
]
