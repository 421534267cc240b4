"""The request context: who asks, the request's database session, the vault and the loaders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strawberry.types.graphql import OperationType

from persistence.crypto import NumberVault
from persistence.db import SerialSession
from policies.principals import Principal
from schema.duties import NUMBER_USE
from schema.errors import Forbidden

from .audit import AuditCollector
from .loaders import Loaders

__all__ = ["JST", "Context", "build_context", "request_date"]

JST = dt.timezone(dt.timedelta(hours=9), "JST")
"""The city's time zone (Japan has no daylight saving time, so a fixed offset is exact)."""


def request_date() -> dt.date:
    """Today in Japan, whatever the server's time zone: the date a request is judged on."""
    return dt.datetime.now(JST).date()


@dataclass(eq=False)
class Context:
    """``info.context`` of every resolver (implements ``schema.context.RequestContext``).

    ``request`` and ``response`` are free for the HTTP layer (status codes, headers); nothing in
    resolvers/ reads them.
    """

    principal: Principal
    db: SerialSession
    vault: NumberVault
    loaders: Loaders
    today: dt.date
    request: Any = field(default=None, repr=False)
    response: Any = field(default=None, repr=False)
    operation_type: OperationType | None = None  # set by resolvers.build.OperationKind once parsed
    audit: AuditCollector = field(default_factory=AuditCollector)  # アクセス記録 of this request
    introspection: bool = True  # whether this principal may introspect (resolvers/introspection.py)
    reviewed_document: bool = False  # a trusted client's imported document (resolvers/limits.py)
    # A transfer page whose persons' information one planned statement builds (resolvers/planner/
    # payloads.py): the resolver leaves it out and names the page's persons and items here.
    planned_information: bool = False
    transferred: tuple[list[int], list[str]] | None = None
    # told the page's persons as soon as they are known, to build their information on connections
    # of its own while the mutation goes on (api/reads.py ``PageFill``)
    on_transferred: Callable[[list[int], list[str]], None] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Context(subject={self.principal.subject!r}, today={self.today.isoformat()})"

    def individual_number(self, blob: bytes, *, addressee_code: str) -> str:
        """Decrypt a stored number (bound to the row's addressee code) for the response.

        Only for principals with the number-use duty (FORBIDDEN otherwise: a second line behind the
        role-scoped schema, which hides the field).  Raises ``persistence.crypto.DecryptionError``
        (whose message holds no number) if the blob is not authentic; the error handling masks it
        as INTERNAL_SERVER_ERROR.
        """
        self.require(NUMBER_USE)
        number = self.vault.decrypt(blob, context=addressee_code.encode()).reveal()
        self.audit.number_revealed(addressee_code)  # after decryption: a failed one revealed nothing
        return number

    def require(self, duty: str) -> None:
        """Raise FORBIDDEN unless the principal has ``duty``."""
        if not self.principal.has_duty(duty):
            raise Forbidden(duty)


def build_context(
    *, principal: Principal, db: SerialSession, vault: NumberVault, today: dt.date | None = None
) -> Context:
    """A fresh context (and fresh DataLoaders) for one request.  ``today`` defaults to
    :func:`request_date` (today in Japan)."""
    audit = AuditCollector()
    day = today if today is not None else request_date()
    return Context(
        principal=principal,
        db=db,
        vault=vault,
        loaders=Loaders(db, audit=audit, today=day),
        today=day,
        audit=audit,
    )
