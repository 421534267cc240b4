"""The law of 資格 as policies/insured.py and policies/resident_changes.py hold it: ages, the days of
acquisition and loss, 住所地特例, and the register's change as received. Pure: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.insured import (
    Insured,
    age_arrival,
    age_on,
    effect_of,
    reaches_age,
    refusal,
    rules,
    status_after,
)
from policies.resident_changes import InvalidChange, parse_change

D = dt.date
KINDS = rules().kinds
INSURED = Insured("1", D(2010, 4, 1), None, False)


@pytest.mark.parametrize(
    ("birth", "age", "day"),
    [
        (D(1961, 4, 1), 65, D(2026, 3, 31)),
        (D(1961, 4, 2), 65, D(2026, 4, 1)),
        (D(1960, 2, 29), 65, D(2025, 2, 28)),  # a common year: the eve of 1 March
        (D(1960, 2, 29), 64, D(2024, 2, 28)),  # a leap year: the eve of 29 February
        (D(1961, 1, 1), 65, D(2025, 12, 31)),
    ],
)
def test_one_reaches_an_age_on_the_eve_of_the_birthday(birth: dt.date, age: int, day: dt.date) -> None:
    assert reaches_age(birth, age) == day
    assert age_on(birth, day) == age
    assert age_on(birth, day - dt.timedelta(days=1)) == age - 1


def test_first_category_is_65_from_the_data_file() -> None:
    assert rules().first_category_age == 65 and rules().second_category_from_age == 40


def test_moving_in_at_65_or_more_acquires_on_the_day() -> None:
    birth = D(1961, 11, 20)  # reaches 65 on 2026-11-19
    assert (
        effect_of(
            KINDS["MOVE_IN"], birth=birth, moved_on=D(2026, 11, 19), insured=None, facility=False
        ).action
        == "ACQUIRE"
    )
    effect = effect_of(KINDS["MOVE_IN"], birth=birth, moved_on=D(2026, 11, 25), insured=None, facility=False)
    assert (effect.action, effect.on, effect.reason, effect.category) == (
        "ACQUIRE",
        D(2026, 11, 25),
        "12",
        "1",
    )
    younger = effect_of(KINDS["MOVE_IN"], birth=birth, moved_on=D(2026, 11, 18), insured=None, facility=False)
    assert (younger.action, younger.note) == ("NONE", "UNDER_FIRST_CATEGORY_AGE")


def test_moving_in_into_a_facility_leaves_the_person_insured_elsewhere() -> None:
    effect = effect_of(
        KINDS["MOVE_IN"], birth=D(1940, 1, 1), moved_on=D(2026, 11, 2), insured=None, facility=True
    )
    assert (effect.action, effect.note) == ("NONE", "DOMICILE_EXCEPTION_OF_ANOTHER_INSURER")


def test_loss_is_the_day_after_moving_out_or_death() -> None:
    out = effect_of(
        KINDS["MOVE_OUT"], birth=D(1940, 1, 1), moved_on=D(2026, 11, 30), insured=INSURED, facility=False
    )
    assert (out.action, out.on, out.reason) == ("LOSE", D(2026, 12, 1), "22")
    died = effect_of(
        KINDS["DEATH"], birth=D(1940, 1, 1), moved_on=D(2026, 12, 31), insured=INSURED, facility=False
    )
    assert (died.action, died.on, died.reason) == ("LOSE", D(2027, 1, 1), "21")
    lost = Insured("1", D(2010, 4, 1), D(2020, 1, 1), False)
    assert (
        effect_of(
            KINDS["DEATH"], birth=D(1940, 1, 1), moved_on=D(2026, 1, 1), insured=lost, facility=False
        ).action
        == "NONE"
    )


def test_moving_out_into_a_facility_keeps_the_person_insured_here() -> None:
    start = effect_of(
        KINDS["MOVE_OUT"], birth=D(1940, 1, 1), moved_on=D(2026, 11, 9), insured=INSURED, facility=True
    )
    assert (start.action, start.on, start.reason) == ("DOMICILE_EXCEPTION_START", D(2026, 11, 10), "33")
    kept = Insured("1", D(2010, 4, 1), None, True)
    again = effect_of(
        KINDS["MOVE_OUT"], birth=D(1940, 1, 1), moved_on=D(2026, 11, 9), insured=kept, facility=False
    )
    assert (again.action, again.note) == ("NONE", "DOMICILE_EXCEPTION_KEPT")
    assert status_after(KINDS["MOVE_OUT"], current="1", foreign=False, effect=start) == "5"
    lose = effect_of(
        KINDS["MOVE_OUT"], birth=D(1940, 1, 1), moved_on=D(2026, 11, 9), insured=INSURED, facility=False
    )
    assert status_after(KINDS["MOVE_OUT"], current="1", foreign=False, effect=lose) == "3"


def test_other_changes_leave_the_qualification_or_note_the_address() -> None:
    within = effect_of(
        KINDS["MOVE_WITHIN"], birth=D(1940, 1, 1), moved_on=D(2026, 1, 5), insured=INSURED, facility=False
    )
    assert (within.action, within.reason) == ("ADDRESS_CHANGE", "32")
    for name in ("HOUSEHOLD_CHANGE", "NAME_CHANGE", "RESIDENCE_CHANGE", "BIRTH"):
        assert (
            effect_of(
                KINDS[name], birth=D(1940, 1, 1), moved_on=D(2026, 1, 5), insured=INSURED, facility=False
            ).action
            == "NONE"
        )


@pytest.mark.parametrize(
    ("kind", "status", "last", "refused"),
    [
        ("MOVE_OUT", None, None, "UNKNOWN_PERSON"),
        ("MOVE_IN", None, None, None),
        ("BIRTH", "1", None, "ALREADY_KNOWN"),
        ("MOVE_IN", "1", None, "ALREADY_RESIDENT"),
        ("MOVE_IN", "3", D(2020, 1, 1), None),  # came back
        ("MOVE_WITHIN", "3", None, "NOT_RESIDENT"),
        ("DEATH", "4", None, "DECEASED"),
        ("MOVE_IN", "4", None, "DECEASED"),
        ("MOVE_WITHIN", "1", D(2026, 11, 2), "OUT_OF_ORDER"),
        ("MOVE_WITHIN", "1", D(2026, 11, 1), None),
        ("NAME_CHANGE", "2", None, None),
    ],
)
def test_what_staff_must_look_at(
    kind: str, status: str | None, last: dt.date | None, refused: str | None
) -> None:
    assert refusal(KINDS[kind], status=status, last_moved_on=last, moved_on=D(2026, 11, 1)) == refused


def test_age_arrival() -> None:
    birth = D(1961, 11, 20)  # reaches 65 on 2026-11-19
    assert age_arrival(birth, on=D(2026, 11, 18), insured=None, resident_since=None).action == "NONE"
    arrived = age_arrival(birth, on=D(2026, 11, 30), insured=None, resident_since=D(1990, 1, 1))
    assert (arrived.action, arrived.on, arrived.reason) == ("ACQUIRE", D(2026, 11, 19), "11")
    came_later = age_arrival(birth, on=D(2026, 11, 30), insured=None, resident_since=D(2026, 11, 25))
    assert (came_later.on, came_later.reason) == (D(2026, 11, 25), "12")
    second = Insured("2", D(2005, 4, 1), None, False)
    turned = age_arrival(birth, on=D(2026, 11, 30), insured=second, resident_since=None)
    assert (turned.action, turned.on, turned.reason, turned.category) == (
        "CATEGORY_CHANGE",
        D(2026, 11, 19),
        "31",
        "1",
    )
    assert age_arrival(birth, on=D(2026, 11, 30), insured=INSURED, resident_since=None).action == "NONE"


def _line(**over: str) -> dict[str, str]:
    return {
        "kind": "転居",
        "moved_on": "2026-11-05",
        "addressee_code": "1000000001",
        "postal_code": "710-0001",
        "address_code": "33202001",
        "address": "倉敷市本町1-1",
        **over,
    }


def test_a_change_is_read_with_its_kind_in_japanese_or_by_name() -> None:
    change = parse_change(_line())
    assert (change.kind.name, change.moved_on, change.get("address")) == (
        "MOVE_WITHIN",
        D(2026, 11, 5),
        "倉敷市本町1-1",
    )
    assert parse_change(_line(kind="MOVE_WITHIN")).kind.name == "MOVE_WITHIN"
    assert parse_change(_line(kind="死亡", address="")).kind.name == "DEATH"
    assert (
        parse_change({**_line(kind="世帯変更"), "household_code": "123", "relationship": "世帯主"}).get(
            "relationship"
        )
        == "01"
    )


@pytest.mark.parametrize(
    ("over", "field", "reason"),
    [
        ({"kind": "引越"}, "kind", "FORMAT"),
        ({"kind": ""}, "kind", "REQUIRED"),
        ({"moved_on": "2026/11/05"}, "moved_on", "FORMAT"),
        ({"moved_on": "2026-02-30"}, "moved_on", "FORMAT"),
        ({"address": ""}, "address", "REQUIRED"),
        ({"address": "x" * 201}, "address", "TOO_LONG"),
        ({"address": "倉敷市 123456789018"}, "address", "FORMAT"),
        (
            {
                "kind": "出生",
                "birth_date": "2026-11-04",
                "household_code": "1",
                "relationship": "03",
                "name": "子",
                "name_kana": "コ",
                "sex": "2",
            },
            "moved_on",
            "OUT_OF_RANGE",
        ),
        ({"name_kana": "やまだ", "kind": "氏名変更", "name": "山田"}, "name_kana", "FORMAT"),
        ({"sex": "3"}, "sex", "FORMAT"),
        ({"secret": "1"}, "secret", "FORMAT"),
    ],
)
def test_an_unreadable_change_names_its_column(over: dict[str, str], field: str, reason: str) -> None:
    with pytest.raises(InvalidChange) as refused:
        parse_change(_line(**over))
    assert (refused.value.field, refused.value.reason) == (field, reason)
    assert "123456789018" not in str(refused.value)
