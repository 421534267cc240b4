"""The legal-basis registry (policies/data/legal_bases.toml, information_items.toml): pure, no database."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from policies import legal_bases
from policies.legal_bases import (
    Direction,
    LegalBasisError,
    body_names,
    commencements,
    entries,
    entry,
    history,
    information_items,
    load_information_items,
    load_registry,
    normalise_item,
    registry,
)
from policies.roles import departments

SEED_DATE = date(2023, 3, 13)  # 公表日 令和5年3月13日
SEED_FILE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_c609ceaeef7ce1bb.txt"


def _items(seed_list: str) -> set[str]:
    """An item list as the seed writes it (「1、2、…、56の2、…」) as canonical ids."""
    return {normalise_item(i) for i in seed_list.split("、")}


# I-5 ② 【情報提供】 and the lists of 別添2, copied from the seed.
I_5_PROVISION = _items(
    "1、2、3、4、5、6、8、11、17、22、26、30、33、39、42、43、46、56の2、58、61、62、80、81、83、87、90、94、95、97、"
    "108、109、117、120"
)
BEFORE_2019 = _items("1、2、3、4、6、26、30、33、39、42、56の2、58、61、62、80、87、90、94、95")
FROM_2019 = _items(
    "1、2、3、4、5、6、8、11、17、22、26、30、33、39、42、56の2、58、61、62、80、81、87、90、94、95、97、108、109、119"
)
FROM_2020 = I_5_PROVISION

# 別紙1: 提供先 No. → (item, body as the first column names it).
BESSHI_1 = {
    1: ("1", "厚生労働大臣"),
    2: ("2", "全国健康保険協会"),
    3: ("3", "健康保険組合"),
    4: ("4", "厚生労働大臣"),
    5: ("5", "全国健康保険協会"),
    6: ("6", "全国健康保険協会"),
    7: ("8", "都道府県知事"),
    8: ("11", "市町村長"),
    9: ("17", "市町村長"),
    10: ("22", "都道府県知事"),
    11: ("26", "都道府県知事等"),
    12: ("30", "社会福祉協議会"),
    13: ("33", "日本私立学校振興・共済事業団"),
    14: ("39", "国家公務員共済組合"),
    15: ("42", "市町村長又は国民健康保険組合"),
    16: ("43", "市町村長又は国民健康保険組合"),
    17: ("46", "厚生労働大臣又は共済組合等"),
    18: ("56の2", "市町村長"),
    19: ("58", "地方公務員共済組合"),
    20: ("61", "市町村長"),
    21: ("62", "市町村長"),
    22: ("80", "後期高齢者医療広域連合"),
    23: ("81", "後期高齢者医療広域連合"),
    24: ("83", "厚生労働大臣又は共済組合等"),
    25: ("87", "都道府県知事等"),
    26: ("90", "都道府県知事又は広島市長若しくは長崎市長"),
    27: ("94", "市町村長"),
    28: ("95", "厚生労働大臣又は共済組合等"),
    29: ("97", "都道府県知事又は保健所を設置する市の長"),
    30: ("108", "都道府県知事又は市町村長"),
    31: ("109", "都道府県知事又は市町村長"),
    32: ("117", "厚生労働大臣"),
    33: ("120", "都道府県知事"),
}

# 別紙2: No. → (item, department id of roles.toml, 移転先).
BESSHI_2 = {
    1: ("26", "seikatsu_fukushi", "生活福祉課"),
    2: ("42", "kokumin_kenko_hoken", "国民健康保険課"),
    3: ("56の2", "bosai_kiki_kanri", "防災危機管理室"),
    4: ("61", "fukushi_engo", "福祉援護課"),
    5: ("62", "fukushi_engo", "福祉援護課"),
    6: ("87", "seikatsu_fukushi", "生活福祉課"),
}

LTCI_ITEMS = {
    "QUALIFICATION",
    "CERTIFICATION",
    "COPAY_RATIO",
    "COST_LIMIT",
    "REDUCTION",
    "BENEFITS",
    "RESTRICTIONS",
    "LEVY",
    "PAYMENT_STATUS",
    "COMMUNITY_PROGRAMME",
}


def _in_force(direction: Direction, on: date) -> set[str]:
    return {row.item for row in entries(direction, on)}


# ---------------------------------------------------------------------------------------------------
# The shipped files
# ---------------------------------------------------------------------------------------------------


def test_the_files_load_and_the_registry_is_cached() -> None:
    assert registry() is registry()
    assert registry().rows
    assert set(information_items()) == LTCI_ITEMS | {
        "LOCAL_TAX",
        "MEDICAL_INSURANCE",
        "PUBLIC_ASSISTANCE",
        "PENSION",
    }
    assert {i for i, item in information_items().items() if item.ltci} == LTCI_ITEMS


def test_33_provisions_on_the_seed_date_are_those_of_i_5() -> None:
    rows = entries(Direction.PROVISION, SEED_DATE)
    assert len(rows) == 33
    assert {r.item for r in rows} == I_5_PROVISION


def test_provisions_name_the_bodies_of_besshi_1() -> None:
    rows = {r.sheet_no: r for r in entries(Direction.PROVISION, SEED_DATE)}
    assert set(rows) == set(BESSHI_1)
    for sheet_no, (item, body) in BESSHI_1.items():
        assert (rows[sheet_no].item, rows[sheet_no].counterparty) == (item, body), sheet_no


@pytest.mark.skipif(not SEED_FILE.exists(), reason="shared/seed is not beside the repository")
def test_purposes_are_the_seeds_words() -> None:
    seed = SEED_FILE.read_text(encoding="utf-8")
    for row in entries(Direction.PROVISION, SEED_DATE):
        line = f"\n{row.sheet_no}\t{row.counterparty}\t番号法別表第2の{row.item}の項\t{row.purpose}"
        assert line in seed, row.item
    for row in entries(Direction.TRANSFER, SEED_DATE):
        assert row.purpose in seed, row.item
    assert entry("68", Direction.USE, SEED_DATE).purpose in seed  # type: ignore[union-attr]


def test_inquiries_are_93_and_94() -> None:
    assert _in_force(Direction.INQUIRY, SEED_DATE) == {"93", "94"}
    assert _in_force(Direction.INQUIRY, date.today()) == {"93", "94"}


def test_six_transfers_with_the_departments_of_besshi_2() -> None:
    rows = {r.sheet_no: r for r in entries(Direction.TRANSFER, SEED_DATE)}
    assert len(rows) == 6
    for sheet_no, (item, dept, ja) in BESSHI_2.items():
        row = rows[sheet_no]
        assert (row.item, row.counterparty) == (item, dept)
        assert departments()[dept].ja == ja
        assert row.instrument == "倉敷市行政手続における個人番号の利用に関する条例"
        assert row.article is None


def test_roles_departments_carry_the_items_of_their_transfers() -> None:
    for dept in departments().values():
        transfers = {r.item for r in entries(Direction.TRANSFER, SEED_DATE) if r.counterparty == dept.id}
        assert {normalise_item(i) for i in dept.items} == transfers, dept.id


def test_a_transfer_permits_what_the_matching_provision_permits() -> None:
    for row in entries(Direction.TRANSFER, SEED_DATE):
        provision = entry(row.item, Direction.PROVISION, SEED_DATE)
        assert provision is not None
        assert row.items == provision.items, row.item


def test_use_basis_is_appended_table_1_item_68() -> None:
    rows = entries(Direction.USE, SEED_DATE)
    assert [(r.item, r.table, r.instrument, r.article) for r in rows] == [
        ("68", "別表第1", "番号法", "第9条第1項")
    ]
    assert rows[0].citation == "番号法第9条第1項 別表第1の68の項"


def test_in_force_today() -> None:
    today = date.today()
    assert len(entries(Direction.PROVISION, today)) == 33
    assert len(entries(Direction.TRANSFER, today)) == 6
    assert len(entries(Direction.INQUIRY, today)) == 2
    assert len(entries(Direction.USE, today)) == 1
    assert len(entries(on=today)) == 42


# ---------------------------------------------------------------------------------------------------
# Effective dates (別添2)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [Direction.PROVISION, Direction.INQUIRY])
def test_article_19_7_until_the_2022_change_then_19_8(direction: Direction) -> None:
    """第7号 → 第8号 on the law's commencement (2021-09-01, unverified), not on the day the city recorded
    it (2022-03-23, 別添2 「事後」): a request of 2022-01-10 cites 第8号."""
    for item in ("94", "93") if direction is Direction.INQUIRY else sorted(I_5_PROVISION):
        early = entry(item, direction, date(2021, 6, 1))
        if early is not None:
            assert early.article == "第19条第7号", item
        assert entry(item, direction, date(2021, 8, 31)).article == "第19条第7号"  # type: ignore[union-attr]
        assert entry(item, direction, date(2021, 9, 1)).article == "第19条第8号"  # type: ignore[union-attr]
        assert entry(item, direction, date(2022, 1, 10)).article == "第19条第8号"  # type: ignore[union-attr]
        assert entry(item, direction, SEED_DATE).article == "第19条第8号"  # type: ignore[union-attr]
        assert entry(item, direction, SEED_DATE).instrument == "番号法"  # type: ignore[union-attr]
    assert entry("94", Direction.PROVISION, date(2021, 6, 1)).article == "第19条第7号"  # type: ignore[union-attr]


def test_2024_ministerial_order_keeps_the_item_numbers() -> None:
    before = entry("別表第2 94", Direction.PROVISION, date(2024, 5, 26))
    after = entry("別表第2 94", Direction.PROVISION, date(2024, 5, 27))
    assert before is not None and after is not None
    assert before.instrument == "番号法"
    assert after.instrument.endswith("第十九条第八号に基づく利用特定個人情報の提供に関する命令")
    assert (after.item, after.article, after.counterparty, after.items) == (
        before.item,
        before.article,
        before.counterparty,
        before.items,
    )
    assert "未確認" in after.citation
    assert after.since is not None and after.since.key == "table2_to_order" and not after.since.verified
    assert after.since.day == date(2024, 5, 27) and "令和5年法律第48号" in after.since.source
    assert before.stem == after.stem == "provision.94"
    assert after.id == "provision.94@2024-05-27"


def test_provision_lists_of_2019_and_2020() -> None:
    assert _in_force(Direction.PROVISION, date(2016, 1, 1)) == BEFORE_2019
    assert _in_force(Direction.PROVISION, date(2019, 3, 31)) == BEFORE_2019
    assert _in_force(Direction.PROVISION, date(2019, 4, 1)) == FROM_2019
    assert _in_force(Direction.PROVISION, date(2020, 2, 29)) == FROM_2019
    assert _in_force(Direction.PROVISION, date(2020, 3, 1)) == FROM_2020
    assert len(FROM_2019) == 29 and len(FROM_2020) == 33


def test_single_changes() -> None:
    assert entry("43", Direction.PROVISION, date(2020, 2, 29)) is None
    assert entry("43", Direction.PROVISION, date(2020, 3, 1)) is not None
    assert entry("119", Direction.PROVISION, date(2019, 6, 1)) is not None
    assert entry("119", Direction.PROVISION, date(2020, 2, 29)) is not None
    assert entry("119", Direction.PROVISION, date(2020, 3, 1)) is None
    assert entry("119", Direction.PROVISION, date(2019, 3, 31)) is None
    for item in ("5", "8", "11", "17", "22", "81", "97", "108", "109"):
        assert entry(item, Direction.PROVISION, date(2019, 3, 31)) is None, item
        assert entry(item, Direction.PROVISION, date(2019, 4, 1)).valid_from == date(2019, 4, 1)  # type: ignore[union-attr]
    for item in ("43", "46", "83", "117", "120"):
        assert history(item, Direction.PROVISION)[0].valid_from == date(2020, 3, 1), item


def test_nothing_before_the_start_of_use() -> None:
    assert entries(on=date(2015, 12, 31)) == ()
    assert min(r.valid_from for r in registry().rows) == date(2016, 1, 1)


def test_rows_of_an_entry_follow_each_other_without_overlap() -> None:
    stems: dict[tuple[Direction, str], list] = {}
    for row in registry().rows:
        stems.setdefault((row.direction, row.item), []).append(row)
    for (direction, item), rows in stems.items():
        rows.sort(key=lambda r: r.valid_from)
        assert rows == list(history(item, direction))
        assert len({r.stem for r in rows}) == 1
        for before, after in itertools.pairwise(rows):
            assert before.valid_to is not None
            assert before.valid_to + timedelta(days=1) == after.valid_from, item
            assert before.counterparty == after.counterparty


def test_an_entry_reports_its_whole_validity() -> None:
    rows = history("119", Direction.PROVISION)
    assert [(r.valid_from, r.valid_to) for r in rows] == [(date(2019, 4, 1), date(2020, 2, 29))]
    assert (rows[0].entry_valid_from, rows[0].entry_valid_to) == (date(2019, 4, 1), date(2020, 2, 29))
    rows = history("94", Direction.PROVISION)
    assert [r.valid_from for r in rows] == [date(2016, 1, 1), date(2021, 9, 1), date(2024, 5, 27)]
    assert {(r.entry_valid_from, r.entry_valid_to) for r in rows} == {(date(2016, 1, 1), None)}


# ---------------------------------------------------------------------------------------------------
# Items and information items
# ---------------------------------------------------------------------------------------------------


def test_the_individual_number_is_never_permitted() -> None:
    assert "INDIVIDUAL_NUMBER" not in information_items()
    for item in information_items().values():
        assert not any("individualnumber" in f.lower() for f in item.fields)
    for row in registry().rows:
        assert "INDIVIDUAL_NUMBER" not in row.items


def test_provisions_and_transfers_permit_only_ltci_information() -> None:
    for row in entries(Direction.PROVISION) + entries(Direction.TRANSFER):
        assert row.items <= LTCI_ITEMS, row.id


def test_documented_item_choices() -> None:
    def items(item: str) -> frozenset[str]:
        return entry(item, Direction.PROVISION, SEED_DATE).items  # type: ignore[union-attr]

    assert items("94") == LTCI_ITEMS
    assert items("95") == items("46") == items("83") == {"LEVY"}
    assert items("56の2") == {"QUALIFICATION", "CERTIFICATION"}
    assert {"CERTIFICATION", "COPAY_RATIO", "LEVY", "PAYMENT_STATUS"} <= items("26") == items("87")
    assert "LEVY" in items("80") and "QUALIFICATION" in items("81")
    assert items("117") == {"LEVY"}
    assert entry("93", Direction.INQUIRY, SEED_DATE).items == {"MEDICAL_INSURANCE"}  # type: ignore[union-attr]
    assert {"LOCAL_TAX", "PUBLIC_ASSISTANCE", "PENSION"} <= entry("94", Direction.INQUIRY, SEED_DATE).items  # type: ignore[union-attr]


def test_provisions_are_answered_automatically_unless_the_person_is_flagged() -> None:
    assert all(r.auto_response for r in entries(Direction.PROVISION))


def test_every_entry_has_purpose_reason_and_seed() -> None:
    for row in registry().rows:
        assert row.purpose and row.purpose_en and row.items_reason and row.seed, row.id
    for item in information_items().values():
        assert item.ja and item.en and item.records and item.seed
        if item.ltci:
            assert item.area in {"qualifications", "certifications", "benefits", "levies"}
            assert item.fields and all(f.startswith(f"{item.area}.") for f in item.fields)
        else:
            assert item.area is None and not item.fields


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("94", "94"),
        ("９４", "94"),
        (" 94 ", "94"),
        ("別表第2 94", "94"),
        ("別表第２　９４", "94"),
        ("別表第二の94の項", "94"),
        ("番号法別表第2の94の項", "94"),
        ("94の項", "94"),
        ("第94項", "94"),
        ("56の2", "56の2"),
        ("56-2", "56の2"),
        ("56－2", "56の2"),
        ("56_2", "56の2"),
        ("５６の２", "56の2"),
        ("別表第2 56の2", "56の2"),
        ("別表第2の56の2の項", "56の2"),
        ("別表第1 68", "68"),
    ],
)
def test_item_normalisation(value: str, canonical: str) -> None:
    assert normalise_item(value) == canonical


@pytest.mark.parametrize(
    "value", ["", "  ", "2 94", "九十四", "94a", "56の", "の2", "別表第3 94", "56の2の3"]
)
def test_item_normalisation_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        normalise_item(value)


def test_lookups_accept_any_spelling() -> None:
    for spelling in ("56の2", "56-2", "５６の２", "別表第2 56の2"):
        assert entry(spelling, Direction.TRANSFER, SEED_DATE).counterparty == "bosai_kiki_kanri"  # type: ignore[union-attr]
    assert entry("not an item", Direction.PROVISION, SEED_DATE) is None
    assert history("not an item", Direction.PROVISION) == ()


def test_counterparty_alternatives() -> None:
    assert body_names("都道府県知事又は広島市長若しくは長崎市長") == ("都道府県知事", "広島市長", "長崎市長")
    assert body_names("厚生労働大臣又は共済組合等") == ("厚生労働大臣", "共済組合等")
    assert body_names("市町村長、特別区長") == ("市町村長", "特別区長")
    row = entry("42", Direction.PROVISION, SEED_DATE)
    assert row is not None
    assert (
        row.accepts("総社市長") and row.accepts("岡山県医師国民健康保険組合") and row.accepts(" 総社市長　")
    )
    # a category names no body: 「市町村長」, 「国民健康保険組合」 are refused, and so is anything unknown
    for name in (
        "市町村長",
        "国民健康保険組合",
        "市町村長又は国民健康保険組合",
        "倉敷紡績健康保険組合",
        "",
        "どこでもよい団体",
    ):
        assert not row.accepts(name), name
    assert not row.accepts("倉敷市長")  # the city itself


def test_group_counterparties_accept_their_bodies() -> None:
    """別紙1's group words: the pension payers under 46/83/95, the governors and mayors under 26/87."""
    for item in ("46", "83", "95"):
        row = entry(item, Direction.PROVISION, SEED_DATE)
        assert row is not None
        for body in (
            "厚生労働大臣",
            "日本年金機構",
            "国家公務員共済組合連合会",
            "日本私立学校振興・共済事業団",
        ):
            assert row.accepts(body), (item, body)
        assert not row.accepts("全国健康保険協会")
    for item in ("26", "87"):
        row = entry(item, Direction.PROVISION, SEED_DATE)
        assert row is not None
        assert row.accepts("岡山県知事") and row.accepts("総社市長") and row.accepts("北海道知事")
        assert not row.accepts("早島町長")  # a town without a welfare office


