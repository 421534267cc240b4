"""Legal bases (法令上の根拠), loaded from ``data/legal_bases.toml`` and ``data/information_items.toml``.

The law as data: for each direction (use, inquiry, provision, transfer) the entries of the tables the
city's privacy impact assessment cites, with the body on the other side, the affair (事務) the entry
serves, the information items it permits and the dates it is in force. A decision is taken against
the entry in force on the request date (see ``policies/decisions.py``).

Effective dating. An entry of the file is valid from a date and, if it was removed, to a date. The
article citing it changed over time (番号法第19条第7号 → 第8号 on 2022-03-23 in the seed's change log;
別表第2 → the ministerial order on 2024-05-27, unverified): the file lists those citation periods once
per direction, and the loader splits every entry into one :class:`LegalBasis` row per period. So
``entry("94", Direction.PROVISION, on)`` returns the row whose article and instrument were in force on
``on``, and rows of the same item never overlap.

Item identifiers. The canonical form is the item number of the table as the seed writes it, with
ASCII digits: ``"94"``, ``"56の2"``. :func:`normalise_item` accepts the spellings people and other
code use and returns that form:

- ``"94"``, ``"９４"`` (full-width digits), ``" 94 "``
- ``"別表第2 94"``, ``"別表第二の94の項"``, ``"番号法別表第2の94の項"``, ``"94の項"``, ``"第94項"``
- ``"56の2"``, ``"56-2"`` (DOMAIN.md and roles.toml write it so), ``"56－2"``, ``"56_2"``, ``"５６の２"``

The table name is dropped: the direction says which table is meant. Anything else (kanji numerals,
an empty string) raises :class:`ValueError`.

Pure: the only I/O is reading the packaged data files.
"""

from __future__ import annotations

import enum
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from policies import bodies as _bodies
from policies.bodies import alternatives as body_names
from policies.bodies import normalise_body
from policies.roles import department as _department
from policies.roles import departments as _departments

__all__ = [
    "Commencement",
    "Direction",
    "InformationItem",
    "LegalBasis",
    "LegalBasisError",
    "Registry",
    "body_names",
    "commencements",
    "entries",
    "entry",
    "history",
    "information_items",
    "load_information_items",
    "load_registry",
    "normalise_body",
    "normalise_item",
    "parse_information_items",
    "parse_registry",
    "registry",
]


class LegalBasisError(ValueError):
    """A legal-basis or information-item data file is inconsistent; raised when it is loaded."""


class Direction(enum.Enum):
    """Which way information goes under an entry."""

    USE = "USE"
    """利用 — the city uses the number in its own affairs (番号法第9条第1項 別表第1)."""
    INQUIRY = "INQUIRY"
    """照会 — the city asks another body over the information provision network."""
    PROVISION = "PROVISION"
    """提供 — the city provides to another body over the network (別紙1)."""
    TRANSFER = "TRANSFER"
    """移転 — the city hands information to another of its departments (別紙2)."""

    @property
    def ja(self) -> str:
        return _DIRECTION_JA[self]


_DIRECTION_JA = {
    Direction.USE: "利用",
    Direction.INQUIRY: "情報照会",
    Direction.PROVISION: "情報提供",
    Direction.TRANSFER: "移転",
}


@dataclass(frozen=True)
class InformationItem:
    """One unit of information a legal basis may permit (information_items.toml)."""

    id: str
    ja: str
    en: str
    ltci: bool
    """Part of 「介護保険関係情報」 (provided and transferred); False for information received by inquiry."""
    area: str | None
    """The API area (a top-level field of Person) the item lives in; None when the API has none."""
    fields: tuple[str, ...]
    records: str
    """The record items of 別添1 the item comes from."""
    seed: str
    note: str = ""


@dataclass(frozen=True)
class Commencement:
    """A day the law, or the city's record of it, changed (施行日), and where that day comes from."""

    key: str
    day: date
    what: str
    source: str
    """The amending law or order and its 附則 article, or the passage of the seed."""
    url: str
    verified: bool
    """False: not confirmed from a primary source (``note`` says what is known and why this day)."""
    note: str


