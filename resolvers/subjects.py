"""The persons a provision or transfer may be about: the file's scope, and finding a subject.

Scope (II-2-③, ``policies.decisions.SubjectFacts.in_scope``): an insured person — one with a
qualification row — or a member of the household of one. A person is a member of their own
household, so one EXISTS over the household covers both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, select

from persistence.db import SerialSession
from persistence.models import Person as PersonRow
from persistence.models import Qualification as QualificationRow
from persistence.models import SubjectRequest as SubjectRequestRow
from persistence.models import SubjectRequestEvent as SubjectRequestEventRow

__all__ = ["Subject", "find_subject", "in_scope", "persons", "suspended"]

persons = PersonRow.__table__
qualifications = QualificationRow.__table__
subject_requests = SubjectRequestRow.__table__
subject_request_events = SubjectRequestEventRow.__table__


def suspended(person: Any = persons) -> ColumnElement[bool]:
    """SQL: a suspension (利用停止) the person asked for is in force: approved and not lifted (IV-1)."""
    r, e = subject_requests, subject_request_events

    def step(name: str) -> Any:
        return exists(select(1).where(e.c.subject_request_id == r.c.id, e.c.event == name))

    return exists(
        select(1).where(
            r.c.person_id == person.c.id, r.c.kind == "SUSPENSION", step("APPROVED"), ~step("LIFTED")
        )
    )


def in_scope(person: Any = persons) -> ColumnElement[bool]:
    """SQL: ``person`` (the persons table or an alias of it) is in the file's scope."""
    member = persons.alias("household_member")
    q = qualifications
    return exists(
        select(1)
        .select_from(member.join(q, q.c.person_id == member.c.id))
        .where(member.c.household_code == person.c.household_code)
    )


@dataclass(frozen=True)
class Subject:
    """What a decision needs to know about the person a request names."""

    id: int
    addressee_code: str
    in_scope: bool
    no_automatic_response: bool
    suspended: bool = False


async def find_subject(
    db: SerialSession,
    *,
    linkage_code: str | None = None,
    addressee_code: str | None = None,
    person_id: int | None = None,
) -> Subject | None:
    """The person with this linkage code (符号), addressee code (宛名コード) or id, or None."""
    p = persons.c
    key = (
        p.linkage_code == linkage_code
        if linkage_code is not None
        else p.id == person_id
        if person_id is not None
        else p.addressee_code == addressee_code
    )
    row = (
        await db.execute(
            select(
                p.id,
                p.addressee_code,
                p.no_automatic_response,
                in_scope().label("in_scope"),
                suspended().label("suspended"),
            ).where(key)
        )
    ).first()
    if row is None:
        return None
    return Subject(
        id=row.id,
        addressee_code=row.addressee_code,
        in_scope=bool(row.in_scope),
        no_automatic_response=bool(row.no_automatic_response),
        suspended=bool(row.suspended),
    )
