"""The disclosure (開示) as a printable A4 PDF in Japanese.

Set in the Adobe-Japan1 CID fonts every PDF reader provides (HeiseiKakuGo-W5, HeiseiMin-W3), so the
file embeds no font and stays small; its text is Unicode and can be searched and copied. The layout is
the document's own order: the request, the person, the LTCI information item by item, and the
provision records (情報提供等記録), one line each, page numbers at the foot.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any, Final

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

__all__ = ["render_disclosure"]

GOTHIC: Final = "HeiseiKakuGo-W5"
MINCHO: Final = "HeiseiMin-W3"
pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))
pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))

MARGIN: Final = 50.0
BODY: Final = 9.5
LEADING: Final = 14.0

LABELS: Final[Mapping[str, str]] = {
    "person": "宛名",
    "information": "介護保険関係情報",
    "provisionRecords": "情報提供等記録",
    "addresseeCode": "宛名コード",
    "name": "氏名",
    "nameKana": "氏名カナ",
    "aliasName": "通称名",
    "birthDate": "生年月日",
    "sex": "性別",
    "address": "住所",
    "addressBuilding": "方書",
    "postalCode": "郵便番号",
    "householdCode": "世帯コード",
    "phone": "連絡先",
    "individualNumberHeld": "個人番号の保有",
    "noAutomaticResponse": "自動応答不可",
    "qualification": "資格",
    "certification": "認定",
    "copayRatios": "負担割合",
    "costLimits": "負担限度額",
    "reductions": "減免",
    "benefits": "給付",
    "restrictions": "給付制限",
    "levies": "賦課",
    "paymentStatus": "収納",
    "communityProgramme": "総合事業",
    "recordedAt": "記録日時",
    "direction": "区分",
    "outcome": "結果",
    "provider": "提供者",
    "recipient": "受領者",
    "citation": "根拠",
}


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if value is True:
        return "あり"
    if value is False:
        return "なし"
    return str(value)


def _lines(key: str, value: Any, depth: int) -> Iterator[tuple[int, str]]:
    """(indent, text) lines of a JSON value, nested objects and lists indented under their key."""
    label = LABELS.get(key, key)
    if isinstance(value, Mapping):
        yield depth, f"{label}:"
        for k, v in value.items():
            yield from _lines(k, v, depth + 1)
    elif isinstance(value, list) and value and any(isinstance(v, Mapping | list) for v in value):
        yield depth, f"{label}: {len(value)}件"
        for n, v in enumerate(value, 1):
            yield from _lines(f"{n}", v, depth + 1)
    elif isinstance(value, list):
        yield depth, f"{label}: {'、'.join(map(_value, value)) or 'なし'}"
    else:
        yield depth, f"{label}: {_value(value)}"


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
    """The PDF of a disclosure document (the JSON :func:`resolvers.rights` builds)."""
    title = "保有特定個人情報の開示について"
    pages = _Pages(title)
    pages.line(title, font=GOTHIC, size=15)
    pages.line(
        f"開示日: {document['disclosedOn']}　請求受付日: {document['receivedOn']}　請求番号: {document['requestId']}"
    )
    pages.line(f"開示者: {document['discloser']}")
    pages.line(document["note"], size=8.5)
    for section in ("person", "information"):
        pages.line("")
        pages.line(LABELS[section], font=GOTHIC, size=12)
        for depth, text in _lines(section, document[section], 0):
            if depth:
                pages.line(text, indent=depth - 1)
    pages.line("")
    records = document["provisionRecords"]
    pages.line(f"{LABELS['provisionRecords']}（{len(records)}件）", font=GOTHIC, size=12)
    for r in records:
        pages.line(
            f"{r['recordedAt'][:19]}　{r['directionJa']}　{r['outcomeJa']}　{r['provider']} → {r['recipient']}"
            f"　{r['citation'] or r['basisItem']}　項目: {'、'.join(r['items']) or 'なし'}"
        )
    return pages.close()
