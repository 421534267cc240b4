"""The qualifications of the synthetic city: acquisition and loss, copay ratios, certificates and
facility stays; each insured person's other areas are generated from here (資格)."""

from __future__ import annotations

from datetime import date, timedelta

from . import places as P
from .base import LTCI_START, Cert, Household, Member, Rng
from .benefits import FACILITY_DAY_UNITS, Benefits
from .certifications import NOT_APPLICABLE, Certifications
from .dates import add_days, add_years
from .levies import STAGE_CODES, STAGE_CUM, Levies
from .persons import BOUNDARY_LAYER_RATE, CERTIFIED_RATE, COMMUNITY_ELIGIBLE_RATE, NOT_APPLICABLE_RATE


class Qualifications(Certifications, Benefits, Levies):
    """資格: an insured person's qualification, from which every other area of theirs follows.

    It inherits the areas it drives (certifications, benefits, levies) so that one person's records
    are generated in one pass with one random stream, in the same order as before the split."""

    def _insured(self, r: Rng, hh: Household, m: Member, feature: str | None) -> None:
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
        certs: list[Cert] = []
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

    def _facility(
        self,
        r: Rng,
        m: Member,
        qid: int,
        decided: list[Cert],
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

    def _copay_certificates(
        self,
        qid: int,
        decided: list[Cert],
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
