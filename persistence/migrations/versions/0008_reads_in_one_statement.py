"""Reads answered in one statement: the audit entry's content hash computed by the database, the alias
kana as a range

Revision ID: 0008
Revises: 0007

A query the planner answers (resolvers/planner/) is one statement: its data and its audit entry commit
together in that statement's own transaction, one round trip. The persons it touched and the numbers it
revealed are known only inside the statement, so the database computes the entry's content hash:
``audit_content_hash`` writes the same canonical JSON as ``persistence.audit.content_hash`` (sorted keys,
no spaces, UTC microseconds, JSON string escapes as Python's ``json.dumps(ensure_ascii=False)``), so
``kaigo audit verify`` checks these entries as every other (``audit_append_linked``, revision 0010,
appends them).

The 通称名カナ index is rebuilt with the default operator class: in collation "C" (0007) it serves the
prefix as a range ``[kana, kana_end)``, which a prepared statement's generic plan can still bound; the
pattern operator class served only ``LIKE`` with a literal.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTENT_HASH = """
CREATE FUNCTION audit_content_hash(
    p_occurred_at timestamptz, p_subject text, p_roles text[], p_department text,
    p_operation_type text, p_operation_name text, p_document_id text, p_person_ids bigint[],
    p_number_person_ids bigint[], p_decisions jsonb, p_outcome text, p_error_codes text[],
    p_trace_id text
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT encode(sha256(convert_to(
    '{"decisions":[' || coalesce((
        SELECT string_agg(
            '{"basis_item":' || coalesce(to_json(d ->> 'basis_item')::text, 'null')
            || ',"code":' || coalesce(to_json(d ->> 'code')::text, 'null') || '}', ',' ORDER BY n)
        FROM jsonb_array_elements(p_decisions) WITH ORDINALITY AS e(d, n)), '') || ']'
    || ',"department":' || coalesce(to_json(p_department)::text, 'null')
    || ',"document_id":' || coalesce(to_json(p_document_id)::text, 'null')
    || ',"error_codes":' || coalesce(array_to_json(p_error_codes)::text, '[]')
    || ',"number_person_ids":' || coalesce(array_to_json(p_number_person_ids)::text, '[]')
    || ',"occurred_at":"' || to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    || '+00:00"'
    || ',"operation_name":' || coalesce(to_json(p_operation_name)::text, 'null')
    || ',"operation_type":' || coalesce(to_json(p_operation_type)::text, 'null')
    || ',"outcome":' || coalesce(to_json(p_outcome)::text, 'null')
    || ',"person_ids":' || coalesce(array_to_json(p_person_ids)::text, '[]')
    || ',"roles":' || coalesce(array_to_json(p_roles)::text, '[]')
    || ',"subject":' || coalesce(to_json(p_subject)::text, 'null')
    || ',"trace_id":' || coalesce(to_json(p_trace_id)::text, 'null')
    || '}', 'UTF8')), 'hex')
$$
"""


def upgrade() -> None:
    op.execute(CONTENT_HASH)
    op.drop_index("ix_persons_alias_name_kana_prefix", table_name="persons")
    op.create_index(
        "ix_persons_alias_name_kana",
        "persons",
        ["alias_name_kana"],
        postgresql_where="alias_name_kana IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_persons_alias_name_kana", table_name="persons")
    op.create_index(
        "ix_persons_alias_name_kana_prefix",
        "persons",
        ["alias_name_kana"],
        postgresql_ops={"alias_name_kana": "text_pattern_ops"},
        postgresql_where="alias_name_kana IS NOT NULL",
    )
    op.execute("DROP FUNCTION audit_content_hash")
