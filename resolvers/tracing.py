"""Lean GraphQL tracing: one span per operation, one per DataLoader batch, events for policy decisions.

strawberry's stock OpenTelemetryExtension records the query text and argument values and wraps every
field in a coroutine; this one wraps no field at all. I/O is traced where it happens (loader batches
here, statements in persistence/tracing.py), and the operation span carries only a hash of the
document with its literal values blanked, so two requests differing only in literals share a hash.
With tracing off (no tracer) every hook returns after one check and creates nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from graphql import DocumentNode, GraphQLError, NameNode, VariableNode, Visitor, print_ast, visit
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension

from persistence.tracing import current_tracer, keep_trace, leaf_span
from policies.decisions import Decision
from policies.individual_number import contains_valid_number
from schema.errors import FORBIDDEN

from .errors import classify

__all__ = [
    "OperationTracing",
    "count_persons",
    "describe",
    "document_hash",
    "identify",
    "masked_operation_name",
    "operation_span",
    "pseudonym",
    "record_decision",
    "record_duty_check",
    "remember_document_hash",
    "use_document_id_source",
    "use_pseudonym_key",
]

PERSON_LOADERS: Final = frozenset({"person", "members"})
"""Loaders whose values are persons (counted into ``kaigo.persons.count``)."""

_PLACEHOLDER: Final = VariableNode(name=NameNode(value="_"))
_persons: ContextVar[set[Any] | None] = ContextVar("kaigo_traced_persons", default=None)
_pseudonym_key: bytes | None = None
_PSEUDONYMS_KEPT: Final = 1024
_pseudonyms: dict[str, str] = {}  # subject → pseudonym under the current key (staff repeat; in memory only)
_document_id_source: Callable[[], str | None] | None = None


# --- identity ---------------------------------------------------------------------------------------


def use_pseudonym_key(key: bytes | None) -> None:
    """The HMAC key for ``enduser.pseudo.id`` (derived from the data key by api/telemetry.py)."""
    global _pseudonym_key
    _pseudonym_key = key
    _pseudonyms.clear()


def pseudonym(subject: str) -> str:
    """A stable pseudonymous staff id: HMAC-SHA256 of the subject (keyed when a key is set), 16 bytes hex.

    Security staff can follow one person's requests across traces without the trace store holding
    the staff id itself; only someone with the key can tell whose it is.
    """
    found = _pseudonyms.get(subject)
    if found is None:
        key = _pseudonym_key if _pseudonym_key is not None else b"kaigo-graph unkeyed pseudonym"
        if len(_pseudonyms) >= _PSEUDONYMS_KEPT:
            _pseudonyms.clear()
        found = _pseudonyms[subject] = hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:32]
    return found


def use_document_id_source(source: Callable[[], str | None] | None) -> None:
    """Where the id of the persisted document being run comes from (the HTTP layer knows it)."""
    global _document_id_source
    _document_id_source = source


# --- the document -----------------------------------------------------------------------------------


_DIGIT_RUN: Final = re.compile(r"[0-9]{6,}")
OPERATION_NAME_MAX: Final = 64


def masked_operation_name(name: str | None) -> str | None:
    """An operation name as telemetry and the audit trail keep it: the client chose it, so every run of
    6 or more digits (an insured or individual number, a birth date) becomes ``#`` and it is cut to 64
    characters. A registered document's name passes unchanged (the departments' names have no such run)."""
    if name is None:
        return None
    return _DIGIT_RUN.sub("#", name)[:OPERATION_NAME_MAX]


class _BlankLiterals(Visitor):
    """Replaces every literal value (scalars, enums, lists, objects) by the variable ``$_``."""

    def _blank(self, node: Any, *args: Any) -> VariableNode:
        return _PLACEHOLDER

    enter_int_value = enter_float_value = enter_string_value = enter_boolean_value = _blank
    enter_null_value = enter_enum_value = enter_list_value = enter_object_value = _blank


def document_hash(document: DocumentNode) -> str:
    """sha256 (hex) of the document printed with every literal value replaced by ``$_``."""
    blanked = visit(document, _BlankLiterals())
    return hashlib.sha256(print_ast(blanked).encode()).hexdigest()


_HASHES_KEPT: Final = 512
_hashes: dict[str, str] = {}


def remember_document_hash(text: str, document: DocumentNode) -> None:
    """Have spans name ``text`` by this tree's hash (the read planner runs another tree for the same
    text, and spans name the document the client sent)."""
    _cached_hash(text, document)


def _cached_hash(text: str | None, document: DocumentNode) -> str:
    """``document_hash``, remembered per document text (in memory only) for the repeated operations;
    never for a text holding a literal individual number (個人番号), which must not become a cache key."""
    if text is None:
        return document_hash(document)
    found = _hashes.get(text)  # a text kept here was found clean when it was kept
    if found is None:
        found = document_hash(document)
        if not contains_valid_number(text):
            if len(_hashes) >= _HASHES_KEPT:
                _hashes.clear()
            _hashes[text] = found
    return found


# --- decisions and counts ---------------------------------------------------------------------------


def record_decision(decision: Decision) -> None:
    """A span event on the current span for a legal-basis decision: outcome, code and basis row id."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    attributes: dict[str, Any] = {
        "kaigo.decision.allowed": decision.allowed,
        "kaigo.decision.code": decision.code,
        "kaigo.decision.needs_review": decision.needs_review,
    }
    if decision.basis is not None:
        attributes["kaigo.legal_basis.id"] = decision.basis.id
        attributes["kaigo.legal_basis.direction"] = decision.basis.direction.value
        attributes["kaigo.legal_basis.item"] = decision.basis.item
    span.add_event("kaigo.policy.decision", attributes)


