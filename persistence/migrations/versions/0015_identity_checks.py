"""The individual number taken in: the identity check (本人確認) recorded with it

Revision ID: 0015
Revises: 0014

``identity_checks``: how the person's identity and number were checked when staff set or corrected their
individual number (method, day, documents, by whom); never the number; append-only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = """
CREATE FUNCTION identity_checks_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'identity_checks is append-only: record a new check instead'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "identity_checks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=True),
        sa.Column("checked_by", sa.String(length=200), nullable=False),
        sa.Column("checked_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('NEW', 'CORRECTION')", name=op.f("ck_identity_checks_purpose_values")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_identity_checks_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_checks")),
    )
    op.create_index("ix_identity_checks_person_id", "identity_checks", ["person_id"])
    op.execute(GUARD)
    op.execute(
        "CREATE TRIGGER identity_checks_append_only BEFORE UPDATE OR DELETE ON identity_checks "
        "FOR EACH ROW EXECUTE FUNCTION identity_checks_guard()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER identity_checks_append_only ON identity_checks")
    op.execute("DROP FUNCTION identity_checks_guard()")
    op.drop_index("ix_identity_checks_person_id", table_name="identity_checks")
    op.drop_table("identity_checks")
