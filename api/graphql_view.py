"""The GraphQL endpoint: authenticate, pick the document to run, open the request's transaction, execute,
commit.

Persisted documents (api/documents/) enter at three points: ``parse_http_body`` reads which document a
request names, ``execute_single`` asks the registry what the caller may run and runs a known document
without parsing or validating it again, and ``run`` answers every refusal with a GraphQL-shaped body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from typing import Any, Protocol

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from persistence.crypto import NumberVault
from persistence.db import Database, SerialSession, transaction_aborted
from policies.principals import Principal
from resolvers import build_context
from resolvers.context import Context, request_date
from resolvers.errors import (
    INTERNAL_SERVER_ERROR,
    STATEMENT_TIMEOUT,
    correlation_id,
    new_correlation,
    redact,
)
from resolvers.tracing import remember_document_hash

from .audit import AuditTrail, now
from .auth import AuthenticationError, unauthenticated_response
from .documents import DocumentRequestData, Registry, reference_of, running, served_view
from .faults import refusal_for, refuse_faulted
from .graphiql import page
from .guards import ClientGone, Guards, RateLimiter, read_body, timeout_refusal
from .media import accepts_graphql_response, as_graphql_response
from .reads import PageFill, PlannedReads
from .refusals import BAD_REQUEST, METHOD_NOT_ALLOWED, Refusal

log = logging.getLogger("kaigo.http")

# Codes of errors after which the transaction may be aborted (resolvers/errors.py).
_ABORTING = frozenset({STATEMENT_TIMEOUT, INTERNAL_SERVER_ERROR})

# Parameters that make a GET an operation even without `query` (a persisted document's id).
_DOCUMENT_PARAMS = ("documentId", "doc_id", "extensions")


class _RollBack(Exception):
    def __init__(self, result: ExecutionResult, context: Context) -> None:
        self.result = result
        self.context = context


class Authenticator(Protocol):
    async def authenticate(self, headers: Headers) -> Principal: ...
    async def prime(self) -> None: ...
    async def aclose(self) -> None: ...


class KaigoGraphQL(GraphQL[Any, None]):
    """strawberry's ASGI view with a verified principal and one database transaction per operation.

    The principal is required: no request reaches a resolver without one. The transaction wraps the
    whole execution, so everything an operation reads or writes commits together or not at all.
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        database: Database,
        vault: NumberVault,
        authenticator: Authenticator,
        graphql_ide: bool = True,
        documents: Registry | None = None,
        audit: AuditTrail | None = None,
        guards: Guards | None = None,
        introspection_roles: frozenset[str] | None = None,
        planned_reads: bool = True,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphql_ide else None)
        self.database = database
        self.vault = vault
        self.authenticator = authenticator
        self.documents = documents if documents is not None else Registry(database)
        self.audit = audit if audit is not None else AuditTrail(database)  # アクセス記録 (api/audit.py)
        self.guards = guards if guards is not None else Guards()
        self.rate_limiter = RateLimiter(self.guards.rate_per_second, self.guards.rate_burst)
        self.introspection_roles = introspection_roles  # None: every role may introspect its view
        # queries answered in one statement (api/reads.py); off: every one by strawberry's executor
        self.reads = PlannedReads(database, vault, self.audit) if planned_reads else None

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if isinstance(request, Request) and self._is_ide_page(request):
            return await super().run(request)  # the GraphiQL page itself holds no data
        response = await self._answer(request)
        if isinstance(response, Response) and accepts_graphql_response(request.headers.get("accept", "")):
            return as_graphql_response(response)
        return response

    async def _answer(self, request: Any) -> Any:
        try:
            principal = await self.authenticator.authenticate(request.headers)
        except AuthenticationError as err:
            return unauthenticated_response(err)
        request.state.principal = principal
        try:
            self.rate_limiter.take(principal.subject)
            await read_body(request, self.guards.max_body_bytes)
            request.state.caller = self.documents.caller(principal, request.headers)
            try:
                async with asyncio.timeout(self.guards.request_timeout_seconds):
                    return await super().run(request)
            except TimeoutError:
                raise timeout_refusal(self.guards.request_timeout_seconds) from None
        except Refusal as refused:
            # AUDIT_UNAVAILABLE raised from a lost database answers as the database's fault (api/faults.py)
            return (refusal_for(refused) or refused).response()
        except HTTPException as e:
            # strawberry's transport refusals (a body that is not JSON, a wrong content type …) get the
            # same GraphQL-shaped body as ours; its reasons are fixed strings that echo nothing.
            code = METHOD_NOT_ALLOWED if e.status_code == 405 else BAD_REQUEST
            return Refusal(e.status_code, code, e.reason).response()
        except ClientGone as gone:  # nobody to answer: one quiet line, no traceback
            reason = "was cut off at the body deadline" if gone.timed_out else "hung up"
            log.info("client %s before its request body was read (correlation id %s)", reason, _fresh_id())
            return Refusal(400, BAD_REQUEST, "The request body was not received.").response()
        except Exception as exc:  # the database failed outside a resolver (registry, commit): 503
            fault = refusal_for(exc)
            if fault is not None:
                return fault.response()
            # anything else is a defect: logged with its correlation id, never handed to uvicorn
            correlation = _fresh_id()
            detail = redact("".join(traceback.format_exception(exc)))
            log.error("unexpected error (correlation id %s): %s", correlation, detail)
            return Refusal(
                500,
                INTERNAL_SERVER_ERROR,
                "Internal server error.",
                extensions={"correlationId": correlation},
            ).response()

    def _is_ide_page(self, request: Request) -> bool:
        if request.method != "GET" or self.graphql_ide is None or _names_an_operation(request.query_params):
            return False
        accept = request.headers.get("accept", "")
        return "text/html" in accept

    async def render_graphql_ide(self, request: Request) -> Response:
        return page()  # the vendored GraphiQL with its role picker (api/graphiql/): no external URL

    def encode_json(self, data: object) -> bytes:
        # UTF-8 as it is, not \u escapes: readable in curl and logs, half the bytes of Japanese text.
        # orjson writes what json.dumps(ensure_ascii=False, separators=(",", ":")) writes, ~10 times
        # faster (a transfer page is a megabyte); what it refuses (a lone surrogate from a client's
        # JSON, which has no UTF-8; an integer past 64 bits) json.dumps writes, escaped.
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data, separators=(",", ":")).encode()

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET naming a persisted document (and no `query`) runs it; strawberry would show GraphiQL.
        return super().should_render_graphql_ide(request) and not _names_an_operation(request.query_params)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> DocumentRequestData:
        """strawberry's parsing of GET parameters and JSON bodies, plus the document the request names."""
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        else:
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" not in content_type:
                raise HTTPException(400, "Unsupported content type")
            data = self.parse_json(await request.get_body())
        if isinstance(data, list):
            raise HTTPException(400, "Batched operations are not accepted")
        if not isinstance(data, dict):
            raise HTTPException(400, "The request must be a JSON object")
        query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
        operation_name = data.get("operationName")
        if not isinstance(query, str | None):
            raise HTTPException(400, "The GraphQL operation's `query` must be a string or null, if provided.")
        if not isinstance(variables, dict | None):
            raise HTTPException(
                400, "The GraphQL operation's `variables` must be an object or null, if provided."
            )
        if not isinstance(extensions, dict | None):
            raise HTTPException(
                400, "The GraphQL operation's `extensions` must be an object or null, if provided."
            )
        if not isinstance(operation_name, str | None):
            raise HTTPException(
                400, "The GraphQL operation's `operationName` must be a string or null, if provided."
            )
        return DocumentRequestData(
            query=query,
            variables=variables,
            operation_name=operation_name,
            extensions=extensions,
            reference=reference_of(data, extensions, query),
        )

    def decode_json(self, data: str | bytes) -> object:
        # strawberry answers only JSONDecodeError with 400; a body that is not UTF-8, nests too deep for
        # the decoder, or holds an integer past Python's 4,300 digits is as malformed. orjson reads what
        # it can (a few times faster); what it refuses (an integer past 64 bits, NaN, UTF-16, a lone
        # surrogate) the standard decoder reads as before.
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        try:
            return super().decode_json(data)
        except (ValueError, RecursionError) as e:
            if "integer string conversion" not in str(e):
                raise HTTPException(400, "Unable to parse request body as JSON") from e
            correlation = _fresh_id()
            log.info("request refused: a JSON number of over 4300 digits (correlation id %s)", correlation)
            raise Refusal(
                400,
                BAD_REQUEST,
                "A number in the request has too many digits.",
                extensions={"correlationId": correlation},
            ) from None

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response}

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Response,
    ) -> ExecutionResult:
        # Every operation runs on the principal's own view of the schema. strawberry's version of this
        # method would also stream (SSE, multipart) on ``self.schema``, the full schema: not here.
        if isinstance(request_data, list):
            raise HTTPException(400, "Batched operations are not accepted")
        return await self.execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        principal: Principal = request.state.principal
        schema = served_view(principal.duties)
        plan = await self.documents.plan(request.state.caller, request_data, schema, principal.duties)
        allowed = OperationType.from_http(request_adapter.method)
        reference = getattr(request_data, "reference", None)
        document_id = reference.id if reference is not None else None
        if self.reads is not None:
            with running(plan.document):
                answer = await self.reads.answer(
                    document=plan.document,
                    schema=schema,
                    principal=principal,
                    variables=request_data.variables,
                    operation_name=request_data.operation_name,
                    reviewed=plan.reviewed,
                    today=request_date(),
                    document_id=document_id,
                )
            if answer is not None:
                return answer
        # a department's transfer page: what it sends of each person built by one statement (api/reads.py)
        transfer = (
            self.reads.transfer(
                plan.document,
                schema,
                principal.duties,
                request_data.operation_name,
                request_data.variables,
                reviewed=plan.reviewed,
            )
            if self.reads is not None
            else None
        )
        run = transfer[1] if transfer is not None else plan.document
        if transfer is not None and plan.document is not None:
            remember_document_hash(plan.document.text, plan.document.node)  # spans name the original
        started_at = now()
        fills: PageFill | None = None
        try:
            async with self.database.session() as session:
                ctx = build_context(principal=principal, db=SerialSession(session), vault=self.vault)
                ctx.introspection = self.introspection_roles is None or bool(
                    self.introspection_roles & set(principal.roles)
                )
                ctx.reviewed_document = plan.reviewed
                ctx.planned_information = transfer is not None
                if transfer is not None and self.reads is not None:
                    fills = self.reads.page_fill(transfer[0], ctx)
                with running(run):
                    result = await schema.execute(
                        plan.query,
                        root_value=root_value,
                        variable_values=request_data.variables,
                        context_value=ctx,
                        operation_name=request_data.operation_name,
                        allowed_operation_types=allowed,
                        operation_extensions=request_data.extensions,
                    )
                await ctx.db.settle()  # a statement of a cancelled field may still be running
                refuse_faulted(result)  # the database went away or is saturated: 503, nothing committed
                if result.errors and (
                    ctx.operation_type is OperationType.MUTATION
                    or (_may_have_failed_in_database(result) and await transaction_aborted(ctx.db))
                ):
                    # leaves the `async with`, which rolls back: a failed mutation keeps nothing, and a
                    # transaction PostgreSQL aborted (a cancelled statement) could not take the entry
                    raise _RollBack(result, ctx)
                if transfer is not None and self.reads is not None:
                    await self.reads.fill(transfer[0], ctx, result.data, fills)
                # Last, right before the commit: the entry commits with the work or neither does
                # (AUDIT_UNAVAILABLE), and the chain's lock is held only from here to the commit.
                await self.audit.record(ctx.db, ctx, result, started_at=started_at, document_id=document_id)
                return result
        except _RollBack as failed:
            await self.audit.record_failed(
                failed.context, failed.result, started_at=started_at, document_id=document_id
            )
            # Nothing of it is committed, so no data of it is reported either.
            return ExecutionResult(
                data=None, errors=failed.result.errors, extensions=failed.result.extensions
            )
        except InvalidOperationTypeError as e:
            reason = e.as_http_error_reason(request_adapter.method)
            raise Refusal(405, METHOD_NOT_ALLOWED, reason, headers={"Allow": "POST"}) from e
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        finally:
            if fills is not None:
                await fills.settle()


def _fresh_id() -> str:
    """A correlation id of this request's own, for a refusal logged before any operation ran."""
    new_correlation()
    return correlation_id()


def _may_have_failed_in_database(result: ExecutionResult) -> bool:
    """Whether an error may have come from a statement (a cancelled one, or anything unexpected), after
    which PostgreSQL may have aborted the transaction. The errors are already presented
    (resolvers/errors.py): their codes tell."""
    return any((error.extensions or {}).get("code") in _ABORTING for error in result.errors or ())


def _names_an_operation(params: Any) -> bool:
    return "query" in params or any(name in params for name in _DOCUMENT_PARAMS)
