"""Limits against abusive operations, checked before anything runs.

A document is refused at parse time when it has too many tokens (``QUERY_TOO_LARGE``), and as
validation starts when one of its operations is nested too deeply (``QUERY_TOO_DEEP``), uses too many
aliases (``TOO_MANY_ALIASES``) or root fields (``TOO_MANY_ROOT_FIELDS``), or costs too much
(``QUERY_TOO_COMPLEX``, with ``extensions.cost`` and ``maxCost``). Messages name the limit and its
value, never the client's document or values.

Cost estimate: every field costs 1; a paged field (an argument ``first``, or an ``input`` object with
``first``) multiplies the cost of its selection by its page size (a literal, else the schema's default),
and any other list field by :data:`UNPAGED_LIST_ESTIMATE`, except the lists right inside a paged
field or a ``…Connection`` (they are the page, already counted). Fragments are measured once each (memoised), so spreading a fragment
many times, or fragments spreading each other, costs a multiplication, not a walk of the expansion.
Introspection's ``ofType`` chains (a type reference unwrapping in place) add neither depth nor cost, so
GraphiQL's introspection query (depth 6) passes the defaults.

Strings holding U+0000 are refused up front too (``BAD_USER_INPUT``, reason ``FORMAT``), in a literal
of the document or anywhere in the variables: PostgreSQL text cannot hold NUL, so no field accepts one,
and such a value reaching a statement would fail it as an internal error (or break a failed mutation's
audit entry).

A document kept prepared (parsed once, validated once per role view: api/documents/) is measured once
per view too (:func:`measure_document`): its tokens, depth, aliases and root fields hold for every request,
and its cost is kept as a sum over the page sizes its variables give (:class:`_Cost`), which each request
only evaluates at its values. A text seen once is walked with its request's values (:func:`operation_errors`).

The limits are process-wide (:func:`configure`, from ``api.runtime.build_runtime``): the cached role
views (``resolvers.schema_for``) and the kept measures read them at each request; without configuration,
the defaults.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    Token,
    TokenKind,
    VariableNode,
    get_named_type,
    get_nullable_type,
    validate,
    visit,
)
from graphql.language import Visitor
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.utilities.value_from_ast_untyped import value_from_ast_untyped
from strawberry.extensions import SchemaExtension

from schema.errors import BAD_USER_INPUT
from schema.transfers import MAX_TRANSFER_PAGE

__all__ = [
    "QUERY_TOO_COMPLEX",
    "QUERY_TOO_DEEP",
    "QUERY_TOO_LARGE",
    "TOO_MANY_ALIASES",
    "TOO_MANY_ROOT_FIELDS",
    "UNPAGED_LIST_ESTIMATE",
    "DocumentMeasure",
    "Limits",
    "ParseLimits",
    "configure",
    "current",
    "holds_string_literal",
    "measure_document",
    "measured",
    "nul_errors",
    "operation_errors",
]

QUERY_TOO_DEEP: Final = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES: Final = "TOO_MANY_ALIASES"
TOO_MANY_ROOT_FIELDS: Final = "TOO_MANY_ROOT_FIELDS"
QUERY_TOO_LARGE: Final = "QUERY_TOO_LARGE"
QUERY_TOO_COMPLEX: Final = "QUERY_TOO_COMPLEX"

# Items assumed for a list field without a page size: a person's records of one area are a handful, so
# a page of 100 persons with every area (README, Figures) costs about 38,500 and passes the default.
UNPAGED_LIST_ESTIMATE: Final = 3


@dataclass(frozen=True)
class Limits:
    """The limits (the defaults are the documented ones; KAIGO_MAX_* in api/settings.py)."""

    max_depth: int = 12
    max_aliases: int = 30
    max_root_fields: int = 10
    max_tokens: int = 5000
    max_cost: int = 50_000


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set the process's limits (once, at start); every role view uses them from then on."""
    global _limits
    _limits = limits


def current() -> Limits:
    return _limits


@dataclass(frozen=True)
class _Stats:
    depth: int = 0
    cost: int | _Cost = 0  # a _Cost only while measuring without a request's values
    aliases: int = 0
    root_fields: int = 0  # fields at the top level of the selection (fragments flattened)

    def at(self, sizes: Mapping[_PageSize, int]) -> _Stats:
        """These stats with the cost at ``sizes`` (the page sizes of one request)."""
        if isinstance(self.cost, int):
            return self
        return _Stats(self.depth, self.cost.at(sizes), self.aliases, self.root_fields)


_EMPTY: Final = _Stats()