def record_duty_check(duty: str, allowed: bool) -> None:
    """A span event for a duty check (the role-scoped schema is the first one; ``Context.require`` the
    second)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event("kaigo.policy.duty_check", {"kaigo.duty": duty, "kaigo.duty.allowed": allowed})


def count_persons(persons: Sequence[Any]) -> None:
    """Count resolved persons (distinct ids) into the operation's ``kaigo.persons.count``."""
    seen = _persons.get()
    if seen is None:
        return
    for person in persons:
        if person is not None:
            seen.add(getattr(person, "id", id(person)))


def _traced_batch(
    name: str, load: Callable[[list[Any]], Awaitable[Sequence[Any]]], persons: bool
) -> Callable[[list[Any]], Awaitable[Sequence[Any]]]:
    async def traced(keys: list[Any]) -> Sequence[Any]:
        if current_tracer() is None:
            return await load(keys)
        attributes: dict[str, Any] = {"kaigo.loader.name": name, "kaigo.loader.batch_size": len(keys)}
        with leaf_span(f"dataloader {name}", SpanKind.INTERNAL, attributes):
            values = await load(keys)
        if persons:
            for value in values:
                count_persons(value if isinstance(value, list) else [value])
        return values

    return traced


def _trace_loader(name: str, loader: DataLoader[Any, Any]) -> None:
    if not getattr(loader.load_fn, "_kaigo_traced", False):
        traced = _traced_batch(name, loader.load_fn, name in PERSON_LOADERS)
        traced._kaigo_traced = True  # type: ignore[attr-defined]
        loader.load_fn = traced


def trace_loaders(loaders: Any) -> None:
    """Wrap each DataLoader's batch function of a request's loaders in a span naming the loader: those
    made already, and (loaders being made on first use) every one made later."""
    for name, loader in loaders.made().items():
        _trace_loader(name, loader)
    loaders.on_create = _trace_loader


def _persons_touched(audit: Any) -> int:
    """Distinct persons the request's audit collector (resolvers/audit.py) saw or touched."""
    ids = set(audit.persons.values()) | set(audit.touched)
    return len(ids) + len(set(audit.touched_codes) - set(audit.persons))


# --- the extension ----------------------------------------------------------------------------------


DENIALS: Final = frozenset({FORBIDDEN, "UNAUTHENTICATED"})
"""Error codes that say the caller was refused (the trace is kept as ``denied``, others as ``failed``)."""


