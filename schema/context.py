"""What the schema's field resolvers need from the request context.

The schema layer may not import resolvers or persistence, so it states its needs as protocols:
``resolvers.context.Context`` implements :class:`RequestContext`, and ``resolvers.loaders.Loaders``
implements :class:`Loaders` (one DataLoader per relation and arguments, created per request, each
batch one SQL statement built from the declarations of schema/sources.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import strawberry

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from .persons import Person

__all__ = ["GraphQLInfo", "Loaders", "RequestContext"]


class Loaders(Protocol):
    """The per-request DataLoaders the nested fields use."""

    @property
    def person(self) -> DataLoader[int, Person | None]: ...  # by person id

    async def related(self, field: Any, root: Any, arguments: Mapping[str, Any]) -> Any:
        """The rows of the relation ``field`` declares (schema/sources.py) for the object ``root``,
        batched with every other object of the request asking for the same field and arguments."""
        ...


class RequestContext(Protocol):
    """The request context as the schema sees it."""

    @property
    def loaders(self) -> Loaders: ...

    @property
    def today(self) -> dt.date:
        """The request date: 'current' certifications, overdue installments and arrears are as of it."""
        ...

    def individual_number(self, blob: bytes, *, addressee_code: str) -> str:
        """The digits of a stored (encrypted) individual number, for an authorised response only."""
        ...


GraphQLInfo: TypeAlias = strawberry.Info[RequestContext, None]