# Terms a kept cost may hold. Paged fields are root fields today, so a cost is linear in the page sizes
# (a term per variable); were they nested, products could multiply with the document: past this bound a
# document's cost is not kept and each of its requests walks it, as a text seen once.
_MAX_COST_TERMS: Final = 256


class _Unbounded(Exception):
    """A cost over page sizes with more than :data:`_MAX_COST_TERMS` terms."""


@dataclass(frozen=True, order=True)
class _PageSize:
    """A page size a variable gives: its value (``whole_input``: the ``first`` of the ``input`` object
    it gives) when it is an Int up to the largest page, else ``fallback`` (the argument's default)."""

    variable: str
    whole_input: bool
    fallback: int

    def size(self, value: Any) -> int:
        """The size at the variable's value (the request's, else the default its operation declares)."""
        if self.whole_input:
            value = value.get("first") if isinstance(value, Mapping) else None
        return _positive(value, self.fallback)

    def __mul__(self, cost: int | _Cost) -> _Cost:
        return (cost if isinstance(cost, _Cost) else _Cost({(): cost})).times(self)


_Monomial = tuple[_PageSize, ...]  # a product of page sizes, sorted (() is the constant term)


class _Cost:
    """A cost that depends on page sizes given as variables: Σ coefficient × Π page sizes. Exact (Python
    integers): evaluated at a request's page sizes it is what a walk with the request's values gives.
    Immutable (a fragment's is shared by every spread of it)."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[_Monomial, int]) -> None:
        if len(terms) > _MAX_COST_TERMS:
            raise _Unbounded
        self.terms = terms

    def __add__(self, other: int | _Cost) -> _Cost:
        terms = dict(self.terms)
        for monomial, coefficient in other.terms.items() if isinstance(other, _Cost) else (((), other),):
            terms[monomial] = terms.get(monomial, 0) + coefficient
        return _Cost(terms)

    __radd__ = __add__

    def __rmul__(self, factor: int) -> _Cost:
        return _Cost({monomial: factor * coefficient for monomial, coefficient in self.terms.items()})

    def times(self, size: _PageSize) -> _Cost:
        return _Cost({tuple(sorted((*monomial, size))): c for monomial, c in self.terms.items()})

    def sizes(self) -> set[_PageSize]:
        return {size for monomial in self.terms for size in monomial}

    def at(self, sizes: Mapping[_PageSize, int]) -> int:
        return sum(c * math.prod(sizes[size] for size in monomial) for monomial, c in self.terms.items())


class _Measure:
    """Depth, cost, aliases and top-level fields of selection sets, each fragment measured once.

    ``variables``: the request's values (over its operations' declared defaults), when known; ``None``
    measures for every request, leaving the page sizes variables give in the cost (:class:`_Cost`)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.memo: dict[tuple[str, bool], _Stats] = {}
        self.active: set[str] = set()  # a fragment cycle counts 0 here (NoFragmentCycles reports it)

    def selection_set(
        self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, in_page: bool = False
    ) -> _Stats:
        """``in_page``: the selection of a paged field, whose lists are the page (counted already)."""
        depth = aliases = root_fields = 0
        cost: int | _Cost = 0
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                child = self.field(selection, parent, in_page)
                depth, root_fields = max(depth, child.depth), root_fields + 1
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition is not None else parent
                child = self.selection_set(selection.selection_set, scope, in_page)
                depth, root_fields = max(depth, child.depth), root_fields + child.root_fields
            elif isinstance(selection, FragmentSpreadNode):
                child = self.fragment(selection.name.value, in_page)
                depth, root_fields = max(depth, child.depth), root_fields + child.root_fields
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            cost += child.cost
            aliases += child.aliases
        return _Stats(depth, cost, aliases, root_fields)

    def fragment(self, name: str, in_page: bool) -> _Stats:
        if (name, in_page) in self.memo:
            return self.memo[name, in_page]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return _EMPTY
        self.active.add(name)
        try:
            scope = self.schema.get_type(definition.type_condition.name.value)
            stats = self.selection_set(definition.selection_set, scope, in_page)
        finally:
            self.active.discard(name)
        self.memo[name, in_page] = stats
        return stats

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, in_page: bool = False) -> _Stats:
        """This field's stats: its own level (depth 1, cost 1, its alias) over its selection's."""
        own_alias = 1 if node.alias is not None else 0
        definition = _field_definition(self.schema, parent, node.name.value)
        if definition is None or node.selection_set is None:
            return _Stats(1, 1, own_alias, 1)
        multiplier = _page_size(node, definition, self.variables)
        child = self.selection_set(
            node.selection_set, get_named_type(definition.type), multiplier is not None
        )
        if node.name.value == "ofType" and parent is not None and parent.name == "__Type":
            # A type reference unwraps in place (List, NonNull: a short chain bounded by the schema):
            # GraphiQL's introspection nests it 7 deep, which is no work.
            return _Stats(child.depth, child.cost, own_alias + child.aliases, 1)
        if multiplier is None:
            in_connection = in_page or (parent is not None and parent.name.endswith("Connection"))
            is_list = isinstance(get_nullable_type(definition.type), GraphQLList)
            multiplier = UNPAGED_LIST_ESTIMATE if is_list and not in_connection else 1
        return _Stats(child.depth + 1, 1 + multiplier * child.cost, own_alias + child.aliases, 1)


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str) -> Any:
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None  # unknown field or a union's __typename: other rules report unknown fields


