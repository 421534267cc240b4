"""The write side's foundation and residents' moves: versions, record history, write request ids, the
resident register's changes as received, the insured-number sequence

Revision ID: 0011
Revises: 0010

- ``persons.version``, ``qualifications.version``: optimistic concurrency (a write names the version it
  read; CONFLICT when the row moved on).
- ``record_history``: one row per changed field and version (who, when, operation, old and new value);
  append-only like the audit trail.
- ``write_requests``: the request ids of write mutations (a retry answers the record made; another input
  under the same id is REQUEST_ID_REUSED).
- ``resident_changes``: each line of the register's daily feed, or change sent through the API, and its
  outcome (APPLIED, or QUEUED for staff with the reason); only the closing of a queued one changes it.
- ``insured_number_seq``: 被保険者番号 of persons acquiring a qualification here (the synthetic city's
  numbers are all below 10^9, so the sequence starts above them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_GUARD = """
CREATE FUNCTION record_history_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'record_history is append-only: record a new row instead'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""
# A received change is evidence of what the register said: only the closing of a queued one may change.
CHANGE_GUARD = """
CREATE FUNCTION resident_changes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'resident_changes are kept: nothing is deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.closed_at IS NOT NULL OR NEW.closed_at IS NULL
       OR (to_jsonb(NEW) - ARRAY['closed_at', 'closed_by', 'close_note', 'version'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['closed_at', 'closed_by', 'close_note', 'version']) THEN
        RAISE EXCEPTION 'a received change is closed once, and nothing else of it changes'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$
"""


def _stamp(name: str, *, nullable: bool = False) -> sa.Column:
    default = None if nullable else sa.text("now()")
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=nullable)


def upgrade() -> None:
    for table in ("persons", "qualifications"):
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "record_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("record_table", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        _stamp("changed_at"),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_record_history_version_positive")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_record_history_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_history")),
    )
    op.create_index("ix_record_history_record", "record_history", ["record_table", "record_id", "id"])
    op.create_index("ix_record_history_person_id", "record_history", ["person_id"])
    op.execute(HISTORY_GUARD)
    op.execute(
        "CREATE TRIGGER record_history_append_only BEFORE UPDATE OR DELETE ON record_history "
        "FOR EACH ROW EXECUTE FUNCTION record_history_guard()"
    )
    op.create_table(
        "write_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("record_table", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _stamp("created_at"),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_write_requests")),
    )
    op.create_table(
        "resident_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feed_id", sa.String(length=120), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=True),
        sa.Column("moved_on", sa.Date(), nullable=True),
        sa.Column("addressee_code", sa.String(length=15), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("effect", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=64), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _stamp("received_at"),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _stamp("closed_at", nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(feed_id IS NULL) = (line_no IS NULL)", name=op.f("ck_resident_changes_feed_line_together")
        ),
        sa.CheckConstraint(
            "feed_id IS NOT NULL OR request_id IS NOT NULL", name=op.f("ck_resident_changes_has_a_source")
        ),
        sa.CheckConstraint(
            "outcome IN ('APPLIED', 'QUEUED')", name=op.f("ck_resident_changes_outcome_values")
        ),
        sa.CheckConstraint(
            "(outcome = 'QUEUED') = (reason IS NOT NULL)", name=op.f("ck_resident_changes_queued_with_reason")
        ),
        sa.CheckConstraint(
            "closed_at IS NULL OR outcome = 'QUEUED'", name=op.f("ck_resident_changes_only_queued_close")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_resident_changes_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_changes")),
        sa.UniqueConstraint("feed_id", "line_no", name=op.f("uq_resident_changes_feed_id_line_no")),
        sa.UniqueConstraint("request_id", name=op.f("uq_resident_changes_request_id")),
    )
    op.create_index(
        "ix_resident_changes_open",
        "resident_changes",
        ["id"],
        postgresql_where=sa.text("outcome = 'QUEUED' AND closed_at IS NULL"),
    )
    op.create_index("ix_resident_changes_person_id", "resident_changes", ["person_id"])
    op.execute(CHANGE_GUARD)
    op.execute(
        "CREATE TRIGGER resident_changes_kept BEFORE UPDATE OR DELETE ON resident_changes "
        "FOR EACH ROW EXECUTE FUNCTION resident_changes_guard()"
    )
    op.execute("CREATE SEQUENCE insured_number_seq START 1000000001 MAXVALUE 9999999999")


def downgrade() -> None:
    op.execute("DROP SEQUENCE insured_number_seq")
    op.execute("DROP TRIGGER resident_changes_kept ON resident_changes")
    op.execute("DROP FUNCTION resident_changes_guard()")
    op.drop_index("ix_resident_changes_person_id", table_name="resident_changes")
    op.drop_index("ix_resident_changes_open", table_name="resident_changes")
    op.drop_table("resident_changes")
    op.drop_table("write_requests")
    op.execute("DROP TRIGGER record_history_append_only ON record_history")
    op.execute("DROP FUNCTION record_history_guard()")
    op.drop_index("ix_record_history_person_id", table_name="record_history")
    op.drop_index("ix_record_history_record", table_name="record_history")
    op.drop_table("record_history")
    for table in ("qualifications", "persons"):
        op.drop_column(table, "version")
