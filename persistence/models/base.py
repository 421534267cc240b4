"""Declarative base, naming conventions and column helpers shared by every record group."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Integer, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

    def __repr__(self) -> str:
        # Only the class and key: a repr must never carry personal data (names, numbers) into logs.
        return f"<{type(self).__name__} id={getattr(self, 'id', None)}>"


def code_table_name(kind: str) -> str:
    return f"code_{kind}"


def code(kind: str, *, nullable: bool = False, index: bool = False, **kw: Any) -> Mapped[Any]:
    """A column holding a code of ``kind`` (policies/data/codes.toml), checked by a foreign key."""
    return mapped_column(
        String(8), ForeignKey(f"{code_table_name(kind)}.code"), nullable=nullable, index=index, **kw
    )


def pk() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=False), primary_key=True)


def person_fk(*, unique: bool = False) -> Mapped[int]:
    return mapped_column(
        BigInteger,
        ForeignKey("persons.id", ondelete="CASCADE"),
        nullable=False,
        index=not unique,
        unique=unique or None,
    )


def yen(*, nullable: bool = False) -> Mapped[Any]:
    """An amount in yen: integers, never floats."""
    return mapped_column(Integer, nullable=nullable)


def created_at() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
