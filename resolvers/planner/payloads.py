"""A transfer page planned (移転, 別紙2): the decision and its record by the resolver, the page's persons by
one statement.

``transferInformation`` is a mutation: the resolver decides under the permission, writes the record and
picks the page's persons, as ever. The persons themselves — each one's 宛名コード and what is sent of
them, the items the department's document selects, up to a thousand a page — are where strawberry's
executor spent its time (a DataLoader per area, then every field of every person completed in Python).
So the executor runs the document with each ``persons`` selection of the page replaced by ``__typename``
under the same key (cheap, and it keeps the key's place in the answer), the resolver skips gathering,
and one statement (``compile_persons_objects``: every relation read for the whole page at once) builds
the persons in PostgreSQL, in the mutation's transaction; they are then put in their places.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLObjectType,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)

from policies.legal_bases import information_items

from .sql import Compiled, compile_persons_objects
from .tree import Declined, _Collector, _named, _Reader

__all__ = ["PersonsFill", "TransferPlan", "plan_transfer"]

ROOT = "transferInformation"
PAGE = "TransferPage"
PERSONS = "persons"


@dataclass(frozen=True)
class PersonsFill:
    """A page's ``persons`` under one response key, and the statement that builds them."""

    key: str
    compiled: Compiled


@dataclass(frozen=True)
class TransferPlan:
    document: DocumentNode  # what the executor runs: every `persons` of the page replaced
    root_key: str
    fills: tuple[PersonsFill, ...]

    def arguments(
        self, fill: PersonsFill, ids: Sequence[int], items: Sequence[str], today: Any
    ) -> tuple[Any, ...]:
        """The statement's arguments for a page: its persons in order, the items it covers."""
        wanted = set(items)
        covered = [item for item in information_items() if item in wanted]  # the catalogue's order
        values: dict[str, Any] = {"ids": list(ids), "today": today, "x_items": json.dumps(covered)}
        values.update({f"item_{item}": item in wanted for item in information_items()})
        return tuple(
            values[name] if constant is None else constant for name, constant in fill.compiled.positions
        )

    def put(self, data: Mapping[str, Any] | None, fill: PersonsFill, persons: list[Any]) -> None:
        """Put the page's persons in their place in the executor's answer."""
        answer = (data or {}).get(self.root_key)
        if not isinstance(answer, dict) or fill.key not in answer:
            raise RuntimeError("the executor's answer has no page where the persons go")
        answer[fill.key] = persons


class _Replace(Visitor):
    """Every ``persons`` of a TransferPage becomes ``<its response key>: __typename``: selected as cheaply
    as possible, in the same place."""

    def __init__(self, types: TypeInfo) -> None:
        super().__init__()
        self.types = types

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        parent = self.types.get_parent_type()
        if node.name.value != PERSONS or parent is None or parent.name != PAGE:
            return None
        key = node.alias.value if node.alias is not None else PERSONS
        return FieldNode(
            alias=NameNode(value=key), name=NameNode(value="__typename"), arguments=(), directives=()
        )


def plan_transfer(schema: Any, document: DocumentNode, operation_name: str | None) -> TransferPlan:
    """The plan of a ``transferInformation`` operation on a role view that validated the document;
    raises :class:`Declined` for any other shape."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.MUTATION:
        raise Declined("not a single mutation")
    operation = operations[0]
    reader = _Reader(schema, document)
    mutation = reader.graphql.mutation_type
    assert mutation is not None
    roots = reader.collector.collect(mutation, [operation.selection_set])
    if len(roots) != 1 or next(iter(roots.values()))[0].name.value != ROOT:
        raise Declined("not one transferInformation")
    ((root_key, root_nodes),) = roots.items()
    page = reader.graphql.get_type(PAGE)
    assert isinstance(page, GraphQLObjectType)
    members = _Collector(document, reader.graphql, other_types="skip")
    fills: list[PersonsFill] = []
    for key, nodes in members.collect(page, [n.selection_set for n in root_nodes if n.selection_set]).items():
        if nodes[0].name.value == PERSONS:
            person = _named(page.fields[PERSONS].type)
            obj = reader.person_like(person, nodes, (root_key, key, "*"))
            fills.append(PersonsFill(key, compile_persons_objects(obj)))
    if reader.numbers:
        raise Declined("an individual number in what is sent")  # never: no such field is sent
    types = TypeInfo(reader.graphql)
    replaced = visit(document, TypeInfoVisitor(types, _Replace(types)))
    return TransferPlan(replaced, root_key, tuple(fills))
