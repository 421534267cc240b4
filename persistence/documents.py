"""The persisted-document registry in the database: find, register, list, revoke.

Each request-time lookup is one primary-key query (``id`` first, so a lookup by id alone uses the same
index). Registration is idempotent: registering a (document, client) pair again changes nothing, and in
particular does not reinstate a revoked one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .models.documents import PersistedDocument

__all__ = ["StoredDocument", "find", "list_documents", "register", "revoke"]

Executor = AsyncConnection | AsyncSession
_T = cast(Table, PersistedDocument.__table__)


@dataclass(frozen=True)
class StoredDocument:
    id: str
    client_name: str
    text: str
    operation_name: str | None
    operation_type: str
    registered_by: str
    registered_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


def _stored(row: object) -> StoredDocument:
    return StoredDocument(**{k: getattr(row, k) for k in StoredDocument.__dataclass_fields__})


async def find(db: Executor, document_id: str, client_name: str | None) -> StoredDocument | None:
    """The live (not revoked) registration of ``document_id`` for ``client_name``, or for any client."""
    query = select(_T).where(_T.c.id == document_id, _T.c.revoked_at.is_(None))
    if client_name is not None:
        query = query.where(_T.c.client_name == client_name)
    row = (await db.execute(query.limit(1))).first()
    return None if row is None else _stored(row)


async def register(db: Executor, document: StoredDocument) -> bool:
    """Register a document for its client; False when that pair was registered already (even revoked)."""
    values = {
        "id": document.id,
        "client_name": document.client_name,
        "text": document.text,
        "operation_name": document.operation_name,
        "operation_type": document.operation_type,
        "registered_by": document.registered_by,
    }
    statement = pg_insert(_T).values(values).on_conflict_do_nothing(index_elements=["id", "client_name"])
    result = await db.execute(statement.returning(_T.c.id))
    return result.first() is not None


async def list_documents(
    db: Executor, client_name: str | None = None, *, include_revoked: bool = True
) -> list[StoredDocument]:
    query = select(_T).order_by(_T.c.client_name, _T.c.operation_name, _T.c.id)
    if client_name is not None:
        query = query.where(_T.c.client_name == client_name)
    if not include_revoked:
        query = query.where(_T.c.revoked_at.is_(None))
    return [_stored(row) for row in (await db.execute(query)).all()]


async def revoke(db: Executor, document_id: str, client_name: str | None = None) -> int:
    """Revoke the live registrations of a document (of one client, or of all); how many were revoked."""
    statement = (
        update(_T).where(_T.c.id == document_id, _T.c.revoked_at.is_(None)).values(revoked_at=func.now())
    )
    if client_name is not None:
        statement = statement.where(_T.c.client_name == client_name)
    result = await db.execute(statement.returning(_T.c.id))
    return len(result.all())
