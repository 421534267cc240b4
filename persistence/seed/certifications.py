"""The certifications of the synthetic city: applications through surveys, opinions and judgements
to decisions, and the care plans that follow them (認定・居宅)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from . import places as P
from .base import Cert, GeneratorState, Household, Member, Rng, running_totals
from .dates import validity_end
from .tables import COLUMNS

# -- certification ------------------------------------------------------------------------------------
LEVELS = ("12", "13", "21", "22", "23", "24", "25")
LEVEL_WEIGHTS = (14, 14, 20, 17, 13, 12, 8)
NOT_APPLICABLE = "01"
NEW, RENEWAL, LEVEL_CHANGE, MOVED_IN = "1", "2", "3", "5"
NEW_MONTHS = ((3, 5), (6, 70), (12, 25))
RENEWAL_MONTHS = ((6, 5), (12, 35), (24, 20), (36, 32), (48, 8))
LEVEL_CHANGE_RATE = 0.07

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

LEVEL_CUM = running_totals(LEVEL_WEIGHTS)
NEW_MONTHS_CUM = running_totals([w for _, w in NEW_MONTHS])
RENEWAL_MONTHS_CUM = running_totals([w for _, w in RENEWAL_MONTHS])


class Certifications(GeneratorState):
    """認定・居宅: a person's certification cases, each through its workflow, and their care plans."""

    def _certifications(
        self,
        r: Rng,
        hh: Household,
        m: Member,
        eligible: date,
        horizon: date,
        feature: str | None,
        domicile: bool,
        moved_in: bool,
    ) -> list[Cert]:
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
        certs: list[Cert] = []
        applied = start
        app_type = first_type
        months = self._months(r, NEW_MONTHS, NEW_MONTHS_CUM) if first_type != MOVED_IN else r.between(3, 12)
        valid_from = applied
        prev: Cert | None = None
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

    def _not_applicable(self, r: Rng, hh: Household, m: Member, low: date) -> list[Cert]:
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

    def _workflow(self, r: Rng, hh: Household, m: Member, applied: date, app_type: str, cutoff: date) -> Cert:
        """Application → survey and opinion → judgements → decision, with dates after ``cutoff`` unknown."""
        T = self.T
        c = Cert(applied, app_type)
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
        self, r: Rng, hh: Household, m: Member, certs: list[Cert], qid: int, lost_on: date | None, T: date
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

    def _care_plans(
        self,
        r: Rng,
        m: Member,
        decided: list[Cert],
        stays: list[tuple[date, date | None, str, str]],
        horizon: date,
    ) -> None:
        T = self.T
        until = stays[0][0] - timedelta(days=1) if stays else None
        runs: list[list[Cert]] = []
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
