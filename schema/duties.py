"""The ``@requiresDuty`` directive: a field exists only for principals holding the duty (事務).

One declaration serves both ends: the printed SDL shows it, and the role-scoped schemas
(resolvers/build.py) read it back from ``field.directives`` to drop the field — and every type
reachable only through it — from a role's view. Duties are the ones policies/data/roles.toml
declares; their GraphQL enum is generated from that file.

Individual numbers (個人番号) are marked with ``requires_duty(NUMBER_USE)``:
``Person.individualNumber`` (schema/persons.py) and ``Query.personByIndividualNumber``
(resolvers/query.py); ``grep -rn "requires duty: number_use"`` lists them. Whole areas are marked
with their read duty on the fields that lead into them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final

import strawberry
from strawberry.schema_directive import Location

from policies.roles import DUTY_NAMES, policy

__all__ = [
    "DECIDE_SUBJECT_REQUESTS",
    "HANDLE_SUBJECT_REQUESTS",
    "INQUIRE",
    "NUMBER_USE",
    "PROVIDE_INFORMATION",
    "READ_BENEFITS",
    "READ_CERTIFICATIONS",
    "READ_LEGAL_BASES",
    "READ_LEVIES",
    "READ_PERSONS",
    "READ_QUALIFICATIONS",
    "RECEIVE_TRANSFER",
    "REQUEST_TRANSFER",
    "REVIEW_PROVISIONS",
    "SET_NO_AUTOMATIC_RESPONSE",
    "WRITE_BENEFITS",
    "WRITE_CERTIFICATIONS",
    "WRITE_INDIVIDUAL_NUMBERS",
    "WRITE_LEVIES",
    "WRITE_QUALIFICATIONS",
    "WRITE_RESIDENTS",
    "DutyName",
    "RequiresDuty",
    "required_duties",
    "requires_duty",
]

NUMBER_USE: Final = "number_use"
"""The duty of staff on number-use affairs (番号利用事務): the only ones who may see or search by a number."""
READ_PERSONS: Final = "read_persons"
READ_QUALIFICATIONS: Final = "read_qualifications"
READ_CERTIFICATIONS: Final = "read_certifications"
READ_BENEFITS: Final = "read_benefits"
READ_LEVIES: Final = "read_levies"
READ_LEGAL_BASES: Final = "read_legal_bases"
"""Read the legal-basis registry (the intermediate server, number-use staff, the chief)."""
PROVIDE_INFORMATION: Final = "provide_information"
"""情報提供: answer other bodies' requests over the network (the intermediate server, number-use staff)."""
REVIEW_PROVISIONS: Final = "review_provisions"
"""The section chief: confirm pending provisions (自動応答不可) and judge transfer applications (III-5)."""
REQUEST_TRANSFER: Final = "request_transfer"
"""A receiving department (別紙2) applies for a transfer (利用申請)."""
RECEIVE_TRANSFER: Final = "receive_transfer"
"""A receiving department receives what an approved application grants."""
INQUIRE: Final = "inquire"
"""情報照会: number-use staff ask other bodies (別表第2 93, 94) and record the answers."""
SET_NO_AUTOMATIC_RESPONSE: Final = "set_no_automatic_response"
"""The section chief sets or clears a person's 自動応答不可 flag (III-6 リスク2 ③)."""
HANDLE_SUBJECT_REQUESTS: Final = "handle_subject_requests"
"""Number-use staff record a person's requests (開示・訂正・利用停止, 問合せ) and produce the disclosure (IV)."""
DECIDE_SUBJECT_REQUESTS: Final = "decide_subject_requests"
"""The section chief decides correction and suspension requests (IV-1)."""
WRITE_RESIDENTS: Final = "write_residents"
"""The section's officers apply the resident register's moves (住民異動) and work their review queue."""
WRITE_BENEFITS: Final = "write_benefits"
"""The section's officers decide benefits (償還, 高額, 負担限度額) and import the federation's claim results."""
WRITE_CERTIFICATIONS: Final = "write_certifications"
"""The section's officers record certification cases step by step (要介護認定) and work their queue."""
WRITE_INDIVIDUAL_NUMBERS: Final = "write_individual_numbers"
"""Number-use staff set or correct an individual number with its identity check (本人確認)."""
WRITE_LEVIES: Final = "write_levies"
"""The section's officers assess premiums and record their collection (賦課・収納)."""
WRITE_QUALIFICATIONS: Final = "write_qualifications"
"""The section's officers record qualifications (資格), the certificates issued and the copay ratios."""

_DUTY_ENUM: Any = enum.Enum("Duty", {name.upper(): name for name in sorted(DUTY_NAMES)})  # type: ignore[misc]
DutyName: Any = strawberry.enum(
    _DUTY_ENUM,
    description="Duties (事務): what a role may do. A role carries several; `Viewer.duties` lists yours.",
)
for _value in DutyName.__strawberry_definition__.values:  # per-value descriptions from the data file
    _value.description = f"{policy().duties[_value.value].ja} — {policy().duties[_value.value].en}"


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.INPUT_FIELD_DEFINITION],
    name="requiresDuty",
    description="The field exists only for principals holding this duty (事務); for others it is absent.",
    repeatable=True,  # a field may need several duties (personByIndividualNumber); valid SDL needs this
)
class RequiresDuty:
    duty: DutyName


def requires_duty(*duties: str) -> list[object]:
    """The directives that make a field need every one of ``duties``."""
    for duty in duties:
        if duty not in DUTY_NAMES:
            raise ValueError(f"unknown duty {duty!r} (see policies/data/roles.toml)")
    return [RequiresDuty(duty=DutyName(duty)) for duty in duties]


def required_duties(directives: Iterable[object]) -> frozenset[str]:
    """The duties a field's directives require."""
    return frozenset(d.duty.value for d in directives if isinstance(d, RequiresDuty))
