"""Manifests of the documents a client registers, and the checks each document passes before it is.

Two formats: Apollo's persisted-query manifest
``{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, body, name, type}]}``
(what ``generate-persisted-query-manifest`` writes) and Relay's flat ``{id: text}`` map (the relay
compiler's ``persistConfig`` with ``algorithm: "SHA256"``).

A document is refused, with the reason, when its id is not the sha256 of its exact text, when it does
not hold exactly one operation (or not the one the manifest names), when it writes a literal shaped like
an individual number (numbers travel as variables, never inside a stored document), or when no role of
the client can run it: each role's view (``resolvers.schema_for``) validates it with graphql-core, so a
document selecting a field the client's principals cannot see is refused with "Cannot query field …".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLSyntaxError, specified_rules
from strawberry.schema.schema import validate_document

from policies.clients import Client
from policies.individual_number import contains_valid_number
from resolvers import schema_for
from resolvers.errors import redact

from .cache import PreparedDocument, prepare_document
from .ids import document_id, parse_document_id

__all__ = [
    "APOLLO_FORMAT",
    "Checked",
    "ManifestError",
    "ManifestOperation",
    "check",
    "load_manifest",
    "parse_manifest",
]

APOLLO_FORMAT = "apollo-persisted-query-manifest"
_TYPES = ("query", "mutation", "subscription")


class ManifestError(ValueError):
    """The file is not a manifest of either format."""


@dataclass(frozen=True)
class ManifestOperation:
    id: str  # as written in the manifest (hex, or sha256:hex)
    body: str
    name: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Checked:
    operation: ManifestOperation
    document: PreparedDocument | None  # None when refused before parsing
    problems: tuple[str, ...]
    roles: tuple[str, ...] = ()  # the client's roles whose view accepts it

    @property
    def accepted(self) -> bool:
        return not self.problems


def _apollo(raw: Mapping[str, Any]) -> list[ManifestOperation]:
    if raw.get("format") != APOLLO_FORMAT or raw.get("version") != 1:
        raise ManifestError(f'an Apollo manifest has "format": "{APOLLO_FORMAT}" and "version": 1')
    operations = raw.get("operations")
    if not isinstance(operations, list):
        raise ManifestError('an Apollo manifest lists its documents under "operations"')
    found = []
    for n, entry in enumerate(operations):
        if not isinstance(entry, Mapping) or not all(isinstance(entry.get(k), str) for k in ("id", "body")):
            raise ManifestError(f"operations[{n}] needs string id and body")
        name, kind = entry.get("name"), entry.get("type")
        if not isinstance(name, str | None) or not isinstance(kind, str | None):
            raise ManifestError(f"operations[{n}]: name and type are strings")
        found.append(ManifestOperation(entry["id"], entry["body"], name, kind))
    return found


def parse_manifest(raw: object) -> list[ManifestOperation]:
    """The documents of an Apollo or Relay manifest (already decoded from JSON)."""
    if not isinstance(raw, Mapping):
        raise ManifestError("a manifest is a JSON object")
    if "format" in raw:
        return _apollo(raw)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ManifestError("a Relay manifest maps ids to document texts (strings)")
    return [ManifestOperation(k, v) for k, v in raw.items()]


def load_manifest(path: Path) -> list[ManifestOperation]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from exc
    return parse_manifest(raw)


def check(operation: ManifestOperation, client: Client) -> Checked:
    """Whether ``operation`` may be registered for ``client`` (see the module's docstring)."""
    wanted = parse_document_id(operation.id)
    actual = document_id(operation.body)
    if wanted is None:
        return Checked(operation, None, ("the id is not sha256:<64 lowercase hex digits>",))
    if wanted != actual:
        return Checked(operation, None, (f"the id is not the sha256 of the body (that is sha256:{actual})",))
    if contains_valid_number(operation.body):
        return Checked(operation, None, ("a literal is shaped like an individual number: use a variable",))
    try:
        document = prepare_document(actual, operation.body)
    except GraphQLSyntaxError as exc:
        return Checked(operation, None, (f"the body does not parse: {redact(exc.message)}",))
    problems = []
    if document.operation_type is None:
        problems.append("the body must hold exactly one operation")
    if operation.name is not None and operation.name != document.operation_name:
        problems.append("the manifest's name is not the operation's name")
    if operation.type is not None and (
        operation.type not in _TYPES or operation.type != document.operation_type
    ):
        problems.append("the manifest's type is not the operation's type")
    if problems:
        return Checked(operation, document, tuple(problems))
    accepted, refusals = [], []
    for role, duties in client.views().items():
        errors = validate_document(schema_for(duties)._schema, document.node, tuple(specified_rules))
        if errors:
            refusals.append(f"{role}: " + "; ".join(redact(e.message) for e in errors))
        else:
            accepted.append(role)
    if not accepted:
        return Checked(
            operation, document, tuple(f"no role of the client may run it — {r}" for r in refusals)
        )
    return Checked(operation, document, (), tuple(accepted))
