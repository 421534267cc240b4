"""The read planner's append: an entry whose persons the statement itself found, linked and returned

Revision ID: 0011
Revises: 0010

``audit_record`` takes an entry's fields as the read's statement knows them (the persons it showed and
the numbers it revealed, computed in the same statement), normalises them as ``AuditEntry.row`` does
(sorted, distinct, the numbers' persons among the persons, the name cut to 200 characters), hashes its
content in the database (``audit_content_hash``, revision 0008) and appends it through
``audit_append_linked`` (revision 0010): the chain's lock, its link, and the row
``(seq, chain, link, prev_hash, hash)`` from which the server checks the link and seals the entry. An
entry about no one is no entry: the function then returns no row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD = """
CREATE FUNCTION audit_record(
    p_occurred_at timestamptz, p_subject text, p_roles text[], p_department text,
    p_operation_type text, p_operation_name text, p_document_id text, p_person_ids bigint[],
    p_number_person_ids bigint[], p_decisions jsonb, p_outcome text, p_error_codes text[],
    p_trace_id text
) RETURNS TABLE (seq bigint, chain smallint, link bigint, prev_hash text, hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_numbers bigint[] := ARRAY(SELECT DISTINCT x FROM unnest(p_number_person_ids) AS x ORDER BY 1);
    v_persons bigint[] := ARRAY(
        SELECT DISTINCT x FROM unnest(p_person_ids || p_number_person_ids) AS x ORDER BY 1);
    v_roles text[] := ARRAY(SELECT x FROM unnest(p_roles) AS x ORDER BY x COLLATE "C");
    v_codes text[] := ARRAY(
        SELECT x FROM (SELECT DISTINCT x FROM unnest(p_error_codes) AS x) AS d ORDER BY x COLLATE "C");
    v_name text := left(p_operation_name, 200);
BEGIN
    IF cardinality(v_persons) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM audit_append_linked(
        p_occurred_at, p_subject, v_roles, p_department, p_operation_type, v_name, p_document_id,
        v_persons, v_numbers, p_decisions, p_outcome, v_codes, p_trace_id,
        audit_content_hash(
            p_occurred_at, p_subject, v_roles, p_department, p_operation_type, v_name, p_document_id,
            v_persons, v_numbers, p_decisions, p_outcome, v_codes, p_trace_id));
END
$$
"""


def upgrade() -> None:
    op.execute(RECORD)


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_record")
