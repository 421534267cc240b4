"""Benefits written: versions of reimbursements and high-cost benefits, the federation's claim lines

Revision ID: 0014
Revises: 0013

- ``reimbursements.version``, ``high_cost_benefits.version``: optimistic concurrency of an application
  decided later.
- ``claim_lines``: every line of the federation's (国保連) claim results files as received, and what became
  of it (APPLIED with the claim result it made, or QUEUED with the reason); append-only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = """
CREATE FUNCTION claim_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'claim_lines is append-only: record a new line instead'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""


def upgrade() -> None:
    for table in ("reimbursements", "high_cost_benefits"):
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "claim_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feed_id", sa.String(length=120), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("claim_result_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("outcome IN ('APPLIED', 'QUEUED')", name=op.f("ck_claim_lines_outcome_values")),
        sa.CheckConstraint(
            "(outcome = 'QUEUED') = (reason IS NOT NULL)", name=op.f("ck_claim_lines_queued_with_reason")
        ),
        sa.CheckConstraint(
            "(outcome = 'APPLIED') = (claim_result_id IS NOT NULL)",
            name=op.f("ck_claim_lines_applied_with_result"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_claim_lines_person_id_persons"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["claim_result_id"],
            ["claim_results.id"],
            name=op.f("fk_claim_lines_claim_result_id_claim_results"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_lines")),
        sa.UniqueConstraint("feed_id", "line_no", name=op.f("uq_claim_lines_feed_id_line_no")),
    )
    op.execute(GUARD)
    op.execute(
        "CREATE TRIGGER claim_lines_append_only BEFORE UPDATE OR DELETE ON claim_lines "
        "FOR EACH ROW EXECUTE FUNCTION claim_lines_guard()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER claim_lines_append_only ON claim_lines")
    op.execute("DROP FUNCTION claim_lines_guard()")
    op.drop_table("claim_lines")
    for table in ("high_cost_benefits", "reimbursements"):
        op.drop_column(table, "version")
