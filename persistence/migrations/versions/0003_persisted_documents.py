"""Persisted documents: the operations clients registered (persisted queries), by sha256 of their text

Revision ID: 0003
Revises: 0002

The table comes from persistence/models/documents.py. Its primary key (id, client_name) serves both
lookups of a request: by id and client (trusted-documents mode) and by id alone (automatic persisted
queries), as a prefix of the same index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persisted_documents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("client_name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.String(length=200), nullable=True),
        sa.Column("operation_type", sa.String(length=12), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column(
            "registered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "id = encode(sha256(convert_to(text, 'UTF8')), 'hex')",
            name=op.f("ck_persisted_documents_id_is_sha256"),
        ),
        sa.CheckConstraint(
            "operation_type IN ('query', 'mutation', 'subscription')",
            name=op.f("ck_persisted_documents_operation_type_values"),
        ),
        sa.PrimaryKeyConstraint("id", "client_name", name=op.f("pk_persisted_documents")),
    )


def downgrade() -> None:
    op.drop_table("persisted_documents")
