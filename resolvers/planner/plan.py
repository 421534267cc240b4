"""A planned read: bound per request, run as one statement, finished in one pass in Python.

:func:`plan_read` reads an operation once per document and role view (the caller caches the result
with the document). :meth:`ReadPlan.bind` checks the request's variables and arguments exactly as the
resolvers would: anything they would refuse (a malformed id, a page size out of range, a reversed date
range …) declines the request, and strawberry's executor answers it with its usual error. What
PostgreSQL must not compute — the individual numbers, decrypted by the server only — :meth:`finish`
does over the parsed answer, at the paths the plan knows.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import DocumentNode, GraphQLError, Undefined, VariableDefinitionNode, is_non_null_type
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    input_is_nested_too_deeply,
    maybe_use_default_value,
)
from graphql.utilities.coerce_input_value import coerce_input_value

from persistence.crypto import NumberVault
from policies.individual_number import IndividualNumber, InvalidIndividualNumber
from schema.errors import BadUserInput

from ..persons import DEFAULT_PAGE_SIZE, PARAMETER_TYPES, parse_person_id, persons_query
from .sql import Compiled, compile_statement
from .tree import Declined, Operation, read_operation

__all__ = ["Bound", "Declined", "ReadPlan", "plan_read"]


def _refuse(*_: Any) -> None:
    raise Declined("a variable's default the operation cannot accept")


_SHAPES_KEPT: Final = 16  # statements per plan: one per set of given filter parameters


@dataclass(frozen=True)
class Bound:
    """A request's statement and its arguments, in position order."""

    compiled: Compiled
    arguments: tuple[Any, ...]


@dataclass
class ReadPlan:
    operation: Operation
    audited: bool
    durable: bool = True  # the entry's commit waits for the disk (KAIGO_AUDIT_READ_COMMIT=durable)
    _statements: OrderedDict[tuple[Any, ...], Compiled] = field(default_factory=OrderedDict)
    _signatures: tuple[tuple[VariableDefinitionNode, GraphQLVariableSignature], ...] | None = None

    @property
    def name(self) -> str | None:
        return self.operation.name

    @property
    def reveals_numbers(self) -> bool:
        return bool(self.operation.numbers)

    def statement(self, shapes: tuple[Any, ...]) -> Compiled:
        found = self._statements.get(shapes)
        if found is None:
            found = compile_statement(self.operation, shapes, audited=self.audited, durable=self.durable)
            self._statements[shapes] = found
            while len(self._statements) > _SHAPES_KEPT:
                self._statements.popitem(last=False)
        return found

    def bind(
        self,
        schema: Any,
        variables: Mapping[str, Any] | None,
        *,
        today: Any,
        vault: NumberVault,
        audit: Mapping[str, Any] | None = None,
    ) -> Bound:
        """The statement and arguments of one request; raises :class:`Declined` for whatever the
        resolvers would refuse (strawberry's executor then reports it)."""
        coerced = self._variables(schema, variables or {})
        try:
            shapes, values = self._values(coerced, vault)
        except (BadUserInput, InvalidIndividualNumber):
            raise Declined("arguments the resolvers refuse") from None
        except GraphQLError:  # graphql-core refuses an argument (a null variable where none may be)
            raise Declined("arguments the executor refuses") from None
        values["today"] = today
        if audit is not None:
            values.update(audit)
        compiled = self.statement(shapes)
        try:
            arguments = tuple(
                values[name] if constant is None else constant for name, constant in compiled.positions
            )
        except KeyError as missing:
            raise Declined(f"no value for parameter {missing}") from None
        return Bound(compiled, arguments)

    def _variables(self, schema: Any, inputs: Mapping[str, Any]) -> VariableValues:
        """graphql-core's coercion of the variables (``coerce_variable_values``), with each definition's
        signature (its type read from the view) taken once per plan, not per request. Whatever it would
        report as an error declines the request: the executor then coerces and words the error."""
        if self._signatures is None:
            signatures = []
            for node in self.operation.definition.variable_definitions or ():
                signature = get_variable_signature(schema._schema, node)
                if isinstance(signature, GraphQLError):
                    raise Declined("a variable of no input type")
                signatures.append((node, signature))
            self._signatures = tuple(signatures)
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for node, signature in self._signatures:
            name = signature.name
            value = inputs.get(name, Undefined)
            if value is Undefined:
                sources[name] = VariableValueSource(signature)
                if node.default_value:
                    maybe_use_default_value(coerced, name, signature, _refuse)
                    continue
                if not is_non_null_type(signature.type):
                    continue
            else:
                sources[name] = VariableValueSource(signature, value)
            if input_is_nested_too_deeply(value, signature.type):
                raise Declined("variables nested too deeply")
            value = coerce_input_value(value, signature.type)
            if value is Undefined:
                raise Declined("variables the operation cannot accept")
            coerced[name] = value
        return VariableValues(sources, coerced)

    def _values(self, coerced: VariableValues, vault: NumberVault) -> tuple[tuple[Any, ...], dict[str, Any]]:
        values: dict[str, Any] = {}
        shapes: list[Any] = []
        for index, root in enumerate(self.operation.roots):
            prefix = f"r{index}_"
            if root.arguments is None:
                shapes.append(None)
                continue
            given = root.arguments.values(coerced)
            if root.kind == "person":
                values[prefix + "id"] = parse_person_id(given["id"])
                shapes.append(None)
            elif root.kind == "by_number":
                number = IndividualNumber.parse(given["individual_number"], field="individualNumber")
                values[prefix + "index"] = vault.blind_index(number)
                shapes.append(None)
            else:
                query = persons_query(
                    given.get("filter_"),
                    first=given.get("first", DEFAULT_PAGE_SIZE),
                    after=given.get("after"),
                )
                shapes.append(query.shape)
                values.update(
                    {prefix + name: query.value(name) for name in PARAMETER_TYPES if name != "today"}
                )
        for related in self.operation.relations:
            assert related.arguments is not None and related.relation.source.arguments is not None
            normalised = related.relation.source.arguments(related.arguments.values(coerced))
            for name in related.relation.source.params:
                values[f"n{related.index}_{name}"] = normalised[name]
        return tuple(shapes), values

    def finish(self, data: str | dict[str, Any], vault: NumberVault) -> dict[str, Any]:
        """The answer as strawberry's executor would give it: the statement's JSON (decoded by the
        driver's codec, or text), with each individual number decrypted where the plan put its ciphertext
        and associated data."""
        answer: dict[str, Any] = json.loads(data) if isinstance(data, str) else data
        for path in self.operation.numbers:
            _decrypt_at(answer, path, vault)
        return answer


def _decrypt_at(value: Any, path: Sequence[str], vault: NumberVault) -> None:
    if value is None:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in value:
            _decrypt_at(item, rest, vault)
        return
    if not rest:
        sealed = value.get(head)
        if sealed is not None:
            blob, context = sealed
            value[head] = vault.decrypt(bytes.fromhex(blob), context=context.encode()).reveal()
        return
    _decrypt_at(value.get(head), rest, vault)


def plan_read(
    schema: Any, document: DocumentNode, operation_name: str | None, *, audited: bool, durable: bool = True
) -> ReadPlan:
    """The plan of an operation on a role view (strawberry schema) that validated the document; raises
    :class:`Declined` when the planner does not cover it."""
    return ReadPlan(read_operation(schema, document, operation_name), audited, durable)
