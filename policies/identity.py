"""本人確認 — the checks an individual number is taken in with (``data/identity.toml``). Pure."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["IdentityMethod", "identity_methods"]


@dataclass(frozen=True)
class IdentityMethod:
    name: str
    ja: str


@cache
def identity_methods() -> dict[str, IdentityMethod]:
    """The accepted checks by name (the order of the data file)."""
    raw = tomllib.loads(
        resources.files("policies").joinpath("data/identity.toml").read_text(encoding="utf-8")
    )
    if not str(raw.get("law", "")).strip() or not isinstance(raw.get("verified"), bool):
        raise ValueError("identity.toml cites its law and says whether it was verified")
    return {name: IdentityMethod(name, spec["ja"]) for name, spec in raw["methods"].items()}
