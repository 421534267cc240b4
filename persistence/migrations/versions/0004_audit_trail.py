"""The audit trail (アクセス記録): append-only, hash-chained

Revision ID: 0004
Revises: 0003

The table comes from persistence/models/audit.py. Triggers refuse UPDATE, DELETE and TRUNCATE for every
role, the owner included (only ``ALTER TABLE … DISABLE TRIGGER`` by the owner gets past them, and the hash
chain then shows the change). PUBLIC gets no write privilege beyond INSERT: deploy the server under a
role that does not own the table so that it cannot disable the triggers either.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARDS = (
    """
    CREATE FUNCTION audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail (アクセス記録) is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Audit entries are never changed or removed.';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
    """,
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC",
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("operation_type", sa.String(length=12), nullable=False),
        sa.Column("operation_name", sa.String(length=200), nullable=True),
        sa.Column("document_id", sa.String(length=80), nullable=True),
        sa.Column("person_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("number_person_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("decisions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("error_codes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("outcome IN ('ok', 'error')", name=op.f("ck_audit_events_outcome_values")),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_events_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index("ix_audit_events_subject_seq", "audit_events", ["subject", "seq"])
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_person_ids", "audit_events", ["person_ids"], postgresql_using="gin")
    for statement in GUARDS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE audit_events")  # its triggers go with it
    op.execute("DROP FUNCTION audit_events_append_only()")
