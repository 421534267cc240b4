"""宛名 — persons, their household and resident record, and the entry points to every record group.

``Person.individualNumber`` is the one output field carrying an individual number (個人番号): it is
declared with ``requires_duty(NUMBER_USE)`` so the role-scoped schema can hide it (schema/duties.py).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Awaitable, Callable

import strawberry

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
from .levies import Levy
from .qualifications import Qualification

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
    code: str = strawberry.field(description="住所コード")
    postal_code: str = strawberry.field(description="郵便番号 NNN-NNNN")
    line: str = strawberry.field(description="住所")
    building: str | None = strawberry.field(description="方書")


@strawberry.type(description="通称 — the alias name of a foreign resident.")
class Alias:
    name: str = strawberry.field(description="通称名")
    name_kana: str | None = strawberry.field(description="通称名カナ")


@strawberry.type(description="外国人住民 — data of a foreign resident.")
class ForeignResident:
    nationality: str | None = strawberry.field(description="国籍 (ISO 3166-1 alpha-2)")
    residence_period: str | None = strawberry.field(description="在留期間")
    residence_expires_on: dt.date | None = strawberry.field(description="在留期間満了日")
    since: dt.date | None = strawberry.field(description="外国人住民となった日")
    entry_purpose: str | None = strawberry.field(description="入国目的")


@strawberry.type(description="連絡先")
class Contact:
    phone: str | None


@strawberry.type(description="送付先 — where mail goes when not to the resident address.")
class Delivery:
    name: str | None
    postal_code: str | None
    address: str | None


@strawberry.type(description="An address before or after a move.")
class MoveAddress:
    postal_code: str | None
    line: str | None
    building: str | None


@strawberry.type(description="住民異動 — one move of the resident record.")
class ResidentMove:
    moved_on: dt.date = strawberry.field(description="異動日")
    notified_on: dt.date | None = strawberry.field(description="届出日")
    reason: MoveReason = strawberry.field(description="異動事由")
    resident_status_after: ResidentStatus
    previous_address: MoveAddress | None = strawberry.field(description="転入前住所 (null if none recorded)")
    next_address: MoveAddress | None = strawberry.field(description="転出先住所 (null if none recorded)")


@strawberry.type(description="世帯 — the person's household.")
class Household:
    code: str = strawberry.field(description="世帯コード")
    relationship: Relationship = strawberry.field(description="続柄 of the person to the head")

    @strawberry.field(description="Every person of the household (the person included), head first.")
    async def members(self, info: GraphQLInfo) -> list[Person]:
        return await info.context.loaders.household_members.load(self.code)


@strawberry.type(description="宛名 — one person (addressee) of the city.")
class Person:
    pk: strawberry.Private[int]
    individual_number_enc: strawberry.Private[bytes | None]
    household_code: strawberry.Private[str]
    relationship: strawberry.Private[Relationship]

    id: strawberry.ID = strawberry.field(description="The person id (opaque to clients).")
    addressee_code: str = strawberry.field(description="宛名コード — the city's internal person key")
    name: str = strawberry.field(description="氏名")
    name_kana: str = strawberry.field(description="氏名カナ (full-width katakana)")
    birth_date: dt.date = strawberry.field(description="生年月日")
    sex: Sex
    address: Address
    alias: Alias | None = strawberry.field(description="通称 (null if none)")
    resident_status: ResidentStatus = strawberry.field(description="住民区分")
    foreign_resident: ForeignResident | None = strawberry.field(description="null unless a foreign resident")
    contact: Contact
    delivery: Delivery | None = strawberry.field(description="送付先 (null if mail goes to the address)")
    no_automatic_response: bool = strawberry.field(
        description="自動応答不可 — provisions about this person wait for staff confirmation",
        directives=requires_duty(REVIEW_PROVISIONS),  # only the roles that review provisions see the flag
    )
    special_notes: str | None = strawberry.field(description="特記事項")

    @strawberry.field(
        description="個人番号 — 12 digits; null when none is stored. Only for number-use duties.",
        directives=requires_duty(NUMBER_USE),
    )  # requires duty: number_use
    def individual_number(self, info: GraphQLInfo) -> str | None:
        if self.individual_number_enc is None:
            return None
        return info.context.individual_number(self.individual_number_enc, addressee_code=self.addressee_code)

    @strawberry.field
    def household(self) -> Household:
        return Household(code=self.household_code, relationship=self.relationship)

    @strawberry.field(description="住民異動 — moves, oldest first.")
    async def moves(self, info: GraphQLInfo) -> list[ResidentMove]:
        return await info.context.loaders.moves.load(self.pk)

    @strawberry.field(
        description="資格 — the insured status (empty if never insured).",
        directives=requires_duty(READ_QUALIFICATIONS),
    )
    async def qualifications(self, info: GraphQLInfo) -> list[Qualification]:
        return await info.context.loaders.qualifications.load(self.pk)

    @strawberry.field(
        description="認定 — certification cases, latest application first.",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    async def certifications(self, info: GraphQLInfo) -> list[Certification]:
        return await info.context.loaders.certifications.load(self.pk)

    @strawberry.field(
        description="The decided, uncancelled certification valid on the request date (latest start wins).",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    async def current_certification(self, info: GraphQLInfo) -> Certification | None:
        today = info.context.today
        valid = [c for c in await info.context.loaders.certifications.load(self.pk) if c.is_valid_on(today)]
        if not valid:
            return None
        return max(valid, key=lambda c: (c.decision.valid_from if c.decision else dt.date.min, c.pk))

    @strawberry.field(
        description="居宅サービス計画 — care-plan notifications, newest first.",
        directives=requires_duty(READ_CERTIFICATIONS),
    )
    async def care_plans(self, info: GraphQLInfo) -> list[CarePlan]:
        return await info.context.loaders.care_plans.load(self.pk)

    @strawberry.field(description="給付 — benefit records.", directives=requires_duty(READ_BENEFITS))
    def benefits(self) -> Benefits:
        return Benefits(person_pk=self.pk)

    @strawberry.field(
        description="賦課 — levies, newest fiscal year first; only `fiscalYear` if given.",
        directives=requires_duty(READ_LEVIES),
    )
    async def levies(self, info: GraphQLInfo, fiscal_year: int | None = None) -> list[Levy]:
        if fiscal_year is not None and not FISCAL_YEAR_RANGE[0] <= fiscal_year <= FISCAL_YEAR_RANGE[1]:
            raise BadUserInput(
                f"fiscalYear must be between {FISCAL_YEAR_RANGE[0]} and {FISCAL_YEAR_RANGE[1]}",
                field="fiscalYear",
                reason="OUT_OF_RANGE",
            )
        levies = await info.context.loaders.levies.load(self.pk)
        if fiscal_year is None:
            return levies
        return [levy for levy in levies if levy.fiscal_year == fiscal_year]


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


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="True when the page was asked for `after` a cursor"
    )
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class PersonEdge:
    cursor: str
    node: Person


@strawberry.type(description="A page of persons ordered by 氏名カナ, then id.")
class PersonConnection:
    edges: list[PersonEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]  # runs only when totalCount is selected

    @strawberry.field(description="Persons matching the filter, all pages together (costs one count).")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(description="The nodes of `edges`, for clients that do not need cursors.")
    def nodes(self) -> list[Person]:
        return list(map(operator.attrgetter("node"), self.edges))
