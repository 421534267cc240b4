"""The schema describes itself to a front-end reader: every type, field, argument, input field and enum
value has a description, and no description carries an internal note (a reference to the team's own
documents, an issue, a source file, how sure the team is of a value)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)

from resolvers import build_schema

BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}

# What a description for clients must not say: the team's documents and issues, source files and
# folders, vendor or verification notes, work left to do.
INTERNAL = re.compile(
    r"DOMAIN|DESIGN\.md|README|§|\bvendor|\bunverified|\bissue\s*#?\d|#\d+\b|\bTODO\b|\bFIXME\b|XXX"
    r"|\.py\b|\.toml\b|\b(?:api|resolvers|persistence|policies|schema|tests|bench)/"
)


def described(schema: GraphQLSchema) -> Iterator[tuple[str, str | None]]:
    """(coordinate, description) of every element a client can see."""
    for name, type_ in sorted(schema.type_map.items()):
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        yield name, type_.description
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                yield f"{name}.{field_name}", field.description
                for arg_name, arg in field.args.items():
                    yield f"{name}.{field_name}({arg_name}:)", arg.description
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                yield f"{name}.{field_name}", input_field.description
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                yield f"{name}.{value_name}", value.description
        else:
            assert isinstance(type_, GraphQLScalarType | GraphQLUnionType), name
    for directive in schema.directives:
        if directive.name in {"include", "skip", "deprecated", "specifiedBy", "oneOf"}:
            continue
        yield f"@{directive.name}", directive.description  # (strawberry drops its arguments' descriptions)


def test_every_element_of_the_schema_is_described() -> None:
    missing = [where for where, text in described(build_schema()._schema) if not (text or "").strip()]
    assert missing == [], f"{len(missing)} undescribed: {missing}"


def test_no_description_carries_an_internal_note() -> None:
    notes = {
        where: INTERNAL.search(text).group(0)  # type: ignore[union-attr]
        for where, text in described(build_schema()._schema)
        if text and INTERNAL.search(text)
    }
    assert notes == {}


def test_dates_and_amounts_say_what_they_are() -> None:
    schema = build_schema()._schema
    date = schema.type_map["Date"].description or ""
    assert "ISO 8601" in date and "ja-JP-u-ca-japanese" in date
    assert "ISO 8601" in (schema.type_map["DateTime"].description or "")
    query = schema.type_map["Query"].description or ""
    assert "yen" in query and "extensions.code" in query


def test_the_internal_note_finder_finds_notes() -> None:
    for note in (
        "Source: vendor convention.",
        "(DOMAIN §4)",
        "2 and 11-13 unverified",
        "see issue 17",
        "policies/data/roles.toml",
        "fixed in #42",
    ):
        assert INTERNAL.search(note), note
    for fine in ("要介護状態区分 — care level", "Amounts are whole yen.", "ISO 8601 calendar date"):
        assert not INTERNAL.search(fine), fine
