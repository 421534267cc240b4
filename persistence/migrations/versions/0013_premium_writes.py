"""Premiums written: the levy's version

Revision ID: 0013
Revises: 0012

``levies.version``: optimistic concurrency of a levy and everything written under it (its installments,
receipts, reminders, refunds), whose history the levy keeps.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("levies", sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("levies", "version")
