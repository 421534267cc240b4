"""The levies of the synthetic city: the annual levy per fiscal year, its installments, receipts,
reminders and refunds (賦課・調定・収納)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from policies.codes import table

from .base import GeneratorState, Member, Rng, running_totals
from .dates import months_between

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

STAGE_CUM = running_totals(STAGE_WEIGHTS)
PAYER_CUM = running_totals([w for _, w in PENSION_PAYERS])


class Levies(GeneratorState):
    """賦課・収納: the premiums of a first-category insured person and how they were paid."""

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

    def _levies(
        self,
        r: Rng,
        m: Member,
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
