"""What a request may run, given its client: free text, an automatic persisted query, or a registered id.

Trusted-documents mode (``policies.clients.is_trusted``): the principal runs documents registered for
its client (by ``kaigo pq import``) only — free text and automatic registration are refused, an id not
registered (or revoked) for the client is "not in the list". Other clients may send free text, use
Apollo's automatic persisted queries (a hash miss asks for the text; hash and text register it for any
client), or name any live document by id.

Whatever the mode, a document runs on the caller's own view and only if that view validates it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from graphql import GraphQLSyntaxError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from strawberry import Schema
from strawberry.http import GraphQLRequestData

from api.refusals import (
    CLIENT_NAME_MISMATCH,
    PERSISTED_QUERY_ID_REQUIRED,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_IN_LIST,
    Refusal,
)
from persistence import documents as store
from persistence.db import Database
from persistence.models.documents import ANY_CLIENT
from policies.clients import client_of_department, is_trusted, valid_client_name
from policies.individual_number import contains_valid_number
from policies.principals import Principal
from resolvers.limits import current

from .cache import DocumentCache, PreparedDocument, TextCache, prepare_document
from .requests import DocumentRequestData

__all__ = ["CLIENT_HEADERS", "Caller", "Plan", "Registry"]

log = logging.getLogger("kaigo.documents")

CLIENT_HEADERS = ("graphql-client-name", "apollographql-client-name")
"""Headers naming the client (Apollo Client sends the second when given a ``name``)."""
MAX_REGISTERED_TEXT = 64 * 1024


@dataclass(frozen=True)
class Caller:
    principal: Principal
    client_name: str | None
    trusted: bool


@dataclass(frozen=True)
class Plan:
    """The text to execute, and the prepared document when the caller's view has validated it."""

    query: str | None
    document: PreparedDocument | None = None
    # registered for a trusted client by `kaigo pq import` (reviewed): its page-size variables are costed
    # at the defaults it declares, as when it was imported; the resolvers still cap every page
    reviewed: bool = False


