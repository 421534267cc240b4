"""Document ids: the sha256 of the exact text, as lowercase hex (``sha256:`` prefixed on the wire)."""

from __future__ import annotations

import hashlib
import re
from typing import Final

__all__ = ["PREFIX", "document_id", "parse_document_id"]

PREFIX: Final = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")


def document_id(text: str) -> str:
    """The id of a document: sha256 of its UTF-8 bytes, byte for byte (no normalisation of any kind)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def parse_document_id(value: object) -> str | None:
    """``sha256:<hex>`` or bare ``<hex>`` (64 lowercase hex digits) → the hex; None if malformed."""
    if not isinstance(value, str):
        return None
    hex_id = value.removeprefix(PREFIX)
    return hex_id if _HEX.fullmatch(hex_id) else None
