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

The limits are process-wide (:func:`configure`, from ``api.runtime.build_runtime``): the cached role
views (``resolvers.schema_for``) read them at each validation; without configuration, the defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    ValidationContext,
    ValidationRule,
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
    "Limits",
    "OperationLimits",
    "ParseLimits",
    "configure",
    "current",
    "holds_string_literal",
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
    cost: int = 0
    aliases: int = 0
    root_fields: int = 0  # fields at the top level of the selection (fragments flattened)


_EMPTY: Final = _Stats()


class _Measure:
    """Depth, cost, aliases and top-level fields of selection sets, each fragment measured once."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables: Mapping[str, Any] = variables or {}  # the request's values, when known
        self.memo: dict[tuple[str, bool], _Stats] = {}
        self.active: set[str] = set()  # a fragment cycle counts 0 here (NoFragmentCycles reports it)

    def selection_set(
        self, node: SelectionSetNode | None, parent: GraphQLNamedType | None, in_page: bool = False
    ) -> _Stats:
        """``in_page``: the selection of a paged field, whose lists are the page (counted already)."""
        depth = cost = aliases = root_fields = 0
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


def _page_size(node: FieldNode, definition: Any, variables: Mapping[str, Any]) -> int | None:
    """The page size a field asks for: ``first`` (or ``input.first``), a literal, a variable's value, or
    the schema default."""
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
        given = variables.get(value.name.value)
        first = given.get("first") if isinstance(given, Mapping) else None
        return _positive(first, default)
    literal = None
    if isinstance(value, ObjectValueNode):
        literal = next((f.value for f in value.fields if f.name.value == "first"), None)
    return _int(literal, default, variables)


def _int(literal: Any, default: Any, variables: Mapping[str, Any]) -> int:
    """A literal Int, or a variable's value when the request's values are known, else the default."""
    if isinstance(literal, IntValueNode):
        return max(int(value_from_ast_untyped(literal)), 0)
    if isinstance(literal, VariableNode):
        return _positive(variables.get(literal.name.value), default)
    return _positive(None, default)


def _positive(value: Any, default: Any) -> int:
    # A value larger than any page a resolver serves (transfer pages, 1000) is left to the resolver,
    # which refuses it as OUT_OF_RANGE before any work, as coercion refuses one that is no 32-bit Int.
    if isinstance(value, int) and not isinstance(value, bool) and value <= MAX_TRANSFER_PAGE:
        return max(value, 0)
    return default if isinstance(default, int) and default > 0 else 1


def _refusal(message: str, node: Any, code: str, **extra: int) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code, **extra})


def operation_errors(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None = None
) -> list[GraphQLError]:
    """The limits each operation of ``document`` is over (one error per limit). Page sizes given as
    variables count at ``variables`` (the request's values), else at the defaults the operations
    declare, else at the argument's."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    measure = _Measure(schema, fragments, _with_defaults(document, variables or {}))
    limits = current()
    errors: list[GraphQLError] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            errors.extend(_check(measure.selection_set(definition.selection_set, root), limits, definition))
    return errors


class OperationLimits(ValidationRule):
    """:func:`operation_errors` as a validation rule, for a document checked on its own (no variables)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        for error in operation_errors(context.schema, context.document):
            self.report_error(error)


def _with_defaults(document: DocumentNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The values sent over the defaults the operations declare (``query($n: Int = 900)``)."""
    values: dict[str, Any] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
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
    if stats.cost > limits.max_cost:
        yield _refusal(
            f"The operation's estimated cost {stats.cost} is over the limit of {limits.max_cost}.",
            node,
            QUERY_TOO_COMPLEX,
            cost=stats.cost,
            maxCost=limits.max_cost,
        )


class ParseLimits(SchemaExtension):
    """Parses with the token limit, and checks :class:`OperationLimits` before validation.

    Parsing stops at the limit (graphql-core's ``max_tokens``, comments included), so an oversized
    document costs no more than the limit; its syntax error is replaced by ``QUERY_TOO_LARGE``. The
    operation limits are checked when validation starts rather than among its rules because a
    persisted document (api/documents/) skips parsing and validation: checked here, it meets the same
    limits as a text (its tokens counted on its parsed token list, up to the limit). The first limit
    exceeded is the answer (strawberry turns the raised error into a result with ``data`` null).
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
            errors = _token_errors(document) or operation_errors(schema, document, values)
            nul = [] if errors else _nul_errors(document, context.variables)
            if nul and not validate(schema, document, context.validation_rules):
                # an invalid document is a validation error first (strawberry's rules, as it validates)
                errors = nul
            if errors:
                raise errors[0]
        yield


def _token_errors(document: DocumentNode) -> list[GraphQLError]:
    """``QUERY_TOO_LARGE`` for a document parsed elsewhere without the limit (walks at most the limit)."""
    limit = current().max_tokens
    token = document.loc.start_token if document.loc is not None else None
    count = 0
    while token is not None and count <= limit:
        if token.kind not in (TokenKind.SOF, TokenKind.EOF):
            count += 1
        token = token.next
    if count <= limit:
        return []
    limit_error = GraphQLError("")
    _mark_too_large(limit_error, force=True)
    return [limit_error]


_NUL: Final = "\x00"
_STRING_TOKENS: Final = frozenset({TokenKind.STRING, TokenKind.BLOCK_STRING})


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
    while token is not None:
        if token.kind in _STRING_TOKENS:
            yield token.value or ""
        token = token.next


def holds_string_literal(document: DocumentNode) -> bool:
    """Whether the document holds a string literal (a document without its tokens: assume it does)."""
    return document.loc is None or next(_string_tokens(document), None) is not None


def _nul_in_string_tokens(document: DocumentNode) -> bool:
    """Whether a string literal holds U+0000 (a document without its tokens: assume it may)."""
    return document.loc is None or any(_NUL in value for value in _string_tokens(document))


def _nul_errors(document: DocumentNode, variables: Any) -> list[GraphQLError]:
    """``BAD_USER_INPUT`` for a string holding U+0000 in a literal or a variable (never echoed)."""
    literals = _NulLiterals()
    if _nul_in_string_tokens(document):  # the walk over the AST only when a string token holds one
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