@dataclass(frozen=True)
class LegalBasis:
    """One legal-basis entry during one citation period: everything a decision needs.

    ``valid_from`` / ``valid_to`` are those of this row (the entry's validity cut by the period of its
    citation); :func:`history` gives all rows of an item, oldest first.
    """

    id: str
    """Stable row id: ``"provision.94@2022-03-23"`` (direction, item, first day of the row)."""
    direction: Direction
    item: str
    """Canonical item number: ``"94"``, ``"56の2"``."""
    table: str | None
    """The table the item belongs to: ``"別表第2"``, ``"別表第1"``."""
    instrument: str
    """番号法, the ministerial order that replaced 別表第2, or the city ordinance."""
    article: str | None
    """``"第19条第8号"``; None when the seed cites the instrument without an article."""
    counterparty: str
    """PROVISION: the body as 別紙1 names it; TRANSFER: a department id of roles.toml."""
    purpose: str
    """The affair, in the seed's words (second column of the table)."""
    purpose_en: str
    items: frozenset[str]
    """Ids of the permitted information items (never the individual number)."""
    items_reason: str
    auto_response: bool
    """PROVISION: the intermediate server may answer without staff confirmation."""
    valid_from: date
    valid_to: date | None
    entry_valid_from: date
    """First day of the entry itself (over all its citation periods)."""
    entry_valid_to: date | None
    """Last day of the entry itself; None while it is in force."""
    citation: str
    """How the row is cited in a reason, e.g. ``"番号法第19条第8号 別表第2の94の項"`` (the period's ``cite``)."""
    counterparty_includes: tuple[str, ...] = ()
    """PROVISION / INQUIRY: the categories of policies/data/bodies.toml the counterparty stands for."""
    item_providers: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """INQUIRY: the categories that may provide an item, where narrower than the counterparty."""
    since: Commencement | None = field(default=None, compare=False)
    """The commencement (with its source) the row's ``valid_from`` comes from, when the data names one."""
    sheet_no: int | None = None
    seed: str = ""
    note: str = ""
    unverified: str = ""
    citation_seed: str = field(default="", compare=False)

    @property
    def stem(self) -> str:
        """The row id without its date: ``"provision.94"``; equal for all rows of one entry."""
        return self.id.split("@", 1)[0]

    @property
    def item_label(self) -> str:
        """``"別表第2 94"`` — how the item is cited (the order's own numbering is unverified)."""
        return f"{self.table} {self.item}" if self.table else self.item

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def accepts(self, body: str) -> bool:
        """Whether ``body`` is this entry's counterparty.

        PROVISION / INQUIRY: ``body`` is one registered body (policies/data/bodies.toml) belonging to one
        of the categories the counterparty lists (「厚生労働大臣又は共済組合等」 accepts 日本年金機構 and
        国家公務員共済組合連合会; a category word itself, or an unknown name, is no body and is refused).
        TRANSFER: the department id or its Japanese name (roles.toml).
        """
        if self.direction is Direction.TRANSFER:
            dept = _department(body.strip()) if isinstance(body, str) else None
            return dept is not None and dept.id == self.counterparty
        return _bodies.accepts(self.counterparty, body)

    def provides(self, body: str, item: str) -> bool:
        """INQUIRY: whether ``body`` may answer for information item ``item`` under this entry."""
        narrower = self.item_providers.get(item)
        return self.accepts(body) and (narrower is None or _bodies.accepts("又は".join(narrower), body))


@dataclass(frozen=True)
class Registry:
    """The whole registry: the rows of every entry and the information-item catalogue."""

    rows: tuple[LegalBasis, ...]
    items: Mapping[str, InformationItem]
    commencements: Mapping[str, Commencement] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------

_DASHES = "-‐‑‒–—―−－ー_"
_ITEM_RE = re.compile(r"第?(\d+)(?:\s*[の" + re.escape(_DASHES) + r"]\s*(\d+))?(?:\s*の?項)?")
_TABLE_PREFIX = re.compile(r"^(?:番号法\s*)?(?:別表\s*第?\s*[12一二]\s*の?\s*)?")


