"""Certifications written step by step: their state, version and the committee's level

Revision ID: 0012
Revises: 0011

- ``certifications.status``: the case's state computed from its dates (a generated column: APPLIED,
  PRIMARY_JUDGED, COMMITTEE_JUDGED, DECIDED, CANCELLED — the rule of policies/certifications.py
  ``status_of``), so every row, seeded or written, has it without being told.
- ``certifications.secondary_level``: the committee's level (二次判定) until the decision copies it into
  ``care_level``; filled from ``care_level`` for the cases judged by a committee already.
- ``certifications.version``: optimistic concurrency.
- ``ix_certifications_open``: the open cases by application day (the work queue).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_SQL = (
    "CASE WHEN cancelled_on IS NOT NULL THEN 'CANCELLED' WHEN decided_on IS NOT NULL THEN 'DECIDED'"
    " WHEN secondary_judged_on IS NOT NULL THEN 'COMMITTEE_JUDGED'"
    " WHEN primary_judged_on IS NOT NULL THEN 'PRIMARY_JUDGED' ELSE 'APPLIED' END"
)


def upgrade() -> None:
    op.add_column("certifications", sa.Column("secondary_level", sa.String(length=8), nullable=True))
    op.create_foreign_key(
        op.f("fk_certifications_secondary_level_code_care_level"),
        "certifications",
        "code_care_level",
        ["secondary_level"],
        ["code"],
    )
    op.execute("UPDATE certifications SET secondary_level = care_level WHERE secondary_judged_on IS NOT NULL")
    op.add_column("certifications", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "certifications",
        sa.Column("status", sa.String(length=20), sa.Computed(STATUS_SQL, persisted=True), nullable=False),
    )
    op.create_index(
        "ix_certifications_open",
        "certifications",
        ["applied_on"],
        postgresql_where=sa.text("status IN ('APPLIED', 'PRIMARY_JUDGED', 'COMMITTEE_JUDGED')"),
    )


def downgrade() -> None:
    op.drop_index("ix_certifications_open", table_name="certifications")
    op.drop_column("certifications", "status")
    op.drop_column("certifications", "version")
    op.drop_constraint(
        op.f("fk_certifications_secondary_level_code_care_level"), "certifications", type_="foreignkey"
    )
    op.drop_column("certifications", "secondary_level")
