"""個人番号 (individual number, "My Number"): the law's rules for the number itself.

This module is pure (standard library only, no I/O). It answers three questions:

1. Is a value a well-formed individual number?  A number is exactly 12 ASCII digits ``0``-``9``:
   11 digits of base (基礎番号) followed by one check digit (チェックデジット).  Full-width digits
   (``１２３``), other scripts' digits, spaces and hyphens are not accepted — callers must not
   "helpfully" normalise input, the person typing it has to correct it.
2. Is the check digit right?  See :func:`check_digit`.  A right check digit only means the number
   is well-formed; it does not mean the number was ever issued to anybody.
3. Does some text (a log line, a trace attribute, an error message) contain such a number?  See
   :func:`contains_valid_number` and :func:`find_valid_numbers`, used to drop leaked values.

Handling rule (DOMAIN.md §6): the number must never appear in logs, traces, error messages, URLs or
caches.  Therefore :class:`IndividualNumber` masks itself whenever it is printed, and
:class:`InvalidIndividualNumber` never repeats the value it rejected.  The real digits are only
available through the explicit :meth:`IndividualNumber.reveal`.
"""

from __future__ import annotations

import hmac
import operator
import re
from typing import Any, Final, Literal, NoReturn, final

__all__ = [
    "FIELD",
    "MASK",
    "IndividualNumber",
    "InvalidIndividualNumber",
    "Reason",
    "check_digit",
    "complete",
    "contains_valid_number",
    "find_valid_numbers",
    "is_valid",
    "mask_valid_numbers",
]

FIELD: Final = "individualNumber"
"""Default name of the field an invalid number is reported against (the GraphQL field name)."""

MASK: Final = "*" * 12
"""What a number looks like whenever it is printed."""

BASE_LENGTH: Final = 11

Reason = Literal["FORMAT", "CHECK_DIGIT"]
"""Why a value was rejected: not 12 ASCII digits, or a wrong チェックデジット."""


# ---------------------------------------------------------------------------------------------------
# チェックデジット — the check digit
# ---------------------------------------------------------------------------------------------------


def _weight(n: int) -> int:
    """Qn, the weight of the base digit Pn, where P1 is the rightmost digit of the 11-digit base.

    The law: Qn = n + 1 when 1 ≤ n ≤ 6, and Qn = n − 5 when 7 ≤ n ≤ 11.
    """
    return n + 1 if n <= 6 else n - 5


WEIGHTS: Final[tuple[int, ...]] = tuple(_weight(n) for n in range(BASE_LENGTH, 0, -1))
"""The weights as they line up with the base read left to right: (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)."""

_BASE = re.compile(r"[0-9]{11}")
_NUMBER = re.compile(r"[0-9]{12}")
# A run of exactly 12 ASCII digits: no ASCII digit directly before or after it.
_RUN_OF_12 = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def _fewer_than_12_digits(text: str) -> bool:
    """A cheap first look (about a tenth of the regular expression's time): a text with fewer than 12
    ASCII digits in all cannot hold a number. UTF-8 keeps each ASCII digit one byte."""
    encoded = text.encode("utf-8", "surrogatepass")
    return len(encoded) - len(encoded.translate(None, b"0123456789")) < 12


def check_digit(base11: str) -> int:
    """チェックデジット: the check digit for an 11-digit base (基礎番号).

    Write the base as P11 … P1 from left to right (P1 is the rightmost digit) and weigh each digit
    Pn with Qn (see :data:`WEIGHTS`).  Let r = (Σ Pn × Qn) mod 11.  The check digit is 0 when r is
    0 or 1, and 11 − r otherwise.

    Raises ``ValueError`` unless ``base11`` is exactly 11 ASCII digits (the message does not repeat
    the value).
    """
    if not isinstance(base11, str) or _BASE.fullmatch(base11) is None:
        raise ValueError("base11: not 11 ASCII digits")
    return _check_digit(base11)


def _check_digit(base11: str) -> int:
    """:func:`check_digit` for a base already known to be 11 ASCII digits."""
    r = sum(map(operator.mul, map(int, base11), WEIGHTS)) % 11  # Σ Pn × Qn, mod 11
    return 0 if r <= 1 else 11 - r


def complete(base11: str) -> str:
    """The full 12-digit number for an 11-digit base: the base followed by its check digit."""
    return base11 + str(check_digit(base11))


def is_valid(value: object) -> bool:
    """True when ``value`` is a str of exactly 12 ASCII digits whose last digit is the check digit.

    Anything else — other lengths, full-width or non-Latin digits, spaces, hyphens, ``None``, an
    ``int`` — is simply ``False``; this function never raises.
    """
    return _problem(value) is None


def _problem(value: object) -> Reason | None:
    """Why ``value`` is not a valid individual number, or None when it is."""
    if not isinstance(value, str) or _NUMBER.fullmatch(value) is None:
        return "FORMAT"
    if _check_digit(value[:BASE_LENGTH]) != int(value[BASE_LENGTH]):
        return "CHECK_DIGIT"
    return None


