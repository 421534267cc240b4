"""Decisions on provisions, transfers, inquiries and use (policies/decisions.py): pure, no database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from policies import legal_bases
from policies.bodies import bodies_in
from policies.decisions import (
    ALLOWED_CODES,
    DENIAL_CODES,
    RETENTION_YEARS,
    Decision,
    SubjectFacts,
    TransferPermissionFacts,
    decide_inquiry,
    decide_provision,
    decide_transfer,
    decide_transfer_request,
    decide_use,
    is_purgeable,
    purge_before,
)
from policies.legal_bases import Direction, LegalBasis, entries, entry, information_items
from policies.roles import departments

TODAY = date.today()
DAY = timedelta(days=1)
IN_SCOPE = SubjectFacts(in_scope=True)
FLAGGED = SubjectFacts(in_scope=True, no_automatic_response=True)
OUT_OF_SCOPE = SubjectFacts(in_scope=False)
LTCI_ITEMS = frozenset(i for i, item in information_items().items() if item.ltci)
A_VALID_NUMBER = "123456789018"

PROVISIONS = entries(Direction.PROVISION, TODAY)
TRANSFERS = entries(Direction.TRANSFER, TODAY)
INQUIRIES = entries(Direction.INQUIRY, TODAY)
USES = entries(Direction.USE, TODAY)


def _ids(rows: tuple[LegalBasis, ...]) -> list[str]:
    return [r.stem for r in rows]


def _body(row: LegalBasis) -> str:
    return bodies_in(row.counterparty)[0].name


def _unpermitted(row: LegalBasis) -> str:
    """An information item the row does not permit (a received one when it permits every LTCI item)."""
    return sorted(LTCI_ITEMS - row.items)[0] if LTCI_ITEMS - row.items else "LOCAL_TAX"


def _denied(decision: Decision, code: str) -> None:
    assert (decision.allowed, decision.code) == (False, code), decision
    assert not decision.needs_review
    assert decision.reason_ja.endswith("。") and decision.reason_en.endswith(".")


def test_the_table_covers_every_entry_in_force_today() -> None:
    assert (len(PROVISIONS), len(TRANSFERS), len(INQUIRIES), len(USES)) == (33, 6, 2, 1)


# ---------------------------------------------------------------------------------------------------
# Provision — every provision entry in force today
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", PROVISIONS, ids=_ids(PROVISIONS))
def test_provision_allowed_to_each_named_body(row: LegalBasis) -> None:
    for body in (bodies_in(category)[0].name for category in row.counterparty_includes):
        decision = decide_provision(row.item, body, sorted(row.items), TODAY, IN_SCOPE)
        assert (decision.allowed, decision.code, decision.needs_review) == (True, "PROVIDED", False), body
        assert decision.basis == row
        assert row.citation in decision.reason_ja and row.citation in decision.reason_en
    for item in row.items:  # each item on its own
        assert decide_provision(row.item, _body(row), [item], TODAY, IN_SCOPE).code == "PROVIDED"


@pytest.mark.parametrize("row", PROVISIONS, ids=_ids(PROVISIONS))
def test_provision_denied_for_each_wrong_field(row: LegalBasis) -> None:
    body, items = _body(row), sorted(row.items)
    wrong_body = "社会福祉協議会" if row.item != "30" else "健康保険組合"
    _denied(decide_provision(row.item, wrong_body, items, TODAY, IN_SCOPE), "COUNTERPARTY_MISMATCH")
    _denied(decide_provision(row.item, "", items, TODAY, IN_SCOPE), "COUNTERPARTY_MISMATCH")

    extra = _unpermitted(row)
    decision = decide_provision(row.item, body, [*items, extra], TODAY, IN_SCOPE)
    _denied(decision, "ITEM_NOT_PERMITTED")
    assert [r.split()[0] for r in decision.refused_items] == [extra]
    assert extra in decision.reason_ja and extra in decision.reason_en
    _denied(decide_provision(row.item, body, ["INDIVIDUAL_NUMBER"], TODAY, IN_SCOPE), "ITEM_NOT_PERMITTED")
    _denied(decide_provision(row.item, body, [], TODAY, IN_SCOPE), "NO_ITEMS_REQUESTED")

    _denied(decide_provision(row.item, body, items, TODAY, OUT_OF_SCOPE), "SUBJECT_OUT_OF_SCOPE")
    _denied(decide_provision("999", body, items, TODAY, IN_SCOPE), "UNKNOWN_BASIS")
    _denied(decide_provision("93", body, items, TODAY, IN_SCOPE), "UNKNOWN_BASIS")  # an inquiry item only


@pytest.mark.parametrize("row", PROVISIONS, ids=_ids(PROVISIONS))
def test_provision_date_edges(row: LegalBasis) -> None:
    body, items = _body(row), sorted(row.items)
    start = row.entry_valid_from
    at_start = decide_provision(row.item, body, items, start, IN_SCOPE)
    assert at_start.code == "PROVIDED"
    assert at_start.basis is not None and at_start.basis.valid_from == start
    _denied(decide_provision(row.item, body, items, start - DAY, IN_SCOPE), "BASIS_NOT_IN_FORCE")
    assert row.entry_valid_to is None  # every entry in force today is open-ended


@pytest.mark.parametrize("row", PROVISIONS, ids=_ids(PROVISIONS))
def test_provision_needs_review_for_a_flagged_person(row: LegalBasis) -> None:
    decision = decide_provision(row.item, _body(row), sorted(row.items), TODAY, FLAGGED)
    assert (decision.allowed, decision.code, decision.needs_review) == (True, "PENDING_REVIEW", True)
    assert "自動応答不可" in decision.reason_ja and "no-automatic-response" in decision.reason_en
    # the flag does not open what the basis closes
    _denied(
        decide_provision(row.item, _body(row), ["INDIVIDUAL_NUMBER"], TODAY, FLAGGED), "ITEM_NOT_PERMITTED"
    )
    _denied(
        decide_provision(row.item, _body(row), sorted(row.items), TODAY, OUT_OF_SCOPE), "SUBJECT_OUT_OF_SCOPE"
    )


def test_provision_reports_the_article_in_force_on_the_request_date() -> None:
    old = decide_provision("94", "総社市長", ["LEVY"], date(2021, 6, 1), IN_SCOPE)
    new = decide_provision("94", "総社市長", ["LEVY"], date(2023, 3, 13), IN_SCOPE)
    assert old.basis is not None and new.basis is not None
    assert (old.basis.article, new.basis.article) == ("第19条第7号", "第19条第8号")
    assert "第19条第7号" in old.reason_ja and "第19条第8号" in new.reason_en
    # the row edge inside an entry: both sides allowed, each with its own article
    # 2021-09-01: the law's commencement (policies/data/legal_bases.toml [commencements.article_19_8]),
    # not the day the city recorded it (2022-03-23): a request of 2022-01-10 cites 第8号
    for day, article in (
        (date(2021, 8, 31), "第19条第7号"),
        (date(2021, 9, 1), "第19条第8号"),
        (date(2022, 1, 10), "第19条第8号"),
    ):
        decision = decide_provision("94", "総社市長", ["LEVY"], day, IN_SCOPE)
        assert decision.code == "PROVIDED" and decision.basis is not None
        assert decision.basis.article == article


def test_provision_list_changes() -> None:
    _denied(
        decide_provision("43", "総社市長", ["BENEFITS"], date(2020, 2, 29), IN_SCOPE), "BASIS_NOT_IN_FORCE"
    )
    assert decide_provision("43", "総社市長", ["BENEFITS"], date(2020, 3, 1), IN_SCOPE).allowed
    # 119: in force up to and including its valid_to (it permits nothing), gone the day after
    row = entry("119", Direction.PROVISION, date(2020, 2, 29))
    assert row is not None and row.valid_to == date(2020, 2, 29)
    # no body is its counterparty (the seed never names it): refused to anyone
    _denied(decide_provision("119", "総社市長", ["LEVY"], row.valid_to, IN_SCOPE), "COUNTERPARTY_MISMATCH")
    _denied(
        decide_provision("119", row.counterparty, ["LEVY"], row.valid_to + DAY, IN_SCOPE),
        "BASIS_NOT_IN_FORCE",
    )


def test_provision_accepts_item_spellings_and_body_spellings() -> None:
    for item in ("56の2", "56-2", "５６の２", "別表第2 56の2"):
        assert decide_provision(item, "総社市長", ["CERTIFICATION"], TODAY, IN_SCOPE).code == "PROVIDED"
    for body in ("広島市長", "長崎市長", "岡山県知事", "　長崎市長 ", "東京都知事"):
        assert decide_provision("90", body, ["BENEFITS"], TODAY, IN_SCOPE).code == "PROVIDED"
    for body in ("大阪市長", "都道府県知事", "岡山県", "どこでもよい団体", "倉敷市長"):
        _denied(decide_provision("90", body, ["BENEFITS"], TODAY, IN_SCOPE), "COUNTERPARTY_MISMATCH")
    _denied(
        decide_provision("42", "市町村長又は国民健康保険組合", ["BENEFITS"], TODAY, IN_SCOPE),
        "COUNTERPARTY_MISMATCH",
    )
    _denied(decide_provision("ninety-four", "総社市長", ["LEVY"], TODAY, IN_SCOPE), "UNKNOWN_BASIS")


def test_provision_order_of_checks() -> None:
    # several faults at once: the first in the documented order wins
    assert decide_provision("999", "x", [], date(2000, 1, 1), OUT_OF_SCOPE).code == "UNKNOWN_BASIS"
    assert decide_provision("94", "x", [], date(2015, 1, 1), OUT_OF_SCOPE).code == "BASIS_NOT_IN_FORCE"
    assert decide_provision("94", "x", ["GOSSIP"], TODAY, OUT_OF_SCOPE).code == "COUNTERPARTY_MISMATCH"
    assert (
        decide_provision("95", "厚生労働大臣", ["BENEFITS"], TODAY, OUT_OF_SCOPE).code == "ITEM_NOT_PERMITTED"
    )


def test_reasons_never_repeat_an_individual_number() -> None:
    for decision in (
        decide_provision("94", A_VALID_NUMBER, ["LEVY"], TODAY, IN_SCOPE),
        decide_provision("94", "総社市長", [A_VALID_NUMBER], TODAY, IN_SCOPE),
        decide_provision(A_VALID_NUMBER, "総社市長", ["LEVY"], TODAY, IN_SCOPE),
        decide_transfer_request(A_VALID_NUMBER, "26", ["LEVY"], valid_from=TODAY, valid_to=None, on=TODAY),
    ):
        assert not decision.allowed
        assert A_VALID_NUMBER not in decision.reason_ja + decision.reason_en + "".join(decision.refused_items)


def test_requested_items_must_not_be_a_bare_string() -> None:
    with pytest.raises(TypeError):
        decide_provision("94", "総社市長", "LEVY", TODAY, IN_SCOPE)


# ---------------------------------------------------------------------------------------------------
# A registry with an ended entry and one without automatic response (monkeypatched)
# ---------------------------------------------------------------------------------------------------

SMALL = """
[[citations.PROVISION]]
valid_from = 2016-01-01
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

