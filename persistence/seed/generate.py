"""The synthetic city, generated household by household as rows ready for COPY.

Determinism: every household draws from its own ``random.Random`` seeded with a string made of the
seed and the household's index (string seeds are hashed with SHA-512 by ``random``, never with the
per-process ``hash()``), and the shared pools (offices, providers, doctors…) from one more such
stream.  Identifiers come from counters and from bijections of those counters, so they are distinct by
construction.  Nothing here iterates over a set or reads the clock: the same seed, size and ``today``
give the same rows (except the AES-GCM ciphertexts, whose nonces are random).
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache
from itertools import accumulate
from typing import Any, TypeVar

from persistence.crypto import NumberVault
from policies.codes import table
from policies.individual_number import complete

from . import names as N
from . import places as P
from .dates import (
    add_days,
    add_months,
    add_years,
    certificate_year_of,
    first_of_month,
    fiscal_year_of,
    month_end,
    months_between,
    validity_end,
)
from .tables import COLUMNS

T_ = TypeVar("T_")
Row = tuple[Any, ...]
Batch = dict[str, list[Row]]

JST = timezone(timedelta(hours=9))
NINE_AM_JST = time(9, tzinfo=JST)  # created_at of seeded rows: 9:00 on the day of the first record
LTCI_START = date(2000, 4, 1)  # 介護保険法 施行日
FOREIGN_REGISTER_START = date(2012, 7, 9)  # foreign residents entered the resident register

# -- premiums -----------------------------------------------------------------------------------------
BASE_PREMIUM = 72_000
"""基準額: the annual premium of income stage 5 (multiplier 1.0), in yen."""


@cache
def annual_premium(stage: str) -> int:
    """Annual premium of ``stage``: base × multiplier from codes.toml, 100円未満切り捨て."""
    multiplier = Decimal(str(table("income_stage").by_code(stage).extra["multiplier"]))
    return int(BASE_PREMIUM * multiplier) // 100 * 100


STAGE_CODES = tuple(f"{i:02d}" for i in range(1, 14))
STAGE_WEIGHTS = (20, 9, 8, 12, 12, 14, 12, 6, 3, 1.5, 0.8, 0.5, 1.2)  # share of first-category, %
PENSION_DEDUCTION_RATE = 0.92  # before the new-65 / mid-year acquirers that must pay directly
PENSION_PAYERS = (("001", 85), ("002", 4), ("003", 8), ("004", 3))
PENSION_MONTHS = (4, 6, 8, 10, 12, 2)  # 特別徴収: provisional Apr/Jun/Aug, final Oct/Dec/Feb (15th)
DIRECT_MONTHS = (7, 8, 9, 10, 11, 12, 1, 2, 3)  # 普通徴収: 9 installments Jul – Mar, due at month end
ARREARS_RATE = 0.03  # of persons paying directly
LATE_PAYER_RATE = 0.04
REMINDER_FEE = 100  # 督促手数料
REMINDER_AFTER_DAYS = 20

# -- population ---------------------------------------------------------------------------------------
# Age bands of the 65+ (national shape, 2023) with the female share and the certification rate.
AGE_BANDS = ((65, 69), (70, 74), (75, 79), (80, 84), (85, 89), (90, 94), (95, 99), (100, 105))
AGE_BAND_WEIGHTS = (7.4, 9.0, 7.0, 5.6, 3.8, 1.9, 0.55, 0.09)
FEMALE_SHARE = (0.51, 0.53, 0.55, 0.59, 0.65, 0.74, 0.82, 0.88)
CERTIFIED_RATE = (0.04, 0.075, 0.14, 0.29, 0.53, 0.78, 0.9, 0.95)
MORTALITY = (0.01, 0.016, 0.028, 0.05, 0.09, 0.17, 0.3, 0.45)  # per year; deaths of the last year
MOVE_OUT_RATE = 0.006
DOMICILE_EXCEPTION_RATE = 0.004
EXEMPT_RATE = 0.0008
BOUNDARY_LAYER_RATE = 0.001
SECOND_CATEGORY_ANCHOR_RATE = 0.006  # households whose insured anchor is a certified 40–64
FOREIGN_HOUSEHOLD_RATE = 0.015
NO_AUTO_RESPONSE_RATE = 0.002
NOT_APPLICABLE_RATE = 0.02  # uncertified 70+ who applied and were found not applicable
COMMUNITY_ELIGIBLE_RATE = 0.012  # uncertified 75+ eligible for the community programme

# -- certification ------------------------------------------------------------------------------------
LEVELS = ("12", "13", "21", "22", "23", "24", "25")
LEVEL_WEIGHTS = (14, 14, 20, 17, 13, 12, 8)
NOT_APPLICABLE = "01"
NEW, RENEWAL, LEVEL_CHANGE, MOVED_IN = "1", "2", "3", "5"
NEW_MONTHS = ((3, 5), (6, 70), (12, 25))
RENEWAL_MONTHS = ((6, 5), (12, 35), (24, 20), (36, 32), (48, 8))
LEVEL_CHANGE_RATE = 0.07

# Monthly limits (区分支給限度基準額, units) and per-day facility units by level.
UNIT_LIMIT = {"12": 5032, "13": 10531, "21": 16765, "22": 19705, "23": 27048, "24": 30938, "25": 36217}
FACILITY_DAY_UNITS = {
    "51": {"21": 573, "22": 641, "23": 712, "24": 780, "25": 847},
    "52": {"21": 717, "22": 763, "23": 828, "24": 883, "25": 932},
}
# Yen per 100 units (地域区分単価 × 100) by service type.
UNIT_PRICE = {
    "11": 1021,
    "13": 1021,
    "43": 1021,
    "A2": 1021,
    "15": 1014,
    "16": 1017,
    "21": 1017,
    "32": 1014,
    "A6": 1014,
    "51": 1014,
    "52": 1014,
    "17": 1000,
}
SERVICE_WEIGHT = {"11": 3, "13": 2, "15": 4, "16": 3, "21": 2, "17": 0}
INCOME_CLASS_CAP = {c.code: int(c.extra["cap"]) for c in table("income_class").values}

APPLICATION_REASONS_NEW = (
    "転倒による骨折のため",
    "認知症の症状が進んだため",
    "脳梗塞の後遺症のため",
    "退院に向けてサービス利用を希望",
    "歩行が不安定になったため",
    "家族の介護負担が大きくなったため",
    "心疾患による体力低下のため",
)
SPECIFIED_DISEASES = (
    "脳血管疾患",
    "初老期における認知症",
    "末期がん",
    "パーキンソン病関連疾患",
    "関節リウマチ",
    "糖尿病性神経障害",
    "脊柱管狭窄症",
    "慢性閉塞性肺疾患",
)
SURVEY_NOTES = (
    "日中独居。",
    "認知症の症状あり、見守りが必要。",
    "屋内は伝い歩き。",
    "入浴は一部介助。",
    "夜間の排泄に介助を要する。",
    "服薬管理は家族が行っている。",
    "車いすを使用。",
    "物忘れが目立つ。",
)
COMMITTEE_OPINIONS = (
    "状態が安定しているため有効期間を延長する。",
    "認知症による介護の手間を考慮した。",
    "状態の変化が見込まれるため有効期間を短縮する。",
)


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


def _cum(weights: Sequence[float]) -> tuple[float, ...]:
    return tuple(accumulate(weights))


AGE_BAND_CUM = _cum(AGE_BAND_WEIGHTS)
STAGE_CUM = _cum(STAGE_WEIGHTS)
LEVEL_CUM = _cum(LEVEL_WEIGHTS)
TOWN_CUM = _cum(P.TOWN_WEIGHTS)
NEW_MONTHS_CUM = _cum([w for _, w in NEW_MONTHS])
RENEWAL_MONTHS_CUM = _cum([w for _, w in RENEWAL_MONTHS])
PAYER_CUM = _cum([w for _, w in PENSION_PAYERS])
SURNAME_POOL = N.SURNAMES + N.REGIONAL_SURNAMES * 3


class _Bijection:
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


_M64 = (1 << 64) - 1


def _mix64(x: int, key: int) -> int:
    """A bijection of 64-bit integers (xor-shift-multiply rounds, each invertible)."""
    x = (x + key) & _M64
    x ^= x >> 31
    x = (x * 0x7FB5D329728EA185) & _M64
    x ^= x >> 27
    x = (x * 0x81DADEF4BC2DD44D) & _M64
    x ^= x >> 33
    return x


_HEX_TO_LETTERS = str.maketrans("0123456789abcdef", "GHJKLMNPQRABCDEF")


def _letters(x: int) -> str:
    """16 capital letters spelling the 64-bit ``x`` (hex digits mapped to letters: still a bijection)."""
    return f"{x:016x}".translate(_HEX_TO_LETTERS)


class _Member:
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


class _Household:
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
    members: list[_Member]
    move_within: tuple[date, str, str] | None
    phone: str | None
    postal: str
    since: date | None
    surname: tuple[str, str]
    town: P.Town


class _Cert:
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


FEATURES = (
    "foreign_alias",
    "protected",
    "arrears_restricted",
    "facility_low_income",
    "domicile_exception",
    "deceased_certified",
    "second_category",
    "open_application",
    "community_eligible",
    "not_applicable",
    "moved_out",
    "exempt",
    "boundary_layer",
    "foreign_latin",
)
"""Traits forced on the first households, so that even a tiny city shows every kind of record."""


class CityGenerator:
    """Yields batches of rows (table → list of tuples in :data:`COLUMNS` order)."""

    def __init__(self, vault: NumberVault, *, insured: int, seed: int, today: date) -> None:
        if insured < 1:
            raise ValueError("insured must be at least 1")
        self.vault = vault
        self.seed = seed
        self.T = today
        self.insured_target = insured
        self.insured_made = 0
        self.household_index = 0
        self.next_id = dict.fromkeys(COLUMNS, 1)
        self.batch: Batch = {t: [] for t in COLUMNS}
        self._batch_dates: dict[tuple[date, str], tuple[str, date, date | None]] = {}
        r = self._rng("pools", 0)
        self._numbers = _Bijection(r, 10**11, (2, 5))
        self._addressees = _Bijection(r, 9 * 10**9, (2, 3, 5))
        self._households = _Bijection(r, 9 * 10**9, (2, 3, 5))
        self._insured_numbers = _Bijection(r, 10**9, (2, 5))
        self._linkage_key = r.getrandbits(64)
        self._build_pools(r)
        self._build_calendar()

    # -- streams and pools ----------------------------------------------------------------------------

    def _rng(self, stream: str, index: int) -> Rng:
        return Rng(f"kaigo-seed/v1/{self.seed}/{stream}/{index}")

    def _take(self, tbl: str) -> int:
        i = self.next_id[tbl]
        self.next_id[tbl] = i + 1
        return i

    def _build_pools(self, r: Rng) -> None:
        def person_name() -> str:
            sur = r.pick(N.SURNAMES)[0]
            given = r.pick(N.MALE_YOUNGER + N.FEMALE_YOUNGER + N.MALE_OLDER[:30])[0]
            return f"{sur}　{given}"

        def city_address() -> tuple[str, str, str]:
            town = P.TOWNS[r.weighted(TOWN_CUM)]
            if town[3]:
                line = f"{P.CITY}{town[0]}{r.between(1, 4)}丁目{r.between(1, 25)}番{r.between(1, 20)}号"
            else:
                line = f"{P.CITY}{town[0]}{r.between(1, 2400)}番地{r.between(1, 9)}"
            return town[1], line, self._landline(r, town[4])

        self.care_offices: list[tuple[str, str, str, str, str]] = []
        for k, stem in enumerate(P.CARE_OFFICE_STEMS * 4):
            postal, addr, phone = city_address()
            name = f"{stem}{P.CARE_OFFICE_KINDS[k % len(P.CARE_OFFICE_KINDS)]}"
            if k >= len(P.CARE_OFFICE_STEMS):
                name = f"{name}{'ABCDEFG'[k // len(P.CARE_OFFICE_STEMS)]}"
            self.care_offices.append((f"3372{k + 1:06d}", name, postal, addr, phone))
        self.support_centers: list[tuple[str, str, str, str, str]] = []
        for k, stem in enumerate(P.SUPPORT_CENTERS):
            postal, addr, phone = city_address()
            self.support_centers.append(
                (f"3374{k + 1:06d}", f"{stem}地域包括支援センター", postal, addr, phone)
            )
        self.facilities: dict[str, list[tuple[str, str]]] = {"51": [], "52": []}
        for k, stem in enumerate(P.FACILITY_STEMS):
            self.facilities["51"].append((f"3373{k + 1:06d}", f"特別養護老人ホーム{stem}"))
            if k % 2 == 0:
                self.facilities["52"].append((f"3375{k + 1:06d}", f"介護老人保健施設{stem}"))
        self.outside_facilities: list[tuple[str, str, str, str]] = []
        for k, stem in enumerate(P.OUTSIDE_FACILITY_STEMS):
            place, prefix = P.OTHER_PLACES[k]
            self.outside_facilities.append(
                (
                    f"3376{k + 1:06d}",
                    f"特別養護老人ホーム{stem}",
                    f"{prefix}-{r.between(0, 9999):04d}",
                    f"{place}{r.pick(P.OTHER_TOWNS)}{r.between(1, 3000)}番地",
                )
            )
        self.providers: dict[str, list[str]] = {}
        for k, service in enumerate(("11", "13", "15", "16", "17", "21", "32", "43", "A2", "A6")):
            self.providers[service] = [f"3371{k:02d}{j + 1:04d}" for j in range(12 + r.between(0, 20))]
        self.doctors: list[tuple[str, str]] = []
        for k in range(120):
            inst = f"{P.HOSPITAL_STEMS[k % len(P.HOSPITAL_STEMS)]}{P.HOSPITAL_KINDS[(k * 7) % len(P.HOSPITAL_KINDS)]}"
            self.doctors.append((person_name(), inst))
        self.surveyors = [person_name() for _ in range(60)]

    @staticmethod
    def _landline(r: Rng, prefix: str) -> str:
        area, local = prefix.split("-")
        while len(local) < 3:
            local += str(r.between(0, 9))
        return f"{area}-{local}-{r.between(0, 9999):04d}"

    def _build_calendar(self) -> None:
        T = self.T
        self.fy_cur = fiscal_year_of(T)
        self.fy_prev = self.fy_cur - 1
        self.cy_cur = certificate_year_of(T)
        self.cy_prev = self.cy_cur - 1
        # Claims: the twelve service months already reviewed (review the month after service).
        this_month = first_of_month(T)
        self.claim_months: list[tuple[date, date, date, date, int]] = []
        for k in range(12, 0, -1):
            m = add_months(this_month, -k)
            self.claim_months.append(
                (m, month_end(m), m.replace(day=15), add_months(m, 1), certificate_year_of(m))
            )
        self.schedules: dict[tuple[int, str], list[tuple[int, date]]] = {}
        for fy in (self.fy_prev, self.fy_cur):
            self.schedules[(fy, "1")] = [
                (i + 1, date(fy if m >= 4 else fy + 1, m, 15)) for i, m in enumerate(PENSION_MONTHS)
            ]
            self.schedules[(fy, "2")] = [
                (i + 1, month_end(date(fy if m >= 4 else fy + 1, m, 1))) for i, m in enumerate(DIRECT_MONTHS)
            ]

    def _receipt_batch(self, due: date, method: str) -> tuple[str, date, date | None]:
        """Receipt kind, received and reconciled dates of a pension deduction or account transfer."""
        T = self.T
        if method == "1":  # the pension payer remits by the 10th of the next month
            received = date(due.year + (due.month == 12), due.month % 12 + 1, 10)
            kind = "1"
        else:
            received = due + timedelta(days=2)
            kind = "2"
        received = min(received, T)
        reconciled = received + timedelta(days=2)
        return kind, received, reconciled if reconciled <= T else None

    def _told(self, on: date, days: int) -> date:
        """The day a change was notified: ``days`` after it happened, but never after today."""
        return min(self.T, on + timedelta(days=days))

    # -- driving ---------------------------------------------------------------------------------------

    def batches(self, households_per_batch: int = 2000) -> Iterator[Batch]:
        while self.insured_made < self.insured_target:
            for _ in range(households_per_batch):
                if self.insured_made >= self.insured_target:
                    break
                self._household(self.household_index)
                self.household_index += 1
            batch, self.batch = self.batch, {t: [] for t in COLUMNS}
            yield batch

    # -- households ------------------------------------------------------------------------------------

    def _household(self, h: int) -> None:
        r = self._rng("household", h)
        feature = FEATURES[h] if h < len(FEATURES) else None
        remaining = self.insured_target - self.insured_made
        members = self._compose(r, feature, remaining)
        self.insured_made += sum(1 for m in members if m.category is not None)
        hh = self._address(r, h, members, feature)
        for m in members:
            self._person(r, hh, m, feature if m is members[0] else None)
        # The insured first (members[0] is the anchor), in member order.
        for m in members:
            if m.category is not None:
                self._insured(r, hh, m, feature if m is members[0] else None)

    def _age_65plus(self, r: Rng) -> tuple[int, int]:
        band = r.weighted(AGE_BAND_CUM)
        low, high = AGE_BANDS[band]
        return r.between(low, high), band

    def _compose(self, r: Rng, feature: str | None, remaining: int) -> list[_Member]:
        """The members, the insured anchor first (the anchor always fits ``remaining``)."""
        second = feature == "second_category" or (feature is None and r.chance(SECOND_CATEGORY_ANCHOR_RATE))
        if second:
            age = r.between(50, 64) if r.chance(0.75) else r.between(40, 49)
            anchor = _Member(age, "1" if r.chance(0.55) else "2", "01", "2")
            members = [anchor]
            if r.chance(0.65):
                members.append(self._spouse_of(r, anchor, "02"))
            for _ in range(r.between(0, 2)):
                members.append(_Member(max(0, age - r.between(24, 36)), r.pick("12"), "03", None))
        else:
            age, band = self._age_65plus(r)
            if feature in (
                "facility_low_income",
                "deceased_certified",
                "arrears_restricted",
                "domicile_exception",
            ):
                age, band = r.between(82, 92), 4
            elif feature is not None:
                age = max(age, 72)  # old enough for every event of the feature to follow the acquisition
            sex = "2" if r.chance(FEMALE_SHARE[band]) else "1"
            anchor = _Member(age, sex, "01", "1")
            members = [anchor]
            u = r.random()
            single, couple, with_child, three_gen = (
                (0.35, 0.15, 0.25, 0.15) if age >= 85 else (0.27, 0.38, 0.20, 0.07)
            )
            if feature is not None:
                u = 0.0  # featured households live alone: simpler to reason about
            if u < single:
                pass
            elif u < single + couple:
                self._couple(r, members)
            elif u < single + couple + with_child:
                if r.chance(0.6):
                    self._couple(r, members)
                for _ in range(r.between(1, 2)):
                    members.append(_Member(max(18, age - r.between(25, 38)), r.pick("12"), "03", None))
            elif u < single + couple + with_child + three_gen:
                anchor.rel = "04"
                head_age = max(30, age - r.between(25, 35))
                head = _Member(head_age, "1" if r.chance(0.7) else "2", "01", None)
                members.insert(0, head)
                members.append(self._spouse_of(r, head, "02"))
                if age < 88 and r.chance(0.4):
                    other = _Member(
                        min(105, max(60, age + r.between(-3, 4))),
                        "1" if anchor.sex == "2" else "2",
                        "04",
                        None,
                    )
                    members.append(other)
                for _ in range(r.between(0, 2)):
                    members.append(_Member(max(0, head_age - r.between(25, 35)), r.pick("12"), "05", None))
                # the anchor (the insured person driving the household) goes first
                members.remove(anchor)
                members.insert(0, anchor)
            else:
                if r.chance(0.7):
                    members.append(
                        _Member(min(105, max(55, age + r.between(-6, 6))), r.pick("12"), "07", None)
                    )
                else:
                    members.append(_Member(r.between(50, 80), r.pick("12"), "08", None))
        members = members[:5]
        # Categories of the other members: 65+ are insured; a few 40–64 are certified second category.
        for m in members[1:]:
            if m.age >= 65:
                m.category = "1"
            elif 40 <= m.age <= 64 and r.chance(0.003):
                m.category = "2"
        kept = [members[0]]
        count = 1
        for m in members[1:]:
            if m.category is not None:
                if count >= remaining:
                    continue
                count += 1
            kept.append(m)
        if not any(m.rel == "01" for m in kept):
            kept[0].rel = "01"
        return kept

    def _couple(self, r: Rng, members: list[_Member]) -> None:
        anchor = members[0]
        spouse = self._spouse_of(r, anchor, "02")
        if spouse.sex == "1" and r.chance(0.9):
            anchor.rel, spouse.rel = "02", "01"
        members.append(spouse)

    @staticmethod
    def _spouse_of(r: Rng, m: _Member, rel: str) -> _Member:
        gap = r.between(-2, 6)
        sex = "2" if m.sex == "1" else "1"
        age = m.age - gap if m.sex == "1" else m.age + gap
        return _Member(min(105, max(20, age)), sex, rel, None)

    def _address(self, r: Rng, h: int, members: list[_Member], feature: str | None) -> _Household:
        hh = _Household()
        hh.members = members
        hh.code = f"{self._households(h) + 10**9}"
        town = P.TOWNS[r.weighted(TOWN_CUM)]
        hh.town = town
        chome = r.between(1, 4) if town[3] else 0
        ban = r.between(1, 30) if town[3] else r.between(1, 2400)
        go = r.between(1, 25) if town[3] else r.between(0, 12)
        if town[3]:
            hh.address = f"{P.CITY}{town[0]}{chome}丁目{ban}番{go}号"
        else:
            hh.address = f"{P.CITY}{town[0]}{ban}番地" + (f"{go}" if go else "")
        hh.address_code = f"{town[2]:04d}{chome:02d}{ban:04d}{go:03d}"
        hh.postal = town[1]
        u = r.random()
        if u < 0.2:
            floor = r.between(1, 8)
            hh.building = (
                f"{r.pick(P.BUILDING_STEMS)}{r.pick(P.BUILDING_NAMES)} {floor}{r.between(1, 12):02d}号室"
            )
        elif u < 0.25:
            hh.building = f"{r.pick(P.PUBLIC_HOUSING)}{r.pick(P.BUILDING_NAMES)}住宅{r.between(1, 12)}棟{r.between(1, 5)}{r.between(1, 10):02d}号"
        else:
            hh.building = None
        hh.phone = self._landline(r, town[4]) if r.chance(0.55) else None
        if feature == "foreign_alias":
            hh.foreign = "KR"
        elif feature == "foreign_latin":
            hh.foreign = "PH"
        elif feature is None and r.chance(FOREIGN_HOUSEHOLD_RATE):
            hh.foreign = ("KR", "KR", "KR", "CN", "CN", "TW", "PH", "PH", "BR", "VN", "US", "PE")[
                r.between(0, 11)
            ]
        else:
            hh.foreign = None
        hh.surname = r.pick(SURNAME_POOL)
        # When the household came to the city (None: the head was born here).
        eldest = max(m.age for m in members)
        if r.chance(0.45) and hh.foreign is None:
            hh.since = None
        else:
            years_ago = r.between(1, max(1, min(55, eldest - 18)))
            hh.since = self.T - timedelta(days=365 * years_ago + r.between(0, 364))
            if hh.since <= LTCI_START - timedelta(days=3650) and hh.foreign is None and r.chance(0.5):
                hh.since = None
        # A move within the city for some households.
        if r.chance(0.3):
            low = max(hh.since or date(1990, 1, 1), date(1990, 1, 1)) + timedelta(days=365)
            high = self.T - timedelta(days=30)
            if low < high:
                prev_town = P.TOWNS[r.weighted(TOWN_CUM)]
                prev_addr = (
                    f"{P.CITY}{prev_town[0]}{r.between(1, 4)}丁目{r.between(1, 30)}番{r.between(1, 25)}号"
                    if prev_town[3]
                    else f"{P.CITY}{prev_town[0]}{r.between(1, 2400)}番地"
                )
                hh.move_within = (r.day_between(low, high), prev_town[1], prev_addr)
            else:
                hh.move_within = None
        else:
            hh.move_within = None
        return hh

    # -- persons ---------------------------------------------------------------------------------------

    def _birth(self, r: Rng, age: int) -> date:
        T1 = self.T + timedelta(days=1)
        low = add_years(T1, -(age + 1)) + timedelta(days=1)
        high = add_years(T1, -age)
        return r.day_between(low, high)

    def _other_address(self, r: Rng) -> tuple[str, str]:
        place, prefix = r.pick(P.OTHER_PLACES)
        return (
            f"{prefix}-{r.between(0, 9999):04d}",
            f"{place}{r.pick(P.OTHER_TOWNS)}{r.between(1, 5)}丁目{r.between(1, 30)}番{r.between(1, 20)}号",
        )

    def _names(self, r: Rng, hh: _Household, m: _Member) -> None:
        m.old_gen = m.birth.year < 1965
        male = m.sex == "1"
        nat = hh.foreign
        if nat in ("KR", "CN", "TW"):
            if nat == "KR":
                sur = r.pick(N.KOREAN_SURNAMES)
                given = r.pick(N.KOREAN_GIVEN_MALE if male else N.KOREAN_GIVEN_FEMALE)
            else:
                sur = r.pick(N.CHINESE_SURNAMES)
                given = r.pick(N.CHINESE_GIVEN_MALE if male else N.CHINESE_GIVEN_FEMALE)
            m.name, m.kana = f"{sur[0]}　{given[0]}", f"{sur[1]}　{given[1]}"
            if r.chance(0.75 if nat == "KR" else 0.3) or (hh.members[0] is m and nat == "KR"):
                alias_given = self._given(r, male, m.old_gen)
                m.alias = f"{hh.surname[0]}　{alias_given[0]}"
                m.alias_kana = f"{hh.surname[1]}　{alias_given[1]}"
        elif nat is not None:
            surs, males, females = N.LATIN_NAMES[nat]
            sur = surs[int(hh.code) % len(surs)]  # one family name per household
            given = r.pick(males if male else females)
            m.name, m.kana = f"{sur[0]} {given[0]}", f"{sur[1]}　{given[1]}"
        else:
            sur = hh.surname
            if m.rel in ("07", "08") or (m.rel == "02" and r.chance(0.02)):
                sur = r.pick(SURNAME_POOL)
            given = self._given(r, male, m.old_gen)
            m.name, m.kana = f"{sur[0]}　{given[0]}", f"{sur[1]}　{given[1]}"

    @staticmethod
    def _given(r: Rng, male: bool, old: bool) -> tuple[str, str]:
        if male:
            return r.pick(N.MALE_OLDER if old else N.MALE_YOUNGER)
        return r.pick(N.FEMALE_OLDER if old else N.FEMALE_YOUNGER)

    def _person(self, r: Rng, hh: _Household, m: _Member, feature: str | None) -> None:
        T = self.T
        m.pid = pid = self._take("persons")
        m.birth = self._birth(r, m.age)
        self._names(r, hh, m)
        foreign = hh.foreign is not None
        # Fate of the insured: death, move-out, domicile exception, exemption (decided here, used by _insured).
        if m.category is not None:
            band = min(7, max(0, (m.age - 65) // 5)) if m.age >= 65 else 0
            u = r.random()
            if feature == "deceased_certified" or (feature is None and u < MORTALITY[band]):
                m.death = T - timedelta(days=r.between(1, 365))
            elif feature == "moved_out" or (feature is None and u < MORTALITY[band] + MOVE_OUT_RATE):
                m.moved_out = T - timedelta(days=r.between(1, 365))
            elif feature == "domicile_exception" or (
                feature is None
                and u < MORTALITY[band] + MOVE_OUT_RATE + DOMICILE_EXCEPTION_RATE
                and m.category == "1"
            ):
                m.domicile_on = T - timedelta(days=r.between(60, 1500))
            elif feature == "exempt" or (
                feature is None
                and u < MORTALITY[band] + MOVE_OUT_RATE + DOMICILE_EXCEPTION_RATE + EXEMPT_RATE
            ):
                m.exempt_on = T - timedelta(days=r.between(30, 1000))
        # Resident moves: the first registration, a move within the city, then leaving.
        moves: list[Row] = []
        # (date, previous postal code, reason, status after, previous address, previous building)
        first: tuple[date, str | None, str, str, str | None, str | None]
        prev_postal: str | None
        if (
            foreign
            and m.birth < FOREIGN_REGISTER_START
            and (hh.since is None or hh.since <= FOREIGN_REGISTER_START)
        ):
            # Living here before foreign residents entered the resident register (2012-07-09).
            first = (FOREIGN_REGISTER_START, None, "08", "2", None, None)
            m.resident_since = max(m.birth, hh.since or m.birth)
        elif hh.since is not None and m.birth < hh.since:
            prev_postal, prev_addr = self._other_address(r)
            if foreign and r.chance(0.5):
                prev_postal, prev_addr = None, "国外"
            first = (hh.since, prev_postal, "02", "2" if foreign else "1", prev_addr, None)
            m.resident_since = hh.since
        elif m.rel in ("02", "04") and hh.since is None and m.age >= 25 and r.chance(0.7):
            # married or moved in with the family
            joined = add_years(m.birth, r.between(22, min(m.age - 1, 60)))
            prev_postal, prev_addr = self._other_address(r)
            first = (joined, prev_postal, "02", "1", prev_addr, None)
            m.resident_since = joined
        else:
            first = (m.birth, None, "01", "2" if foreign else "1", None, None)
            m.resident_since = m.birth
        m.first_event = first[0]
        status = first[3]
        moves.append(
            (
                self._take("resident_moves"),
                pid,
                first[0],
                self._told(first[0], r.between(0, 13)),
                first[2],
                status,
                first[1],
                first[4],
                None,
                None,
                None,
                None,
            )
        )
        if hh.move_within is not None and hh.move_within[0] > first[0]:
            on, prev_postal, prev_addr = hh.move_within
            moves.append(
                (
                    self._take("resident_moves"),
                    pid,
                    on,
                    self._told(on, r.between(0, 13)),
                    "03",
                    status,
                    prev_postal,
                    prev_addr,
                    None,
                    None,
                    None,
                    None,
                )
            )
        if m.category is not None:
            # The qualification must start before the person leaves: keep the exit after acquisition.
            self._acquisition(m)
        # (date, reason, status after, next postal code, next address, next building)
        leave: tuple[date, str, str, str | None, str | None, str | None] | None = None
        if m.death is not None:
            if m.death <= m.acquired_on_tmp or m.death <= moves[-1][2]:
                m.death = None
            else:
                leave = (m.death, "05", "4", None, None, None)
        elif m.moved_out is not None:
            if m.moved_out <= m.acquired_on_tmp or m.moved_out <= moves[-1][2]:
                m.moved_out = None
            else:
                postal, addr = self._other_address(r)
                leave = (m.moved_out, "04", "3", postal, addr, None)
        elif m.domicile_on is not None:
            if m.domicile_on <= m.acquired_on_tmp + timedelta(days=30) or m.domicile_on <= moves[-1][2]:
                m.domicile_on = None
            else:
                fac = r.pick(self.outside_facilities)
                leave = (m.domicile_on, "04", "5", fac[2], fac[3], fac[1])
        if m.exempt_on is not None and m.exempt_on <= m.acquired_on_tmp:
            m.exempt_on = None
        if leave is not None:
            status = leave[2]
            moves.append(
                (
                    self._take("resident_moves"),
                    pid,
                    leave[0],
                    self._told(leave[0], r.between(0, 7)),
                    leave[1],
                    status,
                    None,
                    None,
                    None,
                    leave[3],
                    leave[4],
                    leave[5],
                )
            )
            m.gone_on = leave[0]
        m.status = status
        self.batch["resident_moves"].extend(moves)
        # Contact, delivery, protection.
        phone = hh.phone
        if r.chance(0.3):
            phone = f"0{r.pick('789')}0-{r.between(1000, 9999)}-{r.between(0, 9999):04d}"
        delivery: tuple[str | None, str | None, str | None] = (None, None, None)
        if feature == "protected" or (m.category is not None and r.chance(0.02)) or m.domicile_on is not None:
            postal, addr = self._other_address(r)
            given = self._given(r, r.chance(0.5), m.birth.year < 1945)
            delivery = (f"{hh.surname[0]}　{given[0]}", postal, addr)
        protected = feature == "protected" or (feature is None and r.chance(NO_AUTO_RESPONSE_RATE))
        notes = "支援措置対象者(住民基本台帳事務における支援措置)" if protected else None
        # Foreign resident details.
        nationality = entry = period = None
        expires = since = None
        if foreign:
            nationality = hh.foreign
            since = max(m.first_event, FOREIGN_REGISTER_START)
            if hh.foreign == "KR" and m.birth.year < 1980:
                entry, period = "特別永住者", "無期限"
            elif m.age < 18 or m.rel in ("03", "05"):
                entry, period = "家族滞在", "1年"
            elif r.chance(0.6):
                entry, period = "永住者", "無期限"
            elif r.chance(0.5):
                entry, period = "定住者", "5年"
            else:
                entry, period = "日本人の配偶者等", "3年"
            if period != "無期限":
                expires = T + timedelta(days=r.between(30, 1500))
        # The number: a bijection of the person id, so distinct by construction.
        digits = complete(f"{self._numbers(pid):011d}")
        addressee = f"{self._addressees(pid) + 10**9}"
        enc = self.vault.encrypt_raw(digits, addressee.encode("ascii"))
        index = self.vault.blind_index_raw(digits)
        del digits
        linkage = _letters(_mix64(pid, self._linkage_key))
        created = datetime.combine(max(m.first_event, LTCI_START), NINE_AM_JST).astimezone(UTC)
        self.batch["persons"].append(
            (
                pid,
                addressee,
                enc,
                index,
                linkage,
                m.name,
                m.kana,
                m.alias,
                m.alias_kana,
                m.sex,
                m.birth,
                hh.address_code,
                hh.address,
                hh.building,
                hh.postal,
                hh.code,
                m.rel,
                status,
                nationality,
                entry,
                period,
                expires,
                since,
                phone,
                delivery[0],
                delivery[1],
                delivery[2],
                notes,
                protected,
                created,
            )
        )

    def _acquisition(self, m: _Member) -> None:
        """First-category date and acquisition of an insured member (stored on the member)."""
        eve65 = add_years(m.birth, 65) - timedelta(days=1)
        eve40 = add_years(m.birth, 40) - timedelta(days=1)
        if m.category == "2":
            m.acquired_on_tmp = max(eve40, m.resident_since, LTCI_START)
        elif m.resident_since > eve65:
            m.acquired_on_tmp = m.resident_since
        else:
            m.acquired_on_tmp = max(eve65, LTCI_START)

    # -- the insured -----------------------------------------------------------------------------------

    def _insured(self, r: Rng, hh: _Household, m: _Member, feature: str | None) -> None:
        T = self.T
        pid = m.pid
        qid = self._take("qualifications")
        eve65 = add_years(m.birth, 65) - timedelta(days=1)
        eve40 = add_years(m.birth, 40) - timedelta(days=1)
        events: list[tuple[date, str, date | None]] = []
        band = min(7, max(0, (m.age - 65) // 5))
        # Certification decision (before the qualification: a 2号 → 1号 person acquired as second).
        if m.category == "2" or feature in (
            "facility_low_income",
            "deceased_certified",
            "arrears_restricted",
            "domicile_exception",
            "open_application",
        ):
            certified = True
        elif feature in ("community_eligible", "not_applicable", "exempt", "moved_out", "boundary_layer"):
            certified = False
        else:
            p = CERTIFIED_RATE[band]
            if m.death is not None:
                p = min(0.95, p * 1.8)
            certified = m.domicile_on is not None or r.chance(p)
        if m.exempt_on is not None:
            certified = False
        was_second = (
            m.category == "1"
            and certified
            and m.age <= 70
            and r.chance(0.1)
            and eve65 > LTCI_START + timedelta(days=2000)
        )
        # Acquisition.
        if m.category == "2" or was_second:
            acquired = max(eve40, m.resident_since, LTCI_START)
            reason = "13"
            notified = None
            first_on = eve65 if m.category == "1" else None
        elif m.resident_since > eve65:
            acquired = m.resident_since
            reason = "12"
            notified = self._told(acquired, r.between(0, 14))
            first_on = acquired
        else:
            acquired = max(eve65, LTCI_START)
            reason = "11"
            notified = None
            first_on = acquired
        if notified is not None and notified > T:
            notified = T
        events.append((acquired, reason, notified))
        if was_second and first_on is not None:
            events.append((first_on, "31", None))
        # Loss.
        lost_on = loss_reason = None
        exempt_reason = None
        if m.death is not None:
            lost_on, loss_reason = m.death + timedelta(days=1), "21"
        elif m.moved_out is not None:
            lost_on, loss_reason = m.moved_out + timedelta(days=1), "22"
        elif m.exempt_on is not None:
            lost_on, loss_reason = m.exempt_on, "23"
            exempt_reason = "障害者支援施設に入所したため(介護保険法施行法11条)"
        horizon = T
        if m.death is not None or m.moved_out is not None:
            horizon = m.gone_on or T
        if hh.move_within is not None and acquired < hh.move_within[0] < horizon:
            events.append((hh.move_within[0], "32", self._told(hh.move_within[0], r.between(0, 14))))
        domicile = m.domicile_on is not None
        if m.domicile_on is not None:
            events.append(
                (m.domicile_on + timedelta(days=1), "33", self._told(m.domicile_on, r.between(1, 14)))
            )
        if lost_on is not None and loss_reason is not None:
            events.append(
                (lost_on, loss_reason, self._told(lost_on, r.between(0, 14)) if loss_reason != "21" else None)
            )
        boundary = feature == "boundary_layer" or (
            feature is None and lost_on is None and r.chance(BOUNDARY_LAYER_RATE)
        )
        boundary_since = r.day_between(max(acquired, T - timedelta(days=1800)), T) if boundary else None
        # Income (stage per fiscal year) and copay ratio per certificate year.
        stage_cur = STAGE_CODES[r.weighted(STAGE_CUM)]
        if feature in ("facility_low_income", "domicile_exception", "boundary_layer"):
            stage_cur = "02" if feature == "facility_low_income" else "01"
        if boundary:
            stage_cur = "01"
        stage_prev = stage_cur
        if not boundary and r.chance(0.15):
            stage_prev = f"{min(13, max(1, int(stage_cur) + r.pick((-1, 1)))):02d}"
        stages = {self.fy_prev: stage_prev, self.fy_cur: stage_cur}
        u_copay = r.random()

        def ratio_for(stage: str) -> int:
            s = int(stage)
            if s >= 10:
                return 30
            if s == 9 or (s == 8 and u_copay < 0.33):
                return 20
            return 10

        end = lost_on - timedelta(days=1) if lost_on else None
        ratios: dict[int, int] = {}
        for cy in (self.cy_prev, self.cy_cur):
            start, stop = date(cy, 8, 1), date(cy + 1, 7, 31)
            vf = max(start, acquired)
            vt = min(stop, end) if end else stop
            if vf > vt or vf > T:
                continue
            is_first = first_on is not None and first_on <= vf
            ratio = ratio_for(stages.get(cy, stage_cur)) if is_first else 10
            ratios[cy] = ratio
            self.batch["copay_ratios"].append((self._take("copay_ratios"), qid, cy, ratio, vf, vt))
        # Qualification row and events.
        self.batch["qualifications"].append(
            (
                qid,
                pid,
                f"{self._insured_numbers(qid):010d}",
                m.category,
                first_on,
                acquired,
                reason,
                notified,
                lost_on,
                loss_reason,
                m.exempt_on is not None,
                exempt_reason,
                boundary,
                boundary_since,
                domicile,
            )
        )
        for on, why, told in sorted(events, key=lambda e: e[0]):
            self.batch["qualification_events"].append(
                (self._take("qualification_events"), qid, on, why, told)
            )
        issued = add_days(acquired, r.between(0, 10) if reason == "12" else -r.between(5, 20))
        if issued <= T:
            self.batch["certificate_issuances"].append(
                (self._take("certificate_issuances"), qid, "1", issued, None)
            )
        # Certification.
        certs: list[_Cert] = []
        level_now: str | None = None
        if certified:
            eligible = acquired if (m.category == "2" or was_second) else (first_on or acquired)
            if was_second:
                eligible = max(acquired, add_years(m.birth, 60))
            certs = self._certifications(r, hh, m, eligible, horizon, feature, domicile, reason == "12")
        elif feature == "not_applicable" or (
            m.age >= 70 and lost_on is None and r.chance(NOT_APPLICABLE_RATE)
        ):
            certs = self._not_applicable(r, hh, m, max(first_on or acquired, T - timedelta(days=900)))
        decided = [c for c in certs if c.level is not None and c.level != NOT_APPLICABLE]
        for c in decided:
            if c.valid_from is not None and c.valid_to is not None and c.valid_from <= T <= c.valid_to:
                level_now = c.level
        self._emit_certs(r, hh, m, certs, qid, lost_on, T)
        # Community programme eligibility for uncertified 75+ (and some found not applicable).
        eligibility_from: date | None = None
        if (
            not decided
            and lost_on is None
            and (
                feature == "community_eligible"
                or (feature is None and m.age >= 75 and r.chance(COMMUNITY_ELIGIBLE_RATE))
                or (certs and r.chance(0.3))
            )
        ):
            checked = r.day_between(max(acquired, T - timedelta(days=700)), T - timedelta(days=20))
            if certs and certs[-1].decided is not None:
                checked = max(checked, certs[-1].decided + timedelta(days=5))
            if checked <= T:
                eligibility_from = checked
                ended = None
                if r.chance(0.1) and checked + timedelta(days=200) < T:
                    ended = r.day_between(checked + timedelta(days=180), T)
                    eligibility_from = None
                self.batch["community_eligibilities"].append(
                    (self._take("community_eligibilities"), pid, checked, checked, ended)
                )
        # Facility stays.
        stays = self._facility(r, m, qid, decided, domicile, horizon, feature)
        home_certified = bool(decided)
        # Care plans, claims, high-cost, reimbursements, reductions, combined.
        if home_certified:
            self._care_plans(r, m, decided, stays, horizon)
        stage_for_income = stages.get(self.fy_cur, stage_cur) if m.category == "1" else "05"
        income_class = self._income_class(stage_for_income, m.category)
        self._claims(r, hh, m, decided, stays, ratios, eligibility_from, horizon, income_class)
        if home_certified:
            self._reimbursements(r, m, decided, ratios, horizon)
            self._combined(r, m, stage_for_income)
        self._reductions(r, m, qid, stays, stage_for_income, horizon, decided)
        if decided or eligibility_from is not None:
            self._copay_certificates(qid, decided, eligibility_from, ratios, horizon)
        # Levies for the first category.
        arrears_since: date | None = None
        if m.category == "1" and first_on is not None:
            arrears_since = self._levies(r, m, first_on, lost_on, stages, feature, boundary)
        if arrears_since is not None and level_now is not None:
            self._restrictions(r, m, arrears_since)

    # -- certifications --------------------------------------------------------------------------------

    def _certifications(
        self,
        r: Rng,
        hh: _Household,
        m: _Member,
        eligible: date,
        horizon: date,
        feature: str | None,
        domicile: bool,
        moved_in: bool,
    ) -> list[_Cert]:
        T = self.T
        span = (horizon - eligible).days
        if span < 1:
            return []
        years = r.expovariate(1 / 3.2)
        start = horizon - timedelta(days=int(years * 365))
        if start < eligible:
            start = eligible + timedelta(days=int(r.random() * span))
        if domicile and m.domicile_on is not None:
            start = min(start, m.domicile_on - timedelta(days=r.between(60, 400)))
            start = max(start, eligible)
        if feature in ("open_application", "facility_low_income", "arrears_restricted"):
            start = min(start, T - timedelta(days=400))
            start = max(start, eligible)
        first_type = MOVED_IN if moved_in and r.chance(0.3) else NEW
        if first_type == MOVED_IN:
            start = eligible
        certs: list[_Cert] = []
        applied = start
        app_type = first_type
        months = self._months(r, NEW_MONTHS, NEW_MONTHS_CUM) if first_type != MOVED_IN else r.between(3, 12)
        valid_from = applied
        prev: _Cert | None = None
        while True:
            c = self._workflow(r, hh, m, applied, app_type, horizon)
            certs.append(c)
            if c.decided is None:
                break
            if app_type == LEVEL_CHANGE and prev is not None:
                prev.valid_to = applied - timedelta(days=1)
            c.valid_from = valid_from
            c.valid_to = validity_end(valid_from, months)
            prev = c
            length = (c.valid_to - c.valid_from).days
            if length > 150 and r.chance(LEVEL_CHANGE_RATE):
                change = c.valid_from + timedelta(days=r.between(60, length - 60))
                if change <= horizon:
                    applied, app_type, valid_from = change, LEVEL_CHANGE, change
                    months = self._months(r, NEW_MONTHS, NEW_MONTHS_CUM)
                    continue
            renewal = c.valid_to - timedelta(days=r.between(30, 60))
            if renewal > horizon:
                break
            applied, app_type = max(renewal, c.decided + timedelta(days=1)), RENEWAL
            valid_from = c.valid_to + timedelta(days=1)
            months = self._months(r, RENEWAL_MONTHS, RENEWAL_MONTHS_CUM)
        if feature == "open_application" and certs[-1].decided is not None and m.gone_on is None:
            certs.append(self._workflow(r, hh, m, T - timedelta(days=8), LEVEL_CHANGE, T))
        # Levels: the latest decided one from the target distribution, earlier ones drifting below it.
        decided = [c for c in certs if c.decided is not None]
        if decided:
            level = LEVELS[r.weighted(LEVEL_CUM)]
            if domicile or feature == "facility_low_income":
                level = r.pick(("23", "24", "25"))
            if feature == "arrears_restricted":
                level = r.pick(("21", "22"))
            for c in reversed(decided):
                c.level = level
                i = LEVELS.index(level)
                if c.app_type == LEVEL_CHANGE:
                    i -= r.between(1, 2)
                else:
                    u = r.random()
                    i += -1 if u < 0.25 else (1 if u > 0.92 else 0)
                level = LEVELS[min(len(LEVELS) - 1, max(0, i))]
            for c in decided:
                primary = c.level
                if r.chance(0.12):
                    i = LEVELS.index(primary) + r.pick((-1, 1))
                    primary = LEVELS[min(len(LEVELS) - 1, max(0, i))]
                c.fields["primary_level"] = primary
                if primary != c.level:
                    c.fields["committee_opinion"] = "介護の手間を考慮し一次判定を変更した。"
                elif r.chance(0.08):
                    c.fields["committee_opinion"] = r.pick(COMMITTEE_OPINIONS)
        return certs

    def _not_applicable(self, r: Rng, hh: _Household, m: _Member, low: date) -> list[_Cert]:
        T = self.T
        applied = r.day_between(low, T - timedelta(days=60))
        c = self._workflow(r, hh, m, applied, NEW, T)
        if c.decided is not None:
            c.level = NOT_APPLICABLE
            c.fields["primary_level"] = NOT_APPLICABLE if r.chance(0.8) else "12"
        return [c]

    @staticmethod
    def _months(r: Rng, choices: tuple[tuple[int, int], ...], cum: Sequence[float]) -> int:
        return choices[r.weighted(cum)][0]

    def _workflow(
        self, r: Rng, hh: _Household, m: _Member, applied: date, app_type: str, cutoff: date
    ) -> _Cert:
        """Application → survey and opinion → judgements → decision, with dates after ``cutoff`` unknown."""
        T = self.T
        c = _Cert(applied, app_type)
        f = c.fields
        d = timedelta
        received = applied + d(days=0 if r.chance(0.8) else r.between(1, 3))
        survey_req = received + d(days=r.between(1, 5))
        survey_on = survey_req + d(days=r.between(2, 10) if r.chance(0.9) else r.between(11, 25))
        survey_got = survey_on + d(days=r.between(1, 4))
        opinion_req = received + d(days=r.between(1, 4))
        opinion_written = opinion_req + d(days=r.between(3, 14) if r.chance(0.85) else r.between(15, 30))
        opinion_got = opinion_written + d(days=r.between(1, 3))
        ready = max(survey_got, opinion_got)
        primary = ready + d(days=r.between(1, 2))
        review = primary + d(days=r.between(2, 7))
        decided = review + d(days=r.between(0, 1))
        notified = decided + d(days=r.between(1, 3))
        # Applicant.
        rel = "1"
        u = r.random()
        if m.domicile_on is not None or u < 0.2:
            rel = "4" if m.domicile_on is not None else "3"
        elif u < 0.65:
            rel = "2"
        elif u < 0.72:
            rel = "5"
        elif u < 0.97:
            rel = "1"
        else:
            rel = "9"
        applicant_name = postal = address = phone = None
        if rel in ("1", "2", "9"):
            if rel == "2":
                family = [x for x in hh.members if x is not m and x.age >= 18]
                if family:
                    applicant_name = r.pick(family).name
                else:
                    given = self._given(r, r.chance(0.5), False)
                    applicant_name = f"{m.name.split('　')[0]}　{given[0]}"
            else:
                applicant_name = m.name
            postal, address, phone = hh.postal, hh.address, hh.phone
        elif rel == "3":
            office = r.pick(self.care_offices)
            applicant_name, postal, address, phone = office[1], office[2], office[3], office[4]
        elif rel == "5":
            center = r.pick(self.support_centers)
            applicant_name, postal, address, phone = center[1], center[2], center[3], center[4]
        else:
            fac = r.pick(self.outside_facilities)
            applicant_name, postal, address = fac[1], fac[2], fac[3]
        if app_type == RENEWAL:
            reason = "有効期間満了のため"
        elif app_type == LEVEL_CHANGE:
            reason = "心身の状態が悪化したため"
        elif app_type == MOVED_IN:
            reason = "転入前市町村の認定を引き継ぐため"
        elif m.category == "2":
            reason = f"特定疾病({r.pick(SPECIFIED_DISEASES)})による"
        else:
            reason = r.pick(APPLICATION_REASONS_NEW)
        doctor = self.doctors[(m.pid * 7 + r.between(0, 2)) % len(self.doctors)]
        contractor = P.SURVEY_CONTRACTOR_CITY if r.chance(0.4) else r.pick(self.care_offices)[1]
        place = "自宅" if r.chance(0.8) else f"入院先({doctor[1]})"
        committee = 1 + (review.toordinal() * 3 + m.pid) % 20
        f.update(
            applied_on=applied,
            received_on=received,
            application_type=app_type,
            application_reason=reason,
            applicant_name=applicant_name,
            applicant_relationship=rel,
            applicant_postal_code=postal,
            applicant_address=address,
            applicant_phone=phone,
            survey_requested_on=survey_req,
            survey_contractor=contractor,
            surveyor=r.pick(self.surveyors),
            survey_place=place,
            survey_on=survey_on,
            survey_form_number=None,
            survey_due_on=survey_on + d(days=7),
            survey_received_on=survey_got,
            survey_notes=r.pick(SURVEY_NOTES) if r.chance(0.3) else None,
            doctor_name=doctor[0],
            doctor_institution=doctor[1],
            opinion_requested_on=opinion_req,
            opinion_written_on=opinion_written,
            opinion_received_on=opinion_got,
            primary_judged_on=primary,
            primary_level=None,
            committee_number=committee,
            committee_venue=P.COMMITTEE_VENUES[committee % len(P.COMMITTEE_VENUES)],
            review_scheduled_on=review,
            secondary_judged_on=review,
            committee_opinion=None,
        )
        # Postponement when the decision takes more than 30 days.
        late = (decided - applied).days > 30
        postponed = postponement = postponed_notice = expected = None
        if late:
            postponed = applied + d(days=r.between(28, 30))
            if opinion_got >= survey_got and (opinion_got - applied).days > 20:
                postponement = "2"
            elif (survey_got - applied).days > 20:
                postponement = "1"
            else:
                postponement = "4" if r.chance(0.2) else "3"
            postponed_notice = postponed + d(days=r.between(0, 2))
            expected = decided + d(days=r.between(0, 7))
        f.update(
            postponed_on=postponed,
            postponement_reason=postponement,
            postponement_notice_on=postponed_notice,
            postponement_expected_on=expected,
        )
        # Cut everything the cutoff (today, or the day the person died or left) has not reached.
        limit = min(cutoff, T)
        if received > limit:
            f["received_on"] = max(applied, limit)
        for key, value in list(f.items()):
            if isinstance(value, date) and key not in ("applied_on",) and value > limit:
                f[key] = None
        if f["postponed_on"] is None:
            f["postponement_reason"] = None
        if decided <= limit:
            c.decided = decided
            c.notified = notified if notified <= T else None
        elif cutoff < T:
            c.cancelled = min(T, cutoff + d(days=r.between(1, 5)))
        return c

    def _emit_certs(
        self, r: Rng, hh: _Household, m: _Member, certs: list[_Cert], qid: int, lost_on: date | None, T: date
    ) -> None:
        first_notice = True
        last_level: str | None = None
        for c in certs:
            cid = self._take("certifications")
            f = c.fields
            if f["survey_on"] is not None:
                f["survey_form_number"] = f"{c.applied.year}-{cid:07d}"
            level = c.level
            f.update(
                care_level=level,
                decided_on=c.decided if level is not None else None,
                notified_on=c.notified if level is not None else None,
                valid_from=c.valid_from if level not in (None, NOT_APPLICABLE) else None,
                valid_to=c.valid_to if level not in (None, NOT_APPLICABLE) else None,
                service_types_limited=False,
                cancelled_on=c.cancelled,
            )
            if level is None and f["primary_judged_on"] is not None and f["primary_level"] is None:
                f["primary_level"] = r.pick(LEVELS)
            self.batch["certifications"].append(
                tuple(
                    cid if col == "id" else m.pid if col == "person_id" else f[col]
                    for col in COLUMNS["certifications"]
                )
            )
            if level is None:
                if c.cancelled is None and c.applied <= T:
                    # Pending: a qualification certificate (資格者証) replaces the submitted insured certificate.
                    self.batch["certificate_issuances"].append(
                        (
                            self._take("certificate_issuances"),
                            qid,
                            "4",
                            f["received_on"],
                            f["received_on"] + timedelta(days=90),
                        )
                    )
                continue
            if level == NOT_APPLICABLE:
                continue
            assert c.decided is not None and c.valid_from is not None and c.valid_to is not None
            # Insured certificate reissued with the level and validity.
            issued = c.notified or c.decided
            self.batch["certificate_issuances"].append(
                (self._take("certificate_issuances"), qid, "1", issued, max(c.valid_to, issued))
            )
            kind = "1" if first_notice else "2"
            changed = c.valid_from
            sent = max(
                c.decided + timedelta(days=r.between(1, 7)), changed - timedelta(days=r.between(0, 25))
            )
            if sent <= T:
                self.batch["recipient_notices"].append(
                    (self._take("recipient_notices"), m.pid, kind, changed, sent, level)
                )
            first_notice = False
            last_level = level
        if last_level is not None and lost_on is not None:
            sent = lost_on + timedelta(days=r.between(5, 25))
            if sent <= T:
                self.batch["recipient_notices"].append(
                    (self._take("recipient_notices"), m.pid, "3", lost_on, sent, None)
                )

    # -- facility, plans, claims -----------------------------------------------------------------------

    def _facility(
        self,
        r: Rng,
        m: _Member,
        qid: int,
        decided: list[_Cert],
        domicile: bool,
        horizon: date,
        feature: str | None,
    ) -> list[tuple[date, date | None, str, str]]:
        """Facility stays (admitted, discharged, service type, facility number)."""
        if not decided:
            return []
        T = self.T
        last = decided[-1]
        assert last.level is not None and last.valid_from is not None
        stays: list[tuple[date, date | None, str, str]] = []
        end = m.death if m.death is not None else (m.moved_out if m.moved_out is not None else None)
        if domicile and m.domicile_on is not None:
            fac = r.pick(self.outside_facilities)
            fac_number, fac_name = fac[0], fac[1]
            admitted = m.domicile_on
            stays.append((admitted, None, "51", fac_number))
            self.batch["facility_admissions"].append(
                (
                    self._take("facility_admissions"),
                    qid,
                    fac_number,
                    fac_name,
                    admitted,
                    None,
                    True,
                    P.INSURER_NUMBER,
                )
            )
            return stays
        heavy = last.level in ("23", "24", "25")
        p = 0.40 if heavy else (0.07 if last.level in ("21", "22") else 0.0)
        if feature == "facility_low_income":
            p = 1.0
        if m.category == "2":
            p *= 0.3
        if not r.chance(p):
            return []
        kind = "51" if heavy and r.chance(0.8) else "52"
        # Admitted only while certified at a level the facility takes (特養: care 3+, 老健: care 1+).
        accepted = FACILITY_DAY_UNITS["51"] if kind == "51" else FACILITY_DAY_UNITS["52"]
        low = None
        for c in reversed(decided):
            if c.level not in accepted or (kind == "51" and c.level in ("21", "22")):
                break
            low = c.valid_from
        if low is None:
            return []
        high = min(horizon, T) - timedelta(days=20)
        if low + timedelta(days=30) > high:
            return []
        admitted = r.day_between(low + timedelta(days=30), high)
        if kind == "51" and r.chance(0.3) and admitted - low > timedelta(days=200):
            # A stay in a health facility (老健) first.
            before = r.day_between(low + timedelta(days=20), admitted - timedelta(days=120))
            number, name = r.pick(self.facilities["52"])
            left = admitted - timedelta(days=1)
            stays.append((before, left, "52", number))
            self.batch["facility_admissions"].append(
                (self._take("facility_admissions"), qid, number, name, before, left, False, None)
            )
        number, name = r.pick(self.facilities[kind])
        discharged = end
        if discharged is None and kind == "52" and r.chance(0.3):
            discharged = (
                r.day_between(admitted + timedelta(days=60), T) if admitted + timedelta(days=60) < T else None
            )
        stays.append((admitted, discharged, kind, number))
        self.batch["facility_admissions"].append(
            (self._take("facility_admissions"), qid, number, name, admitted, discharged, False, None)
        )
        return stays

    def _care_plans(
        self,
        r: Rng,
        m: _Member,
        decided: list[_Cert],
        stays: list[tuple[date, date | None, str, str]],
        horizon: date,
    ) -> None:
        T = self.T
        until = stays[0][0] - timedelta(days=1) if stays else None
        runs: list[list[_Cert]] = []
        for c in decided:
            group = c.level in ("12", "13")
            if runs and (runs[-1][0].level in ("12", "13")) == group:
                runs[-1].append(c)
            else:
                runs.append([c])
        for k, run in enumerate(runs):
            first = run[0]
            assert first.valid_from is not None and first.decided is not None
            valid_from = first.valid_from
            if until is not None and valid_from > until:
                break
            support = first.level in ("12", "13")
            office = r.pick(self.support_centers if support else self.care_offices)
            notified = max(first.applied, first.decided - timedelta(days=r.between(0, 10)))
            if notified > T:
                continue
            last_to = run[-1].valid_to
            valid_to: date | None = None
            if k < len(runs) - 1:
                nxt = runs[k + 1][0].valid_from
                assert nxt is not None
                valid_to = nxt - timedelta(days=1)
            elif m.gone_on is not None:
                valid_to = m.gone_on
            elif last_to is not None and last_to < T:
                valid_to = last_to
            if until is not None and (valid_to is None or valid_to > until):
                valid_to = until
            if valid_to is not None and valid_to < valid_from:
                continue
            nid = self._take("care_plan_notifications")
            self.batch["care_plan_notifications"].append(
                (
                    nid,
                    m.pid,
                    f"K{notified.year}-{nid:07d}",
                    notified,
                    notified + timedelta(days=r.between(0, 2)),
                    office[0],
                    office[1],
                    office[1] if r.chance(0.6) else None,
                    valid_from,
                    valid_to,
                )
            )

    @staticmethod
    def _income_class(stage: str, category: str | None) -> str:
        s = int(stage)
        if category == "2":
            return "3"
        if s <= 2:
            return "5"
        if s == 3:
            return "4"
        if s <= 9:
            return "3"
        if s <= 12:
            return "2"
        return "1"

    def _claims(
        self,
        r: Rng,
        hh: _Household,
        m: _Member,
        decided: list[_Cert],
        stays: list[tuple[date, date | None, str, str]],
        ratios: dict[int, int],
        eligibility_from: date | None,
        horizon: date,
        income_class: str,
    ) -> None:
        if not decided and eligibility_from is None:
            return
        T = self.T
        rows = self.batch["claim_results"]
        take = self._take
        plans: dict[str, list[tuple[str, str, int]]] = {}
        pid = m.pid
        cap = INCOME_CLASS_CAP[income_class]
        gone = m.gone_on if m.domicile_on is None else None
        for first, last, mid, reviewed, cy in self.claim_months:
            if gone is not None and gone <= first:
                break
            if mid > T:
                break
            level = None
            for c in decided:
                if c.valid_from is not None and c.valid_to is not None and c.valid_from <= mid <= c.valid_to:
                    level = c.level
            if level is None and (eligibility_from is None or eligibility_from > mid):
                continue
            if r.random() > 0.9:
                continue  # hospitalised, or no services this month
            ratio = ratios.get(cy, 10)
            lines: list[tuple[str, str, int]] = []
            stay = None
            for s in stays:
                if s[0] <= mid and (s[1] is None or s[1] >= mid):
                    stay = s
            if stay is not None and level is not None and level not in ("12", "13"):
                days = (last - max(first, stay[0])).days + 1
                if stay[1] is not None and stay[1] < last:
                    days -= (last - stay[1]).days
                per_day = FACILITY_DAY_UNITS[stay[2]][level]
                units = int(per_day * max(1, days) * (1.05 + r.random() * 0.1))
                lines.append((stay[2], stay[3], units))
            else:
                group = (
                    "S"
                    if level in ("12", "13")
                    else ("E" if level is None else ("L" if level in ("21", "22") else "H"))
                )
                plan = plans.get(group)
                if plan is None:
                    plan = plans[group] = self._plan(r, group, level)
                for service, provider, units in plan:
                    if service == "21" and r.random() < 0.6:
                        continue
                    lines.append((service, provider, int(units * (0.9 + r.random() * 0.2))))
            copay_total = cost_total = 0
            for service, provider, units in lines:
                cost = units * UNIT_PRICE[service] // 100
                paid = cost * (100 - ratio) // 100
                copay = cost - paid
                copay_total += copay
                cost_total += cost
                rows.append(
                    (take("claim_results"), pid, first, provider, service, units, cost, paid, copay, reviewed)
                )
            if copay_total > cap:
                applied = add_days(add_months(first, 2), r.between(5, 25))
                if applied <= T:
                    decided_on = applied + timedelta(days=r.between(15, 30))
                    self.batch["high_cost_benefits"].append(
                        (
                            take("high_cost_benefits"),
                            pid,
                            first,
                            applied,
                            hh.code,
                            income_class,
                            cost_total,
                            copay_total,
                            cap,
                            copay_total - cap,
                            "1" if r.random() < 0.9 else "2",
                            decided_on if decided_on <= T else None,
                        )
                    )

    def _plan(self, r: Rng, group: str, level: str | None) -> list[tuple[str, str, int]]:
        """The person's usual services for a level group: (service type, provider, units per month)."""
        services: list[str] = []
        fixed: list[tuple[str, int]] = []
        if group == "E":  # community programme eligibility only
            fixed.append(("A6", 1672) if r.chance(0.7) else ("A2", 1176))
            fixed.append(("43", 442))
        elif group == "S":
            if r.chance(0.6):
                fixed.append(("A6", 1672 if level == "12" else 3428))
            if r.chance(0.3):
                fixed.append(("A2", 1176 if level == "12" else 2349))
            for service, p in (("17", 0.35), ("16", 0.2)):
                if r.chance(p):
                    services.append(service)
            if not fixed and not services:
                fixed.append(("A6", 1672 if level == "12" else 3428))
            fixed.append(("43", 442))
        elif group == "L" and r.chance(0.07):
            fixed.append(("32", 760 * 30 + r.between(0, 1500)))  # dementia group home
        else:
            heavy = group == "H"
            probs = (
                (("11", 0.5), ("15", 0.45), ("13", 0.35), ("17", 0.8), ("21", 0.35), ("16", 0.1))
                if heavy
                else (("15", 0.6), ("11", 0.35), ("17", 0.5), ("16", 0.25), ("13", 0.15), ("21", 0.1))
            )
            for service, p in probs:
                if r.chance(p):
                    services.append(service)
            if not services:
                services.append("15")
            fixed.append(("43", 1398 if heavy else 1076))
        plan: list[tuple[str, str, int]] = [(s, r.pick(self.providers[s]), u) for s, u in fixed]
        if services:
            assert level is not None
            budget = UNIT_LIMIT[level] * (0.35 + r.random() * 0.5) - sum(u for s, u in fixed if s != "43")
            weights = [SERVICE_WEIGHT[s] for s in services]
            total = sum(weights) or 1
            for s, w in zip(services, weights, strict=True):
                units = r.between(300, 1800) if s == "17" else max(500, int(budget * w / total))
                plan.append((s, r.pick(self.providers[s]), units))
        return plan

    def _reimbursements(
        self, r: Rng, m: _Member, decided: list[_Cert], ratios: dict[int, int], horizon: date
    ) -> None:
        T = self.T
        first_valid = decided[0].valid_from
        assert first_valid is not None
        low = max(first_valid, T - timedelta(days=730))
        high = min(horizon, T) - timedelta(days=10)
        todo: list[tuple[str, int, int]] = []
        if r.chance(0.14):
            todo.append(("01", r.between(5, 99) * 1000 + r.between(0, 9) * 100, 100_000))
        if r.chance(0.04):
            todo.append(("02", r.between(30, 400) * 1000, 200_000))
        if r.chance(0.02) and decided[0].app_type == NEW:
            todo.append(("07", r.between(10, 150) * 1000, 10**9))
        for kind, total, limit in todo:
            if kind == "07":
                month = first_of_month(decided[0].applied)
            elif low < high:
                month = first_of_month(r.day_between(low, high))
            else:
                continue
            applied = max(month, first_valid) + timedelta(days=r.between(5, 40))
            if applied > T:
                continue
            ratio = ratios.get(certificate_year_of(month), 10)
            base = min(total, limit)
            copay_on_base = base * ratio // 100
            claimed = base - copay_on_base
            copay = copay_on_base + (total - base)
            received = applied + timedelta(days=r.between(0, 3))
            reviewed = add_months(first_of_month(received), 1)
            decided_on = received + timedelta(days=r.between(10, 40))
            done = decided_on <= T
            rid = self._take("reimbursements")
            self.batch["reimbursements"].append(
                (
                    rid,
                    m.pid,
                    f"R{applied.year}-{rid:07d}",
                    kind,
                    month,
                    applied,
                    received,
                    m.name if r.chance(0.6) else None,
                    "1" if r.chance(0.6) else "2",
                    "3" if kind in ("01", "02") and r.chance(0.4) else "1",
                    total,
                    copay,
                    claimed,
                    claimed if done else None,
                    reviewed if reviewed <= T else None,
                    decided_on if done else None,
                )
            )

    def _combined(self, r: Rng, m: _Member, stage: str) -> None:
        T = self.T
        limit = 560_000 if int(stage) > 3 else (310_000 if int(stage) > 1 else 190_000)
        for back in (1, 2):
            year = certificate_year_of(T) - back
            if not r.chance(0.05):
                continue
            applied = date(year + 1, 8, 1) + timedelta(days=r.between(60, 200))
            if applied > T:
                continue
            self_pay = r.between(150, 900) * 1000 + r.between(0, 999)
            decided_on = applied + timedelta(days=r.between(40, 90))
            done = decided_on <= T
            self.batch["combined_benefits"].append(
                (
                    self._take("combined_benefits"),
                    m.pid,
                    year,
                    applied,
                    self_pay,
                    max(0, self_pay - limit) if done else None,
                    decided_on if done else None,
                )
            )

    def _reductions(
        self,
        r: Rng,
        m: _Member,
        qid: int,
        stays: list[tuple[date, date | None, str, str]],
        stage: str,
        horizon: date,
        decided: list[_Cert],
    ) -> None:
        T = self.T
        s = int(stage)
        if stays and s <= 3 and m.category == "1":
            admitted = stays[0][0]
            end = stays[-1][1]
            for cy in (self.cy_prev, self.cy_cur):
                start, stop = date(cy, 8, 1), date(cy + 1, 7, 31)
                if admitted > stop or (end is not None and end < start):
                    continue
                if admitted > start:
                    applied = admitted + timedelta(days=r.between(0, 10))
                    valid_from = first_of_month(applied)
                else:
                    applied = start - timedelta(days=r.between(10, 40))
                    valid_from = start
                if (
                    applied > T
                    or applied > horizon
                    or valid_from > stop
                    or applied > stop - timedelta(days=30)
                ):
                    continue
                decided_on = applied + timedelta(days=r.between(7, 20))
                notice = decided_on + timedelta(days=r.between(1, 5))
                done = decided_on <= T
                self.batch["cost_reductions"].append(
                    (
                        self._take("cost_reductions"),
                        m.pid,
                        "01",
                        applied,
                        decided_on if done else None,
                        valid_from,
                        stop,
                        s,
                        None,
                        notice if notice <= T and done else None,
                    )
                )
                if done:
                    self.batch["certificate_issuances"].append(
                        (self._take("certificate_issuances"), qid, "3", decided_on, stop)
                    )
        elif decided and not stays and s <= 2 and r.chance(0.05):
            applied = r.day_between(
                max(T - timedelta(days=500), decided[0].valid_from or T), T - timedelta(days=15)
            )
            cy = certificate_year_of(applied)
            decided_on = applied + timedelta(days=r.between(7, 20))
            self.batch["cost_reductions"].append(
                (
                    self._take("cost_reductions"),
                    m.pid,
                    "02",
                    applied,
                    decided_on if decided_on <= T else None,
                    first_of_month(applied),
                    date(cy + 1, 7, 31),
                    None,
                    25,
                    None,
                )
            )

    def _copay_certificates(
        self,
        qid: int,
        decided: list[_Cert],
        eligibility_from: date | None,
        ratios: dict[int, int],
        horizon: date,
    ) -> None:
        T = self.T
        for cy in (self.cy_prev, self.cy_cur):
            if cy not in ratios:
                continue
            start = date(cy, 8, 1)
            issued = start - timedelta(days=10)
            starts = [c.decided for c in decided if c.decided is not None]
            if eligibility_from is not None:
                starts.append(eligibility_from)
            if not starts:
                continue
            earliest = min(starts)
            if earliest > issued:
                issued = earliest + timedelta(days=3)
            if issued > T or issued > horizon or issued > date(cy + 1, 7, 31):
                continue
            self.batch["certificate_issuances"].append(
                (self._take("certificate_issuances"), qid, "2", issued, date(cy + 1, 7, 31))
            )

    # -- levies ----------------------------------------------------------------------------------------

    def _levies(
        self,
        r: Rng,
        m: _Member,
        first_on: date,
        lost_on: date | None,
        stages: dict[int, str],
        feature: str | None,
        boundary: bool,
    ) -> date | None:
        """Levies of the previous and current fiscal year; returns the arrears start when in arrears."""
        T = self.T
        capable = feature not in ("arrears_restricted",) and r.chance(PENSION_DEDUCTION_RATE)
        payer = PENSION_PAYERS[r.weighted(PAYER_CUM)][0]
        direct_kind = "2" if r.random() < 0.55 else ("3" if r.random() < 0.67 else "4")
        plans: list[tuple[int, list[tuple[int, date, int, str]]]] = []  # (levy, [(id, due, amount, method)])
        prev_premium: int | None = None
        for fy in (self.fy_prev, self.fy_cur):
            fy_start, fy_end = date(fy, 4, 1), date(fy + 1, 3, 31)
            if first_on > fy_end or first_on > T or (lost_on is not None and lost_on <= fy_start):
                continue
            levied = max(fy_start, first_on)
            stage = stages[fy]
            full = annual_premium(stage)
            stop = lost_on if lost_on is not None and lost_on <= fy_end else None
            end_month = stop if stop is not None else date(fy + 1, 4, 1)
            months = months_between(levied, end_month)
            if months <= 0:
                continue
            premium = full if months >= 12 else full * months // 12 // 100 * 100
            corrected = correction = None
            if stop is not None:
                corrected = min(T, stop + timedelta(days=r.between(5, 20)))
                correction = "02"
            reduction = 0
            if correction is None and r.chance(0.004):
                reduction = premium // 2 // 100 * 100
                corrected = min(T, fy_start + timedelta(days=r.between(60, 150)))
                correction = "04"
                if corrected < levied:
                    corrected = levied
            elif correction is None and r.chance(0.01) and fy_start + timedelta(days=100) <= T:
                corrected = r.day_between(
                    fy_start + timedelta(days=90), min(T, fy_start + timedelta(days=240))
                )
                correction = "01"
            pension = capable and levied == fy_start and first_on <= fy_start - timedelta(days=183)
            method = "1" if pension else "2"
            lid = self._take("levies")
            self.batch["levies"].append(
                (
                    lid,
                    m.pid,
                    fy,
                    levied,
                    stage,
                    premium,
                    reduction,
                    method,
                    payer if pension else None,
                    corrected,
                    correction,
                )
            )
            # Installments.
            schedule = self.schedules[(fy, method)]
            if levied > fy_start:
                schedule = [(p, due) for p, due in schedule if due >= levied + timedelta(days=30)]
                if not schedule:
                    schedule = [(len(self.schedules[(fy, method)]), levied + timedelta(days=45))]
            if stop is not None:
                kept = [(p, due) for p, due in schedule if due < stop]
                schedule = kept or schedule[:1]
            net = premium - reduction
            n = len(schedule)
            if pension and n == 6 and prev_premium is not None:
                prov = prev_premium // 6 // 100 * 100
                if 3 * prov > net:
                    prov = net // 6 // 100 * 100
                rest = net - 3 * prov
                per = rest // 3 // 100 * 100
                amounts = [prov, prov, prov, rest - 2 * per, per, per]
            else:
                per = net // n // 100 * 100
                amounts = [net - per * (n - 1)] + [per] * (n - 1)
            rows: list[tuple[int, date, int, str]] = []
            for (period, due), amount in zip(schedule, amounts, strict=True):
                iid = self._take("levy_installments")
                self.batch["levy_installments"].append((iid, lid, fy, period, due, amount, method))
                rows.append((iid, due, amount, method))
            plans.append((lid, rows))
            prev_premium = premium
            # Refunds: premiums deducted from the pension after death, or lowered by an income correction.
            if stop is not None and pension and m.death is not None and r.chance(0.5):
                on = stop + timedelta(days=r.between(30, 60))
                if on <= T:
                    self.batch["levy_refunds"].append(
                        (
                            self._take("levy_refunds"),
                            lid,
                            "1",
                            amounts[-1] or 100,
                            on,
                            "死亡による賦課更正に伴う過誤納金の還付",
                        )
                    )
            if correction == "01" and corrected is not None and r.chance(0.5):
                on = corrected + timedelta(days=r.between(20, 40))
                if on <= T:
                    amount = max(100, full // 10 // 100 * 100)
                    self.batch["levy_refunds"].append(
                        (self._take("levy_refunds"), lid, "1", amount, on, "所得更正に伴う過誤納金の還付")
                    )
        # Payment behaviour of direct payers: on time, late, or in arrears.
        direct = [(lid, inst) for lid, rows in plans for inst in rows if inst[3] == "2"]
        due_direct = [inst for _, inst in direct if inst[1] < T]
        arrears_from: int | None = None
        arrears_since: date | None = None
        if (
            due_direct
            and m.gone_on is None
            and (feature == "arrears_restricted" or (feature is None and r.chance(ARREARS_RATE)))
        ):
            if feature == "arrears_restricted" or r.chance(0.4):
                arrears_from = 0
                first_due = due_direct[0][1]
                arrears_since = first_due - timedelta(days=r.between(200, 900))
            else:
                arrears_from = r.between(0, len(due_direct) - 1)
                arrears_since = due_direct[arrears_from][1]
        late_one = (
            r.between(0, len(due_direct) - 1)
            if due_direct and arrears_from is None and r.chance(LATE_PAYER_RATE)
            else -1
        )
        unpaid_ids = {inst[0] for inst in due_direct[arrears_from:]} if arrears_from is not None else set()
        late_id = due_direct[late_one][0] if late_one >= 0 else None
        receipts = self.batch["levy_receipts"]
        reminders = self.batch["levy_reminders"]
        take = self._take
        batch_dates = self._batch_dates
        for _, rows in plans:
            for iid, due, amount, method in rows:
                if amount <= 0:
                    continue
                if method == "1" or (direct_kind == "2" and iid not in unpaid_ids and iid != late_id):
                    # Pension deductions and account transfers arrive and are reconciled in batches.
                    if due > T:
                        continue
                    dates = batch_dates.get((due, method))
                    if dates is None:
                        dates = batch_dates[(due, method)] = self._receipt_batch(due, method)
                    receipts.append(
                        (take("levy_receipts"), iid, dates[0], due, dates[1], dates[2], amount, 0)
                    )
                    continue
                if iid in unpaid_ids:
                    sent = due + timedelta(days=REMINDER_AFTER_DAYS)
                    if sent <= T:
                        reminders.append((take("levy_reminders"), iid, sent, False, REMINDER_FEE))
                    final = due + timedelta(days=r.between(90, 120))
                    if final <= T and r.chance(0.5):
                        reminders.append((take("levy_reminders"), iid, final, True, 0))
                    continue
                if iid == late_id:
                    sent = due + timedelta(days=REMINDER_AFTER_DAYS)
                    if sent <= T:
                        reminders.append((take("levy_reminders"), iid, sent, False, REMINDER_FEE))
                    paid = due + timedelta(days=r.between(25, 60))
                    kind = "3"
                elif direct_kind == "2":
                    paid, kind = due, "2"
                else:
                    paid, kind = due - timedelta(days=r.between(0, 20)), direct_kind
                if paid > T:
                    continue
                received = paid + timedelta(days=r.between(5, 10) if kind == "4" else r.between(1, 3))
                if received > T:
                    received = T if paid <= T else paid
                reconciled = received + timedelta(days=r.between(1, 5))
                receipts.append(
                    (
                        take("levy_receipts"),
                        iid,
                        kind,
                        paid,
                        received,
                        reconciled if reconciled <= T else None,
                        amount,
                        0,
                    )
                )
        if arrears_since is not None and unpaid_ids and r.chance(0.3):
            # An overpayment of another levy appropriated (充当) to the oldest unpaid installment.
            target = due_direct[arrears_from or 0]
            lid = plans[0][0]
            part = max(100, target[2] // 2 // 100 * 100)
            on = min(T, target[1] + timedelta(days=r.between(30, 90)))
            self.batch["levy_refunds"].append(
                (take("levy_refunds"), lid, "2", part, on, "過誤納金を滞納分に充当")
            )
            receipts.append((take("levy_receipts"), target[0], "5", on, on, on, part, 0))
        return arrears_since

    def _restrictions(self, r: Rng, m: _Member, since: date) -> None:
        """Benefit restrictions of a certified person in arrears (1 year: payment method; 1.5: suspension)."""
        T = self.T
        overdue = (T - since).days
        steps = []
        if overdue >= 365:
            steps.append(("1", 365, "保険料滞納1年以上のため支払方法変更(償還払い)"))
        if overdue >= 548:
            steps.append(("2", 548, "保険料滞納1年6か月以上のため保険給付の一時差止"))
        if overdue >= 730:
            steps.append(("4", 730, "徴収権消滅期間に応じた給付額減額(3割)"))
        for kind, days, note in steps:
            decided_on = since + timedelta(days=days + r.between(10, 40))
            if decided_on > T:
                continue
            valid_from = decided_on + timedelta(days=r.between(1, 14))
            if valid_from > T:
                valid_from = T
            valid_to = valid_from + timedelta(days=365) if kind == "4" else None
            arrears = int(annual_premium("05") * max(1, days // 365) * 0.5) // 100 * 100
            self.batch["benefit_restrictions"].append(
                (
                    self._take("benefit_restrictions"),
                    m.pid,
                    kind,
                    decided_on,
                    valid_from,
                    valid_to,
                    arrears,
                    note,
                )
            )
