"""The audit append reads its chain's last entry through the index, whatever the statistics say

Revision ID: 0006
Revises: 0005

``audit_append`` finds the chain's last entry with ``ORDER BY link DESC LIMIT 1``. PL/pgSQL plans that
once per connection and keeps the plan until the table's statistics change. An ``ANALYZE`` of the empty
table (after a migration, a restore or a ``vacuumdb --analyze``) makes a sequential scan look cheapest,
so every append until the next autovacuum analyze read the whole table, its cost growing with every
entry (docs/figures.md). The function now runs with sequential and bitmap scans disabled, which leaves the backward scan of
``uq_audit_events_chain_link`` (one leaf page) as the only plan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER FUNCTION audit_append SET enable_seqscan = off SET enable_bitmapscan = off")


def downgrade() -> None:
    op.execute("ALTER FUNCTION audit_append RESET enable_seqscan RESET enable_bitmapscan")