def test_every_commencement_cites_its_source() -> None:
    days = commencements()
    assert {"article_19_8", "table2_to_order", "list_2019", "list_2020"} <= set(days)
    for c in days.values():
        assert c.source and c.what
        assert c.verified or len(c.note) > 40, c.key  # an unverified day says why
    assert days["article_19_8"].day == date(2021, 9, 1) and not days["article_19_8"].verified
    rows = history("26", Direction.TRANSFER)
    assert "旧別表第2の26" in rows[-1].citation and rows[-1].valid_from == date(2024, 5, 27)
    use = history("68", Direction.USE)
    assert use[-1].table == "別表" and "旧別表第1の68" in use[-1].citation


# ---------------------------------------------------------------------------------------------------
# The loader refuses broken files
# ---------------------------------------------------------------------------------------------------

ITEMS_TOML = """
[items.LEVY]
ja = "賦課情報"
en = "Levy"
ltci = true
area = "levies"
fields = ["levies.incomeStage"]
records = "別添1 <賦課>"
seed = "test"

[items.LOCAL_TAX]
ja = "地方税関係情報"
en = "Local tax"
ltci = false
records = "別添1 <宛名> 住民税情報"
seed = "test"
"""

CITATIONS = """
[[citations.PROVISION]]
valid_from = 2016-01-01
valid_to = 2022-03-22
instrument = "番号法"
article = "第19条第7号"
table = "別表第2"
cite = "{instrument}{article} {table}の{item}の項"
seed = "test"

[[citations.PROVISION]]
valid_from = 2022-03-23
instrument = "番号法"
article = "第19条第8号"
table = "別表第2"
cite = "{instrument}{article} {table}の{item}の項"
seed = "test"

[[citations.TRANSFER]]
valid_from = 2016-01-01
instrument = "条例"
table = "別表第2"
cite = "{instrument}（{table}の{item}の項）"
seed = "test"
"""

