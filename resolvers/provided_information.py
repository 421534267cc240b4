"""提供する情報 — gather what a provision or transfer sends, for one person or a page of persons.

Built with the request's DataLoaders, so a page of 1000 persons costs one statement per area asked
for (qualifications, their events …), whatever its size, and reads exactly what the read API reads.
Only the permitted items are read at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from policies.legal_bases import information_items
from schema.benefits import Benefits
from schema.legal_bases import information_item
from schema.levies import Levy, LevyInstallment
from schema.persons import Person
from schema.provided import (
    ProvidedBenefits,
    ProvidedCertification,
    ProvidedInformation,
    ProvidedInstallment,
    ProvidedInstallmentPayment,
    ProvidedLevy,
    ProvidedLevyPayment,
    ProvidedQualification,
    ProvidedReimbursement,
)
from schema.qualifications import Qualification

from .loaders import Loaders

__all__ = ["gather"]

COST_LIMIT = "COST_LIMIT"  # reduction_kind name of 負担限度額認定 (codes.toml)


async def gather(
    loaders: Loaders, person_ids: Sequence[int], items: Iterable[str], *, as_of: dt.date
) -> dict[int, ProvidedInformation]:
    """For each person id, the information of ``items`` (ids of information_items.toml) as of ``as_of``,
    the request date of ``loaders`` (certifications valid, installments overdue, arrears: as of it)."""
    wanted = set(items)
    ids = list(dict.fromkeys(person_ids))
    out: dict[int, dict[str, Any]] = {pid: {} for pid in ids}

    if wanted & {"QUALIFICATION", "COPAY_RATIO"}:
        found = await loaders.many(Person, "qualifications", ids)
        qualification = {pid: (qs[0] if qs else None) for pid, qs in zip(ids, found, strict=True)}
        qpks = [q.pk for q in qualification.values() if q is not None]
        if "QUALIFICATION" in wanted:
            events = dict(zip(qpks, await loaders.many(Qualification, "events", qpks), strict=True))
            admissions = dict(
                zip(qpks, await loaders.many(Qualification, "facility_admissions", qpks), strict=True)
            )
            certificates = dict(
                zip(qpks, await loaders.many(Qualification, "certificates", qpks), strict=True)
            )
            for pid, q in qualification.items():
                out[pid]["qualification"] = (
                    ProvidedQualification(
                        insured_number=q.insured_number,
                        category=q.category,
                        first_category_on=q.first_category_on,
                        acquired_on=q.acquired_on,
                        acquisition_reason=q.acquisition_reason,
                        lost_on=q.lost_on,
                        loss_reason=q.loss_reason,
                        exempt=q.exempt,
                        exemption_reason=q.exemption_reason,
                        boundary_layer=q.boundary_layer,
                        boundary_layer_since=q.boundary_layer_since,
                        domicile_exception=q.domicile_exception,
                        events=events[q.pk],
                        facility_admissions=admissions[q.pk],
                        certificates=certificates[q.pk],
                    )
                    if q is not None
                    else None
                )
        if "COPAY_RATIO" in wanted:
            ratios = dict(zip(qpks, await loaders.many(Qualification, "copay_ratios", qpks), strict=True))
            for pid, q in qualification.items():
                out[pid]["copay_ratios"] = ratios[q.pk] if q is not None else []

    if "CERTIFICATION" in wanted:
        for pid, current in zip(ids, await loaders.many(Person, "current_certification", ids), strict=True):
            decision = current.decision if current is not None else None
            out[pid]["certification"] = (
                ProvidedCertification(
                    applied_on=current.application.applied_on,
                    application_type=current.application.type,
                    care_level=decision.care_level,
                    decided_on=decision.decided_on,
                    valid_from=decision.valid_from,
                    valid_to=decision.valid_to,
                    service_types_limited=decision.service_types_limited,
                    cancelled_on=current.cancelled_on,
                )
                if current is not None and decision is not None
                else None
            )

    if wanted & {"COST_LIMIT", "REDUCTION"}:
        for pid, reductions in zip(ids, await loaders.many(Benefits, "reductions", ids), strict=True):
            if "COST_LIMIT" in wanted:
                out[pid]["cost_limits"] = [r for r in reductions if r.kind.name == COST_LIMIT]
            if "REDUCTION" in wanted:
                out[pid]["reductions"] = [r for r in reductions if r.kind.name != COST_LIMIT]

    if "BENEFITS" in wanted:
        claims = await loaders.many(Benefits, "claim_results", ids, {"from_": None, "to": None})
        notices = await loaders.many(Benefits, "recipient_notices", ids)
        reimbursements = await loaders.many(Benefits, "reimbursements", ids)
        high_cost = await loaders.many(Benefits, "high_cost", ids)
        combined = await loaders.many(Benefits, "combined", ids)
        for n, pid in enumerate(ids):
            out[pid]["benefits"] = ProvidedBenefits(
                claim_results=claims[n],
                recipient_notices=notices[n],
                reimbursements=[
                    ProvidedReimbursement(
                        application_number=r.application_number,
                        kind=r.kind,
                        service_month=r.service_month,
                        applied_on=r.applied_on,
                        received_on=r.received_on,
                        payment_method=r.payment_method,
                        total_cost=r.total_cost,
                        copay_amount=r.copay_amount,
                        claimed_amount=r.claimed_amount,
                        paid_amount=r.paid_amount,
                        reviewed_month=r.reviewed_month,
                        decided_on=r.decided_on,
                    )
                    for r in reimbursements[n]
                ],
                high_cost=high_cost[n],
                combined=combined[n],
            )

    if "RESTRICTIONS" in wanted:
        for pid, restrictions in zip(ids, await loaders.many(Benefits, "restrictions", ids), strict=True):
            out[pid]["restrictions"] = restrictions

    if wanted & {"LEVY", "PAYMENT_STATUS"}:
        levies = dict(zip(ids, await loaders.many(Person, "levies", ids, {"fiscal_year": None}), strict=True))
        lpks = [levy.pk for person_levies in levies.values() for levy in person_levies]
        installments = dict(zip(lpks, await loaders.many(Levy, "installments", lpks), strict=True))
        if "LEVY" in wanted:
            for pid, person_levies in levies.items():
                out[pid]["levies"] = [
                    ProvidedLevy(
                        fiscal_year=levy.fiscal_year,
                        levied_on=levy.levied_on,
                        income_stage=levy.income_stage,
                        annual_premium=levy.annual_premium,
                        reduction_amount=levy.reduction_amount,
                        collection_method=levy.collection_method,
                        pension_payer=levy.pension_payer,
                        corrected_on=levy.corrected_on,
                        correction_reason=levy.correction_reason,
                        installments=[
                            ProvidedInstallment(
                                assessment_year=i.assessment_year,
                                period=i.period,
                                due_on=i.due_on,
                                amount=i.amount,
                                collection_method=i.collection_method,
                            )
                            for i in installments[levy.pk]
                        ],
                    )
                    for levy in person_levies
                ]
        if "PAYMENT_STATUS" in wanted:
            ipks = [i.pk for rows in installments.values() for i in rows]
            receipts = dict(zip(ipks, await loaders.many(LevyInstallment, "receipts", ipks), strict=True))
            reminders = dict(zip(ipks, await loaders.many(LevyInstallment, "reminders", ipks), strict=True))
            refunds = dict(zip(lpks, await loaders.many(Levy, "refunds", lpks), strict=True))
            for pid, person_levies in levies.items():
                out[pid]["payment_status"] = [
                    ProvidedLevyPayment(
                        fiscal_year=levy.fiscal_year,
                        arrears_amount=levy.arrears_amount,
                        installments=[
                            ProvidedInstallmentPayment(
                                period=i.period,
                                due_on=i.due_on,
                                paid_amount=i.paid_amount,
                                outstanding_amount=i.outstanding_amount,
                                status=i.status,
                                receipts=receipts[i.pk],
                                reminders=reminders[i.pk],
                            )
                            for i in installments[levy.pk]
                        ],
                        refunds=refunds[levy.pk],
                    )
                    for levy in person_levies
                ]

    if "COMMUNITY_PROGRAMME" in wanted:
        for pid, rows in zip(ids, await loaders.many(Benefits, "community_eligibility", ids), strict=True):
            out[pid]["community_programme"] = rows

    listed = [information_item(i) for i in information_items() if i in wanted]
    return {
        pid: ProvidedInformation(
            as_of=as_of,
            items=listed,
            qualification=fields.get("qualification"),
            certification=fields.get("certification"),
            copay_ratios=fields.get("copay_ratios"),
            cost_limits=fields.get("cost_limits"),
            reductions=fields.get("reductions"),
            benefits=fields.get("benefits"),
            restrictions=fields.get("restrictions"),
            levies=fields.get("levies"),
            payment_status=fields.get("payment_status"),
            community_programme=fields.get("community_programme"),
        )
        for pid, fields in out.items()
    }
