"""The HTTP layer's side of the audit trail (アクセス記録): one entry per request that touched personal data.

The rule: a request is recorded when it ran a mutation, or returned or acted on a person (a Person
produced for the response, a decision about one), or returned an individual number. The viewer,
introspection, health checks and reads that failed validation touch nothing and are not recorded.

The entry is written in the request's own transaction, after the work and right before the commit, so
the work and its record commit together; if it cannot be written, the request fails as a whole
(``AUDIT_UNAVAILABLE``, HTTP 503, no data). A failed mutation's work is rolled back, as is an operation
whose transaction PostgreSQL aborted (a statement timeout): its attempt is then recorded in a fresh short
transaction.

Login and logout are the identity provider's records: tokens are stateless here, and every entry
carries the token's subject, roles, department and the time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Final

from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from persistence.audit import AuditEntry, Executor, Sealer, append
from persistence.db import Database
from policies.principals import Principal
from resolvers.context import Context
from resolvers.tracing import masked_operation_name

from .refusals import Refusal

__all__ = ["AUDIT_UNAVAILABLE", "AuditTrail"]

AUDIT_UNAVAILABLE: Final = "AUDIT_UNAVAILABLE"
log = logging.getLogger("kaigo.audit")


class AuditTrail:
    """Writes the entries. ``enabled=False`` exists for the overhead benchmark only, never in production."""

    def __init__(
        self,
        database: Database,
        *,
        enabled: bool = True,
        sealer: Sealer | None = None,
        durable_reads: bool = True,
    ) -> None:
        if not enabled and os.environ.get("KAIGO_ENV") == "production":
            raise SystemExit("the audit trail cannot be disabled in production")
        self.database = database
        self.enabled = enabled
        self.sealer = sealer  # seals each entry once committed (persistence/audit.py)
        # KAIGO_AUDIT_READ_COMMIT. durable: a read is answered once its entry is on the disk (a WAL flush
        # per read). async: once committed; the commit reaches the disk within PostgreSQL's
        # wal_writer_delay (×3 at most), so a crash of PostgreSQL or the machine in that window loses
        # the entries of reads already answered. Writes (mutations) and failed attempts: always durable.
        # A later durable commit (a write, a seal, a checkpoint) carries every earlier entry with it: the
        # trail and its seals survive a crash as a prefix, never with a seal of a lost entry.
        self.durable_reads = durable_reads

    def due(self, ctx: Context) -> bool:
        return self.enabled and (ctx.operation_type is OperationType.MUTATION or ctx.audit.personal_data)

    async def record(
        self,
        db: Executor,
        ctx: Context,
        result: ExecutionResult,
        *,
        started_at: dt.datetime,
        document_id: str | None,
    ) -> None:
        """Append the request's entry in its transaction (call last: the chain lock is held to commit)."""
        if not self.due(ctx):
            return
        try:
            entry = await self._entry(db, ctx, result, started_at=started_at, document_id=document_id)
            durable = self.durable_reads or entry.operation_type != "query"
            await append(db, entry, sealer=self.sealer, durable=durable)
        except Exception as exc:
            log.error("audit entry not written: %s", type(exc).__name__)
            raise Refusal(503, AUDIT_UNAVAILABLE, "The audit trail is unavailable; nothing was done") from exc

    async def record_failed(
        self, ctx: Context, result: ExecutionResult, *, started_at: dt.datetime, document_id: str | None
    ) -> None:
        """Record a rolled-back operation's attempt in a fresh transaction: a failed mutation, or any
        operation whose transaction PostgreSQL aborted (a cancelled statement). Always recorded: the
        attempt is what security staff look for, whether or not it got to any person."""
        if not self.enabled:
            return
        try:
            async with self.database.session() as session:
                entry = await self._entry(
                    session, ctx, result, started_at=started_at, document_id=document_id
                )
                await append(session, entry, sealer=self.sealer)
        except Exception as exc:
            log.error("audit entry of a failed mutation not written: %s", type(exc).__name__)
            raise Refusal(503, AUDIT_UNAVAILABLE, "The audit trail is unavailable; nothing was done") from exc

    async def record_attempt(
        self,
        principal: Principal,
        *,
        operation_name: str | None,
        error_codes: tuple[str, ...],
        started_at: dt.datetime,
        document_id: str | None,
        trace_id: str | None,
    ) -> None:
        """Record a read that failed before it touched anyone (its statement, entry included, cancelled),
        in a transaction of its own, as :meth:`record_failed` does for the executor's path."""
        if not self.enabled:
            return
        entry = AuditEntry(
            occurred_at=started_at,
            subject=principal.subject,
            roles=tuple(principal.roles),
            department=principal.department,
            operation_type="query",
            operation_name=operation_name,
            document_id=document_id,
            outcome="error",
            error_codes=error_codes,
            trace_id=trace_id,
        )
        try:
            async with self.database.session() as session:
                await append(session, entry, sealer=self.sealer)
        except Exception as exc:
            log.error("audit entry of a failed read not written: %s", type(exc).__name__)
            raise Refusal(503, AUDIT_UNAVAILABLE, "The audit trail is unavailable; nothing was done") from exc

    @staticmethod
    async def _entry(
        db: Executor,
        ctx: Context,
        result: ExecutionResult,
        *,
        started_at: dt.datetime,
        document_id: str | None,
    ) -> AuditEntry:
        principal: Principal = ctx.principal
        audit = ctx.audit
        audit.capture_trace()
        touched, revealed = await audit.resolve(db)
        codes = tuple(_code(e) for e in result.errors or ())
        operation_type = ctx.operation_type.value if ctx.operation_type is not None else "query"
        return AuditEntry(
            occurred_at=started_at,
            subject=principal.subject,
            roles=tuple(principal.roles),
            department=principal.department,
            operation_type=operation_type,
            operation_name=masked_operation_name(audit.operation_name),
            document_id=document_id,
            person_ids=tuple(touched),
            number_person_ids=tuple(revealed),
            decisions=tuple(audit.decisions),
            outcome="error" if codes else "ok",
            error_codes=codes,
            trace_id=audit.trace_id,
        )


def _code(error: Any) -> str:
    extensions = getattr(error, "extensions", None) or {}
    code = extensions.get("code")
    return str(code) if code else "INTERNAL_SERVER_ERROR"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
