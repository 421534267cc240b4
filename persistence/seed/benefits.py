"""The benefits of the synthetic city: claim results, reimbursements, high-cost and combined benefits,
cost reductions and restrictions for unpaid premiums (給付)."""

from __future__ import annotations

from datetime import date, timedelta

from policies.codes import table

from .base import Cert, GeneratorState, Household, Member, Rng
from .certifications import NEW
from .dates import add_days, add_months, certificate_year_of, first_of_month
from .levies import annual_premium

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


class Benefits(GeneratorState):
    """給付: what a certified (or eligible) person received, month by month, and what was withheld."""

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
        hh: Household,
        m: Member,
        decided: list[Cert],
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
        self, r: Rng, m: Member, decided: list[Cert], ratios: dict[int, int], horizon: date
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

    def _combined(self, r: Rng, m: Member, stage: str) -> None:
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
        m: Member,
        qid: int,
        stays: list[tuple[date, date | None, str, str]],
        stage: str,
        horizon: date,
        decided: list[Cert],
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

    def _restrictions(self, r: Rng, m: Member, since: date) -> None:
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
