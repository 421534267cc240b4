"""The columns the seed writes, per table, in COPY order (and the order tables are loaded in)."""

from __future__ import annotations

COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": (
        "id", "addressee_code", "individual_number_enc", "individual_number_index", "linkage_code",
        "name", "name_kana", "alias_name", "alias_name_kana", "sex", "birth_date", "address_code",
        "address", "address_building", "postal_code", "household_code", "relationship",
        "resident_status", "nationality", "entry_purpose", "residence_period", "residence_expires_on",
        "foreign_resident_since", "phone", "delivery_name", "delivery_postal_code", "delivery_address",
        "special_notes", "no_automatic_response", "created_at",
    ),
    "resident_moves": (
        "id", "person_id", "moved_on", "notified_on", "reason", "resident_status_after",
        "previous_postal_code", "previous_address", "previous_building", "next_postal_code",
        "next_address", "next_building",
    ),
    "qualifications": (
        "id", "person_id", "insured_number", "category", "first_category_on", "acquired_on",
        "acquisition_reason", "notified_on", "lost_on", "loss_reason", "exempt", "exemption_reason",
        "boundary_layer", "boundary_layer_since", "domicile_exception",
    ),
    "qualification_events": ("id", "qualification_id", "occurred_on", "reason", "notified_on"),
    "copay_ratios": ("id", "qualification_id", "fiscal_year", "ratio_percent", "valid_from", "valid_to"),
    "certificate_issuances": ("id", "qualification_id", "kind", "issued_on", "valid_to"),
    "facility_admissions": (
        "id", "qualification_id", "facility_number", "facility_name", "admitted_on", "discharged_on",
        "domicile_exception", "insurer_number",
    ),
    "certifications": (
        "id", "person_id", "applied_on", "received_on", "application_type", "application_reason",
        "applicant_name", "applicant_relationship", "applicant_postal_code", "applicant_address",
        "applicant_phone", "survey_requested_on", "survey_contractor", "surveyor", "survey_place",
        "survey_on", "survey_form_number", "survey_due_on", "survey_received_on", "survey_notes",
        "doctor_name", "doctor_institution", "opinion_requested_on", "opinion_written_on",
        "opinion_received_on", "primary_judged_on", "primary_level", "committee_number",
        "committee_venue", "review_scheduled_on", "secondary_judged_on", "committee_opinion",
        "care_level", "decided_on", "notified_on", "valid_from", "valid_to", "service_types_limited",
        "postponed_on", "postponement_reason", "postponement_notice_on", "postponement_expected_on",
        "cancelled_on",
    ),
    "care_plan_notifications": (
        "id", "person_id", "notification_number", "notified_on", "received_on", "office_number",
        "office_name", "agent_name", "valid_from", "valid_to",
    ),
    "reimbursements": (
        "id", "person_id", "application_number", "kind", "service_month", "applied_on", "received_on",
        "applicant_name", "applicant_relationship", "payment_method", "total_cost", "copay_amount",
        "claimed_amount", "paid_amount", "reviewed_month", "decided_on",
    ),
    "high_cost_benefits": (
        "id", "person_id", "service_month", "applied_on", "household_code", "income_class",
        "cost_amount", "copay_amount", "cap_amount", "paid_amount", "payment_method", "decided_on",
    ),
    "combined_benefits": (
        "id", "person_id", "period_year", "applied_on", "self_pay_amount", "paid_amount", "decided_on",
    ),
    "cost_reductions": (
        "id", "person_id", "kind", "applied_on", "decided_on", "valid_from", "valid_to", "stage",
        "reduction_percent", "notice_on",
    ),
    "benefit_restrictions": (
        "id", "person_id", "kind", "decided_on", "valid_from", "valid_to", "arrears_amount", "note",
    ),
    "claim_results": (
        "id", "person_id", "service_month", "provider_number", "service_type", "units", "cost_amount",
        "insurer_paid_amount", "copay_amount", "reviewed_month",
    ),
    "recipient_notices": ("id", "person_id", "kind", "changed_on", "sent_on", "care_level"),
    "community_eligibilities": ("id", "person_id", "checked_on", "valid_from", "valid_to"),
    "levies": (
        "id", "person_id", "fiscal_year", "levied_on", "income_stage", "annual_premium",
        "reduction_amount", "collection_method", "pension_payer", "corrected_on", "correction_reason",
    ),
    "levy_installments": (
        "id", "levy_id", "assessment_year", "period", "due_on", "amount", "collection_method",
    ),
    "levy_receipts": (
        "id", "installment_id", "kind", "paid_on", "received_on", "reconciled_on", "amount", "late_fee",
    ),
    "levy_reminders": ("id", "installment_id", "sent_on", "final_notice", "fee"),
    "levy_refunds": ("id", "levy_id", "kind", "amount", "decided_on", "note"),
}

TABLES: tuple[str, ...] = tuple(COLUMNS)
