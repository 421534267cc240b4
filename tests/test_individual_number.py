"""個人番号 rules: check digit (チェックデジット), format, masking, and finding numbers in text."""

from __future__ import annotations

import copy
import logging
import pickle
import random
import string
import traceback
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.individual_number import (
    MASK,
    WEIGHTS,
    IndividualNumber,
    InvalidIndividualNumber,
    check_digit,
    complete,
    contains_valid_number,
    find_valid_numbers,
    is_valid,
)

VALID = ["123456789018", "987654321093", "111111111118"]


def _remainder(base11: str) -> int:
    """r = Σ Pn·Qn mod 11, written independently of the module (P1 = rightmost base digit)."""
    total = 0
    for n in range(1, 12):
        p = int(base11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    return total % 11


def _random_numbers(count: int, seed: int = 20240601) -> list[str]:
    rng = random.Random(seed)
    return [complete(f"{rng.randrange(10**11):011d}") for _ in range(count)]


# ---------------------------------------------------------------------------------------------------
# check digit
# ---------------------------------------------------------------------------------------------------


def test_weights_follow_the_law() -> None:
    assert WEIGHTS == (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


@pytest.mark.parametrize("number", VALID)
def test_documented_examples_are_valid(number: str) -> None:
    assert is_valid(number)
    assert check_digit(number[:11]) == int(number[11])
    assert complete(number[:11]) == number


def test_check_digit_matches_independent_formula() -> None:
    for number in _random_numbers(2000):
        r = _remainder(number[:11])
        assert check_digit(number[:11]) == (0 if r <= 1 else 11 - r)


def test_check_digit_is_zero_for_remainders_zero_and_one() -> None:
    bases = [f"{i:011d}" for i in range(0, 3000, 7)]
    assert {check_digit(b) for b in bases if _remainder(b) <= 1} == {0}
    assert all(check_digit(b) == 11 - _remainder(b) for b in bases if _remainder(b) > 1)


@pytest.mark.parametrize(
    "bad", ["1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１", None, 12345678901]
)
def test_check_digit_rejects_a_malformed_base_without_echoing_it(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        check_digit(bad)  # type: ignore[arg-type]
    assert "1234" not in str(info.value) and "１" not in str(info.value)


@pytest.mark.parametrize("number", VALID)
def test_every_single_digit_change_of_the_examples_is_invalid(number: str) -> None:
    """Exhaustive: all 12 positions x the 9 other digits (108 variants per example)."""
    for position in range(12):
        for digit in string.digits:
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1 :]
            assert not is_valid(changed), (position, digit)


def test_single_digit_changes_are_missed_only_by_the_r_le_1_collapse() -> None:
    """The scheme's one blind spot for single-digit errors.

    Changing one base digit always changes r (weights 2..7 and digit differences 1..9 are never a
    multiple of 11), but r = 0 and r = 1 both give check digit 0.  So a single-digit change goes
    unnoticed exactly when the number's check digit is 0 and r moves between 0 and 1; a change of
    the check digit itself is always caught.  Exhaustive over 500 random valid numbers.
    """
    missed = 0
    for number in _random_numbers(500):
        for position in range(12):
            for digit in string.digits:
                if digit == number[position]:
                    continue
                changed = number[:position] + digit + number[position + 1 :]
                if is_valid(changed):
                    missed += 1
                    assert position < 11
                    assert number[11] == "0"
                    assert {_remainder(number[:11]), _remainder(changed[:11])} == {0, 1}
    assert missed > 0  # the blind spot is real, not hypothetical


def test_adjacent_transpositions_are_mostly_caught() -> None:
    """What is checked: swapping two adjacent *different* digits anywhere in the 12 digits.

    * Inside the 11-digit base a swap changes Σ Pn·Qn by (a−b)(Qi−Qj), never 0 mod 11, so it is
      missed only when r moves between 0 and 1 (both give check digit 0) — asserted per case.
    * Swapping the last base digit with the check digit is caught unless the new base happens to
      have the old last base digit as its check digit.
    * Overall, over 3000 random valid numbers, at least 97 % of such swaps are caught (≈ 98 %).
    """
    total = caught = 0
    for number in _random_numbers(3000):
        for i in range(11):
            a, b = number[i], number[i + 1]
            if a == b:
                continue
            swapped = number[:i] + b + a + number[i + 2 :]
            total += 1
            if not is_valid(swapped):
                caught += 1
            elif i < 10:
                assert {_remainder(number[:11]), _remainder(swapped[:11])} == {0, 1}
            else:
                assert check_digit(swapped[:11]) == int(a)
    assert caught / total >= 0.97


# ---------------------------------------------------------------------------------------------------
# format
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",  # 11 digits
        "1234567890180",  # 13 digits
        "",
        "１２３４５６７８９０１８",  # full-width
        "12345678901８",  # one full-width digit
        " 123456789018",
        "123456789018 ",
        "123456789018\n",
        "1234-5678-9018",
        "1234 5678 9018",
        "١٢٣٤٥٦٧٨٩٠١٨",  # Arabic-Indic digits (str.isdigit() is True for these)
        "۱۲۳۴۵۶۷۸۹۰۱۸",  # Extended Arabic-Indic
        "12345678901²",  # superscript two: isdigit() True, int() fails
        "+23456789018",
        "-23456789018",
        None,
        123456789018,
        12345678901.8,
        b"123456789018",
        ["123456789018"],
    ],
)
def test_malformed_values_are_false_not_exceptions(value: object) -> None:
    assert is_valid(value) is False
    with pytest.raises(InvalidIndividualNumber) as info:
        IndividualNumber.parse(value)
    assert info.value.reason == "FORMAT"