def _page_size(
    node: FieldNode, definition: Any, variables: Mapping[str, Any] | None
) -> int | _PageSize | None:
    """The page size a field asks for: ``first`` (or ``input.first``), a literal, a variable's value (a
    :class:`_PageSize` when ``variables`` is None), or the schema default."""
    arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
    if "first" in definition.args:
        return _int(arguments.get("first"), definition.args["first"].default_value, variables)
    argument = definition.args.get("input")
    if argument is None:
        return None
    input_type = get_named_type(argument.type)
    if not isinstance(input_type, GraphQLInputObjectType) or "first" not in input_type.fields:
        return None
    value = arguments.get("input")
    default = input_type.fields["first"].default_value
    if isinstance(value, VariableNode):  # the whole input as a variable: its ``first``
        return _given(_PageSize(value.name.value, True, _positive(None, default)), variables)
    literal = None
    if isinstance(value, ObjectValueNode):
        literal = next((f.value for f in value.fields if f.name.value == "first"), None)
    return _int(literal, default, variables)


def _int(literal: Any, default: Any, variables: Mapping[str, Any] | None) -> int | _PageSize:
    """A literal Int, or a variable's value (when the request's values are known), else the default."""
    if isinstance(literal, IntValueNode):
        return max(int(value_from_ast_untyped(literal)), 0)
    if isinstance(literal, VariableNode):
        return _given(_PageSize(literal.name.value, False, _positive(None, default)), variables)
    return _positive(None, default)


def _given(size: _PageSize, variables: Mapping[str, Any] | None) -> int | _PageSize:
    return size if variables is None else size.size(variables.get(size.variable))


def _positive(value: Any, default: Any) -> int:
    # A value larger than any page a resolver serves (transfer pages, 1000) is left to the resolver,
    # which refuses it as OUT_OF_RANGE before any work, as coercion refuses one that is no 32-bit Int.
    if isinstance(value, int) and not isinstance(value, bool) and value <= MAX_TRANSFER_PAGE:
        return max(value, 0)
    return default if isinstance(default, int) and default > 0 else 1


def _refusal(message: str, node: Any, code: str, **extra: int) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code, **extra})


