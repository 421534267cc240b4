"""One catalogue of error codes (docs/frontend/errors.md) holds exactly the codes the code can produce.

A code is a grep-able constant, ``NAME: Final = "NAME"``, in the module that raises it; a code written
as a literal (``"code": "X"``, ``code = "X"``) must be in the catalogue too, unless it is a provision
record's own code (those are the schema's enums, described there).
"""

from __future__ import annotations

import re
from pathlib import Path

from policies.decisions import DENIAL_CODES
from policies.outcomes import DENIED_CODES, RECORD_OUTCOMES, STEP_CODES
from resolvers import build_schema
from schema.errors import JA_BY_CODE

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("api", "resolvers", "schema", "persistence", "policies")
CATALOGUE = ROOT / "docs" / "frontend" / "errors.md"

CONSTANT = re.compile(r'^\s*([A-Z][A-Z0-9_]+): Final = "\1"', re.MULTILINE)
LITERAL = re.compile(r'"code":\s*"([A-Z][A-Z0-9_]+)"|\bcode\s*=\s*"([A-Z][A-Z0-9_]+)"')
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \|", re.MULTILINE)


def sources() -> list[Path]:
    return [p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))]


def constants() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sources():
        for name in CONSTANT.findall(path.read_text(encoding="utf-8")):
            found[name] = path.relative_to(ROOT)
    return found


def literals() -> set[str]:
    record_codes = set(DENIAL_CODES) | set(DENIED_CODES) | set(RECORD_OUTCOMES) | set(STEP_CODES)
    found = set()
    for path in sources():
        for a, b in LITERAL.findall(path.read_text(encoding="utf-8")):
            found.add(a or b)
    return found - record_codes


def catalogued() -> list[str]:
    return ROW.findall(CATALOGUE.read_text(encoding="utf-8"))


def test_the_catalogue_lists_every_code_the_code_can_produce_and_no_other() -> None:
    in_code = set(constants()) | literals()
    listed = catalogued()
    assert len(listed) == len(set(listed)), "a code appears twice in the catalogue"
    assert {
        "missing from the catalogue": sorted(in_code - set(listed)),
        "not in the code": sorted(set(listed) - in_code),
    } == {
        "missing from the catalogue": [],
        "not in the code": [],
    }


def test_every_code_has_its_japanese_message_and_the_schema_names_it() -> None:
    codes = set(constants())
    # SERVER_BUSY is answered before a request (and its Accept-Language) is read: English only.
    assert codes - set(JA_BY_CODE) == {"SERVER_BUSY"}
    assert set(JA_BY_CODE) <= codes
    query = build_schema()._schema.type_map["Query"].description or ""
    assert "docs/frontend/errors.md" in query
    assert all(code in query for code in JA_BY_CODE)


def test_the_finder_finds_a_new_code() -> None:
    text = (
        'X_CODE: Final = "X_CODE"\nraise GraphQLError("m", extensions={"code": "Y_CODE"})\ncode = "Z_CODE"\n'
    )
    assert CONSTANT.findall(text) == ["X_CODE"]
    assert {a or b for a, b in LITERAL.findall(text)} == {"Y_CODE", "Z_CODE"}
    assert ROW.findall("| `A_B` | 200 | when |\n| not a row |\n") == ["A_B"]
