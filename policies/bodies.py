"""Bodies (情報照会者・情報提供者) and the categories 番号法別表第2's words stand for, from ``data/bodies.toml``.

別紙1 names its counterparties by category (「厚生労働大臣又は共済組合等」, 「都道府県知事等」); a request comes
from one body (日本年金機構, 岡山県知事). :func:`accepts` says whether a named body belongs to one of the
categories a counterparty lists. A name that is no registered body is refused, so a request naming a
category (「市町村長」) or anything else (「どこでもよい団体」) never matches. Names are compared after
:func:`normalise_body` (NFKC, no whitespace). Pure: the only I/O is reading the packaged data file.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "Body",
    "BodyError",
    "Category",
    "Registry",
    "accepts",
    "alternatives",
    "bodies_in",
    "body",
    "load_bodies",
    "normalise_body",
    "registry",
]


class BodyError(ValueError):
    """The bodies data file is inconsistent; raised when it is loaded."""


@dataclass(frozen=True)
class Category:
    """A word of the table that stands for a class of bodies (「共済組合等」)."""

    name: str
    en: str
    seed: str
    members: str
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Body:
    """One body that may ask or answer over the network."""

    name: str
    en: str
    categories: frozenset[str]
    own: bool = False
    """The city itself: never the other party of its own provision or inquiry."""


@dataclass(frozen=True)
class Registry:
    categories: Mapping[str, Category]
    bodies: Mapping[str, Body]
    """Keyed by the normalised name."""


_ALTERNATIVES = re.compile(r"又は|若しくは|、|,")


def normalise_body(name: str) -> str:
    """A body's name for comparison: NFKC (full-width letters, digits, spaces) and no whitespace."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def alternatives(counterparty: str) -> tuple[str, ...]:
    """The categories a counterparty names: 「厚生労働大臣又は共済組合等」 → (厚生労働大臣, 共済組合等)."""
    return tuple(p for p in _ALTERNATIVES.split(normalise_body(counterparty)) if p)


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise BodyError(f"{where}: '{key}' must be non-empty text")
    return value.strip()


def _names(value: Any, where: str, known: Mapping[str, Category]) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise BodyError(f"{where}: 'categories' must be a non-empty list of category names")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise BodyError(f"{where}: unknown categories {unknown}")
    return frozenset(value)


def parse_bodies(raw: Mapping[str, Any]) -> Registry:
    """Validate the parsed bodies.toml: known keys and categories, unique names, one own body at most."""
    unknown = sorted(set(raw) - {"categories", "bodies", "families", "lists"})
    if unknown:
        raise BodyError(f"bodies: unknown sections {unknown}")
    categories: dict[str, Category] = {}
    for name, spec in (raw.get("categories") or {}).items():
        where = f"category {name!r}"
        if not isinstance(spec, dict) or not isinstance(spec.get("verified"), bool):
            raise BodyError(f"{where}: a table with 'verified' true or false")
        if not spec["verified"] and not _text(spec, "note", where, required=False):
            raise BodyError(f"{where}: an unverified category says why in 'note'")
        categories[normalise_body(name)] = Category(
            name=normalise_body(name),
            en=_text(spec, "en", where),
            seed=_text(spec, "seed", where),
            members=_text(spec, "members", where),
            verified=spec["verified"],
            note=_text(spec, "note", where, required=False),
        )
    found: dict[str, Body] = {}

    def add(name: str, en: str, cats: frozenset[str], own: bool, where: str) -> None:
        key = normalise_body(name)
        earlier = found.get(key)
        if earlier is not None and (earlier.own or own):
            raise BodyError(f"{where}: {name!r} is listed twice")
        merged = cats | (earlier.categories if earlier else frozenset())
        found[key] = Body(key, earlier.en if earlier else en, merged, own)

    for n, spec in enumerate(raw.get("bodies") or [], 1):
        where = f"body {n}"
        if not isinstance(spec, dict):
            raise BodyError(f"{where}: must be a table")
        own = spec.get("own", False)
        if not isinstance(own, bool):
            raise BodyError(f"{where}: 'own' must be true or false")
        add(
            _text(spec, "name", where),
            _text(spec, "en", where),
            _names(spec.get("categories"), where, categories),
            own,
            where,
        )
    lists = raw.get("lists") or {}
    for n, spec in enumerate(raw.get("families") or [], 1):
        where = f"family {n}"
        template, over = _text(spec, "template", where), _text(spec, "over", where)
        members = lists.get(over)
        if "{name}" not in template or not isinstance(members, list) or not members:
            raise BodyError(f"{where}: a template with {{name}} over a non-empty [lists] entry")
        cats = _names(spec.get("categories"), where, categories)
        for member in members:
            add(template.format(name=member), template.format(name=member), cats, False, where)
    if sum(b.own for b in found.values()) > 1:
        raise BodyError("bodies: at most one body is the city itself")
    return Registry(categories=categories, bodies=found)


def load_bodies(text: str) -> Registry:
    """Parse and validate bodies TOML text (tests use it to check broken files are refused)."""
    try:
        return parse_bodies(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise BodyError(f"bodies data is not valid TOML: {exc}") from exc


@cache
def registry() -> Registry:
    """The packaged registry; read and validated once per process."""
    return load_bodies(resources.files("policies").joinpath("data/bodies.toml").read_text(encoding="utf-8"))


def body(name: str) -> Body | None:
    """The registered body of this name, or None."""
    return registry().bodies.get(normalise_body(name)) if isinstance(name, str) else None


def accepts(counterparty: str, name: str) -> bool:
    """Whether the body ``name`` belongs to one of the categories ``counterparty`` lists (never the city)."""
    found = body(name)
    return found is not None and not found.own and bool(found.categories & set(alternatives(counterparty)))


def bodies_in(counterparty: str) -> tuple[Body, ...]:
    """Every registered body a counterparty accepts, in file order (what tests and the README list)."""
    wanted = set(alternatives(counterparty))
    return tuple(b for b in registry().bodies.values() if not b.own and b.categories & wanted)


registry()
