"""氏名カナ and 通称名カナ compared in code-point order (collation "C"): kana search reads one index range

Revision ID: 0007
Revises: 0006

Persons are listed in (氏名カナ, id) order and searched by a kana prefix (``LIKE 'ヤマ%'``). Under the
database's own collation (whatever initdb was given: C.UTF-8, ja_JP, en_US …) the (name_kana, id) index
cannot bound a LIKE prefix, so a search walked that index from the start and filtered most of the city
away (docs/figures.md). In collation "C" — code-point order, which for katakana is
the 五十音 order (ァアィイ … ン ヴ) on every server alike — the same index serves the prefix as a range and
the page order at once: the search reads its page and stops. The pattern-ops index on
name_kana is then redundant and dropped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # same type, another collation: no table rewrite; the indexes on these columns are rebuilt
    op.execute(
        'ALTER TABLE persons ALTER COLUMN name_kana TYPE varchar(200) COLLATE "C",'
        ' ALTER COLUMN alias_name_kana TYPE varchar(200) COLLATE "C"'
    )
    op.drop_index("ix_persons_name_kana_prefix", table_name="persons")


def downgrade() -> None:
    op.execute(
        'ALTER TABLE persons ALTER COLUMN name_kana TYPE varchar(200) COLLATE "default",'
        ' ALTER COLUMN alias_name_kana TYPE varchar(200) COLLATE "default"'
    )
    op.create_index(
        "ix_persons_name_kana_prefix",
        "persons",
        ["name_kana"],
        unique=False,
        postgresql_ops={"name_kana": "text_pattern_ops"},
    )
