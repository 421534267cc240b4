"""法令上の根拠 — the legal-basis registry as clients see it, and the information items it permits.

Both enums come from the data files (policies/data/legal_bases.toml, information_items.toml), like the
code enums: a city that changes the catalogue changes the data file and the schema follows.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import strawberry

from policies import legal_bases as registry

__all__ = ["Direction", "InformationItem", "LegalBasis", "LocalizedText", "information_item"]


@strawberry.type(description="One sentence in Japanese and in English.")
class LocalizedText:
    ja: str = strawberry.field(description="In Japanese")
    en: str = strawberry.field(description="In English")


if TYPE_CHECKING:  # one base class for mypy; at run time the members come from the data files
    Direction = enum.Enum
    InformationItem = enum.Enum
else:
    # A copy of policies' enum (strawberry marks the class it is given; policies stays untouched).
    Direction = strawberry.enum(
        enum.Enum("Direction", {d.name: d.value for d in registry.Direction}, module=__name__),
        name="Direction",
        description="Which way information goes under a legal basis (利用, 情報照会, 情報提供, 移転).",
    )
    for _value in Direction.__strawberry_definition__.values:
        _value.description = registry.Direction(_value.value).ja

    InformationItem = strawberry.enum(
        enum.Enum(
            "InformationItem",
            {item_id: item_id for item_id in registry.information_items()},
            module=__name__,
        ),
        name="InformationItem",
        description=(
            "情報項目 — a unit of information a legal basis may permit to be provided or transferred. "
            "Never the individual number."
        ),
    )
    for _value in InformationItem.__strawberry_definition__.values:
        _item = registry.information_items()[_value.value]
        _value.description = f"{_item.ja} — {_item.en}"


def information_item(item_id: str) -> Any:
    """The enum member of an information item id (ValueError for an id the catalogue lacks)."""
    return InformationItem(item_id)


@strawberry.type(description="法令上の根拠 — one legal-basis entry during one citation period.")
class LegalBasis:
    id: str = strawberry.field(description='Stable row id, e.g. "provision.94@2022-03-23"')
    direction: Direction = strawberry.field(description="Which way information goes under this entry")
    item: str = strawberry.field(description='Item of the table, canonical: "94", "56の2"')
    table: str | None = strawberry.field(description='"別表第2" …')
    instrument: str = strawberry.field(description="番号法, the ministerial order, or the city ordinance")
    article: str | None = strawberry.field(description='"第19条第8号"; null when none is cited')
    citation: str = strawberry.field(description="How a reason cites this row")
    counterparty: str = strawberry.field(
        description="PROVISION: the receiving body (別紙1); TRANSFER: the receiving department's id (as `Viewer.department`)"
    )
    counterparty_includes: list[str] = strawberry.field(description="Bodies a collective name covers")
    purpose: LocalizedText = strawberry.field(description="The affair (second column of the table)")
    items: list[InformationItem] = strawberry.field(description="Permitted information items")
    items_reason: str = strawberry.field(description="Why these items and no others, in the words of the law")
    auto_response: bool = strawberry.field(
        description="PROVISION: answered without staff confirmation unless the person is flagged 自動応答不可"
    )
    valid_from: dt.date = strawberry.field(description="First day this citation is in force")
    valid_to: dt.date | None = strawberry.field(description="Last day in force; null while in force")
    sheet_no: int | None = strawberry.field(description="Row of 別紙1 (PROVISION) or 別紙2 (TRANSFER)")

    @classmethod
    def of(cls, row: registry.LegalBasis) -> LegalBasis:
        catalogue = list(registry.information_items())
        return cls(
            id=row.id,
            direction=Direction(row.direction.value),
            item=row.item,
            table=row.table,
            instrument=row.instrument,
            article=row.article,
            citation=row.citation,
            counterparty=row.counterparty,
            counterparty_includes=list(row.counterparty_includes),
            purpose=LocalizedText(ja=row.purpose, en=row.purpose_en),
            items=[information_item(i) for i in catalogue if i in row.items],
            items_reason=row.items_reason.strip(),
            auto_response=row.auto_response,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            sheet_no=row.sheet_no,
        )

    @staticmethod
    def by_id(row_id: str | None) -> LegalBasis | None:
        """The registry row of a stored id, or None (no id, or the registry no longer has it)."""
        if row_id is None:
            return None
        for row in registry.registry().rows:
            if row.id == row_id:
                return LegalBasis.of(row)
        return None
