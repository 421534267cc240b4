"""The parts every area of the synthetic city shares: seeded random streams, identifier bijections,
the households and certification cases under construction, and the generator's state."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from datetime import date, time, timedelta, timezone
from itertools import accumulate
from typing import Any, TypeVar

from persistence.crypto import NumberVault

from . import names as N
from . import places as P

T_ = TypeVar("T_")
Row = tuple[Any, ...]
Batch = dict[str, list[Row]]

JST = timezone(timedelta(hours=9))
NINE_AM_JST = time(9, tzinfo=JST)  # created_at of seeded rows: 9:00 on the day of the first record
LTCI_START = date(2000, 4, 1)  # 介護保険法 施行日
FOREIGN_REGISTER_START = date(2012, 7, 9)  # foreign residents entered the resident register


class Rng(random.Random):
    """``random.Random`` with the few cheap helpers the generator uses."""

    def chance(self, p: float) -> bool:
        return self.random() < p

    def between(self, low: int, high: int) -> int:
        """Uniform integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, seq: Sequence[T_]) -> T_:
        return seq[int(self.random() * len(seq))]

    def weighted(self, cumulative: Sequence[float]) -> int:
        """Index drawn with the weights whose running totals are ``cumulative``."""
        return bisect(cumulative, self.random() * cumulative[-1])

    def day_between(self, low: date, high: date) -> date:
        span = (high - low).days
        return low if span <= 0 else low + timedelta(days=int(self.random() * (span + 1)))


def running_totals(weights: Sequence[float]) -> tuple[float, ...]:
    return tuple(accumulate(weights))


class Bijection:
    """x ↦ (a·x + b) mod m with gcd(a, m) = 1: distinct outputs for distinct inputs below m."""

    def __init__(self, r: Rng, modulus: int, coprime_to: tuple[int, ...]) -> None:
        a = r.between(modulus // 7, modulus - 1)
        while any(a % p == 0 for p in coprime_to):
            a += 1
        self.a, self.b, self.m = a, r.between(0, modulus - 1), modulus

    def __call__(self, x: int) -> int:
        if not 0 <= x < self.m:
            raise OverflowError("identifier space exhausted")
        return (self.a * x + self.b) % self.m


M64 = (1 << 64) - 1


def mix64(x: int, key: int) -> int:
    """A bijection of 64-bit integers (xor-shift-multiply rounds, each invertible)."""
    x = (x + key) & M64
    x ^= x >> 31
    x = (x * 0x7FB5D329728EA185) & M64
    x ^= x >> 27
    x = (x * 0x81DADEF4BC2DD44D) & M64
    x ^= x >> 33
    return x


HEX_TO_LETTERS = str.maketrans("0123456789abcdef", "GHJKLMNPQRABCDEF")


def letters(x: int) -> str:
    """16 capital letters spelling the 64-bit ``x`` (hex digits mapped to letters: still a bijection)."""
    return f"{x:016x}".translate(HEX_TO_LETTERS)


class Member:
    """One person of a household while it is generated."""

    __slots__ = (
        "acquired_on_tmp", "age", "alias", "alias_kana", "birth", "category", "death", "domicile_on",
        "exempt_on", "first_event", "gone_on", "kana", "moved_out", "name", "old_gen", "pid", "rel",
        "resident_since", "sex", "status",
    )  # fmt: skip
    acquired_on_tmp: date
    age: int
    alias: str | None
    alias_kana: str | None
    birth: date
    category: str | None
    death: date | None
    domicile_on: date | None
    exempt_on: date | None
    first_event: date
    gone_on: date | None
    kana: str
    moved_out: date | None
    name: str
    old_gen: bool
    pid: int
    rel: str
    resident_since: date
    sex: str
    status: str

    def __init__(self, age: int, sex: str, rel: str, category: str | None) -> None:
        self.age, self.sex, self.rel, self.category = age, sex, rel, category
        self.death = self.moved_out = self.domicile_on = self.exempt_on = self.gone_on = None
        self.alias = self.alias_kana = None


class Household:
    """Where and since when a household lives, and who is in it."""

    __slots__ = (
        "address", "address_code", "building", "code", "foreign", "members", "move_within", "phone",
        "postal", "since", "surname", "town",
    )  # fmt: skip
    address: str
    address_code: str
    building: str | None
    code: str
    foreign: str | None
    members: list[Member]
    move_within: tuple[date, str, str] | None
    phone: str | None
    postal: str
    since: date | None
    surname: tuple[str, str]
    town: P.Town


class Cert:
    """A certification case while it is being built (becomes a ``certifications`` row)."""

    __slots__ = (
        "app_type", "applied", "cancelled", "decided", "fields", "level", "notified", "valid_from", "valid_to",
    )  # fmt: skip
    app_type: str
    applied: date
    cancelled: date | None
    decided: date | None
    fields: dict[str, Any]
    level: str | None
    notified: date | None
    valid_from: date | None
    valid_to: date | None

    def __init__(self, applied: date, app_type: str) -> None:
        self.applied, self.app_type = applied, app_type
        self.fields = {}
        self.level = self.decided = self.notified = self.valid_from = self.valid_to = self.cancelled = None


class GeneratorState:
    """The generator's state and the helpers every area uses; the areas (persons, qualifications,
    certifications, benefits, levies) are mixins over it, and :class:`CityGenerator` sets it up."""

    vault: NumberVault
    seed: int
    T: date
    insured_target: int
    insured_made: int
    household_index: int
    next_id: dict[str, int]
    batch: Batch
    _batch_dates: dict[tuple[date, str], tuple[str, date, date | None]]
    _numbers: Bijection
    _addressees: Bijection
    _households: Bijection
    _insured_numbers: Bijection
    _linkage_key: int
    care_offices: list[tuple[str, str, str, str, str]]
    support_centers: list[tuple[str, str, str, str, str]]
    facilities: dict[str, list[tuple[str, str]]]
    outside_facilities: list[tuple[str, str, str, str]]
    providers: dict[str, list[str]]
    doctors: list[tuple[str, str]]
    surveyors: list[str]
    fy_cur: int
    fy_prev: int
    cy_cur: int
    cy_prev: int
    claim_months: list[tuple[date, date, date, date, int]]
    schedules: dict[tuple[int, str], list[tuple[int, date]]]

    def _take(self, tbl: str) -> int:
        i = self.next_id[tbl]
        self.next_id[tbl] = i + 1
        return i

    @staticmethod
    def _landline(r: Rng, prefix: str) -> str:
        area, local = prefix.split("-")
        while len(local) < 3:
            local += str(r.between(0, 9))
        return f"{area}-{local}-{r.between(0, 9999):04d}"

    def _told(self, on: date, days: int) -> date:
        """The day a change was notified: ``days`` after it happened, but never after today."""
        return min(self.T, on + timedelta(days=days))

    @staticmethod
    def _given(r: Rng, male: bool, old: bool) -> tuple[str, str]:
        if male:
            return r.pick(N.MALE_OLDER if old else N.MALE_YOUNGER)
        return r.pick(N.FEMALE_OLDER if old else N.FEMALE_YOUNGER)
