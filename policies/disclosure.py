"""How the disclosure (開示) reads on paper (``data/disclosure.toml``): headings, the label of every key
of the document, how a value is written.

The labels are data, not code, so a reviewer reads and corrects them as text. A key without a label is
written with a visible mark (``headings.missing``), never dropped. Pure: the only I/O is reading the
packaged data file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["DisclosureText", "DisclosureTextError", "Label", "disclosure_text", "load_disclosure_text"]


class DisclosureTextError(ValueError):
    """The disclosure data file is inconsistent; raised when it is loaded."""


@dataclass(frozen=True)
class Label:
    """One key's label and, optionally, how its value is written."""

    ja: str
    format: str | None = None
    true: str | None = None
    false: str | None = None


@dataclass(frozen=True)
class DisclosureText:
    headings: Mapping[str, str]
    formats: Mapping[str, str]
    labels: Mapping[str, Label]
    values: Mapping[str, Mapping[str, str]]  # enum class name → member name → label

    def label(self, key: str, parent: str | None = None) -> Label | None:
        """The label of ``key`` under ``parent`` ("parent.key" first, then the bare key); None if unlabelled."""
        return (parent is not None and self.labels.get(f"{parent}.{key}")) or self.labels.get(key)

    def heading(self, key: str, *args: object) -> str:
        return self.headings[key].format(*args)

    def key(self, key: str, parent: str | None = None) -> str:
        """What the PDF writes for ``key``: its label, or the key itself visibly marked as unlabelled."""
        found = self.label(key, parent)
        return found.ja if found is not None else self.heading("missing", key)


_HEADINGS = {
    "title",
    "person",
    "information",
    "provisionRecords",
    "disclosedOn",
    "receivedOn",
    "requestId",
    "discloser",
    "items",
    "none",
    "count",
    "entry",
    "missing",
    "unnamed",
}
_FORMATS = {"date", "datetime", "true", "false", "null"}
_LABEL_KEYS = {"ja", "format", "true", "false"}


def _label(key: str, spec: Any) -> Label:
    if isinstance(spec, str):
        return Label(spec)
    if not isinstance(spec, dict) or not isinstance(spec.get("ja"), str) or set(spec) - _LABEL_KEYS:
        raise DisclosureTextError(f"labels.{key}: a string or a table of {sorted(_LABEL_KEYS)} with ja")
    return Label(spec["ja"], spec.get("format"), spec.get("true"), spec.get("false"))


def load_disclosure_text(text: str) -> DisclosureText:
    """Parse the data file; raises :class:`DisclosureTextError` naming what is missing or malformed."""
    raw = tomllib.loads(text)
    headings, formats = raw.get("headings", {}), raw.get("formats", {})
    for table, need, got in (("headings", _HEADINGS, headings), ("formats", _FORMATS, formats)):
        if missing := need - set(got):
            raise DisclosureTextError(f"[{table}] lacks {sorted(missing)}")
    return DisclosureText(
        headings=headings,
        formats=formats,
        labels={key: _label(key, spec) for key, spec in raw.get("labels", {}).items()},
        values=raw.get("values", {}),
    )


@cache
def disclosure_text() -> DisclosureText:
    """The packaged disclosure text; read once per process."""
    text = resources.files("policies").joinpath("data/disclosure.toml").read_text(encoding="utf-8")
    return load_disclosure_text(text)
