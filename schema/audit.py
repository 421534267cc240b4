"""The audit trail as the security auditor sees it (アクセス記録の点検): who did what, when, to whom.

Person ids only: no names, no numbers. The auditor's role has ``read_audit`` and no read duty, so it
could not resolve a person from an id through this API either.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import strawberry

from .persons import PageInfo

__all__ = [
    "READ_AUDIT",
    "AuditDecision",
    "AuditEvent",
    "AuditEventConnection",
    "AuditEventEdge",
    "AuditFilter",
]

READ_AUDIT: Final = "read_audit"
"""The duty of the security auditor (policies/data/roles.toml): read the audit trail, nothing else."""


@strawberry.type(description="A decision an audited mutation took, and its legal basis (別表第2 item).")
class AuditDecision:
    code: str = strawberry.field(description="The decision's code (PROVIDED, DENIED's code …)")
    basis_item: str | None = strawberry.field(description="The 別表第2 item decided under, if any")


@strawberry.type(description="One audited operation (one GraphQL request that read or moved personal data).")
class AuditEvent:
    id: strawberry.ID = strawberry.field(description="The entry's sequence number in the chain (1, 2, 3 …).")
    occurred_at: dt.datetime = strawberry.field(description="When the operation started (UTC).")
    subject: str = strawberry.field(description="職員 — the token's subject")
    roles: list[str] = strawberry.field(description="The token's roles")
    department: str | None = strawberry.field(description="The token's department (receiving departments)")
    operation_type: str = strawberry.field(description="query or mutation")
    operation_name: str | None = strawberry.field(
        description="The operation's name as the client wrote it (runs of 6 or more digits shown as #)"
    )
    document_id: str | None = strawberry.field(
        description="The persisted document's id, if the request named one"
    )
    person_ids: list[strawberry.ID] = strawberry.field(
        description="Persons whose records were returned or acted on"
    )
    revealed_number_person_ids: list[strawberry.ID] = strawberry.field(
        description="Persons whose 個人番号 was returned"
    )
    decisions: list[AuditDecision] = strawberry.field(
        description="Decisions of provision, transfer or inquiry"
    )
    outcome: str = strawberry.field(description="ok, or error (see errorCodes)")
    error_codes: list[str] = strawberry.field(description="The `extensions.code` of each error answered")
    trace_id: str | None = strawberry.field(description="W3C trace id of the operation, when traced")
    prev_hash: str = strawberry.field(description="Hash of the previous entry of its chain (hex)")
    hash: str = strawberry.field(description="This entry's hash, over its content and `prevHash` (hex)")


@strawberry.input(description="Every given condition must hold; `from` inclusive, `to` exclusive.")
class AuditFilter:
    subject: str | None = strawberry.field(default=None, description="The token's subject (職員)")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="A person touched (`Person.id`)"
    )
    from_: dt.datetime | None = strawberry.field(default=None, name="from", description="At or after")
    to: dt.datetime | None = strawberry.field(default=None, description="Before")
    operation: str | None = strawberry.field(default=None, description="The operation name")
    decision: str | None = strawberry.field(default=None, description="A decision code")


@strawberry.type(description="One audit entry of a page, with its cursor.")
class AuditEventEdge:
    cursor: str = strawberry.field(description="Opaque: pass it as `after` to read on from this entry")
    node: AuditEvent = strawberry.field(description="The entry")


@strawberry.type(description="Audit entries, newest first.")
class AuditEventConnection:
    edges: list[AuditEventEdge] = strawberry.field(description="The entries of this page, newest first")
    page_info: PageInfo = strawberry.field(description="Whether more pages follow, and the cursors")