class OperationTracing(SchemaExtension):
    """The operation span (parse, validate and execute inside it) and the loader spans under it."""

    def on_operation(self) -> Iterator[None]:
        tracer = current_tracer()
        if tracer is None:
            yield
            return
        persons: set[Any] = set()
        token = _persons.set(persons)
        try:
            with tracer.start_as_current_span(
                "graphql.operation", record_exception=False, set_status_on_exception=False
            ) as span:
                if not span.is_recording():  # not sampled: nothing to describe, no loader to trace
                    yield
                    return
                identify(span, getattr(self.execution_context.context, "principal", None))
                yield
                self._describe(span, len(persons))
        finally:
            _persons.reset(token)

    def on_execute(self) -> Iterator[None]:
        if current_tracer() is not None and trace.get_current_span().is_recording():
            loaders = getattr(self.execution_context.context, "loaders", None)
            if loaders is not None:
                trace_loaders(loaders)
        yield

    def _describe(self, span: Span, persons: int) -> None:
        ec = self.execution_context
        try:
            kind = ec.operation_type.value
        except Exception:  # no operation could be picked (parse or validation failed)
            kind = None
        audit = getattr(ec.context, "audit", None)
        errors: list[GraphQLError] = list(ec.pre_execution_errors or ())
        if ec.result is not None and ec.result.errors:
            errors.extend(ec.result.errors)
        describe(
            span,
            kind,
            # the name only of an operation the document holds (a client's operationName can be any text)
            ec.operation_name if kind is not None else None,
            hash_of=(ec.query, ec.graphql_document) if ec.graphql_document is not None else None,
            persons=_persons_touched(audit) if audit is not None else persons,
            decisions=getattr(audit, "decisions", ()),
            errors=errors,
        )


def identify(span: Span, principal: Any) -> None:
    """Who asks (pseudonymously), and the persisted document run, on an operation span."""
    if principal is not None:
        span.set_attribute("enduser.pseudo.id", pseudonym(principal.subject))
        span.set_attribute("user.roles", sorted(principal.roles))
        if principal.department:
            span.set_attribute("kaigo.department", principal.department)
        if principal.client_name:
            span.set_attribute("kaigo.client.name", principal.client_name)
    document_id = _document_id_source() if _document_id_source is not None else None
    if document_id is not None:
        span.set_attribute("graphql.document.id", document_id)


def describe(
    span: Span,
    kind: str | None,
    name: str | None,
    *,
    hash_of: tuple[str | None, DocumentNode] | None,
    persons: int,
    decisions: Sequence[Mapping[str, Any]] = (),
    errors: Sequence[GraphQLError] = (),
) -> None:
    """What an operation was and did, on its span, once it has run (its name masked: the client chose it,
    and `query Q0632774135` carried an insured number)."""
    name = masked_operation_name(name)
    if kind is not None:
        span.set_attribute("graphql.operation.type", kind)
        span.update_name(f"{kind} {name}" if name else kind)
    if name:
        span.set_attribute("graphql.operation.name", name)
    if hash_of is not None:
        span.set_attribute("graphql.document.hash", _cached_hash(*hash_of))
    span.set_attribute("kaigo.persons.count", persons)
    for decision in decisions:
        attributes = {"kaigo.decision.code": str(decision.get("code"))}
        if decision.get("basis_item"):
            attributes["kaigo.legal_basis.item"] = str(decision["basis_item"])
        span.add_event("kaigo.policy.decision", attributes)
    if errors:
        codes = sorted({classify(e) for e in errors})
        span.set_attribute("kaigo.graphql.error_codes", codes)
        if DENIALS.intersection(codes):
            keep_trace("denied")
        if not DENIALS.issuperset(codes):
            keep_trace("failed")
        for error in errors:
            duty = (error.extensions or {}).get("duty")
            if isinstance(duty, str):
                record_duty_check(duty, allowed=False)
        span.set_status(Status(StatusCode.ERROR))


@contextmanager
def operation_span(principal: Any) -> Iterator[Span | None]:
    """The operation span of a request answered without strawberry's executor (the read planner): the
    same span as :class:`OperationTracing` makes, described by the caller with :func:`describe`. None
    when tracing is off or the trace is not sampled."""
    tracer = current_tracer()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        "graphql.operation", record_exception=False, set_status_on_exception=False
    ) as span:
        if not span.is_recording():
            yield None
            return
        identify(span, principal)
        yield span