[[entries]]
direction = "PROVISION"
item = "95"
counterparty = "厚生労働大臣又は共済組合等"
purpose = "介護保険法による特別徴収の方法による保険料の徴収又は納入に関する事務であって主務省令で定めるもの"
purpose_en = "Special collection."
items = ["LEVY"]
items_reason = "test"
auto_response = true
valid_from = 2020-03-01
valid_to = 2024-12-31
seed = "test"

[[entries]]
direction = "PROVISION"
item = "26"
counterparty = "都道府県知事等"
purpose = "生活保護法による保護の決定及び実施又は徴収金の徴収に関する事務であって主務省令で定めるもの"
purpose_en = "Public assistance."
items = ["LEVY"]
items_reason = "test"
auto_response = false
valid_from = 2016-01-01
seed = "test"

[[entries]]
direction = "TRANSFER"
item = "62"
counterparty = "fukushi_engo"
purpose = "老人福祉法による費用の徴収に関する事務"
purpose_en = "Cost collection."
items = ["LEVY", "COPAY_RATIO"]
items_reason = "test"
valid_from = 2016-01-01
valid_to = 2025-03-31
seed = "test"
"""


@pytest.fixture
def small_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[legal_bases.Registry]:
    reg = legal_bases.load_registry(SMALL)
    monkeypatch.setattr(legal_bases, "registry", lambda: reg)
    yield reg


@pytest.mark.usefixtures("small_registry")
def test_provision_valid_to_edges() -> None:
    end = date(2024, 12, 31)
    assert decide_provision("95", "国家公務員共済組合連合会", ["LEVY"], end, IN_SCOPE).code == "PROVIDED"
    _denied(
        decide_provision("95", "国家公務員共済組合連合会", ["LEVY"], end + DAY, IN_SCOPE),
        "BASIS_NOT_IN_FORCE",
    )
    assert (
        decide_provision("95", "国家公務員共済組合連合会", ["LEVY"], date(2020, 3, 1), IN_SCOPE).code
        == "PROVIDED"
    )
    _denied(
        decide_provision("95", "国家公務員共済組合連合会", ["LEVY"], date(2020, 2, 29), IN_SCOPE),
        "BASIS_NOT_IN_FORCE",
    )


@pytest.mark.usefixtures("small_registry")
def test_provision_without_automatic_response_waits_for_staff() -> None:
    decision = decide_provision("26", "都道府県知事等", ["LEVY"], TODAY, IN_SCOPE)
    _denied(decision, "COUNTERPARTY_MISMATCH")  # a category, not a body
    decision = decide_provision("26", "岡山県知事", ["LEVY"], TODAY, IN_SCOPE)
    assert (decision.allowed, decision.code, decision.needs_review) == (True, "PENDING_REVIEW", True)
    assert "自動応答" in decision.reason_ja and "automatic response" in decision.reason_en


@pytest.mark.usefixtures("small_registry")
def test_transfer_basis_valid_to_edges() -> None:
    end = date(2025, 3, 31)
    permission = TransferPermissionFacts(
        "fukushi_engo", "62", frozenset({"LEVY"}), date(2024, 1, 1), None, True
    )
    assert decide_transfer(permission, "fukushi_engo", ["LEVY"], end).code == "TRANSFERRED"
    _denied(decide_transfer(permission, "fukushi_engo", ["LEVY"], end + DAY), "BASIS_NOT_IN_FORCE")
    # a permission cannot outlast its legal basis
    request = decide_transfer_request(
        "fukushi_engo", "62", ["LEVY"], valid_from=end - 10 * DAY, valid_to=end, on=date(2024, 3, 1)
    )
    assert request.code == "PENDING_REVIEW"
    for valid_to in (end + DAY, end + 2 * DAY):
        request = decide_transfer_request(
            "fukushi_engo",
            "62",
            ["LEVY"],
            valid_from=end - 10 * DAY,
            valid_to=valid_to,
            on=date(2024, 3, 1),
        )
        _denied(request, "BASIS_NOT_IN_FORCE")
        assert str(end + DAY) in request.reason_en


# ---------------------------------------------------------------------------------------------------
# Transfer — every transfer entry in force today
# ---------------------------------------------------------------------------------------------------


def _other_department(row: LegalBasis) -> str:
    return next(d for d in departments() if d != row.counterparty)


@pytest.mark.parametrize("row", TRANSFERS, ids=_ids(TRANSFERS))
def test_transfer_request_allowed_for_its_department(row: LegalBasis) -> None:
    for name in (row.counterparty, departments()[row.counterparty].ja):
        decision = decide_transfer_request(
            name,
            row.item,
            sorted(row.items),
            valid_from=TODAY,
            valid_to=TODAY + timedelta(days=30),
            on=TODAY,
        )
        assert (decision.allowed, decision.code, decision.needs_review) == (True, "PENDING_REVIEW", True)
        assert decision.basis == row
        assert "承認" in decision.reason_ja
    decision = decide_transfer_request(
        row.counterparty,
        row.item,
        sorted(row.items),
        valid_from=TODAY,
        valid_to=None,
        on=TODAY,
        purpose="台帳作成",
    )
    _denied(decision, "PERIOD_TOO_LONG")  # one permission per request: bounded


@pytest.mark.parametrize("row", TRANSFERS, ids=_ids(TRANSFERS))
def test_transfer_request_denied_for_each_wrong_field(row: LegalBasis) -> None:
    dept, items = row.counterparty, sorted(row.items)

    def request(department: str, item: str, items: list[str]) -> Decision:
        return decide_transfer_request(
            department, item, items, valid_from=TODAY, valid_to=TODAY + 30 * DAY, on=TODAY
        )

    _denied(request(_other_department(row), row.item, items), "COUNTERPARTY_MISMATCH")
    _denied(request("somewhere", row.item, items), "COUNTERPARTY_MISMATCH")
    _denied(request(dept, "94", items), "UNKNOWN_BASIS")  # a provision item only
    decision = request(dept, row.item, [*items, _unpermitted(row)])
    _denied(decision, "ITEM_NOT_PERMITTED")
    _denied(request(dept, row.item, ["INDIVIDUAL_NUMBER"]), "ITEM_NOT_PERMITTED")
    _denied(request(dept, row.item, []), "NO_ITEMS_REQUESTED")
    decision = decide_transfer_request(
        dept, row.item, items, valid_from=TODAY, valid_to=TODAY - DAY, on=TODAY
    )
    _denied(decision, "INVALID_PERIOD")
    same_day = decide_transfer_request(dept, row.item, items, valid_from=TODAY, valid_to=TODAY, on=TODAY)
    assert same_day.allowed
    start, month = row.entry_valid_from, 30 * DAY
    _denied(
        decide_transfer_request(
            dept, row.item, items, valid_from=start, valid_to=start + month, on=start - DAY
        ),
        "BASIS_NOT_IN_FORCE",
    )
    assert decide_transfer_request(
        dept, row.item, items, valid_from=start, valid_to=start + month, on=start
    ).allowed
    _denied(
        decide_transfer_request(
            dept, row.item, items, valid_from=start - DAY, valid_to=start + DAY, on=TODAY
        ),
        "BASIS_NOT_IN_FORCE",
    )
    _denied(  # 31 days at most (procedures.toml)
        decide_transfer_request(dept, row.item, items, valid_from=TODAY, valid_to=TODAY + 31 * DAY, on=TODAY),
        "PERIOD_TOO_LONG",
    )


@pytest.mark.parametrize("row", TRANSFERS, ids=_ids(TRANSFERS))
def test_transfer_at_transfer_time(row: LegalBasis) -> None:
    start, end = TODAY - timedelta(days=10), TODAY + timedelta(days=10)
    granted = frozenset(sorted(row.items)[:1])
    permission = TransferPermissionFacts(row.counterparty, row.item, granted, start, end, approved=True)
    dept, items = row.counterparty, sorted(granted)

    for on in (start, TODAY, end):
        decision = decide_transfer(permission, dept, items, on)
        assert (decision.allowed, decision.code, decision.needs_review) == (True, "TRANSFERRED", False)
        assert decision.basis is not None and decision.basis.stem == row.stem
    assert decide_transfer(permission, departments()[dept].ja, items, TODAY).allowed
    _denied(decide_transfer(permission, dept, items, start - DAY), "PERMISSION_NOT_YET_VALID")
    _denied(decide_transfer(permission, dept, items, end + DAY), "PERMISSION_EXPIRED")
    not_approved = TransferPermissionFacts(dept, row.item, granted, start, end, approved=False)
    _denied(decide_transfer(not_approved, dept, items, TODAY), "PERMISSION_NOT_APPROVED")
    _denied(decide_transfer(permission, _other_department(row), items, TODAY), "COUNTERPARTY_MISMATCH")
    _denied(decide_transfer(permission, "somewhere", items, TODAY), "COUNTERPARTY_MISMATCH")
    if row.items - granted:  # permitted by the basis but not granted by this permission
        _denied(decide_transfer(permission, dept, sorted(row.items), TODAY), "ITEM_NOT_PERMITTED")
    _denied(decide_transfer(permission, dept, [], TODAY), "NO_ITEMS_REQUESTED")
    # a permission wider than its basis grants no more than the basis
    wide = TransferPermissionFacts(dept, row.item, row.items | {_unpermitted(row)}, start, end, True)
    _denied(decide_transfer(wide, dept, [_unpermitted(row)], TODAY), "ITEM_NOT_PERMITTED")
    # a permission recorded for another department than the basis names
    stray = TransferPermissionFacts(_other_department(row), row.item, granted, start, end, True)
    _denied(decide_transfer(stray, _other_department(row), items, TODAY), "COUNTERPARTY_MISMATCH")
    # a permission naming an item that has no transfer basis, or the basis not yet in force
    unknown = TransferPermissionFacts(dept, "94", granted, start, end, True)
    _denied(decide_transfer(unknown, dept, items, TODAY), "UNKNOWN_BASIS")
    early = TransferPermissionFacts(dept, row.item, granted, date(2015, 1, 1), None, True)
    _denied(decide_transfer(early, dept, items, row.entry_valid_from - DAY), "BASIS_NOT_IN_FORCE")
    assert decide_transfer(early, dept, items, row.entry_valid_from).allowed


def test_open_ended_permission() -> None:
    permission = TransferPermissionFacts(
        "bosai_kiki_kanri", "56-2", frozenset({"CERTIFICATION"}), TODAY, None, True
    )
    assert decide_transfer(
        permission, "防災危機管理室", ["CERTIFICATION"], TODAY + timedelta(days=3650)
    ).allowed


# ---------------------------------------------------------------------------------------------------
# Inquiry and use
# ---------------------------------------------------------------------------------------------------


PROVIDER = {"93": "全国健康保険協会", "94": "総社市長"}


@pytest.mark.parametrize("row", INQUIRIES, ids=_ids(INQUIRIES))
def test_inquiry(row: LegalBasis) -> None:
    body = PROVIDER[row.item]
    items = sorted(i for i in row.items if row.provides(body, i))
    decision = decide_inquiry(row.item, body, items, "PERMIT-0001", TODAY)
    assert (decision.allowed, decision.code) == (True, "INQUIRY_ALLOWED")
    assert decision.basis == row
    for permit in (None, "", "   "):
        _denied(decide_inquiry(row.item, body, items, permit, TODAY), "PERMIT_REQUIRED")
    _denied(
        decide_inquiry(row.item, body, [*items, "INDIVIDUAL_NUMBER"], "PERMIT-0001", TODAY),
        "ITEM_NOT_PERMITTED",
    )
    _denied(decide_inquiry(row.item, body, [], "PERMIT-0001", TODAY), "NO_ITEMS_REQUESTED")
    for stranger in ("どこでもよい団体", "市町村長", "倉敷市長"):
        _denied(decide_inquiry(row.item, stranger, items, "PERMIT-0001", TODAY), "COUNTERPARTY_MISMATCH")
    start = row.entry_valid_from
    assert decide_inquiry(row.item, body, items, "PERMIT-0001", start).allowed
    _denied(decide_inquiry(row.item, body, items, "PERMIT-0001", start - DAY), "BASIS_NOT_IN_FORCE")
    assert decide_inquiry(row.item, body, items, "P", date(2021, 6, 1)).basis.article == "第19条第7号"  # type: ignore[union-attr]


def test_inquiry_only_under_93_and_94() -> None:
    for item in ("95", "26", "68", "999"):
        _denied(decide_inquiry(item, "総社市長", ["LEVY"], "PERMIT-0001", TODAY), "UNKNOWN_BASIS")
    _denied(decide_inquiry("93", "全国健康保険協会", ["LEVY"], "PERMIT-0001", TODAY), "ITEM_NOT_PERMITTED")
    assert decide_inquiry("94", "総社市長", ["LEVY"], "PERMIT-0001", TODAY).allowed


def test_inquiry_items_come_from_their_providers() -> None:
    """別添1 / II-3-①: local tax from another municipality, pensions from the pension payers."""
    assert decide_inquiry("94", "総社市長", ["LOCAL_TAX"], "P-1", TODAY).allowed
    assert decide_inquiry("94", "日本年金機構", ["PENSION"], "P-1", TODAY).allowed
    assert decide_inquiry("94", "岡山県知事", ["PUBLIC_ASSISTANCE"], "P-1", TODAY).allowed
    _denied(decide_inquiry("94", "日本年金機構", ["LOCAL_TAX"], "P-1", TODAY), "ITEM_NOT_PERMITTED")
    _denied(decide_inquiry("94", "総社市長", ["PENSION"], "P-1", TODAY), "ITEM_NOT_PERMITTED")
    _denied(
        decide_inquiry("93", "どこでもよい団体", ["MEDICAL_INSURANCE"], "P-1", TODAY), "COUNTERPARTY_MISMATCH"
    )


@pytest.mark.parametrize("row", USES, ids=_ids(USES))
def test_use(row: LegalBasis) -> None:
    decision = decide_use(row.item, TODAY)
    assert (decision.allowed, decision.code) == (True, "USE_ALLOWED")
    assert "第9条第1項" in decision.reason_ja
    assert decide_use("別表第1 68", row.entry_valid_from).allowed
    _denied(decide_use(row.item, row.entry_valid_from - DAY), "BASIS_NOT_IN_FORCE")
    _denied(decide_use("67", TODAY), "UNKNOWN_BASIS")
    _denied(decide_use("94", TODAY), "UNKNOWN_BASIS")


# ---------------------------------------------------------------------------------------------------
# The code tables and retention
# ---------------------------------------------------------------------------------------------------


def test_denial_and_allowed_codes() -> None:
    assert set(DENIAL_CODES) == {
        "UNKNOWN_BASIS",
        "BASIS_NOT_IN_FORCE",
        "COUNTERPARTY_MISMATCH",
        "NO_ITEMS_REQUESTED",
        "ITEM_NOT_PERMITTED",
        "SUBJECT_OUT_OF_SCOPE",
        "INVALID_PERIOD",
        "PERMISSION_NOT_APPROVED",
        "PERMISSION_NOT_YET_VALID",
        "PERMISSION_EXPIRED",
        "PERMIT_REQUIRED",
        "SUBJECT_SUSPENDED",
        "PERIOD_TOO_LONG",
        "PERMISSION_ALREADY_USED",
    }
    assert set(ALLOWED_CODES) == {
        "PROVIDED",
        "PENDING_REVIEW",
        "TRANSFERRED",
        "INQUIRY_ALLOWED",
        "USE_ALLOWED",
    }
    assert not set(DENIAL_CODES) & set(ALLOWED_CODES)
    for code, outcome in {**DENIAL_CODES, **ALLOWED_CODES}.items():
        assert outcome.code == code
        assert outcome.ja.endswith("。") and outcome.ja.count("。") == 1, code  # one sentence
        assert outcome.en.endswith(".") and outcome.en.rstrip(".").count(". ") == 0, code


def test_retention() -> None:
    assert RETENTION_YEARS == 7
    today = date(2030, 6, 15)
    assert purge_before(today) == date(2023, 6, 15)
    assert not is_purgeable(date(2023, 6, 15), today)  # exactly seven years old: kept
    assert is_purgeable(date(2023, 6, 14), today)
    # 29 February
    assert purge_before(date(2024, 2, 29)) == date(2017, 3, 1)
    assert is_purgeable(date(2017, 2, 28), date(2024, 2, 29))
    assert not is_purgeable(date(2016, 2, 29), date(2023, 2, 28))
    assert is_purgeable(date(2016, 2, 29), date(2023, 3, 1))
