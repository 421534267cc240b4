"""資格 — qualification rows to schema objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from schema.enums import CertificateKind, InsuredCategory, QualificationEventReason
from schema.qualifications import (
    CertificateIssuance,
    CopayRatio,
    FacilityAdmission,
    Qualification,
    QualificationEvent,
)

__all__ = [
    "certificate_from_row",
    "copay_ratio_from_row",
    "event_from_row",
    "facility_admission_from_row",
    "qualification_from_row",
]


def qualification_from_row(r: Row[Any]) -> Qualification:
    return Qualification(
        pk=r.id,
        insured_number=r.insured_number,
        category=InsuredCategory(r.category),
        first_category_on=r.first_category_on,
        acquired_on=r.acquired_on,
        acquisition_reason=QualificationEventReason(r.acquisition_reason),
        notified_on=r.notified_on,
        lost_on=r.lost_on,
        loss_reason=QualificationEventReason(r.loss_reason) if r.loss_reason is not None else None,
        exempt=r.exempt,
        exemption_reason=r.exemption_reason,
        boundary_layer=r.boundary_layer,
        boundary_layer_since=r.boundary_layer_since,
        domicile_exception=r.domicile_exception,
    )


def event_from_row(r: Row[Any]) -> QualificationEvent:
    return QualificationEvent(
        occurred_on=r.occurred_on, reason=QualificationEventReason(r.reason), notified_on=r.notified_on
    )


def copay_ratio_from_row(r: Row[Any]) -> CopayRatio:
    return CopayRatio(
        fiscal_year=r.fiscal_year, ratio_percent=r.ratio_percent, valid_from=r.valid_from, valid_to=r.valid_to
    )


def certificate_from_row(r: Row[Any]) -> CertificateIssuance:
    return CertificateIssuance(kind=CertificateKind(r.kind), issued_on=r.issued_on, valid_to=r.valid_to)


def facility_admission_from_row(r: Row[Any]) -> FacilityAdmission:
    return FacilityAdmission(
        facility_number=r.facility_number,
        facility_name=r.facility_name,
        admitted_on=r.admitted_on,
        discharged_on=r.discharged_on,
        domicile_exception=r.domicile_exception,
        insurer_number=r.insurer_number,
    )