# ---------------------------------------------------------------------------------------------------
# Errors that never repeat the value
# ---------------------------------------------------------------------------------------------------

_MESSAGES: Final[dict[str, str]] = {
    "FORMAT": "not 12 ASCII digits",
    "CHECK_DIGIT": "check digit does not match",
}


class InvalidIndividualNumber(ValueError):
    """An offered individual number was rejected.

    ``reason`` is machine-readable: ``"FORMAT"`` (not exactly 12 ASCII digits) or ``"CHECK_DIGIT"``
    (well-formed but the チェックデジット is wrong).  ``field`` names the input field it came from.
    The message, ``repr`` and ``args`` hold only the field and the reason — never the value.
    """

    reason: Reason
    field: str

    def __init__(self, reason: Reason, field: str = FIELD) -> None:
        if reason not in _MESSAGES:
            raise ValueError("unknown reason (expected FORMAT or CHECK_DIGIT)")
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {_MESSAGES[reason]}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Default exception pickling would call cls(message); rebuild from reason and field instead.
        return (type(self), (self.reason, self.field))


# ---------------------------------------------------------------------------------------------------
# The value object
# ---------------------------------------------------------------------------------------------------


@final
class IndividualNumber:
    """個人番号 — a validated individual number that masks itself whenever it is printed.

    Build it with :meth:`parse` (or the constructor, which does the same checks); an invalid value
    raises :class:`InvalidIndividualNumber`.  ``str()``, ``repr()``, ``format()`` and f-strings
    show only asterisks, so a number inside a list, dict, dataclass or exception message stays
    hidden.  The digits are only available through :meth:`reveal` — call it exactly where the law
    allows the number to be used (encryption, the blind index, an authorised response).

    Instances are immutable, compare and hash by value, and cannot be pickled (pickles end up in
    caches and queues, where the number must never be stored in the clear).
    """

    __slots__ = ("_digits",)
    _digits: str

    def __init__(self, value: object, field: str = FIELD) -> None:
        problem = _problem(value)
        if problem is not None or not isinstance(value, str):
            raise InvalidIndividualNumber(problem or "FORMAT", field)
        # Keep a plain str even when given a str subclass (whose methods could print differently).
        object.__setattr__(self, "_digits", value.encode("ascii").decode("ascii"))

    @classmethod
    def parse(cls, value: object, field: str = FIELD) -> IndividualNumber:
        """Validate ``value`` and wrap it; raises :class:`InvalidIndividualNumber` (value not shown)."""
        if isinstance(value, IndividualNumber):
            return value
        return cls(value, field)

    def reveal(self) -> str:
        """The 12 digits in the clear.  Only call this where the number may lawfully be used."""
        return self._digits

    # -- masking -----------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return "IndividualNumber(****)"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return format(MASK, format_spec)

    # -- value semantics ---------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IndividualNumber):
            return NotImplemented
        return hmac.compare_digest(self._digits, other._digits)

    def __hash__(self) -> int:
        return hash((IndividualNumber, self._digits))

    # -- immutability ------------------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("IndividualNumber is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("IndividualNumber is immutable")

    def __copy__(self) -> IndividualNumber:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> IndividualNumber:
        return self

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("IndividualNumber cannot be pickled; store it encrypted (persistence.crypto)")

    def __reduce__(self) -> NoReturn:
        raise TypeError("IndividualNumber cannot be pickled; store it encrypted (persistence.crypto)")


# ---------------------------------------------------------------------------------------------------
# Finding numbers in free text (for log filters and span processors)
# ---------------------------------------------------------------------------------------------------


def find_valid_numbers(text: str) -> list[str]:
    """Every valid individual number in ``text``, in order of appearance (repeats included).

    A candidate is a run of exactly 12 ASCII digits: a 12-digit stretch inside a longer run of
    digits (a 13-digit account number, a timestamp) is not a candidate.  Letters, punctuation,
    spaces and non-ASCII characters (including full-width digits) all end a run.  Only candidates
    with a right check digit are returned.  Numbers written with separators ("1234 5678 9018") are
    not found.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if _fewer_than_12_digits(text):
        return []
    return [m for m in _RUN_OF_12.findall(text) if _problem(m) is None]


def contains_valid_number(text: str) -> bool:
    """True when ``text`` contains at least one valid individual number (see :func:`find_valid_numbers`).

    Cheap for the common case: text with fewer than 12 digits costs one byte translation.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if _fewer_than_12_digits(text):
        return False
    return any(_problem(m.group()) is None for m in _RUN_OF_12.finditer(text))


def mask_valid_numbers(text: str, mask: str = MASK) -> str:
    """``text`` with every valid individual number (as :func:`find_valid_numbers` finds them) masked."""
    if _fewer_than_12_digits(text) or not _RUN_OF_12.search(text):
        return text
    return _RUN_OF_12.sub(lambda m: mask if _problem(m.group()) is None else m.group(), text)