ENTRY = """
[[entries]]
direction = "PROVISION"
item = "95"
counterparty = "厚生労働大臣又は共済組合等"
purpose = "介護保険法による特別徴収の方法による保険料の徴収又は納入に関する事務であって主務省令で定めるもの"
purpose_en = "Special collection."
items = ["LEVY"]
items_reason = "test"
auto_response = true
valid_from = 2016-01-01
seed = "test"
"""


def _load(text: str) -> legal_bases.Registry:
    return load_registry(text, ITEMS_TOML)


def test_a_small_valid_file_loads_and_splits_by_citation() -> None:
    reg = _load(CITATIONS + ENTRY)
    assert [(r.id, r.article, r.valid_to) for r in reg.rows] == [
        ("provision.95@2016-01-01", "第19条第7号", date(2022, 3, 22)),
        ("provision.95@2022-03-23", "第19条第8号", None),
    ]
    assert reg.rows[1].citation == "番号法第19条第8号 別表第2の95の項"
    assert set(reg.items) == {"LEVY", "LOCAL_TAX"}


BROKEN = {
    "unknown information item": ENTRY.replace('["LEVY"]', '["LEVY", "GOSSIP"]'),
    "individual number": ENTRY.replace('["LEVY"]', '["INDIVIDUAL_NUMBER"]'),
    "repeated item": ENTRY.replace('["LEVY"]', '["LEVY", "LEVY"]'),
    "received information provided": ENTRY.replace('["LEVY"]', '["LOCAL_TAX"]'),
    "overlap": ENTRY + ENTRY.replace("2016-01-01", "2020-01-01"),
    "overlap, other counterparty": ENTRY + ENTRY.replace("厚生労働大臣又は共済組合等", "市町村長"),
    "valid_to before valid_from": ENTRY.replace(
        "valid_from = 2016-01-01", "valid_from = 2020-01-01\nvalid_to = 2019-12-31"
    ),
    "missing purpose": re.sub(r"\npurpose = .*", "", ENTRY),
    "empty purpose": re.sub(r"\npurpose = .*", '\npurpose = "  "', ENTRY),
    "missing counterparty": re.sub(r"\ncounterparty = .*", "", ENTRY),
    "missing auto_response": ENTRY.replace("auto_response = true\n", ""),
    "auto_response not a bool": ENTRY.replace("auto_response = true", 'auto_response = "yes"'),
    "item not canonical": ENTRY.replace('item = "95"', 'item = "別表第2 95"'),
    "item not a number": ENTRY.replace('item = "95"', 'item = "ninety-five"'),
    "unknown direction": ENTRY.replace('direction = "PROVISION"', 'direction = "GOSSIP"'),
    "unknown key": ENTRY.replace("seed =", "vaild_to = 2030-01-01\nseed ="),
    "before the citations": ENTRY.replace("2016-01-01", "2015-06-01"),
    "no citations for the direction": ENTRY.replace('direction = "PROVISION"', 'direction = "INQUIRY"'),
    "date as text": ENTRY.replace("valid_from = 2016-01-01", 'valid_from = "2016-01-01"'),
    "transfer to an unknown department": ENTRY.replace(
        'direction = "PROVISION"', 'direction = "TRANSFER"'
    ).replace("厚生労働大臣又は共済組合等", "somewhere"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_loader_refuses(case: str) -> None:
    with pytest.raises(LegalBasisError):
        _load(CITATIONS + BROKEN[case])


def test_loader_refuses_broken_citations() -> None:
    gap = CITATIONS.replace("valid_from = 2022-03-23", "valid_from = 2022-04-01")
    overlap = CITATIONS.replace("valid_from = 2022-03-23", "valid_from = 2022-03-01")
    bad_cite = CITATIONS.replace("{instrument}{article} {table}", "{instrument}{paragraph}")
    for text in (gap, overlap, bad_cite, "[[citations.SIDEWAYS]]\nvalid_from = 2016-01-01\n"):
        with pytest.raises(LegalBasisError):
            _load(text + ENTRY)
    with pytest.raises(LegalBasisError):
        _load(ENTRY)  # no citations at all
    with pytest.raises(LegalBasisError):
        _load(CITATIONS)  # no entries
    with pytest.raises(LegalBasisError):
        _load(CITATIONS + ENTRY + "\n[[entries\n")  # not TOML


def test_loader_accepts_a_known_department_and_an_ended_entry() -> None:
    transfer = ENTRY.replace('direction = "PROVISION"', 'direction = "TRANSFER"').replace(
        "厚生労働大臣又は共済組合等", "seikatsu_fukushi"
    )
    ended = ENTRY.replace("valid_from = 2016-01-01", "valid_from = 2016-01-01\nvalid_to = 2019-03-31")
    again = ENTRY.replace("valid_from = 2016-01-01", "valid_from = 2019-04-01")
    reg = _load(CITATIONS + transfer + ended + again)
    assert [r.id for r in reg.rows] == [
        "transfer.95@2016-01-01",
        "provision.95@2016-01-01",
        "provision.95@2019-04-01",
        "provision.95@2022-03-23",
    ]


@pytest.mark.parametrize(
    "broken",
    [
        ITEMS_TOML.replace("[items.LEVY]", "[items.INDIVIDUAL_NUMBER]"),
        ITEMS_TOML.replace('"levies.incomeStage"', '"persons.individualNumber"'),
        ITEMS_TOML.replace('area = "levies"\n', ""),
        ITEMS_TOML.replace('area = "levies"', 'area = "benefits"'),
        ITEMS_TOML.replace("ltci = false", 'ltci = "no"'),
        ITEMS_TOML.replace("[items.LEVY]", "[items.levy]"),
        ITEMS_TOML.replace('ja = "賦課情報"\n', ""),
        ITEMS_TOML.replace('seed = "test"', 'seed = "test"\ncolour = "red"', 1),
        "",
    ],
)
def test_information_item_loader_refuses(broken: str) -> None:
    with pytest.raises(LegalBasisError):
        load_information_items(broken)
