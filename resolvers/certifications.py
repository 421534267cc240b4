"""認定 — certification and care-plan rows to schema objects."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy.engine import Row

from schema.certifications import (
    CarePlan,
    Certification,
    CertificationApplication,
    CertificationDecision,
    CertificationJudgement,
    CertificationPostponement,
    DoctorOpinion,
    HomeVisitSurvey,
)
from schema.enums import ApplicantRelationship, ApplicationType, CareLevel, PostponementReason

__all__ = ["care_plan_from_row", "certification_from_row"]


def _any(*values: object) -> bool:
    return any(v is not None for v in values)


def certification_from_row(r: Row[Any]) -> Certification:
    survey = (
        HomeVisitSurvey(
            requested_on=r.survey_requested_on,
            contractor=r.survey_contractor,
            surveyor=r.surveyor,
            place=r.survey_place,
            surveyed_on=r.survey_on,
            form_number=r.survey_form_number,
            due_on=r.survey_due_on,
            received_on=r.survey_received_on,
            notes=r.survey_notes,
        )
        if _any(r.survey_requested_on, r.survey_contractor, r.surveyor, r.survey_on, r.survey_received_on)
        else None
    )
    opinion = (
        DoctorOpinion(
            doctor_name=r.doctor_name,
            institution=r.doctor_institution,
            requested_on=r.opinion_requested_on,
            written_on=r.opinion_written_on,
            received_on=r.opinion_received_on,
        )
        if _any(r.doctor_name, r.doctor_institution, r.opinion_requested_on, r.opinion_received_on)
        else None
    )
    judgement = (
        CertificationJudgement(
            primary_judged_on=r.primary_judged_on,
            primary_level=CareLevel(r.primary_level) if r.primary_level is not None else None,
            committee_number=r.committee_number,
            committee_venue=r.committee_venue,
            review_scheduled_on=r.review_scheduled_on,
            secondary_judged_on=r.secondary_judged_on,
            committee_opinion=r.committee_opinion,
        )
        if _any(r.primary_judged_on, r.primary_level, r.review_scheduled_on, r.secondary_judged_on)
        else None
    )
    decision = (
        CertificationDecision(
            care_level=CareLevel(r.care_level),
            decided_on=r.decided_on,
            notified_on=r.notified_on,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            service_types_limited=r.service_types_limited,
        )
        if r.care_level is not None and r.decided_on is not None
        else None
    )
    postponement = (
        CertificationPostponement(
            postponed_on=r.postponed_on,
            reason=PostponementReason(r.postponement_reason),
            notice_on=r.postponement_notice_on,
            expected_on=r.postponement_expected_on,
        )
        if r.postponed_on is not None and r.postponement_reason is not None
        else None
    )
    return Certification(
        pk=r.id,
        id=strawberry.ID(str(r.id)),
        application=CertificationApplication(
            applied_on=r.applied_on,
            received_on=r.received_on,
            type=ApplicationType(r.application_type),
            reason=r.application_reason,
            applicant_name=r.applicant_name,
            applicant_relationship=ApplicantRelationship(r.applicant_relationship),
            applicant_postal_code=r.applicant_postal_code,
            applicant_address=r.applicant_address,
            applicant_phone=r.applicant_phone,
        ),
        survey=survey,
        doctor_opinion=opinion,
        judgement=judgement,
        decision=decision,
        postponement=postponement,
        cancelled_on=r.cancelled_on,
    )


def care_plan_from_row(r: Row[Any]) -> CarePlan:
    return CarePlan(
        notification_number=r.notification_number,
        notified_on=r.notified_on,
        received_on=r.received_on,
        office_number=r.office_number,
        office_name=r.office_name,
        agent_name=r.agent_name,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
    )
