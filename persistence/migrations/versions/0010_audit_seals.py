"""Keyed seals for the audit trail, and an append that says where it linked the entry

Revision ID: 0010
Revises: 0009

The links of the chains are unkeyed sha256 over a public format: whoever owns the table can switch its
triggers off, change an entry and recompute every later link. From here the server seals each entry
it writes with an HMAC under a key the database never holds (``persistence.audit.Sealer``) and writes
the seals, in batches, to ``audit_seals``; ``kaigo audit verify`` finds an entry altered or relinked
after its seal was written.

* ``audit_append_linked(...)``: the append of revision 0005 (same arguments, same lock, same link
  hash), returning ``(seq, chain, link, prev_hash, hash)``, which the server checks against the entry
  it sent before sealing it. ``audit_append(...)`` stays as it was (returns the seq).
* ``audit_seals (chain, link, seal, sealed_at)``: append-only like ``audit_events`` (the same trigger
  function; PUBLIC may only INSERT).
* ``audit_seal_start (chain, first_link)``: per chain, the first link written under this revision.
  Entries before it were never sealed and are verified the old way; the checkpoints sign these values,
  so lowering one later is found.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINS = 16
LOCK_CLASS = 0x6B616967  # as revision 0005: pg_advisory_xact_lock(LOCK_CLASS, chain)

APPEND_LINKED = f"""
CREATE FUNCTION audit_append_linked(
    p_occurred_at timestamptz, p_subject text, p_roles text[], p_department text,
    p_operation_type text, p_operation_name text, p_document_id text, p_person_ids bigint[],
    p_number_person_ids bigint[], p_decisions jsonb, p_outcome text, p_error_codes text[],
    p_trace_id text, p_content_hash text,
    OUT seq bigint, OUT chain smallint, OUT link bigint, OUT prev_hash text, OUT hash text
)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off SET enable_bitmapscan = off  -- the last entry through the index (revision 0006)
AS $$
#variable_conflict use_column
DECLARE
    v_chain smallint := 1 + pg_backend_pid() % {CHAINS};
    v_link bigint;
    v_prev text;
BEGIN
    IF p_content_hash !~ '^[0-9a-f]{{64}}$' THEN
        RAISE EXCEPTION 'audit_append_linked: content hash must be 64 hex digits';
    END IF;
    -- held to the commit: the chain's next writer reads this entry as its predecessor
    PERFORM pg_advisory_xact_lock({LOCK_CLASS}, v_chain);
    SELECT e.link, e.hash INTO v_link, v_prev
      FROM audit_events e WHERE e.chain = v_chain ORDER BY e.link DESC LIMIT 1;
    IF NOT FOUND THEN
        v_link := 0;
        v_prev := repeat('0', 64);
    END IF;
    v_link := v_link + 1;
    INSERT INTO audit_events AS e (
        occurred_at, subject, roles, department, operation_type, operation_name, document_id,
        person_ids, number_person_ids, decisions, outcome, error_codes, trace_id,
        chain, link, prev_hash, hash
    ) VALUES (
        p_occurred_at, p_subject, p_roles, p_department, p_operation_type, p_operation_name,
        p_document_id, p_person_ids, p_number_person_ids, p_decisions, p_outcome, p_error_codes,
        p_trace_id, v_chain, v_link, v_prev,
        encode(sha256(convert_to(
            format('kaigo-audit-v2|%s|%s|%s|%s', v_chain, v_link, v_prev, p_content_hash), 'UTF8'
        )), 'hex')
    ) RETURNING e.seq, e.chain, e.link, e.prev_hash, e.hash INTO seq, chain, link, prev_hash, hash;
END
$$
"""


def _append_only(table: str) -> list[str]:
    """Revision 0004's guards for another table of the trail: no UPDATE, DELETE or TRUNCATE for anyone."""
    return [
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC",
    ]


def upgrade() -> None:
    op.execute(APPEND_LINKED)
    op.create_table(
        "audit_seals",
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("link", sa.BigInteger(), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"chain BETWEEN 1 AND {CHAINS} AND link > 0", name=op.f("ck_audit_seals_place")),
        sa.CheckConstraint("seal ~ '^[0-9a-f]{64}$'", name=op.f("ck_audit_seals_seal_hex")),
        sa.PrimaryKeyConstraint("chain", "link", name=op.f("pk_audit_seals")),
    )
    op.create_table(
        "audit_seal_start",
        sa.Column("chain", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("first_link", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            f"chain BETWEEN 1 AND {CHAINS} AND first_link > 0", name=op.f("ck_audit_seal_start_place")
        ),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_seal_start")),
    )
    op.execute(
        "INSERT INTO audit_seal_start (chain, first_link)"
        f" SELECT c, coalesce((SELECT max(link) FROM audit_events WHERE chain = c), 0) + 1"
        f" FROM generate_series(1, {CHAINS}) AS c"
    )
    for statement in _append_only("audit_seals") + _append_only("audit_seal_start"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE audit_seal_start")
    op.execute("DROP TABLE audit_seals")
    op.execute("DROP FUNCTION audit_append_linked")
