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

import asyncio
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

__all__ = ["PAGE_CHUNK", "PageFill", "PlannedReads"]

log = logging.getLogger("kaigo.reads")

# How a page's persons are planned. For the page's own ids: a generic plan guesses 10 rows for
# ``unnest`` of the ids and joins each of the page's persons against every other's rows (quadratic in the
# page size). Costed as reading from memory: else the planner scans whole tables to hash them, and a
# page's cost grows with the city (the whole city's transfer with its square).
FILL_SETTINGS: Final = (
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('random_page_cost', '1.1', true), set_config('join_collapse_limit', '1', true)"
)
_PLANS_KEPT: Final = 16  # per document: one per view and operation name


PAGE_CHUNK: Final = 500  # persons per statement building a transfer page: a page of 1000 on two cores


class PageFill:
    """The statements building one transfer page's persons, begun when the resolver names them: each
    on a pooled connection of its own, in a read-only transaction, while the mutation writes its
    records and audit entry; a page split in chunks of ``chunk`` persons, built side by side.

    Read committed, as every statement of the mutation's own transaction reads: the same data."""

    def __init__(self, database: Database, plan: TransferPlan, today: Any, chunk: int) -> None:
        self.database = database
        self.plan = plan
        self.today = today
        self.chunk = max(1, chunk)
        self.tasks: list[list[asyncio.Task[Any]]] = []  # per fill of the plan, its chunks in order

    def start(self, ids: list[int], items: list[str]) -> None:
        if self.tasks:
            return  # one page per operation (a second would be the executor's to refuse)
        parts = [ids[i : i + self.chunk] for i in range(0, len(ids), self.chunk)] or [[]]
        for fill in self.plan.fills:
            self.tasks.append(
                [
                    asyncio.create_task(
                        self.database.read_value(
                            fill.compiled.sql,
                            self.plan.arguments(fill, part, items, self.today),
                            settings=FILL_SETTINGS,
                        )
                    )
                    for part in parts
                ]
            )

    async def persons(self) -> list[list[Any]]:
        """Per fill, the page's persons in order (the chunks' answers joined)."""
        built = []
        for chunks in self.tasks:
            persons: list[Any] = []
            for text in await asyncio.gather(*chunks):
                persons.extend(orjson.loads(text))
            built.append(persons)
        return built

    async def settle(self) -> None:
        """Wait for whatever was begun (a failed mutation's page is dropped): no statement is left
        running on a connection, and no task's error goes unretrieved."""
        for chunks in self.tasks:
            await asyncio.gather(*chunks, return_exceptions=True)


class PlannedReads:
    """Answers the queries the planner covers; ``None`` leaves a request to strawberry's executor."""

    def __init__(self, database: Database, vault: NumberVault, audit: AuditTrail) -> None:
        self.database = database
        self.vault = vault
        self.audit = audit
        self.answered = 0  # requests answered here (the differential tests read it)
        self.page_chunk = PAGE_CHUNK

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
                plans[key] = plan_read(
                    schema,
                    document.node,
                    name,
                    audited=self.audit.enabled,
                    durable=self.audit.durable_reads,
                )
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

    def page_fill(self, plan: TransferPlan, ctx: Context) -> PageFill | None:
        """Have the page's persons built as soon as the resolver knows them (``ctx.on_transferred``),
        beside the mutation; None where nothing can run beside it (a test's bound Database): then
        :meth:`fill` builds them in the mutation's transaction."""
        if self.database.bound:
            return None
        started = PageFill(self.database, plan, ctx.today, self.page_chunk)
        ctx.on_transferred = started.start
        return started

    async def fill(self, plan: TransferPlan, ctx: Context, data: Any, started: PageFill | None) -> None:
        """The page's persons put in their place in the executor's answer: from the statements begun
        beside the mutation, or else built now in its transaction."""
        if ctx.transferred is None:
            return  # not a page (a denial, a replayed denial)
        if started is not None and started.tasks:
            for fill, persons in zip(plan.fills, await started.persons(), strict=True):
                plan.put(data, fill, persons)
        else:
            ids, items = ctx.transferred
            await ctx.db.fetchval(FILL_SETTINGS)
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
