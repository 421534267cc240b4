"""Provisions, transfers and inquiries: provision records (情報提供等記録), transfer permissions, inquiries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:43:39.909558

The tables come from persistence/models/provisions.py; the triggers are written here by hand:

- ``provision_records`` is immutable: UPDATE is refused; DELETE is refused unless the row's record date
  (its ``recorded_at`` as a date in Japan) is before the retention cut of today, the same cut as
  ``policies.decisions.purge_before`` (7 years; a test compares the two); a TRUNCATE is refused while
  any row younger than that exists.
- ``transfer_permissions`` changes once, REQUESTED → APPROVED | REJECTED, and only its decision
  columns; ``inquiries`` gets one answer. Neither may be deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The date in Japan (UTC+9, no daylight saving time) of a timestamp, and of now.
_JST_TODAY = "(now() AT TIME ZONE 'UTC' + interval '9 hours')::date"

TRIGGERS = (
    # Frozen copy of policies.decisions.purge_before with RETENTION_YEARS = 7: the first record date
    # still kept on `today`; 29 February cuts at 1 March seven (common) years before.
    """
    CREATE FUNCTION provision_records_purge_before(today date) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT AS $$
        SELECT CASE
            WHEN extract(month FROM today) = 2 AND extract(day FROM today) = 29
                THEN make_date(extract(year FROM today)::int - 7, 3, 1)
            ELSE (today - interval '7 years')::date
        END
    $$
    """,
    f"""
    CREATE FUNCTION provision_records_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'provision records (情報提供等記録) cannot be changed'
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'Record a new row instead (a confirmation, a refusal, an answer).';
        END IF;
        IF (OLD.recorded_at AT TIME ZONE 'UTC' + interval '9 hours')::date
                >= provision_records_purge_before({_JST_TODAY}) THEN
            RAISE EXCEPTION 'provision records (情報提供等記録) are kept 7 years; this one is younger'
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'kaigo purge removes the records older than the retention period.';
        END IF;
        RETURN OLD;
    END
    $$
    """,
    f"""
    CREATE FUNCTION provision_records_truncate_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM provision_records
            WHERE (recorded_at AT TIME ZONE 'UTC' + interval '9 hours')::date
                >= provision_records_purge_before({_JST_TODAY})
        ) THEN
            RAISE EXCEPTION 'provision records (情報提供等記録) younger than 7 years cannot be truncated'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER provision_records_immutable BEFORE UPDATE OR DELETE ON provision_records
    FOR EACH ROW EXECUTE FUNCTION provision_records_guard()
    """,
    """
    CREATE TRIGGER provision_records_no_truncate BEFORE TRUNCATE ON provision_records
    FOR EACH STATEMENT EXECUTE FUNCTION provision_records_truncate_guard()
    """,
    """
    CREATE FUNCTION transfer_permissions_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'transfer permissions (利用申請) are never deleted'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF OLD.status <> 'REQUESTED' OR NEW.status NOT IN ('APPROVED', 'REJECTED')
            OR (NEW.id, NEW.department, NEW.basis_item, NEW.basis_id, NEW.items, NEW.purpose,
                NEW.valid_from, NEW.valid_to, NEW.request_id, NEW.requested_at, NEW.requested_by)
               IS DISTINCT FROM
               (OLD.id, OLD.department, OLD.basis_item, OLD.basis_id, OLD.items, OLD.purpose,
                OLD.valid_from, OLD.valid_to, OLD.request_id, OLD.requested_at, OLD.requested_by)
        THEN
            RAISE EXCEPTION 'a transfer permission is decided once (REQUESTED → APPROVED or REJECTED)'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER transfer_permissions_decided_once BEFORE UPDATE OR DELETE ON transfer_permissions
    FOR EACH ROW EXECUTE FUNCTION transfer_permissions_guard()
    """,
    """
    CREATE FUNCTION inquiries_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'inquiries (情報照会) are never deleted'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF OLD.answered_at IS NOT NULL OR NEW.answered_at IS NULL
            OR (NEW.id, NEW.request_id, NEW.permit_number, NEW.basis_item, NEW.basis_id, NEW.provider,
                NEW.person_id, NEW.items, NEW.requested_at, NEW.requested_by)
               IS DISTINCT FROM
               (OLD.id, OLD.request_id, OLD.permit_number, OLD.basis_item, OLD.basis_id, OLD.provider,
                OLD.person_id, OLD.items, OLD.requested_at, OLD.requested_by)
        THEN
            RAISE EXCEPTION 'an inquiry is answered once, and nothing else of it changes'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER inquiries_answered_once BEFORE UPDATE OR DELETE ON inquiries
    FOR EACH ROW EXECUTE FUNCTION inquiries_guard()
    """,
)

DROP_TRIGGERS = (
    "DROP TRIGGER IF EXISTS inquiries_answered_once ON inquiries",
    "DROP FUNCTION IF EXISTS inquiries_guard()",
    "DROP TRIGGER IF EXISTS transfer_permissions_decided_once ON transfer_permissions",
    "DROP FUNCTION IF EXISTS transfer_permissions_guard()",
    "DROP TRIGGER IF EXISTS provision_records_no_truncate ON provision_records",
    "DROP TRIGGER IF EXISTS provision_records_immutable ON provision_records",
    "DROP FUNCTION IF EXISTS provision_records_truncate_guard()",
    "DROP FUNCTION IF EXISTS provision_records_guard()",
    "DROP FUNCTION IF EXISTS provision_records_purge_before(date)",
)


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "transfer_permissions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("basis_item", sa.String(length=16), nullable=False),
        sa.Column("basis_id", sa.String(length=64), nullable=False),
        sa.Column("items", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="REQUESTED", nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'REQUESTED') = (decided_at IS NULL)",
            name=op.f("ck_transfer_permissions_decided_with_status"),
        ),
        sa.CheckConstraint(
            "status IN ('REQUESTED', 'APPROVED', 'REJECTED')",
            name=op.f("ck_transfer_permissions_status_values"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_transfer_permissions_valid_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_permissions")),
    )
    op.create_index(
        "ix_transfer_permissions_department_request",
        "transfer_permissions",
        ["department", "request_id"],
        unique=True,
    )
    op.create_table(
        "inquiries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("permit_number", sa.String(length=64), nullable=False),
        sa.Column("basis_item", sa.String(length=16), nullable=False),
        sa.Column("basis_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("items", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_items", postgresql.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column("response_summary", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(answered_at IS NULL) = (answered_items IS NULL) AND (answered_at IS NULL) = (answered_by IS NULL)",
            name=op.f("ck_inquiries_answer_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_inquiries_person_id_persons"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
        sa.UniqueConstraint("request_id", name=op.f("uq_inquiries_request_id")),
    )
    op.create_index(op.f("ix_inquiries_person_id"), "inquiries", ["person_id"], unique=False)
    op.create_table(
        "provision_records",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("reason_ja", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("basis_item", sa.String(length=16), nullable=False),
        sa.Column("basis_id", sa.String(length=64), nullable=True),
        sa.Column("basis_instrument", sa.Text(), nullable=True),
        sa.Column("basis_article", sa.String(length=40), nullable=True),
        sa.Column("basis_citation", sa.Text(), nullable=True),
        sa.Column("items", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("request_scope", sa.String(length=200), nullable=True),
        sa.Column("request_key", sa.String(length=220), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("request_date", sa.Date(), nullable=True),
        sa.Column("permit_number", sa.String(length=64), nullable=True),
        sa.Column("subject_kind", sa.String(length=16), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("person_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("person_count", sa.Integer(), nullable=True),
        sa.Column("page_after", sa.BigInteger(), nullable=True),
        sa.Column("page_last", sa.BigInteger(), nullable=True),
        sa.Column("permission_id", sa.BigInteger(), nullable=True),
        sa.Column("inquiry_id", sa.BigInteger(), nullable=True),
        sa.Column("resolves_record_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_subject", sa.String(length=200), nullable=False),
        sa.Column("actor_roles", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("actor_department", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "direction IN ('PROVISION', 'TRANSFER', 'INQUIRY')",
            name=op.f("ck_provision_records_direction_values"),
        ),
        sa.CheckConstraint(
            "outcome IN ('PROVIDED', 'PENDING_REVIEW', 'DENIED', 'CONFIRMED', 'REFUSED', 'PERMISSION_REQUESTED', 'PERMISSION_APPROVED', 'PERMISSION_REJECTED', 'TRANSFERRED', 'INQUIRED', 'INQUIRY_ANSWERED')",
            name=op.f("ck_provision_records_outcome_values"),
        ),
        sa.CheckConstraint(
            "person_count IS NULL OR person_count >= 0",
            name=op.f("ck_provision_records_person_count_non_negative"),
        ),
        sa.CheckConstraint(
            "request_key IS NULL OR request_hash IS NOT NULL", name=op.f("ck_provision_records_key_with_hash")
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_provision_records_inquiry_id_inquiries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["transfer_permissions.id"],
            name=op.f("fk_provision_records_permission_id_transfer_permissions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_provision_records_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provision_records")),
        sa.UniqueConstraint("request_key", name=op.f("uq_provision_records_request_key")),
        sa.UniqueConstraint("resolves_record_id", name=op.f("uq_provision_records_resolves_record_id")),
    )
    op.create_index(
        op.f("ix_provision_records_inquiry_id"), "provision_records", ["inquiry_id"], unique=False
    )
    op.create_index(
        op.f("ix_provision_records_permission_id"), "provision_records", ["permission_id"], unique=False
    )
    op.create_index(op.f("ix_provision_records_person_id"), "provision_records", ["person_id"], unique=False)
    op.create_index(
        "ix_provision_records_person_ids",
        "provision_records",
        ["person_ids"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        op.f("ix_provision_records_request_scope"), "provision_records", ["request_scope"], unique=False
    )
    op.create_index("ix_provision_records_recorded_at", "provision_records", ["recorded_at"], unique=False)
    # ### end Alembic commands ###
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS:
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index("ix_provision_records_recorded_at", table_name="provision_records")
    op.drop_index(op.f("ix_provision_records_request_scope"), table_name="provision_records")
    op.drop_index("ix_provision_records_person_ids", table_name="provision_records", postgresql_using="gin")
    op.drop_index(op.f("ix_provision_records_person_id"), table_name="provision_records")
    op.drop_index(op.f("ix_provision_records_permission_id"), table_name="provision_records")
    op.drop_index(op.f("ix_provision_records_inquiry_id"), table_name="provision_records")
    op.drop_table("provision_records")
    op.drop_index(op.f("ix_inquiries_person_id"), table_name="inquiries")
    op.drop_table("inquiries")
    op.drop_index("ix_transfer_permissions_department_request", table_name="transfer_permissions")
    op.drop_table("transfer_permissions")
    # ### end Alembic commands ###
