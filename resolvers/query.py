"""The root Query: persons by id, by page and by individual number, and the viewer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from policies.individual_number import IndividualNumber, InvalidIndividualNumber
from schema.duties import NUMBER_USE, READ_PERSONS, requires_duty
from schema.errors import BadUserInput
from schema.persons import Person, PersonConnection, PersonFilter
from schema.viewer import Viewer

from .context import Context
from .persons import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, parse_person_id, person_by_index, persons_page

__all__ = ["Query"]

Info = strawberry.Info[Context, None]


@strawberry.type
class Query:
    @strawberry.field(description="The authenticated principal.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context.principal)

    @strawberry.field(
        description="A person by id; null if there is none.", directives=requires_duty(READ_PERSONS)
    )
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        return await info.context.loaders.person.load(parse_person_id(id))

    @strawberry.field(
        description=(
            f"Persons in 氏名カナ order, {DEFAULT_PAGE_SIZE} per page by default, at most {MAX_PAGE_SIZE}; "
            "`after` takes the `endCursor` of the previous page."
        ),
        directives=requires_duty(READ_PERSONS),
    )
    async def persons(
        self,
        info: Info,
        filter_: Annotated[PersonFilter | None, strawberry.argument(name="filter")] = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> PersonConnection:
        ctx = info.context
        return await persons_page(ctx.db, filter_, first=first, after=after, today=ctx.today)

    @strawberry.field(
        description=(
            "The person holding an individual number (12 digits), or null. A malformed number or a wrong "
            "check digit is BAD_USER_INPUT (reason FORMAT / CHECK_DIGIT); the value is never echoed."
        ),
        directives=requires_duty(READ_PERSONS, NUMBER_USE),
    )  # requires duty: number_use
    async def person_by_individual_number(self, info: Info, individual_number: str) -> Person | None:
        info.context.require(NUMBER_USE)  # before looking at the value at all
        try:
            number = IndividualNumber.parse(individual_number, field="individualNumber")
        except InvalidIndividualNumber as exc:
            raise BadUserInput(str(exc), field=exc.field, reason=exc.reason) from None
        ctx = info.context
        return await person_by_index(ctx.db, ctx.vault.blind_index(number))