def test_arabic_indic_digits_would_fool_isdigit() -> None:
    assert "١٢٣٤٥٦٧٨٩٠١٨".isdigit()  # the trap the module must avoid
    assert not is_valid("١٢٣٤٥٦٧٨٩٠١٨")


def test_wrong_check_digit_has_reason_check_digit() -> None:
    with pytest.raises(InvalidIndividualNumber) as info:
        IndividualNumber.parse("123456789019")
    assert info.value.reason == "CHECK_DIGIT"
    assert info.value.field == "individualNumber"
    assert isinstance(info.value, ValueError)


def test_field_name_is_carried() -> None:
    with pytest.raises(InvalidIndividualNumber) as info:
        IndividualNumber.parse("12", field="spouseNumber")
    assert info.value.field == "spouseNumber"
    assert str(info.value) == "spouseNumber: not 12 ASCII digits"


# ---------------------------------------------------------------------------------------------------
# error messages never contain the value
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "reason"),
    [("123456789019", "CHECK_DIGIT"), ("98765432109", "FORMAT"), ("１２３４５６７８９０１８", "FORMAT")],
)
def test_exception_text_never_contains_the_value(offered: str, reason: str) -> None:
    try:
        IndividualNumber.parse(offered)  # the value is in a variable, so the source line is clean
    except InvalidIndividualNumber as exc:
        error = exc
    else:
        pytest.fail("no exception")
    assert error.reason == reason
    texts = [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        "".join(traceback.format_exception_only(error)),
        f"{error!r} {error.args!r}",
    ]
    for text in texts:
        assert offered not in text
        assert offered[:6] not in text and offered[-6:] not in text
    assert error.__cause__ is None and error.__context__ is None
    expected = "check digit does not match" if reason == "CHECK_DIGIT" else "not 12 ASCII digits"
    assert str(error) == f"individualNumber: {expected}"


def test_exception_survives_pickling_without_the_value() -> None:
    error = InvalidIndividualNumber("CHECK_DIGIT", field="x")
    again = pickle.loads(pickle.dumps(error))
    assert (again.reason, again.field, str(again)) == ("CHECK_DIGIT", "x", str(error))


def test_logging_an_exception_does_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    offered = "987654321094"
    with caplog.at_level(logging.ERROR):
        try:
            IndividualNumber.parse(offered)
        except InvalidIndividualNumber:
            logging.getLogger("test").exception("rejected")
    assert "check digit" in caplog.text
    assert offered not in caplog.text


# ---------------------------------------------------------------------------------------------------
# masking
# ---------------------------------------------------------------------------------------------------


def test_masking_everywhere() -> None:
    digits = "987654321093"
    number = IndividualNumber.parse(digits)
    shown = [
        repr(number),
        str(number),
        format(number),
        format(number, ">20"),
        f"{number}",
        f"{number!r}",
        f"{number!s}",
        f"{number:^30}",
        "%s %r" % (number, number),  # noqa: UP031 — old-style formatting must be masked too
        "{} {!r}".format(number, number),  # noqa: UP032
        repr([number, number]),
        str([number]),
        repr({"n": number}),
        repr({number: 1}),
        repr((number,)),
        repr({number}),
    ]
    for text in shown:
        assert digits not in text
        assert "9876" not in text and "1093" not in text
    assert repr(number) == "IndividualNumber(****)"
    assert str(number) == MASK == "************"
    assert number.reveal() == digits


def test_masked_inside_a_dataclass_repr() -> None:
    @dataclass(frozen=True)
    class Person:
        name: str
        number: IndividualNumber

    person = Person("山田太郎", IndividualNumber.parse("123456789018"))
    assert "123456789018" not in repr(person)


def test_masked_in_logging_args(caplog: pytest.LogCaptureFixture) -> None:
    number = IndividualNumber.parse("111111111118")
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("number %s / %r", number, number)
    assert "111111111118" not in caplog.text


