"""Persisted documents — the GraphQL operations a client registered, by the sha256 of their exact text.

A row is one (document, client) registration: the same text registered by two clients is two rows with
one id. Rows are revoked, never deleted, so ``kaigo pq list`` shows what was allowed when. The database
itself checks that ``id`` is the sha256 of ``text``: a row can never hold another document's id.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import CheckConstraint, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at

OPERATION_TYPES: Final = ("query", "mutation", "subscription")
ANY_CLIENT: Final = ""
"""``client_name`` of documents registered by automatic persisted queries (whoever sent them): they are
a shared cache of texts, never part of a client's list of registered documents."""


class PersistedDocument(Base):
    __tablename__ = "persisted_documents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of `text`, lowercase hex
    client_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    operation_name: Mapped[str | None] = mapped_column(String(200))
    operation_type: Mapped[str] = mapped_column(String(12))
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[dt.datetime] = created_at()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("id = encode(sha256(convert_to(text, 'UTF8')), 'hex')", name="id_is_sha256"),
        CheckConstraint(
            "operation_type IN ('query', 'mutation', 'subscription')", name="operation_type_values"
        ),
    )
