"""The persons of the synthetic city: households, their members, names, addresses and resident moves
(宛名)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from policies.individual_number import complete

from . import names as N
from . import places as P
from .base import (
    FOREIGN_REGISTER_START,
    LTCI_START,
    NINE_AM_JST,
    GeneratorState,
    Household,
    Member,
    Rng,
    Row,
    letters,
    mix64,
    running_totals,
)
from .dates import add_years

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

AGE_BAND_CUM = running_totals(AGE_BAND_WEIGHTS)
TOWN_CUM = running_totals(P.TOWN_WEIGHTS)
SURNAME_POOL = N.SURNAMES + N.REGIONAL_SURNAMES * 3


class Persons(GeneratorState):
    """宛名: a household's members, their names, addresses and moves."""

    def _age_65plus(self, r: Rng) -> tuple[int, int]:
        band = r.weighted(AGE_BAND_CUM)
        low, high = AGE_BANDS[band]
        return r.between(low, high), band

    def _compose(self, r: Rng, feature: str | None, remaining: int) -> list[Member]:
        """The members, the insured anchor first (the anchor always fits ``remaining``)."""
        second = feature == "second_category" or (feature is None and r.chance(SECOND_CATEGORY_ANCHOR_RATE))
        if second:
            age = r.between(50, 64) if r.chance(0.75) else r.between(40, 49)
            anchor = Member(age, "1" if r.chance(0.55) else "2", "01", "2")
            members = [anchor]
            if r.chance(0.65):
                members.append(self._spouse_of(r, anchor, "02"))
            for _ in range(r.between(0, 2)):
                members.append(Member(max(0, age - r.between(24, 36)), r.pick("12"), "03", None))
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
            anchor = Member(age, sex, "01", "1")
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
                    members.append(Member(max(18, age - r.between(25, 38)), r.pick("12"), "03", None))
            elif u < single + couple + with_child + three_gen:
                anchor.rel = "04"
                head_age = max(30, age - r.between(25, 35))
                head = Member(head_age, "1" if r.chance(0.7) else "2", "01", None)
                members.insert(0, head)
                members.append(self._spouse_of(r, head, "02"))
                if age < 88 and r.chance(0.4):
                    other = Member(
                        min(105, max(60, age + r.between(-3, 4))),
                        "1" if anchor.sex == "2" else "2",
                        "04",
                        None,
                    )
                    members.append(other)
                for _ in range(r.between(0, 2)):
                    members.append(Member(max(0, head_age - r.between(25, 35)), r.pick("12"), "05", None))
                # the anchor (the insured person driving the household) goes first
                members.remove(anchor)
                members.insert(0, anchor)
            else:
                if r.chance(0.7):
                    members.append(
                        Member(min(105, max(55, age + r.between(-6, 6))), r.pick("12"), "07", None)
                    )
                else:
                    members.append(Member(r.between(50, 80), r.pick("12"), "08", None))
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

    def _couple(self, r: Rng, members: list[Member]) -> None:
        anchor = members[0]
        spouse = self._spouse_of(r, anchor, "02")
        if spouse.sex == "1" and r.chance(0.9):
            anchor.rel, spouse.rel = "02", "01"
        members.append(spouse)

    @staticmethod
    def _spouse_of(r: Rng, m: Member, rel: str) -> Member:
        gap = r.between(-2, 6)
        sex = "2" if m.sex == "1" else "1"
        age = m.age - gap if m.sex == "1" else m.age + gap
        return Member(min(105, max(20, age)), sex, rel, None)

    def _address(self, r: Rng, h: int, members: list[Member], feature: str | None) -> Household:
        hh = Household()
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

    def _names(self, r: Rng, hh: Household, m: Member) -> None:
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

    def _person(self, r: Rng, hh: Household, m: Member, feature: str | None) -> None:
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
        linkage = letters(mix64(pid, self._linkage_key))
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

    def _acquisition(self, m: Member) -> None:
        """First-category date and acquisition of an insured member (stored on the member)."""
        eve65 = add_years(m.birth, 65) - timedelta(days=1)
        eve40 = add_years(m.birth, 40) - timedelta(days=1)
        if m.category == "2":
            m.acquired_on_tmp = max(eve40, m.resident_since, LTCI_START)
        elif m.resident_since > eve65:
            m.acquired_on_tmp = m.resident_since
        else:
            m.acquired_on_tmp = max(eve65, LTCI_START)
