"""Code tables of the LTCI information file, loaded from ``data/codes.toml``.

The codes are data the law and the vendors define, so they live in a data file a reviewer can read;
the database checks every code column against them and the GraphQL schema turns each into an enum.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Code:
    """One value of a code table: the stored code, its enum name and its labels."""

    code: str
    name: str
    ja: str
    en: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class CodeTable:
    """A kind of code (e.g. 要介護状態区分 care_level) and its values, in file order."""

    kind: str
    ja: str
    source: str  # where the codes come from and how sure we are: for maintainers, never for clients
    about: str  # what the table means, for clients (the GraphQL enum's description)
    values: tuple[Code, ...]

    def by_code(self, code: str) -> Code:
        for value in self.values:
            if value.code == code:
                return value
        raise KeyError(f"{self.kind}: unknown code {code!r}")

    def by_name(self, name: str) -> Code:
        for value in self.values:
            if value.name == name:
                return value
        raise KeyError(f"{self.kind}: unknown name {name!r}")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.values)


def _parse(raw: dict[str, Any]) -> dict[str, CodeTable]:
    tables: dict[str, CodeTable] = {}
    for kind, body in raw.items():
        values = []
        for item in body["values"]:
            extra = {k: v for k, v in item.items() if k not in {"code", "name", "ja", "en"}}
            values.append(Code(str(item["code"]), item["name"], item["ja"], item["en"], extra))
        codes = [v.code for v in values]
        names = [v.name for v in values]
        if len(set(codes)) != len(codes) or len(set(names)) != len(names):
            raise ValueError(f"code table {kind!r} repeats a code or a name")
        tables[kind] = CodeTable(kind, body["ja"], body["source"], body["about"], tuple(values))
    return tables


@cache
def code_tables() -> dict[str, CodeTable]:
    """All code tables, keyed by kind; read once per process."""
    text = resources.files("policies").joinpath("data/codes.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text))


def table(kind: str) -> CodeTable:
    return code_tables()[kind]
