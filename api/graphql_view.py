"""The GraphQL endpoint: authenticate, open the request's transaction, execute, commit."""

from __future__ import annotations

from typing import Any, Protocol

import strawberry
from cross_web import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from persistence.crypto import NumberVault
from persistence.db import Database, SerialSession
from policies.principals import Principal
from resolvers import build_context, schema_for

from .auth import AuthenticationError, unauthenticated_response


class _RollBack(Exception):
    def __init__(self, result: ExecutionResult) -> None:
        self.result = result


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
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphql_ide else None)
        self.database = database
        self.vault = vault
        self.authenticator = authenticator

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if isinstance(request, Request) and self._is_ide_page(request):
            return await super().run(request)  # the GraphiQL page itself holds no data
        try:
            principal = await self.authenticator.authenticate(request.headers)
        except AuthenticationError as err:
            return unauthenticated_response(err)
        request.state.principal = principal
        return await super().run(request)

    def _is_ide_page(self, request: Request) -> bool:
        if request.method != "GET" or self.graphql_ide is None or "query" in request.query_params:
            return False
        accept = request.headers.get("accept", "")
        return "text/html" in accept

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
        schema = schema_for(principal.duties)
        allowed = OperationType.from_http(request_adapter.method)
        try:
            async with self.database.session() as session:
                ctx = build_context(principal=principal, db=SerialSession(session), vault=self.vault)
                result = await schema.execute(
                    request_data.query,
                    root_value=root_value,
                    variable_values=request_data.variables,
                    context_value=ctx,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=allowed,
                    operation_extensions=request_data.extensions,
                )
                if result.errors and ctx.operation_type is OperationType.MUTATION:
                    raise _RollBack(result)  # leaves the `async with`, which rolls back
                return result
        except _RollBack as failed:
            # Nothing of a failed mutation is committed, so no data of it is reported either.
            return ExecutionResult(
                data=None, errors=failed.result.errors, extensions=failed.result.extensions
            )
        except InvalidOperationTypeError as e:
            raise HTTPException(405, e.as_http_error_reason(request_adapter.method)) from e
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
