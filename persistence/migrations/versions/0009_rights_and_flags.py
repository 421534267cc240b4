"""The person's rights and the 自動応答不可 flag: subject requests and their events, the flag's history,
typed inquiry answers

Revision ID: 0009
Revises: 0008

- ``automatic_response_flags``: every setting and clearing of ``persons.no_automatic_response``, with who
  and why (III-6 リスク2 ③); append-only.
- ``subject_requests`` (開示・訂正・利用停止請求, 問合せ; IV-1, IV-2) are immutable once received;
  ``subject_request_events`` (decided, disclosed, applied with old and new value, lifted, answered) are
  append-only. Neither is ever deleted (the person's requests are evidence like the provision records).
- ``inquiries.answer``: the answer to an inquiry as typed items (JSON), set once with the answer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("automatic_response_flags", "subject_requests", "subject_request_events")


def _guard(table: str) -> tuple[str, str]:
    return (
        f"""
        CREATE FUNCTION {table}_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: record a new row instead'
                USING ERRCODE = 'integrity_constraint_violation';
        END
        $$
        """,
        f"""
        CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_guard()
        """,
    )


def _stamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.add_column("inquiries", sa.Column("answer", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_table(
        "automatic_response_flags",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("flag", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        _stamp("set_at"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_automatic_response_flags_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automatic_response_flags")),
    )
    op.create_index(
        op.f("ix_automatic_response_flags_person_id"), "automatic_response_flags", ["person_id"], unique=False
    )
    op.create_table(
        "subject_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        _stamp("received_at"),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("correction_field", sa.String(length=40), nullable=True),
        sa.Column("correction_value", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'CORRECTION') = (correction_field IS NOT NULL AND correction_value IS NOT NULL)",
            name=op.f("ck_subject_requests_correction_complete"),
        ),
        sa.CheckConstraint("due_on >= received_on", name=op.f("ck_subject_requests_due_after_received")),
        sa.CheckConstraint(
            "kind IN ('DISCLOSURE', 'CORRECTION', 'SUSPENSION', 'INQUIRY')",
            name=op.f("ck_subject_requests_kind_values"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_subject_requests_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_requests")),
        sa.UniqueConstraint("request_id", name=op.f("uq_subject_requests_request_id")),
    )
    op.create_index(op.f("ix_subject_requests_person_id"), "subject_requests", ["person_id"], unique=False)
    op.create_table(
        "subject_request_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("subject_request_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        _stamp("occurred_at"),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "event IN ('RECEIVED', 'DISCLOSED', 'APPROVED', 'REJECTED', 'APPLIED', 'LIFTED', 'ANSWERED')",
            name=op.f("ck_subject_request_events_event_values"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_request_id"],
            ["subject_requests.id"],
            name=op.f("fk_subject_request_events_subject_request_id_subject_requests"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_request_events")),
    )
    op.create_index(
        op.f("ix_subject_request_events_subject_request_id"),
        "subject_request_events",
        ["subject_request_id"],
        unique=False,
    )
    for table in APPEND_ONLY:
        for statement in _guard(table):
            op.execute(statement)


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_guard()")
    op.drop_index(op.f("ix_subject_request_events_subject_request_id"), table_name="subject_request_events")
    op.drop_table("subject_request_events")
    op.drop_index(op.f("ix_subject_requests_person_id"), table_name="subject_requests")
    op.drop_table("subject_requests")
    op.drop_index(op.f("ix_automatic_response_flags_person_id"), table_name="automatic_response_flags")
    op.drop_table("automatic_response_flags")
    op.drop_column("inquiries", "answer")
