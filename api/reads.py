"""Reads answered in one statement: the read planner (resolvers/planner/) in the HTTP layer.

A query in a document the caller's view has validated (a persisted document, or a text its worker keeps)
is planned once per document, view and operation, and the plan is kept with the document. Each request
then costs: its limits from the document's kept measure, its variables and arguments checked as the
resolvers would check them, one statement — the answer built by PostgreSQL and the audit entry appended
in the same statement, committing together in its own transaction — and the individual numbers
decrypted here. Whatever the planner does not cover, or a request it would answer otherwise than the
resolvers (a value they refuse), goes to strawberry's executor, which answers as it always has.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import orjson
from asyncpg.exceptions import QueryCanceledError
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from persistence.audit import AuditEntry, UnexpectedLink
from persistence.crypto import DecryptionError, NumberVault
from persistence.db import Database
from persistence.tracing import current_trace_id, keep_trace
from policies.principals import Principal
from resolvers.context import Context
from resolvers.errors import STATEMENT_TIMEOUT, TIMEOUT_MESSAGE, database_fault
from resolvers.limits import nul_errors
from resolvers.planner import Declined, ReadPlan, TransferPlan, plan_read, plan_transfer
from resolvers.tracing import describe, masked_operation_name, operation_span

from .audit import AuditTrail, now
from .documents import PreparedDocument
from .documents.cache import prepare_node

__all__ = ["PlannedReads"]

log = logging.getLogger("kaigo.reads")

_PLANS_KEPT: Final = 16  # per document: one per view and operation name


class PlannedReads:
    """Answers the queries the planner covers; ``None`` leaves a request to strawberry's executor."""

    def __init__(self, database: Database, vault: NumberVault, audit: AuditTrail) -> None:
        self.database = database
        self.vault = vault
        self.audit = audit
        self.answered = 0  # requests answered here (the differential tests read it)

    def plan(
        self, document: PreparedDocument, schema: Any, duties: frozenset[str], name: str | None
    ) -> ReadPlan | None:
        """The plan of the operation on this view, made once and kept with the document (None: declined)."""
        plans = document.read_plans
        key = (duties, name)
        if key not in plans:
            if len(plans) >= _PLANS_KEPT:
                plans.clear()
            try:
                plans[key] = plan_read(schema, document.node, name, audited=self.audit.enabled)
            except Declined as declined:
                log.debug("planner declines %s: %s", document.operation_name or "-", declined)
                plans[key] = None
        return plans[key]

    async def answer(
        self,
        *,
        document: PreparedDocument | None,
        schema: Any,
        principal: Principal,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        reviewed: bool,
        today: Any,
        document_id: str | None,
    ) -> ExecutionResult | None:
        if document is None or document.operation_type not in (None, "query"):
            return None
        plan = self.plan(document, schema, principal.duties, operation_name)
        if plan is None:
            return None
        if document.limit_errors(schema, principal.duties, variables, reviewed=reviewed):
            return None  # refused before anything runs: strawberry's path words the refusal
        measure = document.measure(principal.duties)  # kept by limit_errors' validation
        literals = measure.literals_hold_nul if measure is not None else None
        if nul_errors(document.node, variables, literals_hold_nul=literals):
            return None
        started_at = now()
        with operation_span(principal) as span:
            audit_values = (
                self._audit_values(principal, plan, started_at, document_id) if self.audit.enabled else None
            )
            try:
                bound = plan.bind(
                    schema,
                    variables,
                    today=today,
                    vault=self.vault,
                    audit=audit_values,
                )
            except Declined:
                return None
            try:
                row = await self.database.read_one(bound.compiled.sql, bound.arguments)
            except QueryCanceledError:
                return await self._timed_out(plan, principal, started_at, document_id, span)
            except Exception as exc:
                if database_fault(exc) is not None:
                    raise  # answered 503 by the HTTP layer (api/faults.py), as on the executor's path
                log.warning(
                    "planned read %s failed (%s): answered by the executor",
                    plan.name or "-",
                    type(exc).__name__,
                )
                return None
            try:
                data = plan.finish(row["data"], self.vault)
            except DecryptionError:
                # the entry (committed) names the numbers as revealed; the executor's answer reports
                # the field it cannot decrypt, and its own entry the error
                log.error("planned read %s: a stored number does not decrypt", plan.name or "-")
                return None
            if row["seq"] is not None and audit_values is not None:
                self._seal(row, audit_values)
            if row["revealed"]:
                keep_trace("number_revealed")  # a trace sampled out is exported all the same
            if span is not None:
                describe(
                    span,
                    "query",
                    plan.name,
                    hash_of=(document.text, document.node),
                    persons=len(row["touched"]),
                )
        self.answered += 1
        return ExecutionResult(data=data, errors=None)

    def transfer(
        self,
        document: PreparedDocument | None,
        schema: Any,
        duties: frozenset[str],
        name: str | None,
        variables: Mapping[str, Any] | None,
        *,
        reviewed: bool,
    ) -> tuple[TransferPlan, PreparedDocument] | None:
        """A department's transfer page planned (resolvers/planner/payloads.py): the plan and the document
        the executor runs instead (each page's ``persons`` replaced), or None for the executor's own
        path. The limits are the original document's."""
        if document is None or document.operation_type not in (None, "mutation"):
            return None
        plans = document.read_plans
        key = ("transfer", duties, name)
        if key not in plans:
            if len(plans) >= _PLANS_KEPT:
                plans.clear()
            try:
                plan = plan_transfer(schema, document.node, name)
                plans[key] = (plan, prepare_node(document, plan.document))
            except Declined as declined:
                log.debug("planner declines %s: %s", document.operation_name or "-", declined)
                plans[key] = None
        found: tuple[TransferPlan, PreparedDocument] | None = plans[key]
        if found is None or document.limit_errors(schema, duties, variables, reviewed=reviewed):
            return None
        return found

    async def fill(self, plan: TransferPlan, ctx: Context, data: Any) -> None:
        """The page's persons, built by one statement in the mutation's transaction and put in their place
        in the executor's answer."""
        if ctx.transferred is None:
            return  # not a page (a denial, a replayed denial)
        ids, items = ctx.transferred
        for fill in plan.fills:
            arguments = plan.arguments(fill, ids, items, ctx.today)
            plan.put(data, fill, orjson.loads(await ctx.db.fetchval(fill.compiled.sql, *arguments)))
        self.answered += 1

    def _seal(self, row: Any, values: Mapping[str, Any]) -> None:
        """Seal the entry the statement appended (committed with it), from what the server sent and the
        persons the statement found: the link must be the server's (persistence/audit.py ``Sealer``)."""
        sealer = self.audit.sealer
        if sealer is None:
            return
        entry = AuditEntry(
            occurred_at=values["a_occurred_at"],
            subject=values["a_subject"],
            roles=tuple(values["a_roles"]),
            department=values["a_department"],
            operation_type="query",
            operation_name=values["a_operation_name"],
            document_id=values["a_document_id"],
            person_ids=tuple(row["touched"]),
            number_person_ids=tuple(row["revealed"]),
            trace_id=values["a_trace_id"],
        )
        try:
            sealer.add(row["chain"], row["link"], row["prev_hash"], row["hash"], entry.row())
        except UnexpectedLink:
            # committed already: left unsealed, which `kaigo audit verify` reports
            log.error("audit entry of planned read not sealed: its link is not the server's")

    @staticmethod
    def _audit_values(
        principal: Principal, plan: ReadPlan, started_at: Any, document_id: str | None
    ) -> dict[str, Any]:
        return {
            "a_occurred_at": started_at,
            "a_subject": principal.subject,
            "a_roles": sorted(principal.roles),
            "a_department": principal.department,
            "a_operation_name": masked_operation_name(plan.name),
            "a_document_id": document_id,
            "a_trace_id": current_trace_id(),
        }

    async def _timed_out(
        self, plan: ReadPlan, principal: Principal, started_at: Any, document_id: str | None, span: Any
    ) -> ExecutionResult:
        """STATEMENT_TIMEOUT, as the executor answers it: nothing of the statement committed (its entry
        neither), the attempt recorded in a transaction of its own."""
        root = plan.operation.roots[0]
        error = GraphQLError(TIMEOUT_MESSAGE, path=[root.key], extensions={"code": STATEMENT_TIMEOUT})
        await self.audit.record_attempt(
            principal,
            operation_name=masked_operation_name(plan.name),
            error_codes=(STATEMENT_TIMEOUT,),
            started_at=started_at,
            document_id=document_id,
            trace_id=current_trace_id(),
        )
        if span is not None:
            describe(span, "query", plan.name, hash_of=None, persons=0, errors=[error])
        log.warning("statement timeout at %s", root.key)
        return ExecutionResult(data=None, errors=[error])
