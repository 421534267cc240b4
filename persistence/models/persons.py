"""宛名 — persons: who the LTCI file is about (the insured and their household members)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, code, created_at, person_fk, pk

KANA = r"^[ァ-ヶー・＝　 ]+$"  # full-width katakana readings, with 長音, 中黒, ＝ and spaces


class Person(Base):
    """One addressee (宛名) of the city's integrated addressee system."""

    __tablename__ = "persons"

    id: Mapped[int] = pk()
    addressee_code: Mapped[str] = mapped_column(String(15), unique=True)  # 宛名コード
    # 個人番号: AES-GCM ciphertext (persistence/crypto.py) and its keyed blind index for lookups.
    individual_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    individual_number_index: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    linkage_code: Mapped[str | None] = mapped_column(String(32), unique=True)  # 符号 (network token)
    name: Mapped[str] = mapped_column(String(100))  # 氏名
    # Kana in code-point order (collation "C", = 五十音順 for katakana on every server): one index serves
    # both a kana prefix (LIKE 'ヤマ%') and the page order (migration 0007).
    name_kana: Mapped[str] = mapped_column(String(200, collation="C"))  # 氏名カナ
    alias_name: Mapped[str | None] = mapped_column(String(100))  # 通称名
    alias_name_kana: Mapped[str | None] = mapped_column(String(200, collation="C"))  # 通称名カナ
    sex: Mapped[str] = code("sex")
    birth_date: Mapped[dt.date] = mapped_column(index=True)
    address_code: Mapped[str] = mapped_column(String(16))  # 住所コード
    address: Mapped[str] = mapped_column(String(200))
    address_building: Mapped[str | None] = mapped_column(String(200))  # 住所方書
    postal_code: Mapped[str] = mapped_column(String(8))
    household_code: Mapped[str] = mapped_column(String(15), index=True)  # 世帯コード
    relationship: Mapped[str] = code("relationship")  # 続柄
    resident_status: Mapped[str] = code("resident_status")  # 住民区分
    nationality: Mapped[str | None] = mapped_column(String(2))  # 国籍 (ISO 3166 alpha-2)
    entry_purpose: Mapped[str | None] = mapped_column(String(100))  # 入国目的
    residence_period: Mapped[str | None] = mapped_column(String(40))  # 在留期間
    residence_expires_on: Mapped[dt.date | None]  # 在留期間満了日
    foreign_resident_since: Mapped[dt.date | None]  # 外国人住民となった日
    phone: Mapped[str | None] = mapped_column(String(20))  # 連絡先
    delivery_name: Mapped[str | None] = mapped_column(String(100))  # 送付先
    delivery_postal_code: Mapped[str | None] = mapped_column(String(8))
    delivery_address: Mapped[str | None] = mapped_column(String(200))
    special_notes: Mapped[str | None] = mapped_column(Text)  # 特記事項
    # 自動応答不可: provisions about this person wait for staff confirmation (e.g. protection measures).
    no_automatic_response: Mapped[bool] = mapped_column(default=False, server_default="false")
    version: Mapped[int] = mapped_column(server_default="1")  # optimistic concurrency (record_history)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (
        CheckConstraint(r"postal_code ~ '^[0-9]{3}-[0-9]{4}$'", name="postal_code_format"),
        CheckConstraint(
            r"delivery_postal_code IS NULL OR delivery_postal_code ~ '^[0-9]{3}-[0-9]{4}$'",
            name="delivery_postal_code_format",
        ),
        CheckConstraint(f"name_kana ~ '{KANA}'", name="name_kana_katakana"),
        CheckConstraint(f"alias_name_kana IS NULL OR alias_name_kana ~ '{KANA}'", name="alias_kana_katakana"),
        CheckConstraint(r"addressee_code ~ '^[0-9]{10,15}$'", name="addressee_code_digits"),
        CheckConstraint("birth_date >= DATE '1880-01-01'", name="birth_date_plausible"),
        CheckConstraint(
            "(individual_number_enc IS NULL) = (individual_number_index IS NULL)",
            name="number_and_index_together",
        ),
        CheckConstraint("alias_name_kana IS NULL OR alias_name IS NOT NULL", name="alias_kana_needs_alias"),
        # The 通称名カナ prefix, a range in collation "C" (migration 0008), like the 氏名カナ one below.
        Index(
            "ix_persons_alias_name_kana", "alias_name_kana", postgresql_where="alias_name_kana IS NOT NULL"
        ),
        # Kana-prefix search is the everyday lookup: a prefix is a range of the (kana, id) index, which is
        # also the page order.
        Index("ix_persons_name_kana_id", "name_kana", "id"),
    )


class ResidentMove(Base):
    """住民異動 — one move of the resident record (history, not only the latest state)."""

    __tablename__ = "resident_moves"

    id: Mapped[int] = pk()
    person_id: Mapped[int] = person_fk()
    moved_on: Mapped[dt.date]  # 異動日
    notified_on: Mapped[dt.date | None]  # 届出日
    reason: Mapped[str] = code("move_reason")  # 異動事由
    resident_status_after: Mapped[str] = code("resident_status")
    previous_postal_code: Mapped[str | None] = mapped_column(String(8))  # 転入前郵便番号
    previous_address: Mapped[str | None] = mapped_column(String(200))  # 転入前住所
    previous_building: Mapped[str | None] = mapped_column(String(200))  # 転入前住所方書
    next_postal_code: Mapped[str | None] = mapped_column(String(8))  # 転出先郵便番号
    next_address: Mapped[str | None] = mapped_column(String(200))  # 転出先住所
    next_building: Mapped[str | None] = mapped_column(String(200))  # 転出先住所方書
