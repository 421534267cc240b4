"""What the schema's field resolvers need from the request context.

The schema layer may not import resolvers or persistence, so it states its needs as protocols:
``resolvers.context.Context`` implements :class:`RequestContext`, and ``resolvers.loaders.Loaders``
implements :class:`Loaders` (one DataLoader per nested area, created per request, each batch one
SQL statement).  Keys are database ids of the parent (person, qualification, levy, installment)
unless noted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol, TypeAlias

import strawberry

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from .benefits import (
        BenefitRestriction,
        ClaimResult,
        CombinedBenefit,
        CommunityEligibility,
        CostReduction,
        HighCostBenefit,
        RecipientNotice,
        Reimbursement,
    )
    from .certifications import CarePlan, Certification
    from .levies import Levy, LevyInstallment, LevyReceipt, LevyRefund, LevyReminder
    from .persons import Person, ResidentMove
    from .qualifications import (
        CertificateIssuance,
        CopayRatio,
        FacilityAdmission,
        Qualification,
        QualificationEvent,
    )

__all__ = ["ClaimResultKey", "GraphQLInfo", "Loaders", "RequestContext"]

ClaimResultKey: TypeAlias = tuple[int, dt.date | None, dt.date | None]
"""(person id, first service month, last service month) — months inclusive, None = open."""


class Loaders(Protocol):
    """The per-request DataLoaders the nested fields use."""

    @property
    def household_members(self) -> DataLoader[str, list[Person]]: ...  # by household code
    @property
    def moves(self) -> DataLoader[int, list[ResidentMove]]: ...

    @property
    def qualifications(self) -> DataLoader[int, list[Qualification]]: ...
    @property
    def qualification_events(self) -> DataLoader[int, list[QualificationEvent]]: ...
    @property
    def copay_ratios(self) -> DataLoader[int, list[CopayRatio]]: ...
    @property
    def certificate_issuances(self) -> DataLoader[int, list[CertificateIssuance]]: ...
    @property
    def facility_admissions(self) -> DataLoader[int, list[FacilityAdmission]]: ...

    @property
    def certifications(self) -> DataLoader[int, list[Certification]]: ...  # applied date, newest first
    @property
    def care_plans(self) -> DataLoader[int, list[CarePlan]]: ...

    @property
    def reimbursements(self) -> DataLoader[int, list[Reimbursement]]: ...
    @property
    def high_cost_benefits(self) -> DataLoader[int, list[HighCostBenefit]]: ...
    @property
    def combined_benefits(self) -> DataLoader[int, list[CombinedBenefit]]: ...
    @property
    def cost_reductions(self) -> DataLoader[int, list[CostReduction]]: ...
    @property
    def benefit_restrictions(self) -> DataLoader[int, list[BenefitRestriction]]: ...
    @property
    def claim_results(self) -> DataLoader[ClaimResultKey, list[ClaimResult]]: ...
    @property
    def recipient_notices(self) -> DataLoader[int, list[RecipientNotice]]: ...
    @property
    def community_eligibilities(self) -> DataLoader[int, list[CommunityEligibility]]: ...

    @property
    def levies(self) -> DataLoader[int, list[Levy]]: ...  # fiscal year, newest first
    @property
    def levy_installments(self) -> DataLoader[int, list[LevyInstallment]]: ...
    @property
    def levy_refunds(self) -> DataLoader[int, list[LevyRefund]]: ...
    @property
    def levy_receipts(self) -> DataLoader[int, list[LevyReceipt]]: ...  # by installment id
    @property
    def levy_reminders(self) -> DataLoader[int, list[LevyReminder]]: ...  # by installment id


class RequestContext(Protocol):
    """The request context as the schema sees it."""

    @property
    def loaders(self) -> Loaders: ...

    @property
    def today(self) -> dt.date:
        """The request date: 'current' certifications, overdue installments and arrears are as of it."""
        ...

    def individual_number(self, blob: bytes, *, addressee_code: str) -> str:
        """The digits of a stored (encrypted) individual number, for an authorised response only."""
        ...


GraphQLInfo: TypeAlias = strawberry.Info[RequestContext, None]