def test_value_semantics() -> None:
    a = IndividualNumber.parse("123456789018")
    b = IndividualNumber("123456789018")
    c = IndividualNumber.parse("987654321093")
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert a != "123456789018"  # never equal to the bare string
    assert len({a, b, c}) == 2
    assert IndividualNumber.parse(a) is a
    assert copy.copy(a) is a and copy.deepcopy([a])[0] is a


def test_immutable() -> None:
    number = IndividualNumber.parse("123456789018")
    with pytest.raises(AttributeError):
        number._digits = "987654321093"
    with pytest.raises(AttributeError):
        del number._digits
    with pytest.raises(AttributeError):
        number.other = 1
    assert number.reveal() == "123456789018"
    assert not hasattr(number, "__dict__")


def test_str_subclass_is_stored_as_plain_str() -> None:
    class Loud(str):
        def __str__(self) -> str:
            return "loud"

    number = IndividualNumber.parse(Loud("123456789018"))
    assert type(number.reveal()) is str


def test_not_picklable() -> None:
    number = IndividualNumber.parse("123456789018")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError) as info:
            pickle.dumps(number, protocol=protocol)
        assert "123456789018" not in str(info.value)


# ---------------------------------------------------------------------------------------------------
# finding numbers in text
# ---------------------------------------------------------------------------------------------------


def test_find_at_edges_and_alone() -> None:
    assert find_valid_numbers("123456789018") == ["123456789018"]
    assert find_valid_numbers("123456789018 is mine") == ["123456789018"]
    assert find_valid_numbers("mine is 123456789018") == ["123456789018"]
    assert find_valid_numbers("id=123456789018&x=1") == ["123456789018"]
    assert find_valid_numbers("番号123456789018です") == ["123456789018"]
    assert find_valid_numbers("a\n123456789018\n") == ["123456789018"]


def test_find_multiple_in_order_with_repeats() -> None:
    text = "987654321093, 123456789018; 111111111118 / 987654321093"
    assert find_valid_numbers(text) == ["987654321093", "123456789018", "111111111118", "987654321093"]
    assert find_valid_numbers("123456789018987654321093") == []  # one 24-digit run
    assert find_valid_numbers("123456789018a987654321093") == ["123456789018", "987654321093"]


def test_runs_of_other_lengths_do_not_match() -> None:
    for text in [
        "1234567890180",  # valid number + trailing digit
        "0123456789018",  # leading digit + valid number
        "00123456789018000",
        "x1234567890180y",
        "2024060112345678901800",
        "12345678901",
    ]:
        assert find_valid_numbers(text) == [], text
        assert not contains_valid_number(text), text


def test_wrong_check_digit_is_not_reported() -> None:
    assert find_valid_numbers("call 123456789019 now") == []
    assert not contains_valid_number("call 123456789019 now")


def test_full_width_neighbours_end_a_run() -> None:
    # Only ASCII digits form a run; a full-width digit next to a number does not hide it.
    assert find_valid_numbers("１123456789018２") == ["123456789018"]
    assert find_valid_numbers("１２３４５６７８９０１８") == []


def test_contains_valid_number() -> None:
    assert contains_valid_number("trace attr: 111111111118")
    assert not contains_valid_number("")
    assert not contains_valid_number("no digits at all")
    assert not contains_valid_number("timestamp 20240601123045 and count 123")


def test_scanner_handles_large_text() -> None:
    text = ("INFO request handled in 12 ms, trace 0af7651916cd43dd8448eb211c80319c " * 20000) + "x"
    assert not contains_valid_number(text)
    long_run = "7" * 100_000
    assert find_valid_numbers(long_run) == []
    assert find_valid_numbers(long_run + " 123456789018") == ["123456789018"]


def test_scanner_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        contains_valid_number(b"123456789018")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        find_valid_numbers(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------------

bases = st.text(alphabet="0123456789", min_size=11, max_size=11)


@given(bases)
def test_complete_is_always_valid_and_no_other_last_digit_is(base: str) -> None:
    number = complete(base)
    assert len(number) == 12 and number.startswith(base)
    assert is_valid(number)
    assert IndividualNumber.parse(number).reveal() == number
    for digit in string.digits:
        if digit != number[-1]:
            assert not is_valid(base + digit)


@given(bases, st.text(alphabet=st.characters(exclude_categories=["Nd"]), max_size=5))
def test_a_completed_number_is_found_between_non_digits(base: str, filler: str) -> None:
    number = complete(base)
    assert find_valid_numbers(filler + number + filler) == [number]
    assert contains_valid_number(filler + number + filler)


def test_mask_valid_numbers() -> None:
    from policies.individual_number import mask_valid_numbers

    assert mask_valid_numbers("a 123456789018 b 123456789019 c") == "a ************ b 123456789019 c"
    assert mask_valid_numbers("1234567890181") == "1234567890181"  # part of a longer run
    assert mask_valid_numbers("no digits") == "no digits"
