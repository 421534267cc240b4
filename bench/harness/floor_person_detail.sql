-- The floor of person detail (bench/harness/floor.py): the data statements kaigo's read path issued for
-- BenchPersonDetail before issue 14's planner (one per DataLoader, every column of each row), kept here so
-- the floor stays the same whatever kaigo's read path becomes. Run with plain asyncpg, each statement
-- after the one whose ids it needs; a statement whose ids are empty is not run (as a loader is not).

-- name: person
SELECT persons.id, persons.addressee_code, persons.individual_number_enc, persons.name, persons.name_kana,
  persons.alias_name, persons.alias_name_kana, persons.sex, persons.birth_date, persons.address_code,
  persons.address, persons.address_building, persons.postal_code, persons.household_code,
  persons.relationship, persons.resident_status, persons.nationality, persons.entry_purpose,
  persons.residence_period, persons.residence_expires_on, persons.foreign_resident_since, persons.phone,
  persons.delivery_name, persons.delivery_postal_code, persons.delivery_address, persons.special_notes,
  persons.no_automatic_response
FROM persons
WHERE persons.id = ANY ($1::BIGINT[]);

-- name: qualifications
SELECT qualifications.id, qualifications.person_id, qualifications.insured_number, qualifications.category,
  qualifications.first_category_on, qualifications.acquired_on, qualifications.acquisition_reason,
  qualifications.notified_on, qualifications.lost_on, qualifications.loss_reason, qualifications.exempt,
  qualifications.exemption_reason, qualifications.boundary_layer, qualifications.boundary_layer_since,
  qualifications.domicile_exception
FROM qualifications
WHERE qualifications.person_id = ANY ($1::BIGINT[])
ORDER BY qualifications.acquired_on DESC, qualifications.id;

-- name: certifications
SELECT certifications.id, certifications.person_id, certifications.applied_on, certifications.received_on,
  certifications.application_type, certifications.application_reason, certifications.applicant_name,
  certifications.applicant_relationship, certifications.applicant_postal_code,
  certifications.applicant_address, certifications.applicant_phone, certifications.survey_requested_on,
  certifications.survey_contractor, certifications.surveyor, certifications.survey_place,
  certifications.survey_on, certifications.survey_form_number, certifications.survey_due_on,
  certifications.survey_received_on, certifications.survey_notes, certifications.doctor_name,
  certifications.doctor_institution, certifications.opinion_requested_on, certifications.opinion_written_on,
  certifications.opinion_received_on, certifications.primary_judged_on, certifications.primary_level,
  certifications.committee_number, certifications.committee_venue, certifications.review_scheduled_on,
  certifications.secondary_judged_on, certifications.committee_opinion, certifications.care_level,
  certifications.decided_on, certifications.notified_on, certifications.valid_from, certifications.valid_to,
  certifications.service_types_limited, certifications.postponed_on, certifications.postponement_reason,
  certifications.postponement_notice_on, certifications.postponement_expected_on, certifications.cancelled_on
FROM certifications
WHERE certifications.person_id = ANY ($1::BIGINT[])
ORDER BY certifications.applied_on DESC, certifications.id DESC;

-- name: levies
SELECT levies.id, levies.person_id, levies.fiscal_year, levies.levied_on, levies.income_stage,
  levies.annual_premium, levies.reduction_amount, levies.collection_method, levies.pension_payer,
  levies.corrected_on, levies.correction_reason
FROM levies
WHERE levies.person_id = ANY ($1::BIGINT[])
ORDER BY levies.fiscal_year DESC;

-- name: claim_results
SELECT claim_results.id, claim_results.person_id, claim_results.service_month, claim_results.provider_number,
  claim_results.service_type, claim_results.units, claim_results.cost_amount,
  claim_results.insurer_paid_amount, claim_results.copay_amount, claim_results.reviewed_month
FROM claim_results
WHERE claim_results.person_id = ANY ($1::BIGINT[]) AND claim_results.service_month >= $2::DATE AND claim_results.service_month <= $3::DATE
ORDER BY claim_results.person_id, claim_results.service_month DESC, claim_results.service_type, claim_results.provider_number, claim_results.id;

-- name: copay_ratios
SELECT copay_ratios.id, copay_ratios.qualification_id, copay_ratios.fiscal_year, copay_ratios.ratio_percent,
  copay_ratios.valid_from, copay_ratios.valid_to
FROM copay_ratios
WHERE copay_ratios.qualification_id = ANY ($1::BIGINT[])
ORDER BY copay_ratios.fiscal_year DESC;

-- name: levy_installments
SELECT levy_installments.id, levy_installments.levy_id, levy_installments.assessment_year,
  levy_installments.period, levy_installments.due_on, levy_installments.amount,
  levy_installments.collection_method,
  (SELECT coalesce(sum(levy_receipts.amount), $1::INTEGER) AS coalesce_1 FROM levy_receipts WHERE levy_receipts.installment_id = levy_installments.id) AS paid_amount
FROM levy_installments
WHERE levy_installments.levy_id = ANY ($2::BIGINT[]) ORDER BY levy_installments.period;

-- name: levy_receipts
SELECT levy_receipts.id, levy_receipts.installment_id, levy_receipts.kind, levy_receipts.paid_on,
  levy_receipts.received_on, levy_receipts.reconciled_on, levy_receipts.amount, levy_receipts.late_fee
FROM levy_receipts
WHERE levy_receipts.installment_id = ANY ($1::BIGINT[])
ORDER BY levy_receipts.paid_on, levy_receipts.id;
