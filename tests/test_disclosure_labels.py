"""The disclosure PDF in Japanese (IV-1 開示): every key the document can carry has a label in
policies/data/disclosure.toml, every enum value a name, and a key without a label is shown, marked."""

from __future__ import annotations

import dataclasses
import enum
import io
import types
import typing
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from pypdf import PdfReader

from policies.disclosure import DisclosureTextError, disclosure_text, load_disclosure_text
from resolvers.disclosure_pdf import render_disclosure
from resolvers.rights import _PERSON_COLUMNS as PERSON_COLUMNS
from resolvers.rights import _camel
from schema.enums import CodeEnum
from schema.legal_bases import InformationItem
from schema.provided import ProvidedInformation

PERSON_KEYS = [*map(_camel, PERSON_COLUMNS), "individualNumberHeld"]  # the keys resolvers/rights.py writes


def _inner(hint: Any) -> Any:
    while typing.get_origin(hint) in (list, typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _keys(cls: type, parent: str | None) -> Iterator[tuple[str | None, str, Any]]:
    """(parent, key, type) of every stored field of ``cls`` and of the data types under it."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.init:
            inner = _inner(hints[field.name])
            yield parent, field.name, inner
            if dataclasses.is_dataclass(inner):
                yield from _keys(inner, field.name)


def _text(document: dict[str, Any]) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(render_disclosure(document))).pages)


def _document(**person: Any) -> dict[str, Any]:
    return {
        "requestId": "r-1",
        "receivedOn": "2025-04-01",
        "disclosedOn": "2025-04-10",
        "discloser": "倉敷市長（介護保険課）",
        "note": "開示です。",
        "person": person,
        "information": {},
        "provisionRecords": [],
    }


def test_every_key_of_the_document_is_labelled() -> None:
    text = disclosure_text()
    keys = [(None, key, None) for key in PERSON_KEYS] + list(_keys(ProvidedInformation, None))
    assert len(keys) > 100
    assert [f"{p}.{k}" if p else k for p, k, _ in keys if text.label(k, p) is None] == []


def test_every_enum_value_of_the_information_has_a_japanese_name() -> None:
    names = disclosure_text().values
    enums = {
        t for _, _, t in _keys(ProvidedInformation, None) if isinstance(t, type) and issubclass(t, enum.Enum)
    }
    assert len(enums) > 10
    for cls in enums:
        for member in cls:
            if issubclass(cls, CodeEnum):
                assert member.ja and not member.ja.isascii(), member  # from codes.toml
            elif cls is not InformationItem:  # the information items name themselves
                assert member.name in names.get(cls.__name__, {}), f"{cls.__name__}.{member.name}"


def test_codes_and_dates_are_written_as_the_person_reads_them() -> None:
    words = _text(_document(sex="2", birthDate="1941-03-05", noAutomaticResponse=False))
    for expected in ("性別: 女", "生年月日: 1941年3月5日", "自動応答不可: なし", "開示日: 2025年4月10日"):
        assert expected in words, expected
    assert "性別: 2" not in words and "1941-03-05" not in words


def test_a_key_without_a_label_is_shown_marked_not_dropped() -> None:
    words = _text(_document(sex="1", favouriteColour="藍色"))
    assert "（表示名未登録: favouriteColour）: 藍色" in words
    assert "性別: 男" in words


def test_a_malformed_label_is_refused_when_loaded() -> None:
    packaged = resources.files("policies").joinpath("data/disclosure.toml").read_text(encoding="utf-8")
    assert load_disclosure_text(packaged) == disclosure_text()
    with pytest.raises(DisclosureTextError, match=r"labels\.sex"):
        load_disclosure_text(packaged.replace('sex = "性別"', 'sex = { ja = "性別", colour = "red" }'))
    with pytest.raises(DisclosureTextError, match="headings"):
        load_disclosure_text(packaged.replace('title = "保有特定個人情報の開示について"', ""))