def normalise_item(value: str) -> str:
    """The canonical item id (``"94"``, ``"56の2"``) of any accepted spelling; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("an item must be given as text")
    text = unicodedata.normalize("NFKC", value).strip()
    text = _TABLE_PREFIX.sub("", text, count=1)
    match = _ITEM_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not an item number of the table: {value!r}")
    number, branch = match.groups()
    return f"{int(number)}の{int(branch)}" if branch is not None else str(int(number))


# ---------------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------------

_ITEM_KEYS = {"ja", "en", "ltci", "area", "fields", "records", "seed", "note"}
_COMMENCEMENT_KEYS = {"date", "what", "source", "url", "verified", "note"}
_CITATION_KEYS = {
    "valid_from",
    "valid_to",
    "instrument",
    "article",
    "table",
    "cite",
    "seed",
    "note",
    "unverified",
}
_CITE_FIELDS = {"instrument": "", "article": "", "table": "", "item": ""}
_ENTRY_KEYS = {
    "direction",
    "item",
    "counterparty",
    "item_providers",
    "purpose",
    "purpose_en",
    "items",
    "items_reason",
    "auto_response",
    "valid_from",
    "valid_to",
    "sheet_no",
    "seed",
    "note",
    "unverified",
}
_NEVER = "INDIVIDUAL_NUMBER"


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise LegalBasisError(f"{where}: '{key}' must be non-empty text")
    return value.strip()


def _date(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> date | None:
    value = table.get(key)
    if value is None and not required:
        return None
    # tomllib gives datetime for date-times; datetime is a date subclass, so test the exact type.
    if type(value) is not date:
        raise LegalBasisError(f"{where}: '{key}' must be a date (YYYY-MM-DD)")
    return value


def _commencements(raw: Mapping[str, Any]) -> dict[str, Commencement]:
    body = raw.get("commencements", {})
    if not isinstance(body, dict):
        raise LegalBasisError("legal bases: [commencements.KEY] must be tables")
    found: dict[str, Commencement] = {}
    for key, spec in body.items():
        where = f"commencement {key!r}"
        if not isinstance(spec, dict):
            raise LegalBasisError(f"{where}: must be a table")
        _unknown_keys(spec, _COMMENCEMENT_KEYS, where)
        verified = spec.get("verified")
        if not isinstance(verified, bool):
            raise LegalBasisError(f"{where}: 'verified' must be true or false")
        note = _text(spec, "note", where, required=not verified)
        day = _date(spec, "date", where)
        assert day is not None
        found[key] = Commencement(
            key=key,
            day=day,
            what=_text(spec, "what", where),
            source=_text(spec, "source", where),
            url=_text(spec, "url", where, required=False),
            verified=verified,
            note=note,
        )
    return found


def _when(
    spec: Mapping[str, Any],
    key: str,
    where: str,
    known: Mapping[str, Commencement],
    *,
    required: bool = True,
    end: bool = False,
) -> tuple[date | None, Commencement | None]:
    """A date, or the day a named commencement gives (``end``: the day before it, the last day of the old)."""
    value = spec.get(key)
    if isinstance(value, str):
        found = known.get(value)
        if found is None:
            raise LegalBasisError(f"{where}: '{key}' names no [commencements.{value}]")
        return (found.day - timedelta(days=1) if end else found.day), found
    return _date(spec, key, where, required=required), None


def _unknown_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise LegalBasisError(f"{where}: unknown keys {unknown}")


def _period(start: date, end: date | None, where: str) -> None:
    if end is not None and end < start:
        raise LegalBasisError(f"{where}: valid_to {end} is before valid_from {start}")


def parse_information_items(raw: Mapping[str, Any]) -> dict[str, InformationItem]:
    """Validate the parsed information_items.toml and build the catalogue, in file order."""
    body = raw.get("items")
    if not isinstance(body, dict) or not body:
        raise LegalBasisError("information items: an [items.ID] table is required")
    catalogue: dict[str, InformationItem] = {}
    for item_id, spec in body.items():
        where = f"information item {item_id!r}"
        if not isinstance(spec, dict):
            raise LegalBasisError(f"{where}: must be a table")
        if not re.fullmatch(r"[A-Z][A-Z_]*", item_id):
            raise LegalBasisError(f"{where}: ids are UPPER_SNAKE_CASE")
        if item_id == _NEVER:
            raise LegalBasisError(f"{where}: the individual number is never an information item")
        _unknown_keys(spec, _ITEM_KEYS, where)
        ltci = spec.get("ltci")
        if not isinstance(ltci, bool):
            raise LegalBasisError(f"{where}: 'ltci' must be true or false")
        area = spec.get("area")
        fields = spec.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
            raise LegalBasisError(f"{where}: 'fields' must be a list of field paths")
        if ltci and (not isinstance(area, str) or not area or not fields):
            raise LegalBasisError(f"{where}: an LTCI item names its API 'area' and 'fields'")
        if area is not None and not isinstance(area, str):
            raise LegalBasisError(f"{where}: 'area' must be text")
        for path in fields:
            if "individualnumber" in path.replace("_", "").lower():
                raise LegalBasisError(f"{where}: the individual number is never an information item")
            if area and not path.startswith(f"{area}."):
                raise LegalBasisError(f"{where}: field {path!r} is not under its area {area!r}")
        catalogue[item_id] = InformationItem(
            id=item_id,
            ja=_text(spec, "ja", where),
            en=_text(spec, "en", where),
            ltci=ltci,
            area=area or None,
            fields=tuple(fields),
            records=_text(spec, "records", where),
            seed=_text(spec, "seed", where),
            note=_text(spec, "note", where, required=False),
        )
    return catalogue


@dataclass(frozen=True)
class _Citation:
    valid_from: date
    valid_to: date | None
    instrument: str
    article: str | None
    table: str | None
    cite: str
    seed: str
    unverified: str
    since: Commencement | None = None


def _cite_template(spec: Mapping[str, Any], where: str) -> str:
    cite = _text(spec, "cite", where)
    try:
        cite.format(**_CITE_FIELDS)
    except (KeyError, IndexError, ValueError):
        raise LegalBasisError(
            f"{where}: 'cite' may use only {{instrument}}, {{article}}, {{table}} and {{item}}"
        ) from None
    return cite


def _citations(
    raw: Mapping[str, Any], known: Mapping[str, Commencement]
) -> dict[Direction, tuple[_Citation, ...]]:
    body = raw.get("citations")
    if not isinstance(body, dict):
        raise LegalBasisError("legal bases: a [[citations.DIRECTION]] list is required")
    result: dict[Direction, tuple[_Citation, ...]] = {}
    for name, periods in body.items():
        try:
            direction = Direction(name)
        except ValueError:
            raise LegalBasisError(f"citations: unknown direction {name!r}") from None
        if not isinstance(periods, list) or not periods:
            raise LegalBasisError(f"citations.{name}: must be a non-empty list of periods")
        parsed: list[_Citation] = []
        for n, spec in enumerate(periods, 1):
            where = f"citations.{name} period {n}"
            if not isinstance(spec, dict):
                raise LegalBasisError(f"{where}: must be a table")
            _unknown_keys(spec, _CITATION_KEYS, where)
            start, since = _when(spec, "valid_from", where, known)
            end, _ = _when(spec, "valid_to", where, known, required=False, end=True)
            assert start is not None
            _period(start, end, where)
            article = spec.get("article")
            table = spec.get("table")
            if article is not None and (not isinstance(article, str) or not article.strip()):
                raise LegalBasisError(f"{where}: 'article' must be non-empty text when given")
            if table is not None and (not isinstance(table, str) or not table.strip()):
                raise LegalBasisError(f"{where}: 'table' must be non-empty text when given")
            parsed.append(
                _Citation(
                    start,
                    end,
                    _text(spec, "instrument", where),
                    article,
                    table,
                    _cite_template(spec, where),
                    _text(spec, "seed", where),
                    _text(spec, "unverified", where, required=False),
                    since,
                )
            )
        for before, after in itertools.pairwise(parsed):
            if before.valid_to is None or before.valid_to + timedelta(days=1) != after.valid_from:
                raise LegalBasisError(
                    f"citations.{name}: periods must follow each other without gap or overlap "
                    f"(one ends {before.valid_to}, the next starts {after.valid_from})"
                )
        result[direction] = tuple(parsed)
    return result


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def parse_registry(raw: Mapping[str, Any], catalogue: Mapping[str, InformationItem]) -> Registry:
    """Validate the parsed legal_bases.toml against ``catalogue`` and build the registry.

    Refused: unknown keys; an unknown direction; an item not in canonical form; a missing counterparty,
    purpose or reason; unknown or repeated information items, or the individual number; non-LTCI items
    on a provision or transfer; a transfer to a department roles.toml does not define; a provision
    without an explicit ``auto_response``; ``valid_to`` before ``valid_from``; an entry outside the
    citation periods of its direction; two entries of the same item and direction in force on one day
    (whatever their counterparties: :func:`entry` must find one row).
    """
    _unknown_keys(raw, {"commencements", "citations", "entries"}, "legal bases")
    known = _commencements(raw)
    citations = _citations(raw, known)
    specs = raw.get("entries")
    if not isinstance(specs, list) or not specs:
        raise LegalBasisError("legal bases: an [[entries]] list is required")
    rows: list[LegalBasis] = []
    spans: dict[tuple[Direction, str], list[tuple[date, date | None, str]]] = {}
    sheet_numbers: set[tuple[Direction, int]] = set()
    for n, spec in enumerate(specs, 1):
        where = f"entry {n}"
        if not isinstance(spec, dict):
            raise LegalBasisError(f"{where}: must be a table")
        _unknown_keys(spec, _ENTRY_KEYS, where)
        try:
            direction = Direction(spec.get("direction"))
        except ValueError:
            raise LegalBasisError(
                f"{where}: 'direction' must be one of {[d.value for d in Direction]}"
            ) from None
        item = _text(spec, "item", where)
        where = f"entry {n} ({direction.value} {item})"
        try:
            canonical = normalise_item(item)
        except ValueError:
            raise LegalBasisError(f"{where}: 'item' is not an item number") from None
        if canonical != item:
            raise LegalBasisError(f"{where}: write the item in canonical form {canonical!r}")
        counterparty = _text(spec, "counterparty", where)
        if direction is Direction.TRANSFER and counterparty not in _departments():
            raise LegalBasisError(f"{where}: counterparty {counterparty!r} is not a department of roles.toml")
        categories: tuple[str, ...] = ()
        if direction in (Direction.PROVISION, Direction.INQUIRY) and spec.get("items"):
            # an entry permitting nothing (119, whose body the seed never names) needs no category
            categories = body_names(counterparty)
            unknown_categories = sorted(set(categories) - set(_bodies.registry().categories))
            if unknown_categories:
                raise LegalBasisError(f"{where}: {unknown_categories} are no categories of bodies.toml")
        providers = spec.get("item_providers", {})
        if not isinstance(providers, dict) or (providers and direction is not Direction.INQUIRY):
            raise LegalBasisError(f"{where}: 'item_providers' is a table of an INQUIRY entry")
        item_providers: dict[str, tuple[str, ...]] = {}
        for info_item, narrower in providers.items():
            named = body_names(narrower) if isinstance(narrower, str) else ()
            if info_item not in spec.get("items", []) or not named or not set(named) <= set(categories):
                raise LegalBasisError(
                    f"{where}: item_providers.{info_item} names a permitted item and some of the counterparty's categories"
                )
            item_providers[info_item] = named
        purpose = _text(spec, "purpose", where)
        purpose_en = _text(spec, "purpose_en", where)
        items = spec.get("items")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise LegalBasisError(f"{where}: 'items' must be a list of information item ids")
        if _NEVER in items:
            raise LegalBasisError(f"{where}: the individual number is never a permitted item")
        unknown = sorted(set(items) - set(catalogue))
        if unknown:
            raise LegalBasisError(f"{where}: unknown information items {unknown}")
        if len(set(items)) != len(items):
            raise LegalBasisError(f"{where}: repeats an information item")
        if direction in (Direction.PROVISION, Direction.TRANSFER):
            foreign = sorted(i for i in items if not catalogue[i].ltci)
            if foreign:
                raise LegalBasisError(f"{where}: only 介護保険関係情報 may go out; not {foreign}")
        auto_response = spec.get("auto_response", False)
        if direction is Direction.PROVISION and "auto_response" not in spec:
            raise LegalBasisError(f"{where}: a provision states 'auto_response'")
        if not isinstance(auto_response, bool):
            raise LegalBasisError(f"{where}: 'auto_response' must be true or false")
        sheet_no = spec.get("sheet_no")
        if sheet_no is not None:
            if type(sheet_no) is not int or sheet_no < 1:
                raise LegalBasisError(f"{where}: 'sheet_no' must be a positive integer")
            if (direction, sheet_no) in sheet_numbers:
                raise LegalBasisError(f"{where}: sheet_no {sheet_no} repeats")
            sheet_numbers.add((direction, sheet_no))
        start, since = _when(spec, "valid_from", where, known)
        end, _ = _when(spec, "valid_to", where, known, required=False, end=True)
        assert start is not None
        _period(start, end, where)

        for other_from, other_to, other_party in spans.get((direction, item), []):
            if _overlaps(start, end, other_from, other_to):
                raise LegalBasisError(
                    f"{where}: overlaps another {direction.value} entry of item {item} "
                    f"(counterparty {other_party!r}, from {other_from})"
                )
        spans.setdefault((direction, item), []).append((start, end, counterparty))

        periods = citations.get(direction)
        if periods is None:
            raise LegalBasisError(f"{where}: no citations for {direction.value}")
        if start < periods[0].valid_from or (
            periods[-1].valid_to is not None and (end is None or end > periods[-1].valid_to)
        ):
            raise LegalBasisError(f"{where}: valid outside the citation periods of {direction.value}")
        for period in periods:
            if not _overlaps(start, end, period.valid_from, period.valid_to):
                continue
            row_from = max(start, period.valid_from)
            row_to = (
                end
                if period.valid_to is None
                else period.valid_to
                if end is None
                else min(end, period.valid_to)
            )
            rows.append(
                LegalBasis(
                    id=f"{direction.value.lower()}.{item}@{row_from.isoformat()}",
                    direction=direction,
                    item=item,
                    table=period.table,
                    instrument=period.instrument,
                    article=period.article,
                    counterparty=counterparty,
                    purpose=purpose,
                    purpose_en=purpose_en,
                    items=frozenset(items),
                    items_reason=_text(spec, "items_reason", where),
                    auto_response=auto_response,
                    valid_from=row_from,
                    valid_to=row_to,
                    entry_valid_from=start,
                    entry_valid_to=end,
                    citation=period.cite.format(
                        instrument=period.instrument,
                        article=period.article or "",
                        table=period.table or "",
                        item=item,
                    ),
                    counterparty_includes=categories,
                    item_providers=item_providers,
                    since=period.since if row_from == period.valid_from and row_from > start else since,
                    sheet_no=sheet_no,
                    seed=_text(spec, "seed", where),
                    note=_text(spec, "note", where, required=False),
                    unverified="\n".join(
                        t for t in (_text(spec, "unverified", where, required=False), period.unverified) if t
                    ),
                    citation_seed=period.seed,
                )
            )
    return Registry(rows=tuple(rows), items=catalogue, commencements=known)


def _parse_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LegalBasisError(f"{what} is not valid TOML: {exc}") from exc


def _packaged(name: str) -> str:
    return resources.files("policies").joinpath(f"data/{name}").read_text(encoding="utf-8")


def load_information_items(text: str) -> dict[str, InformationItem]:
    """Parse and validate information-items TOML text."""
    return parse_information_items(_parse_toml(text, "information items"))


def load_registry(text: str, items_text: str | None = None) -> Registry:
    """Parse and validate legal-bases TOML text (tests use it to check broken files are refused).

    ``items_text`` is the information-item catalogue; the packaged one when omitted.
    """
    catalogue = load_information_items(items_text) if items_text is not None else dict(information_items())
    return parse_registry(_parse_toml(text, "legal bases"), catalogue)


# ---------------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------------


@cache
def information_items() -> Mapping[str, InformationItem]:
    """The packaged information-item catalogue, keyed by id, in file order; read once per process."""
    return load_information_items(_packaged("information_items.toml"))


@cache
def registry() -> Registry:
    """The packaged registry; read and validated once per process."""
    return load_registry(_packaged("legal_bases.toml"))


def _canonical(item: str) -> str | None:
    try:
        return normalise_item(item)
    except ValueError:
        return None


def history(item: str, direction: Direction) -> tuple[LegalBasis, ...]:
    """Every row of an item in a direction, oldest first (empty if the item never had an entry)."""
    canonical = _canonical(item)
    rows = [r for r in registry().rows if r.direction is direction and r.item == canonical]
    return tuple(sorted(rows, key=lambda r: r.valid_from))


def entry(item: str, direction: Direction, on: date) -> LegalBasis | None:
    """The row of ``item`` in ``direction`` in force on ``on``, or None."""
    for row in history(item, direction):
        if row.in_force(on):
            return row
    return None


def commencements() -> Mapping[str, Commencement]:
    """Every commencement the data names, with its source and whether it was verified."""
    return registry().commencements


def entries(direction: Direction | None = None, on: date | None = None) -> tuple[LegalBasis, ...]:
    """Rows of one direction (or all), in force on ``on`` (or every row of every period)."""
    return tuple(
        r
        for r in registry().rows
        if (direction is None or r.direction is direction) and (on is None or r.in_force(on))
    )


# Loading at import time makes a broken data file fail at startup, not on the first request.
registry()
