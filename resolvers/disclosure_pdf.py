"""The disclosure (開示) as a printable A4 PDF in Japanese.

Set in the Adobe-Japan1 CID fonts every PDF reader provides (HeiseiKakuGo-W5, HeiseiMin-W3), so the
file embeds no font and stays small; its text is Unicode and can be searched and copied. The layout is
the document's own order: the request, the person, the LTCI information item by item, and the
provision records (情報提供等記録), one line each, page numbers at the foot. The person reads it, so
every key is labelled in Japanese and every code named (policies/data/disclosure.toml, codes.toml),
dates written as dates and amounts in yen; the JSON beside it keeps the keys and codes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import io
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any, Final

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from policies.disclosure import Label, disclosure_text
from policies.legal_bases import information_items
from schema.enums import CodeEnum
from schema.legal_bases import InformationItem
from schema.persons import Person
from schema.provided import ProvidedInformation
from schema.snapshots import decode, from_json

from .context import JST

__all__ = ["render_disclosure"]

GOTHIC: Final = "HeiseiKakuGo-W5"
MINCHO: Final = "HeiseiMin-W3"
pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))
pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))

MARGIN: Final = 50.0
BODY: Final = 9.5
LEADING: Final = 14.0


def _enum(value: enum.Enum) -> str:
    """A code as the person reads it: its name in its code table (or the information item, or [values])."""
    text = disclosure_text()
    if isinstance(value, CodeEnum):
        return value.ja
    if isinstance(value, InformationItem):
        return _item(str(value.value))
    named = text.values.get(type(value).__name__, {}).get(value.name)
    return named if named is not None else text.heading("unnamed", value.value)


def _item(item_id: str) -> str:
    item = information_items().get(item_id)
    return item.ja if item is not None else disclosure_text().heading("unnamed", item_id)


def _value(value: Any, label: Label | None = None) -> str:
    """One value as written on paper: codes named, dates as dates, amounts in yen (the label's format)."""
    formats = disclosure_text().formats
    if value is None:
        return formats["null"]
    if isinstance(value, bool):
        custom = None if label is None else label.true if value else label.false
        return custom if custom is not None else formats["true" if value else "false"]
    if isinstance(value, enum.Enum):
        return _enum(value)
    if isinstance(value, dt.datetime):
        value = value.astimezone(JST) if value.tzinfo is not None else value
    if label is not None and label.format is not None:
        return label.format.format(value)
    if isinstance(value, dt.datetime):
        return formats["datetime"].format(value)
    if isinstance(value, dt.date):
        return formats["date"].format(value)
    return str(value)


def _fields(value: Any) -> Iterator[tuple[str, Any]]:
    """The stored fields of a data type (those a snapshot keeps), in declaration order."""
    return ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if f.init)


def _lines(key: str, value: Any, depth: int, parent: str | None) -> Iterator[tuple[int, str]]:
    """(indent, text) lines of a value, nested data types and lists indented under their label."""
    text = disclosure_text()
    name, label = text.key(key, parent), text.label(key, parent)
    if dataclasses.is_dataclass(value):
        yield depth, name
        for k, v in _fields(value):
            yield from _lines(k, v, depth + 1, key)
    elif isinstance(value, list) and any(dataclasses.is_dataclass(v) for v in value):
        yield depth, f"{name}: {text.heading('count', len(value))}"
        for n, entry in enumerate(value, 1):
            yield depth + 1, text.heading("entry", n)
            for k, v in _fields(entry):
                yield from _lines(k, v, depth + 2, key)
    elif isinstance(value, list):
        yield depth, f"{name}: {'、'.join(_value(v, label) for v in value) or text.heading('none')}"
    else:
        yield depth, f"{name}: {_value(value, label)}"


def _person(held: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    """The person's section: the document's raw columns, its codes and dates typed back as the Person
    type declares them (性別 a code of the sex table, 生年月日 a date)."""
    hints = typing.get_type_hints(Person)
    order = {key: n for n, key in enumerate(disclosure_text().labels)}  # the data file's order
    for key, raw in sorted(held.items(), key=lambda kv: order.get(kv[0], len(order))):
        hint = hints.get(re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower())
        typed = isinstance(hint, type) and issubclass(hint, enum.Enum | dt.date)
        yield from _lines(key, decode(hint, raw) if typed else raw, 0, "person")


def _wrap(text: str, width: float, font: str, size: float) -> list[str]:
    """Break ``text`` by character (Japanese has no spaces to break at) to fit ``width`` points."""
    out, line = [], ""
    for char in text:
        if pdfmetrics.stringWidth(line + char, font, size) > width:
            out.append(line)
            line = char
        else:
            line += char
    return [*out, line]


class _Pages:
    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=A4, pageCompression=1)
        self.pdf.setTitle(title)
        self.pdf.setAuthor("倉敷市 介護保険課")
        self.width, self.height = A4
        self.page = 1
        self.y = self.height - MARGIN

    def line(self, text: str, *, indent: int = 0, font: str = MINCHO, size: float = BODY) -> None:
        left = MARGIN + indent * 12
        for part in _wrap(text, self.width - MARGIN - left, font, size):
            if self.y < MARGIN + LEADING:
                self._foot()
                self.pdf.showPage()
                self.page += 1
                self.y = self.height - MARGIN
            self.pdf.setFont(font, size)
            self.pdf.drawString(left, self.y, part)
            self.y -= LEADING if size <= BODY else size * 1.6

    def _foot(self) -> None:
        self.pdf.setFont(GOTHIC, 8)
        self.pdf.drawCentredString(self.width / 2, MARGIN / 2, f"- {self.page} -")

    def close(self) -> bytes:
        self._foot()
        self.pdf.save()
        return self.buffer.getvalue()


def render_disclosure(document: Mapping[str, Any]) -> bytes:
    """The PDF of a disclosure document (the JSON :func:`resolvers.rights` builds), every key labelled
    and every code named as policies/data/disclosure.toml and the code tables say."""
    text = disclosure_text()
    title = text.heading("title")
    pages = _Pages(title)
    pages.line(title, font=GOTHIC, size=15)
    pages.line(
        f"{text.heading('disclosedOn')}: {_value(dt.date.fromisoformat(document['disclosedOn']))}"
        f"　{text.heading('receivedOn')}: {_value(dt.date.fromisoformat(document['receivedOn']))}"
        f"　{text.heading('requestId')}: {document['requestId']}"
    )
    pages.line(f"{text.heading('discloser')}: {document['discloser']}")
    pages.line(document["note"], size=8.5)
    information = from_json(ProvidedInformation, document["information"])
    sections = (
        ("person", _person(document["person"])),
        ("information", (line for k, v in _fields(information) for line in _lines(k, v, 0, None))),
    )
    for section, lines in sections:
        pages.line("")
        pages.line(text.heading(section), font=GOTHIC, size=12)
        for depth, line in lines:
            pages.line(line, indent=depth)
    pages.line("")
    records = document["provisionRecords"]
    pages.line(
        f"{text.heading('provisionRecords')}（{text.heading('count', len(records))}）", font=GOTHIC, size=12
    )
    for r in records:
        items = "、".join(_item(i) for i in r["items"]) or text.heading("none")
        pages.line(
            f"{_value(dt.datetime.fromisoformat(r['recordedAt']))}　{r['directionJa']}　{r['outcomeJa']}"
            f"　{r['provider']} → {r['recipient']}　{r['citation'] or r['basisItem']}"
            f"　{text.heading('items')}: {items}"
        )
    return pages.close()
