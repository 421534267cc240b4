"""宛名 — persons, their household and resident record, and the entry points to every record group.

``Person.individualNumber`` is the one output field carrying an individual number (個人番号): it is
declared with ``requires_duty(NUMBER_USE)`` so the role-scoped schema can hide it (schema/duties.py).
Every field states where its data comes from (schema/sources.py).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import strawberry
from sqlalchemy import or_

from .benefits import Benefits
from .certifications import CarePlan, Certification
from .context import GraphQLInfo
from .duties import (
    NUMBER_USE,
    READ_BENEFITS,
    READ_CERTIFICATIONS,
    READ_LEVIES,
    READ_QUALIFICATIONS,
    REVIEW_PROVISIONS,
    requires_duty,
)
from .enums import CareLevel, InsuredCategory, MoveReason, Relationship, ResidentStatus, Sex
from .errors import BadUserInput
from .history import RecordChange, history_of
from .individual_numbers import IdentityCheck
from .levies import Levy
from .qualifications import Qualification
from .sources import column, embedded, individual_number, related, relation, table
from .validity import valid_on_request_date

__all__ = [
    "FISCAL_YEAR_RANGE",
    "Address",
    "Alias",
    "Contact",
    "Delivery",
    "ForeignResident",
    "Household",
    "MoveAddress",
    "PageInfo",
    "Person",
    "PersonConnection",
    "PersonEdge",
    "PersonFilter",
    "ResidentMove",
]

FISCAL_YEAR_RANGE = (2000, 2100)  # LTCI started in FY2000; the levies table checks the same bounds


@strawberry.type(description="住所 — address code, postal code, address line and building line (方書).")
class Address:
    code: str = column("address_code", description="住所コード")
    postal_code: str = column(description="郵便番号 NNN-NNNN")
    line: str = column("address", description="住所")
    building: str | None = column("address_building", description="方書")


@strawberry.type(description="通称 — the alias name of a foreign resident.")
class Alias:
    name: str = column("alias_name", description="通称名")
    name_kana: str | None = column("alias_name_kana", description="通称名カナ")


@strawberry.type(description="外国人住民 — data of a foreign resident.")
class ForeignResident:
    nationality: str | None = column(description="国籍 (ISO 3166-1 alpha-2)")
    residence_period: str | None = column(description="在留期間")
    residence_expires_on: dt.date | None = column(description="在留期間満了日")
    since: dt.date | None = column("foreign_resident_since", description="外国人住民となった日")
    entry_purpose: str | None = column(description="入国目的")


@strawberry.type(description="連絡先")
class Contact:
    phone: str | None = column(description="電話番号 (null if none recorded)")


@strawberry.type(description="送付先 — where mail goes when not to the resident address.")
class Delivery:
    name: str | None = column("delivery_name", description="送付先氏名 — whom mail is addressed to")
    postal_code: str | None = column("delivery_postal_code", description="送付先郵便番号 NNN-NNNN")
    address: str | None = column("delivery_address", description="送付先住所")


@strawberry.type(description="An address before or after a move.")
class MoveAddress:
    postal_code: str | None = column(description="郵便番号 NNN-NNNN")
    line: str | None = column("address", description="住所 (国外 for a move from abroad)")
    building: str | None = column(description="方書")


_ANY_ADDRESS = ("postal_code", "address", "building")


@strawberry.type(description="住民異動 — one move of the resident record.")
@table("resident_moves")
class ResidentMove:
    moved_on: dt.date = column(description="異動日")
    notified_on: dt.date | None = column(description="届出日")
    reason: MoveReason = column(description="異動事由")
    resident_status_after: ResidentStatus = column(description="住民区分 after the move")
    previous_address: MoveAddress | None = embedded(
        prefix="previous_", present_if_any=_ANY_ADDRESS, description="転入前住所 (null if none recorded)"
    )
    next_address: MoveAddress | None = embedded(
        prefix="next_", present_if_any=_ANY_ADDRESS, description="転出先住所 (null if none recorded)"
    )


@strawberry.type(description="世帯 — the person's household.")
class Household:
    code: str = column("household_code", description="世帯コード")
    relationship: Relationship = column(description="続柄 of the person to the head")
    members: list[Person] = relation(
        "household_code",
        parent="household_code",
        order_by=("relationship", "birth_date", "id"),  # the head (続柄 01) first
        description="Every person of the household (the person included), head first.",
    )


def _fiscal_year(values: Mapping[str, Any]) -> dict[str, Any]:
    fiscal_year = values.get("fiscal_year")
    if fiscal_year is not None and not FISCAL_YEAR_RANGE[0] <= fiscal_year <= FISCAL_YEAR_RANGE[1]:
        raise BadUserInput(
            f"fiscalYear must be between {FISCAL_YEAR_RANGE[0]} and {FISCAL_YEAR_RANGE[1]}",
            field="fiscalYear",
            reason="OUT_OF_RANGE",
        )
    return {"fiscal_year": fiscal_year}


@strawberry.type(description="宛名 — one person (addressee) of the city.")
@table("persons", audited=True)
class Person:
    pk: strawberry.Private[int]

    id: strawberry.ID = column(description="The person id (opaque to clients).")
    addressee_code: str = column(description="宛名コード — the city's internal person key")
    name: str = column(description="氏名")
    name_kana: str = column(description="氏名カナ (full-width katakana)")
    birth_date: dt.date = column(description="生年月日")
    sex: Sex = column(description="性別")
    address: Address = embedded(description="住所 — where the person is registered")
    alias: Alias | None = embedded(present_if_any=("alias_name",), description="通称 (null if none)")
    resident_status: ResidentStatus = column(description="住民区分")
    foreign_resident: ForeignResident | None = embedded(
        present_if_any=(
            "nationality",
            "residence_period",
            "residence_expires_on",
            "foreign_resident_since",
            "entry_purpose",
        ),
        description="null unless a foreign resident",
    )
    contact: Contact = embedded(description="連絡先")
    delivery: Delivery | None = embedded(
        present_if_any=("delivery_name", "delivery_postal_code", "delivery_address"),
        description="送付先 (null if mail goes to the address)",
    )
    no_automatic_response: bool = column(
        description="自動応答不可 — provisions about this person wait for staff confirmation",
        directives=requires_duty(REVIEW_PROVISIONS),  # only the roles that review provisions see the flag
    )
    special_notes: str | None = column(description="特記事項")
    version: int = column(
        description="Changes with every write of the person; a write names the one it read."
    )

    individual_number: str | None = individual_number(  # requires duty: number_use
        "individual_number_enc",
        context="addressee_code",  # bound into the ciphertext (persistence/crypto.py)
        description="個人番号 — 12 digits; null when none is stored. Only for number-use duties.",
        directives=requires_duty(NUMBER_USE),
    )
    household: Household = embedded(description="世帯 — the household and the person's place in it")
    moves: list[ResidentMove] = relation(
        "person_id", order_by=("moved_on", "id"), description="住民異動 — moves, oldest first."
    )
    history: list[RecordChange] = history_of("persons")
    identity_checks: list[IdentityCheck] = relation(
        "person_id",
        order_by=("id",),
        description="本人確認 — the checks the individual number was taken in with, oldest first.",
        directives=requires_duty(NUMBER_USE),
    )
    qualifications: list[Qualification] = relation(
        "person_id",
        order_by=("acquired_on desc", "id"),
        description="資格 — the insured status (empty if never insured).",
        directives=requires_duty(READ_QUALIFICATIONS),
    )
    certifications: list[Certification] = relation(
        "person_id",
        order_by=("applied_on desc", "id desc"),
        description="認定 — certification cases, latest application first.",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    current_certification: Certification | None = relation(
        "person_id",
        where=valid_on_request_date,
        order_by=("valid_from desc", "id desc"),  # the latest start wins
        single=True,
        description="The decided, uncancelled certification valid on the request date (latest start wins).",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    care_plans: list[CarePlan] = relation(
        "person_id",
        order_by=("valid_from desc", "id desc"),
        description="居宅サービス計画 — care-plan notifications, newest first.",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    benefits: Benefits = embedded(
        description="給付 — benefit records.", directives=requires_duty(READ_BENEFITS)
    )

    @relation(
        "person_id",
        order_by=("fiscal_year desc",),
        params={"fiscal_year": int},
        arguments=_fiscal_year,
        where=lambda row, env, p: [or_(p.fiscal_year.is_(None), row.fiscal_year == p.fiscal_year)],
        description="賦課 — levies, newest fiscal year first; only `fiscalYear` if given.",
        directives=requires_duty(READ_LEVIES),
    )
    async def levies(
        self,
        info: GraphQLInfo,
        fiscal_year: Annotated[
            int | None, strawberry.argument(description="Only this fiscal year (April to March, 2000-2100)")
        ] = None,
    ) -> list[Levy]:
        return await related(self, info, fiscal_year=fiscal_year)


# --- the persons connection ---------------------------------------------------------------------


@strawberry.input(description="Filters of `persons`; all given filters must hold.")
class PersonFilter:
    name_kana_prefix: str | None = strawberry.field(
        default=None,
        description=(
            "Start of 氏名カナ or 通称名カナ: 1-50 full-width katakana "
            "(ー・＝ and spaces allowed after the first character)"
        ),
    )
    birth_date_from: dt.date | None = strawberry.field(default=None, description="Born on or after")
    birth_date_to: dt.date | None = strawberry.field(default=None, description="Born on or before")
    insured_number: str | None = strawberry.field(
        default=None, description="被保険者番号, 10 digits", directives=requires_duty(READ_QUALIFICATIONS)
    )
    addressee_code: str | None = strawberry.field(default=None, description="宛名コード, 10-15 digits")
    care_level: CareLevel | None = strawberry.field(
        default=None,
        description="Care level of the certification valid on the request date",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    insured_category: InsuredCategory | None = strawberry.field(
        default=None, description="被保険者区分", directives=requires_duty(READ_QUALIFICATIONS)
    )


@strawberry.type(
    description=(
        "Where a page stands in its list (cursor paging): pass `endCursor` as `after` to get the next page "
        "while `hasNextPage` is true. Cursors are opaque strings; keep them only to ask for the next page."
    )
)
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page")
    has_previous_page: bool = strawberry.field(
        description="True when the page was asked for `after` a cursor"
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the page's first item; null if empty")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the page's last item: the `after` of the next page; null if empty"
    )


@strawberry.type(description="One person of a page, with its cursor.")
class PersonEdge:
    cursor: str = strawberry.field(description="Opaque: pass it as `after` to read on from this person")
    node: Person = strawberry.field(description="The person")


@strawberry.type(description="A page of persons ordered by 氏名カナ, then id.")
class PersonConnection:
    edges: list[PersonEdge] = strawberry.field(description="The persons of this page, in order")
    page_info: PageInfo = strawberry.field(description="Whether more pages follow, and the cursors")
    count: strawberry.Private[Callable[[], Awaitable[int]]]  # runs only when totalCount is selected

    @strawberry.field(description="Persons matching the filter, all pages together (costs one count).")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(description="The nodes of `edges`, for clients that do not need cursors.")
    def nodes(self) -> list[Person]:
        return list(map(operator.attrgetter("node"), self.edges))
