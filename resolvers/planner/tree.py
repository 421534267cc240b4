"""A query operation, read against a role view, as a tree of what each response key is made of.

Every field must state its source (schema/sources.py); a root field must be one the planner knows
(``person``, ``personByIndividualNumber``, ``persons``, ``__typename``). Anything else — another root
field, a directive, an abstract type, a fragment with variables, introspection — declines the whole
operation with a reason, and strawberry's executor answers it as before.

Fields are collected as graphql-core's executor collects them (fragments flattened, same response keys
merged, first occurrence first), so the keys of the answer come in the executor's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
)
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_arguments
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from schema.sources import (
    ColumnSource,
    EmbeddedSource,
    ExpressionSource,
    NumberSource,
    ParameterSource,
    RelationSource,
    SqlTemplate,
    TableSource,
    item_of,
    source_of,
    table_of,
)

from ..sources import Relation, relation_of, unwrap

__all__ = [
    "Arguments",
    "Column",
    "Const",
    "Declined",
    "Embedded",
    "Expression",
    "Gated",
    "Node",
    "Number",
    "Obj",
    "Operation",
    "Param",
    "Related",
    "Root",
    "read_operation",
]

_BACKREF = "strawberry-definition"
MAX_KEYS = 50  # json_build_object takes at most 100 arguments


class Declined(Exception):
    """The planner does not cover the operation; the message says why (no values in it)."""


@dataclass(frozen=True)
class Arguments:
    """How a field's arguments are read at request time: as strawberry hands them to its resolver."""

    definition: GraphQLField
    node: FieldNode
    field: StrawberryField
    schema: Any  # the strawberry schema (its scalars and configuration)

    def values(self, variables: VariableValues) -> dict[str, Any]:
        coerced = get_argument_values(self.definition, self.node, variables)
        return convert_arguments(
            coerced,
            self.field.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )


@dataclass(frozen=True)
class Column:
    name: str
    enum: Mapping[str, str] | None = None  # code → GraphQL name
    text: bool = False  # an ID: the column's value as text


@dataclass(frozen=True)
class Expression:
    sql: SqlTemplate
    enum: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Const:
    value: str


@dataclass(frozen=True)
class Param:
    """A value of the request's, bound as a parameter (JSON)."""

    name: str


@dataclass(frozen=True)
class Gated:
    """A field null unless the answer covers its information item (a boolean parameter per item)."""

    item: str
    node: Any


@dataclass(frozen=True)
class Number:
    """個人番号: the ciphertext and its associated data travel to the server, which decrypts."""

    column: str
    context: str


@dataclass(frozen=True)
class Embedded:
    obj: Obj
    any_of: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Related:
    relation: Relation
    obj: Obj
    arguments: Arguments | None
    index: int  # unique in the operation: names its parameters

    @property
    def audited(self) -> bool:
        return self.relation.audited


Node = Column | Expression | Const | Number | Embedded | Related | Param | Gated


@dataclass(frozen=True)
class Obj:
    """An object of the answer: its response keys in order, each with what it is made of."""

    typename: str
    fields: tuple[tuple[str, Node], ...]
    table: TableSource | None  # the table whose row it is read from (an embedded object: its parent's)

    def numbers(self) -> bool:
        return any(isinstance(n, Number) for _, n in self.fields)

    def needs(self) -> set[str] | None:
        """The columns of its row it reads (None: all of them, an expression may read any)."""
        found: set[str] = set()
        for _, node in self.fields:
            if isinstance(node, Column):
                found.add(node.name)
            elif isinstance(node, Expression):
                return None
            elif isinstance(node, Number):
                found.update((node.column, node.context))
            elif isinstance(node, Embedded):
                inner = node.obj.needs()
                if inner is None:
                    return None
                found.update(inner, node.any_of, node.all_of)
            elif isinstance(node, Related):
                found.add(node.relation.source.parent)
            elif isinstance(node, Gated):
                inner = Obj(self.typename, (("", node.node),), self.table).needs()
                if inner is None:
                    return None
                found |= inner
        return found


@dataclass(frozen=True)
class Root:
    """A root field: ``kind`` person, by_number, persons or typename."""

    key: str
    kind: str
    arguments: Arguments | None
    obj: Obj | None = None  # the person of person / by_number
    connection: tuple[tuple[str, Any], ...] = ()  # persons: (key, part) where part is described below


@dataclass(frozen=True)
class Operation:
    name: str | None
    definition: OperationDefinitionNode
    roots: tuple[Root, ...]
    relations: tuple[Related, ...] = field(default=())  # those with arguments, bound per request
    numbers: tuple[tuple[str, ...], ...] = ()  # paths of 個人番号 in the answer ("*": every list item)


# --- collecting fields ------------------------------------------------------------------------------