class Registry:
    def __init__(
        self,
        database: Database,
        *,
        trusted_roles: Iterable[str] = (),
        trusted_clients: Iterable[str] = (),
        cache: DocumentCache | None = None,
        texts: TextCache | None = None,
    ) -> None:
        self.database = database
        self.trusted_roles = frozenset(trusted_roles)
        self.trusted_clients = frozenset(trusted_clients)
        self.cache = cache if cache is not None else DocumentCache()
        self.texts = texts if texts is not None else TextCache()

    def caller(self, principal: Principal, headers: Headers) -> Caller:
        """The client the request comes through: the one the token binds (its client name, or for a
        receiving department its department's client), else the one a header names."""
        named = {value for header in CLIENT_HEADERS for value in headers.getlist(header)}
        if any(not valid_client_name(value) for value in named):
            raise Refusal(400, CLIENT_NAME_MISMATCH, "The client name header is malformed")
        if len(named) > 1:
            raise Refusal(400, CLIENT_NAME_MISMATCH, "The client name headers name different clients")
        header = next(iter(named), None)
        bound = principal.client_name or client_of_department(principal.department)
        if bound is not None and header not in (None, bound):
            raise Refusal(
                400, CLIENT_NAME_MISMATCH, "The client name header names another client than the token"
            )
        client = bound or header
        trusted = is_trusted(
            principal, client, trusted_roles=self.trusted_roles, trusted_clients=self.trusted_clients
        )
        return Caller(principal, client, trusted)

    async def plan(
        self, caller: Caller, data: GraphQLRequestData, schema: Schema, duties: frozenset[str]
    ) -> Plan:
        """What to execute for this request on the view of ``duties`` (``schema``), or a Refusal."""
        reference = data.reference if isinstance(data, DocumentRequestData) else None
        if reference is None:
            if caller.trusted:
                raise Refusal(
                    400,
                    PERSISTED_QUERY_ID_REQUIRED,
                    "This client runs registered documents only: send their id",
                )
            return self._free_text(data.query, schema, duties)
        if reference.protocol == "apq" and data.query is not None:
            if caller.trusted:
                raise Refusal(
                    400, PERSISTED_QUERY_ID_REQUIRED, "This client cannot register documents: send their id"
                )
            return await self._automatic(caller, reference.id, data.query, schema, duties)

        if caller.trusted:
            document = await self._registered(caller.client_name, reference.id)
            if document is None:
                raise Refusal(
                    404, PERSISTED_QUERY_NOT_IN_LIST, "No such document is registered for this client"
                )
        else:
            document = self.cache.get(reference.id) or await self._load(reference.id)
            if document is None:
                if data.query is not None:
                    return Plan(data.query)  # an id with its (matching) text: run the text
                if reference.protocol == "apq":
                    raise Refusal(200, PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
                raise Refusal(404, PERSISTED_QUERY_NOT_FOUND, "No document has this id")
        plan = self._planned(document, schema, duties)
        return dataclasses.replace(plan, reviewed=True) if caller.trusted else plan

    @staticmethod
    def _planned(document: PreparedDocument, schema: Schema, duties: frozenset[str]) -> Plan:
        if document.validate(schema, duties):
            return Plan(document.text, document)
        return Plan(document.text)  # strawberry validates again and reports the errors

    def _free_text(self, text: str | None, schema: Schema, duties: frozenset[str]) -> Plan:
        """A text without an id: run as prepared once its worker has seen it before (api/documents/cache.py
        ``TextCache``), else parsed and validated by strawberry as it comes."""
        document = self.texts.prepared(text, max_tokens=current().max_tokens) if text is not None else None
        return self._planned(document, schema, duties) if document is not None else Plan(text)

    async def _automatic(
        self, caller: Caller, document_id: str, text: str, schema: Schema, duties: frozenset[str]
    ) -> Plan:
        document = self.cache.get(document_id)
        if document is None:
            try:
                # the token limit here too: a text over it is never registered
                document = self.cache.put(
                    prepare_document(document_id, text, max_tokens=current().max_tokens)
                )
            except GraphQLSyntaxError:
                return Plan(text)  # reported (GRAPHQL_PARSE_FAILED, QUERY_TOO_LARGE) by the ordinary path
        plan = self._planned(document, schema, duties)
        if plan.document is not None:
            await self._register(caller, document)
        return plan

    async def _register(self, caller: Caller, document: PreparedDocument) -> None:
        """Register an automatic persisted query the caller's view validated (best effort).

        Always for any client (``ANY_CLIENT``), whichever client sent it: only ``kaigo pq import``
        registers for a named client, so an automatic registration never extends what a trusted
        client may run."""
        if self.cache.registered(ANY_CLIENT, document.id) or document.operation_type is None:
            return
        if len(document.text) > MAX_REGISTERED_TEXT or contains_valid_number(document.text):
            return  # not kept: too large, or a literal shaped like an individual number
        row = store.StoredDocument(
            id=document.id,
            client_name=ANY_CLIENT,
            text=document.text,
            operation_name=document.operation_name,
            operation_type=document.operation_type,
            registered_by=caller.principal.subject,
        )
        try:
            async with self.database.session() as session:
                if await store.register(session, row):
                    log.info(
                        "document %s registered by a query of client %r", document.id, caller.client_name
                    )
        except (SQLAlchemyError, UnicodeError) as exc:
            log.warning("document %s not registered: %s", document.id, type(exc).__name__)
            return
        self.cache.confirm(ANY_CLIENT, document.id)

    async def _registered(self, client: str | None, document_id: str) -> PreparedDocument | None:
        """The document if it is registered, live, for ``client`` (re-checked every recheck_seconds)."""
        if client is None:
            return None
        document = self.cache.get(document_id)
        if document is not None and self.cache.registered(client, document_id):
            return document
        async with self.database.session() as session:
            row = await store.find(session, document_id, client)
        if row is None:
            self.cache.forget(client, document_id)
            return None
        self.cache.confirm(client, document_id)
        return document or self._keep(row)

    async def _load(self, document_id: str) -> PreparedDocument | None:
        async with self.database.session() as session:
            row = await store.find(session, document_id, None)
        return None if row is None else self._keep(row)

    def _keep(self, row: store.StoredDocument) -> PreparedDocument | None:
        try:
            return self.cache.put(prepare_document(row.id, row.text))
        except GraphQLSyntaxError:
            log.warning("stored document %s does not parse: treated as absent", row.id)
            return None
