"""One small reference table per code kind, so the database itself refuses unknown codes."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from policies.codes import code_tables

from .base import Base, code_table_name

CODE_TABLES: dict[str, Table] = {
    kind: Table(
        code_table_name(kind),
        Base.metadata,
        Column("code", String(8), primary_key=True),
        Column("name", String(64), nullable=False, unique=True),
        Column("label_ja", String(200), nullable=False),
        Column("label_en", String(200), nullable=False),
        comment=f"{t.ja}: codes from policies/data/codes.toml",
    )
    for kind, t in code_tables().items()
}