def _operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    return (d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def operation_errors(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None = None
) -> list[GraphQLError]:
    """The limits each operation of ``document`` is over (one error per limit). Page sizes given as
    variables count at ``variables`` (the request's values), else at the defaults the operations
    declare, else at the argument's. One walk of the document: for a document run once."""
    measure = _Measure(schema, _fragments(document), _with_defaults(document, variables or {}))
    limits = current()
    errors: list[GraphQLError] = []
    for definition in _operations(document):
        root = schema.get_root_type(definition.operation)
        errors.extend(_check(measure.selection_set(definition.selection_set, root), limits, definition))
    return errors


@dataclass(frozen=True, eq=False)
class DocumentMeasure:
    """One document measured for one role view, for every request that runs it there (no request's
    values in it): its tokens, and each operation's depth, aliases, root fields and cost, the cost as a
    :class:`_Cost` where variables give page sizes. ``operations`` is None when the cost was too large
    to keep: then each request walks the document (:func:`operation_errors`)."""

    schema: GraphQLSchema
    document: DocumentNode
    tokens: int
    operations: tuple[tuple[OperationDefinitionNode, _Stats], ...] | None
    declared: dict[str, Any]  # the defaults the operations declare for their variables
    page_sizes: frozenset[_PageSize]  # the page sizes variables give, over all operations
    literals_hold_nul: bool = True  # a string literal holds U+0000 (``nul_errors`` then walks the AST)

    def errors(self, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
        """What a walk of the document finds at ``variables`` (its tokens, then :func:`operation_errors`),
        from the measure: ``QUERY_TOO_LARGE`` alone, or one error per limit an operation is over."""
        if self.tokens > current().max_tokens:
            return [_too_large()]
        return self.operation_errors(variables)

    def operation_errors(self, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
        """What :func:`operation_errors` gives for the document at ``variables``."""
        if self.operations is None:
            return operation_errors(self.schema, self.document, variables)
        given = variables or {}
        declared = self.declared
        sizes = {
            size: size.size(given[size.variable] if size.variable in given else declared.get(size.variable))
            for size in self.page_sizes
        }
        limits = current()
        errors: list[GraphQLError] = []
        for definition, stats in self.operations:
            errors.extend(_check(stats.at(sizes), limits, definition))
        return errors


def measure_document(schema: GraphQLSchema, document: DocumentNode) -> DocumentMeasure:
    """Measure ``document`` on the view ``schema`` once, for every request (one walk of its tokens and
    one of its selections); keep the result with the document and that view."""
    walk = _Measure(schema, _fragments(document), None)
    operations: tuple[tuple[OperationDefinitionNode, _Stats], ...] | None
    try:
        operations = tuple(
            (d, walk.selection_set(d.selection_set, schema.get_root_type(d.operation)))
            for d in _operations(document)
        )
    except _Unbounded:
        operations = None
    page_sizes = frozenset(
        size for _, stats in operations or () if isinstance(stats.cost, _Cost) for size in stats.cost.sizes()
    )
    return DocumentMeasure(
        schema,
        document,
        _token_count(document),
        operations,
        _with_defaults(document, {}),
        page_sizes,
        _nul_in_string_tokens(document),
    )


_MEASURED: ContextVar[DocumentMeasure | None] = ContextVar("kaigo_document_measure", default=None)


@contextmanager
def measured(measure: DocumentMeasure | None) -> Iterator[None]:
    """Run an operation with its document's kept measure for the view running it (api/documents installs
    it for a prepared document): :class:`ParseLimits` evaluates it instead of walking the document. It is
    used only for the very document and view it measured; any other is walked."""
    token = _MEASURED.set(measure)
    try:
        yield
    finally:
        _MEASURED.reset(token)


def _with_defaults(document: DocumentNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The values sent over the defaults the operations declare (``query($n: Int = 900)``)."""
    values: dict[str, Any] = {}
    for definition in _operations(document):
        for variable in definition.variable_definitions or ():
            if variable.default_value is not None:
                values[variable.variable.name.value] = value_from_ast_untyped(variable.default_value)
    values.update(variables)
    return values


def _check(stats: _Stats, limits: Limits, node: OperationDefinitionNode) -> Iterator[GraphQLError]:
    if stats.depth > limits.max_depth:
        yield _refusal(
            f"The operation is nested deeper than the limit of {limits.max_depth} levels.",
            node,
            QUERY_TOO_DEEP,
            maxDepth=limits.max_depth,
        )
    if stats.aliases > limits.max_aliases:
        yield _refusal(
            f"The operation uses more than the limit of {limits.max_aliases} aliases.",
            node,
            TOO_MANY_ALIASES,
            maxAliases=limits.max_aliases,
        )
    if stats.root_fields > limits.max_root_fields:
        yield _refusal(
            f"The operation selects more than the limit of {limits.max_root_fields} root fields.",
            node,
            TOO_MANY_ROOT_FIELDS,
            maxRootFields=limits.max_root_fields,
        )
    assert isinstance(stats.cost, int)  # measured with the request's values, or evaluated at them
    if stats.cost > limits.max_cost:
        yield _refusal(
            f"The operation's estimated cost {stats.cost} is over the limit of {limits.max_cost}.",
            node,
            QUERY_TOO_COMPLEX,
            cost=stats.cost,
            maxCost=limits.max_cost,
        )


class ParseLimits(SchemaExtension):
    """Parses with the token limit, and checks the operation limits before validation.

    Parsing stops at the limit (graphql-core's ``max_tokens``, comments included), so an oversized
    document costs no more than the limit; its syntax error is replaced by ``QUERY_TOO_LARGE``. The
    operation limits are checked when validation starts rather than among its rules because a
    persisted document (api/documents/) skips parsing and validation: checked here, it meets the same
    limits as a text (its tokens counted on its parsed token list), from the measure kept for it and
    the view (:func:`measured`) rather than by a walk. The first limit exceeded is the answer
    (strawberry turns the raised error into a result with ``data`` null).
    """

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = current().max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            _mark_too_large(error)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            schema = context.schema._schema
            # a trusted client's reviewed document is costed as when it was imported (declared
            # defaults); any other operation at the page sizes its request asks for
            reviewed = getattr(context.context, "reviewed_document", False)
            values = None if reviewed else context.variables
            measure = _MEASURED.get()
            if measure is not None and measure.document is document and measure.schema is schema:
                errors = measure.errors(values)
                literals = measure.literals_hold_nul
            else:
                errors = _token_errors(document) or operation_errors(schema, document, values)
                literals = None
            nul = [] if errors else nul_errors(document, context.variables, literals_hold_nul=literals)
            if nul and not validate(schema, document, context.validation_rules):
                # an invalid document is a validation error first (strawberry's rules, as it validates)
                errors = nul
            if errors:
                raise errors[0]
        yield


def _token_count(document: DocumentNode, stop_past: int | None = None) -> int:
    """The document's tokens (comments included), counted up to ``stop_past + 1`` when given."""
    token = document.loc.start_token if document.loc is not None else None
    count = 0
    while token is not None and (stop_past is None or count <= stop_past):
        if token.kind not in (TokenKind.SOF, TokenKind.EOF):
            count += 1
        token = token.next
    return count


def _token_errors(document: DocumentNode) -> list[GraphQLError]:
    """``QUERY_TOO_LARGE`` for a document parsed elsewhere without the limit (walks at most the limit)."""
    limit = current().max_tokens
    return [_too_large()] if _token_count(document, limit) > limit else []


def _too_large() -> GraphQLError:
    limit_error = GraphQLError("")
    _mark_too_large(limit_error, force=True)
    return limit_error


_NUL: Final = "\x00"


class _NulLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if _NUL in node.value:
            self.found = node
            return self.BREAK
        return None


def _holds_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return _NUL in value
    if depth > 64:  # deeper than any input type of the schema: coercion refuses it anyway
        return False
    if isinstance(value, dict):
        return any(_holds_nul(k, depth + 1) or _holds_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v, depth + 1) for v in value)
    return False


def _string_tokens(document: DocumentNode) -> Iterator[str]:
    """The values of the string literals in the document's source (parsed with its tokens): a walk of
    the token list, a few µs where visiting the AST costs tens."""
    token: Token | None = document.loc.start_token if document.loc is not None else None
    string, block = TokenKind.STRING, TokenKind.BLOCK_STRING
    while token is not None:
        kind = token.kind
        if kind is string or kind is block:  # identity: an enum's hash is what the walk would cost
            yield token.value or ""
        token = token.next


def holds_string_literal(document: DocumentNode) -> bool:
    """Whether the document holds a string literal (a document without its tokens: assume it does)."""
    return document.loc is None or next(_string_tokens(document), None) is not None


def _nul_in_string_tokens(document: DocumentNode) -> bool:
    """Whether a string literal holds U+0000 (a document without its tokens: assume it may)."""
    return document.loc is None or any(_NUL in value for value in _string_tokens(document))


def nul_errors(
    document: DocumentNode, variables: Any, *, literals_hold_nul: bool | None = None
) -> list[GraphQLError]:
    """``BAD_USER_INPUT`` for a string holding U+0000 in a literal or a variable (never echoed).
    ``literals_hold_nul``: what the document's kept measure found in its literals (None: look)."""
    literals = _NulLiterals()
    if literals_hold_nul is None:
        literals_hold_nul = _nul_in_string_tokens(document)
    if literals_hold_nul:  # the walk over the AST only when a string token holds one
        visit(document, literals)
    named = None
    if literals.found is None:
        values = variables if isinstance(variables, dict) else {}
        named = next((name for name, value in values.items() if _holds_nul(value)), None)
        if named is None:
            return []
    field = f"${named}" if named is not None else "document"
    return [
        GraphQLError(
            "A string holds the character U+0000, which no field accepts.",
            literals.found,
            extensions={"code": BAD_USER_INPUT, "field": field, "reason": "FORMAT"},
        )
    ]


def _mark_too_large(error: GraphQLError, *, force: bool = False) -> None:
    """Turn graphql-core's token-limit syntax error into ``QUERY_TOO_LARGE`` (in place: strawberry
    answers with the very error objects it stored)."""
    if not force and "tokens. Parsing aborted." not in error.message:
        return
    limit = current().max_tokens
    error.message = f"The document has more than the limit of {limit} tokens."
    error.extensions = {"code": QUERY_TOO_LARGE, "maxTokens": limit}
