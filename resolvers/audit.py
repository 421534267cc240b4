"""What a request did that the audit trail must know (アクセス記録), and the auditor's view of the trail.

:class:`AuditCollector` lives on the request context. The person loaders and the page functions report
every Person they produce for the response, ``Context.individual_number`` every number it reveals, and
the provision, transfer and inquiry mutations their decisions. The HTTP layer (api/audit.py) turns it
into one entry, written last in the request's transaction.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

import strawberry
from sqlalchemy import select, text

from persistence.audit import Executor
from persistence.models import AuditEvent as AuditRow
from persistence.tracing import current_trace_id, keep_trace
from schema.audit import AuditDecision, AuditEvent, AuditEventConnection, AuditEventEdge, AuditFilter
from schema.errors import BadUserInput
from schema.persons import PageInfo

from .persons import parse_person_id

__all__ = [
    "DEFAULT_AUDIT_PAGE",
    "MAX_AUDIT_PAGE",
    "AuditCollector",
    "audit_events_page",
    "audited",
    "current_trace_id",
]

DEFAULT_AUDIT_PAGE: Final = 100
MAX_AUDIT_PAGE: Final = 500
_CURSOR_PREFIX: Final = "audit:"


class _PersonLike(Protocol):
    pk: int
    addressee_code: str


P = TypeVar("P", bound=_PersonLike)


@dataclass(eq=False)
class AuditCollector:
    """Persons, revealed numbers and decisions of one request (one per context, never shared)."""

    persons: dict[str, int] = field(default_factory=dict)  # 宛名コード → person id
    touched: set[int] = field(default_factory=set)  # ids acted on without a Person object
    touched_codes: set[str] = field(default_factory=set)  # 宛名コード acted on (a transfer page's persons)
    revealed: set[str] = field(default_factory=set)  # 宛名コード whose 個人番号 was returned
    known: dict[str, int] = field(default_factory=dict)  # 宛名コード → id read already: no lookup
    decisions: list[dict[str, str | None]] = field(default_factory=list)
    trace_id: str | None = None
    operation_name: str | None = None  # as executed (set by resolvers.build.OperationKind)

    def saw(self, person: P) -> P:
        """Record a Person produced for the response; returns it (for use in comprehensions)."""
        self.persons[person.addressee_code] = person.pk
        return person

    def saw_all(self, persons: Iterable[_PersonLike | None]) -> None:
        for person in persons:
            if person is not None:
                self.saw(person)

    def touch(self, *person_ids: int) -> None:
        """Record persons an operation read or moved data of without returning a Person."""
        self.touched.update(person_ids)

    def touch_codes(self, addressee_codes: Iterable[str]) -> None:
        """Record persons named by 宛名コード whose data the response carries (transferred persons)."""
        self.touched_codes.update(addressee_codes)

    def know(self, persons: Iterable[tuple[int, str]]) -> None:
        """Ids of persons named by 宛名コード that a resolver read with their codes (a transfer page's):
        :meth:`resolve` then needs no statement to find them."""
        self.known.update((code, person_id) for person_id, code in persons)

    def number_revealed(self, addressee_code: str) -> None:
        if not self.revealed:  # the request's trace is kept whatever the sampler said (once is enough)
            keep_trace("number_revealed")
        self.revealed.add(addressee_code)

    def decision(self, code: str, basis_item: str | None = None, *, person_id: int | None = None) -> None:
        """A provision/transfer/inquiry decision (判断) and its basis item (別表第2 の項)."""
        keep_trace("legal_basis_decision")  # data moved (or refused): the trace is kept
        self.decisions.append({"code": code, "basis_item": basis_item})
        if person_id is not None:
            self.touched.add(person_id)

    def capture_trace(self) -> None:
        if self.trace_id is None:
            self.trace_id = current_trace_id()

    @property
    def personal_data(self) -> bool:
        """Whether anything personal was touched (the rule for reads; mutations are always recorded)."""
        return bool(self.persons or self.touched or self.touched_codes or self.revealed or self.decisions)

    async def resolve(self, db: Executor) -> tuple[set[int], set[int]]:
        """(ids of every person touched, ids of those whose number was revealed). Codes not seen as a
        Person are looked up (one statement, only then)."""
        codes = {**self.known, **self.persons}
        unknown = sorted(c for c in self.revealed | self.touched_codes if c not in codes)
        if unknown:
            rows = await db.execute(
                text("SELECT id, addressee_code FROM persons WHERE addressee_code = ANY(:codes)"),
                {"codes": unknown},
            )
            codes.update({r.addressee_code: int(r.id) for r in rows})
        touched = set(self.persons.values()) | self.touched
        touched.update(codes[c] for c in self.touched_codes if c in codes)
        return touched, {codes[c] for c in self.revealed if c in codes}


A = TypeVar("A")


async def audited(collector: AuditCollector, answer: A) -> A:
    """Record what a provision/transfer/inquiry answer decided and about whom; returns the answer.

    The answer's ``record`` (情報提供等記録) gives the decision code and the basis item; its person is
    loaded through the person loader (which records it; cached if the response selects it too); a
    transfer page's persons are recorded by 宛名コード.
    """
    record = getattr(answer, "record", None)
    if record is not None:
        basis = getattr(record, "basis", None)
        collector.decision(str(record.code), getattr(basis, "item", None))
        fetch_person = getattr(record, "fetch_person", None)
        if fetch_person is not None:
            await fetch_person()
    persons = getattr(answer, "persons", None)
    if persons:
        collector.touch_codes(p.addressee_code for p in persons)
    return answer


# --- the auditor's view -------------------------------------------------------------------------------


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    error = BadUserInput("`after` is not a cursor of this connection", field="after", reason="FORMAT")
    if not 0 < len(cursor) <= 64:
        raise error
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise error from None
    digits = decoded.removeprefix(_CURSOR_PREFIX)
    if not decoded.startswith(_CURSOR_PREFIX) or not digits.isdigit() or len(digits) > 18:
        raise error
    return int(digits)


def _event(r: AuditRow) -> AuditEvent:
    return AuditEvent(
        id=strawberry.ID(str(r.seq)),
        occurred_at=r.occurred_at,
        subject=r.subject,
        roles=list(r.roles),
        department=r.department,
        operation_type=r.operation_type,
        operation_name=r.operation_name,
        document_id=r.document_id,
        person_ids=[strawberry.ID(str(i)) for i in r.person_ids],
        revealed_number_person_ids=[strawberry.ID(str(i)) for i in r.number_person_ids],
        decisions=[AuditDecision(code=d["code"], basis_item=d.get("basis_item")) for d in r.decisions],
        outcome=r.outcome,
        error_codes=list(r.error_codes),
        trace_id=r.trace_id,
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


async def audit_events_page(
    db: Executor, f: AuditFilter | None, *, first: int, after: str | None
) -> AuditEventConnection:
    """Newest first (by sequence), keyset on the sequence number."""
    if not 1 <= first <= MAX_AUDIT_PAGE:
        raise BadUserInput(
            f"`first` must be between 1 and {MAX_AUDIT_PAGE}", field="first", reason="OUT_OF_RANGE"
        )
    t = AuditRow.__table__.c
    statement = select(AuditRow)
    if f is not None:
        if f.subject is not None:
            statement = statement.where(t.subject == f.subject)
        if f.person_id is not None:
            person = parse_person_id(f.person_id, field="filter.personId")
            statement = statement.where(t.person_ids.contains([person]))
        if f.from_ is not None:
            statement = statement.where(t.occurred_at >= _aware(f.from_))
        if f.to is not None:
            statement = statement.where(t.occurred_at < _aware(f.to))
        if f.operation is not None:
            statement = statement.where(t.operation_name == f.operation)
        if f.decision is not None:
            statement = statement.where(t.decisions.contains([{"code": f.decision}]))
    after_seq = decode_cursor(after) if after is not None else None
    if after_seq is not None:
        statement = statement.where(t.seq < after_seq)
    rows = (await db.execute(statement.order_by(t.seq.desc()).limit(first + 1))).scalars().all()
    edges = [AuditEventEdge(cursor=encode_cursor(r.seq), node=_event(r)) for r in rows[:first]]
    return AuditEventConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=after_seq is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    """A time without zone is taken as UTC (the trail's clock)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
