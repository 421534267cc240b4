"""The synthetic city, generated household by household as rows ready for COPY.

Determinism: every household draws from its own ``random.Random`` seeded with a string made of the
seed and the household's index (string seeds are hashed with SHA-512 by ``random``, never with the
per-process ``hash()``), and the shared pools (offices, providers, doctors…) from one more such
stream.  Identifiers come from counters and from bijections of those counters, so they are distinct by
construction.  Nothing here iterates over a set or reads the clock: the same seed, size and ``today``
give the same rows (except the AES-GCM ciphertexts, whose nonces are random).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from persistence.crypto import NumberVault

from . import names as N
from . import places as P
from .base import Batch, Bijection, Rng
from .dates import add_months, certificate_year_of, first_of_month, fiscal_year_of, month_end
from .levies import DIRECT_MONTHS, PENSION_MONTHS
from .persons import TOWN_CUM, Persons
from .qualifications import Qualifications
from .tables import COLUMNS

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


class CityGenerator(Persons, Qualifications):
    """Yields batches of rows (table → list of tuples in :data:`COLUMNS` order).

    The areas are mixins over :class:`~persistence.seed.base.GeneratorState` (one module each, like
    ``persistence/models/``); this class owns the set-up (pools, calendar) and the household loop."""

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
        self._numbers = Bijection(r, 10**11, (2, 5))
        self._addressees = Bijection(r, 9 * 10**9, (2, 3, 5))
        self._households = Bijection(r, 9 * 10**9, (2, 3, 5))
        self._insured_numbers = Bijection(r, 10**9, (2, 5))
        self._linkage_key = r.getrandbits(64)
        self._build_pools(r)
        self._build_calendar()

    def _rng(self, stream: str, index: int) -> Rng:
        return Rng(f"kaigo-seed/v1/{self.seed}/{stream}/{index}")

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