class _Collector:
    """Fields grouped by response key, as the executor collects them. A fragment on another type
    declines the operation, or — for the members of a union (``other_types="skip"``) — is another
    member's and is skipped; a fragment on an abstract type the object belongs to is its own."""

    def __init__(
        self, document: DocumentNode, schema: GraphQLSchema | None = None, other_types: str = "decline"
    ) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.schema = schema
        self.skip = other_types == "skip"

    def collect(
        self, parent: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._into(parent, selection_set, grouped, set())
        return grouped

    def _applies(self, condition: str | None, parent: GraphQLObjectType) -> bool:
        if condition is None or condition == parent.name:
            return True
        if not self.skip:
            raise Declined("a fragment on another type")
        assert self.schema is not None
        named = self.schema.get_type(condition)
        return named is not None and is_abstract_type(named) and self.schema.is_sub_type(named, parent)

    def _into(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        seen: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise Declined("a directive")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if self._applies(condition.name.value if condition is not None else None, parent):
                    self._into(parent, selection.selection_set, grouped, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen:
                    continue
                seen.add(name)
                fragment = self.fragments.get(name)
                if fragment is None:
                    raise Declined("an unknown fragment")
                if fragment.directives or getattr(fragment, "variable_definitions", None):
                    raise Declined("a fragment with directives or variables")
                if self._applies(fragment.type_condition.name.value, parent):
                    self._into(parent, fragment.selection_set, grouped, seen)


# --- the tree ---------------------------------------------------------------------------------------


def _named(gtype: Any) -> Any:
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        gtype = gtype.of_type
    return gtype


def _enum_names(strawberry_type: Any) -> Mapping[str, str] | None:
    named, _, _ = unwrap(strawberry_type)
    if not isinstance(named, StrawberryEnumDefinition):
        return None
    names = {str(v.value): v.name for v in named.values}
    return None if all(code == name for code, name in names.items()) else names


class _Reader:
    def __init__(self, schema: Any, document: DocumentNode) -> None:
        self.schema = schema  # strawberry
        self.graphql: GraphQLSchema = schema._schema
        self.collector = _Collector(document, self.graphql)
        self.relations: list[Related] = []
        self.numbers: list[tuple[str, ...]] = []
        self._index = 0

    def obj(
        self,
        gtype: GraphQLObjectType,
        nodes: Sequence[FieldNode],
        table: TableSource,
        prefix: str,
        path: tuple[str, ...],
    ) -> Obj:
        grouped = self.collector.collect(
            gtype, [n.selection_set for n in nodes if n.selection_set is not None]
        )
        if len(grouped) > MAX_KEYS:
            raise Declined("too many keys in one object")
        fields: list[tuple[str, Node]] = []
        for key, group in grouped.items():
            name = group[0].name.value
            if name == "__typename":
                fields.append((key, Const(gtype.name)))
                continue
            definition = gtype.fields.get(name)
            if definition is None:
                raise Declined("an unknown field")
            sfield: StrawberryField = definition.extensions[_BACKREF]
            fields.append((key, self.node(definition, sfield, group, table, prefix, (*path, key))))
        return Obj(gtype.name, tuple(fields), table)

    def node(
        self,
        definition: GraphQLField,
        sfield: StrawberryField,
        group: Sequence[FieldNode],
        table: TableSource,
        prefix: str,
        path: tuple[str, ...],
    ) -> Node:
        item = item_of(sfield)
        found = self.ungated(definition, sfield, group, table, prefix, path)
        return Gated(item, found) if item is not None else found

    def ungated(
        self,
        definition: GraphQLField,
        sfield: StrawberryField,
        group: Sequence[FieldNode],
        table: TableSource,
        prefix: str,
        path: tuple[str, ...],
    ) -> Node:
        source = source_of(sfield)
        if source is None:
            raise Declined(f"a field without a source ({sfield.python_name})")
        if definition.args and not isinstance(source, RelationSource):
            raise Declined("arguments on a field that is not a relation")
        if isinstance(source, ColumnSource):
            named, _, _ = unwrap(sfield.type)
            return Column(
                prefix + (source.name or sfield.python_name), _enum_names(sfield.type), named is strawberry.ID
            )
        if isinstance(source, ExpressionSource):
            if prefix:
                raise Declined("an expression in a prefixed embedded object")
            return Expression(source.sql, _enum_names(sfield.type))
        if isinstance(source, NumberSource):
            self.numbers.append(path)
            return Number(source.column, source.context)
        if isinstance(source, ParameterSource):
            return Param(source.name)
        child_type = _named(definition.type)
        if not isinstance(child_type, GraphQLObjectType):
            raise Declined("an abstract type")
        if isinstance(source, EmbeddedSource):
            inner_prefix = prefix + source.prefix
            obj = self.obj(child_type, group, table, inner_prefix, path)
            return Embedded(
                obj,
                tuple(inner_prefix + n for n in source.any_of),
                tuple(inner_prefix + n for n in source.all_of),
            )
        relation = relation_of(sfield)
        if definition.args and source.arguments is None:
            raise Declined("a relation with arguments it does not check")
        list_path = (*path, "*") if relation.many else path
        obj = self.obj(child_type, group, relation.table, "", list_path)
        arguments = Arguments(definition, group[0], sfield, self.schema) if definition.args else None
        self._index += 1
        related = Related(relation, obj, arguments, self._index)
        if arguments is not None:
            self.relations.append(related)
        return related

    def person(self, gtype: GraphQLObjectType, nodes: Sequence[FieldNode], path: tuple[str, ...]) -> Obj:
        obj = self.person_like(gtype, nodes, path)
        assert obj.table is not None and obj.table.name == "persons"
        return obj

    def person_like(self, gtype: GraphQLObjectType, nodes: Sequence[FieldNode], path: tuple[str, ...]) -> Obj:
        """An object of a type read from a row of its own table (a person, what is sent of one)."""
        source = table_of(gtype.extensions[_BACKREF].origin)
        if source is None:
            raise Declined("a type without a table")
        return self.obj(gtype, nodes, source, "", path)


_PAGE_INFO = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})


def _connection(
    reader: _Reader, gtype: GraphQLObjectType, group: Sequence[FieldNode], key: str
) -> tuple[tuple[str, Any], ...]:
    """The parts of a persons page: ("edges", cursor/node parts), ("nodes", person), ("pageInfo",
    names), ("totalCount", None), ("__typename", name)."""
    parts: list[tuple[str, Any]] = []
    grouped = reader.collector.collect(gtype, [n.selection_set for n in group if n.selection_set is not None])
    for part_key, nodes in grouped.items():
        name = nodes[0].name.value
        if name == "__typename":
            parts.append((part_key, ("__typename", gtype.name)))
        elif name == "totalCount":
            parts.append((part_key, ("totalCount", None)))
        elif name == "nodes":
            node_type = _named(gtype.fields["nodes"].type)
            parts.append((part_key, ("nodes", reader.person(node_type, nodes, (key, part_key, "*")))))
        elif name == "pageInfo":
            info_type = _named(gtype.fields["pageInfo"].type)
            names = reader.collector.collect(info_type, [n.selection_set for n in nodes if n.selection_set])
            wanted = tuple((k, n[0].name.value) for k, n in names.items())
            if any(name not in _PAGE_INFO | {"__typename"} for _, name in wanted):
                raise Declined("an unknown page info field")
            parts.append((part_key, ("pageInfo", wanted)))
        elif name == "edges":
            edge_type = _named(gtype.fields["edges"].type)
            edge_parts: list[tuple[str, Any]] = []
            for edge_key, edge_nodes in reader.collector.collect(
                edge_type, [n.selection_set for n in nodes if n.selection_set]
            ).items():
                edge_name = edge_nodes[0].name.value
                if edge_name == "cursor":
                    edge_parts.append((edge_key, ("cursor", None)))
                elif edge_name == "__typename":
                    edge_parts.append((edge_key, ("__typename", edge_type.name)))
                elif edge_name == "node":
                    node_type = _named(edge_type.fields["node"].type)
                    path = (key, part_key, "*", edge_key)
                    edge_parts.append((edge_key, ("node", reader.person(node_type, edge_nodes, path))))
                else:
                    raise Declined("an unknown edge field")
            parts.append((part_key, ("edges", tuple(edge_parts))))
        else:
            raise Declined("an unknown connection field")
    return tuple(parts)


_ROOTS = {"person": "person", "personByIndividualNumber": "by_number", "persons": "persons"}


def read_operation(schema: Any, document: DocumentNode, operation_name: str | None) -> Operation:
    """The tree of ``document``'s operation ``operation_name`` on the view ``schema`` (strawberry), which
    has validated the document; raises :class:`Declined`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1:
        raise Declined("no single operation")
    operation = operations[0]
    if operation.operation is not OperationType.QUERY:
        raise Declined("not a query")
    if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
        raise Declined("a directive")
    reader = _Reader(schema, document)
    query_type = reader.graphql.query_type
    assert query_type is not None
    roots: list[Root] = []
    for key, group in reader.collector.collect(query_type, [operation.selection_set]).items():
        name = group[0].name.value
        if name == "__typename":
            roots.append(Root(key, "typename", None))
            continue
        kind = _ROOTS.get(name)
        if kind is None:
            raise Declined("a root field the planner does not read")
        definition = query_type.fields[name]
        arguments = Arguments(definition, group[0], definition.extensions[_BACKREF], schema)
        gtype = _named(definition.type)
        if kind == "persons":
            roots.append(Root(key, kind, arguments, connection=_connection(reader, gtype, group, key)))
        else:
            roots.append(Root(key, kind, arguments, obj=reader.person(gtype, group, (key,))))
    return Operation(
        operation.name.value if operation.name else None,
        operation,
        tuple(roots),
        tuple(reader.relations),
        tuple(reader.numbers),
    )
