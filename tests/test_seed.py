"""`kaigo seed`: a deterministic synthetic city that satisfies the schema and looks like the targets."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.crypto import DecryptionError, NumberVault
from persistence.db import make_engine
from persistence.seed import BASE_PREMIUM, SeedError, SeedReport, annual_premium, seed_city
from persistence.seed.dates import add_years
from persistence.seed.figures import city_figures
from persistence.seed.tables import TABLES
from policies.codes import table
from policies.individual_number import contains_valid_number, is_valid

pytestmark = pytest.mark.db

TODAY = date(2026, 11, 1)
CITY_INSURED = 3000
CITY_SEED = 11


@dataclass
class City:
    engine: AsyncEngine
    report: SeedReport


@pytest.fixture(scope="module")
async def city(pg_server: Any, migrated_template: str, vault: NumberVault) -> AsyncIterator[City]:
    """A 3,000-insured city shared by the read-only tests of this module."""
    name = f"kaigo_t_seed_city_{secrets.token_hex(4)}"
    engine = make_engine(await pg_server.create(name, template=migrated_template), pool_size=2)
    try:
        report = await seed_city(engine, vault, insured=CITY_INSURED, seed=CITY_SEED, today=TODAY)
        yield City(engine, report)
    finally:
        await engine.dispose()
        await pg_server.drop(name)


async def _scalar(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).scalar_one()


async def _digests(engine: AsyncEngine) -> dict[str, str]:
    """One md5 per table over its rows in id order; ciphertexts (random nonces) left out."""
    out = {}
    async with engine.connect() as conn:
        for name in TABLES:
            out[name] = await _scalar(
                conn,
                f"SELECT md5(coalesce(string_agg((to_jsonb(t) - 'individual_number_enc')::text, '|' ORDER BY id), '')) "
                f"FROM {name} t",
            )
    return out


# -- determinism, refusal, replace ----------------------------------------------------------------------


async def test_the_same_seed_gives_the_same_rows_in_another_database(
    empty_database_url: str, pg_server: Any, migrated_template: str, vault: NumberVault
) -> None:
    second_name = f"kaigo_t_seed_twin_{secrets.token_hex(4)}"
    second_url = await pg_server.create(second_name, template=migrated_template)
    engines = [make_engine(empty_database_url, pool_size=1), make_engine(second_url, pool_size=1)]
    messages: list[str] = []
    try:
        reports = [
            await seed_city(engine, vault, insured=400, seed=5, today=TODAY, progress=messages.append)
            for engine in engines
        ]
        assert reports[0].counts == reports[1].counts
        assert reports[0].counts["qualifications"] == 400
        assert reports[0].counts["persons"] > 400
        assert all(reports[0].counts[name] > 0 for name in TABLES)
        first, second = [await _digests(engine) for engine in engines]
        assert first == second
        async with engines[0].connect() as a, engines[1].connect() as b:
            sql = "SELECT individual_number_enc FROM persons ORDER BY id LIMIT 5"
            # Same numbers, fresh nonces: the ciphertexts differ, their blind indexes do not.
            assert (await a.execute(text(sql))).scalars().all() != (
                await b.execute(text(sql))
            ).scalars().all()
    finally:
        for engine in engines:
            await engine.dispose()
        await pg_server.drop(second_name)
    # Progress lines carry counts only: never a number, never a name.
    assert messages
    assert not any(contains_valid_number(m) for m in messages)
    assert all(re.fullmatch(r"[a-z0-9 ,/().]+", m) for m in messages)


async def test_seeding_twice_is_refused_unless_replacing(empty_database_url: str, vault: NumberVault) -> None:
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        first = await seed_city(engine, vault, insured=200, seed=5, today=TODAY)
        digests = await _digests(engine)
        with pytest.raises(SeedError, match="already holds"):
            await seed_city(engine, vault, insured=200, seed=5, today=TODAY)
        assert await _digests(engine) == digests  # the refused run left nothing behind

        again = await seed_city(engine, vault, insured=200, seed=5, today=TODAY, replace=True)
        assert again.counts == first.counts
        assert await _digests(engine) == digests

        other = await seed_city(engine, vault, insured=200, seed=6, today=TODAY, replace=True)
        other_digests = await _digests(engine)
        assert other.counts["qualifications"] == 200
        assert other_digests["persons"] != digests["persons"]
        assert other_digests["levies"] != digests["levies"]
        assert other_digests["certifications"] != digests["certifications"]
    finally:
        await engine.dispose()


async def test_identity_columns_continue_after_the_seed(empty_database_url: str, vault: NumberVault) -> None:
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        report = await seed_city(engine, vault, insured=30, seed=2, today=TODAY)
        async with engine.begin() as conn:
            new_id = await _scalar(
                conn,
                "INSERT INTO persons (addressee_code, name, name_kana, sex, birth_date, address_code, address, "
                "postal_code, household_code, relationship, resident_status) VALUES ('99999999999', '試験　太郎', "
                "'シケン　タロウ', '1', '1950-01-01', '1', '倉敷市', '710-0000', '9', '01', '1') RETURNING id",
            )
            assert new_id == report.counts["persons"] + 1
    finally:
        await engine.dispose()


def test_the_premium_follows_the_base_and_the_stage_multiplier() -> None:
    assert annual_premium("05") == BASE_PREMIUM
    for value in table("income_stage").values:
        expected = int(BASE_PREMIUM * value.extra["multiplier"] + 1e-6) // 100 * 100
        assert annual_premium(value.code) == expected


# -- the 3,000-insured city ------------------------------------------------------------------------------


async def test_the_insured_file_has_the_expected_shape(city: City) -> None:
    async with city.engine.connect() as conn:
        figures = await city_figures(conn, TODAY)
    assert figures["insured"] == CITY_INSURED
    assert figures["first_category_share_of_insured"] > 0.98
    assert 0.15 <= figures["certified_share_of_65_plus"] <= 0.25
    targets = {"12": 0.14, "13": 0.14, "21": 0.20, "22": 0.17, "23": 0.13, "24": 0.12, "25": 0.08}
    for level, share in targets.items():
        assert abs(figures["care_levels"].get(level, 0.0) - share) < 0.06, level
    assert abs(figures["copay"].get(20, 0.0) - 0.05) < 0.025
    assert abs(figures["copay"].get(30, 0.0) - 0.04) < 0.025
    assert figures["copay"].get(10, 0.0) > 0.85
    assert 0.8 <= figures["pension_deduction_share"] <= 0.95
    assert figures["arrears_persons"] >= 1
    assert 0.005 <= figures["foreign_share"] <= 0.035


async def test_individual_numbers_are_valid_distinct_and_bound_to_their_row(
    city: City, vault: NumberVault
) -> None:
    async with city.engine.connect() as conn:
        persons = city.report.counts["persons"]
        assert await _scalar(conn, "SELECT count(individual_number_enc) FROM persons") == persons
        assert await _scalar(conn, "SELECT count(DISTINCT individual_number_index) FROM persons") == persons
        assert await _scalar(conn, "SELECT count(DISTINCT linkage_code) FROM persons") == persons
        assert await _scalar(conn, "SELECT count(DISTINCT addressee_code) FROM persons") == persons
        assert (
            await _scalar(conn, "SELECT count(*) FROM persons WHERE addressee_code !~ '^[0-9]{10,15}$'") == 0
        )
        rows = (
            await conn.execute(
                text(
                    "SELECT addressee_code, individual_number_enc, individual_number_index FROM persons "
                    "ORDER BY id LIMIT 150"
                )
            )
        ).all()
    seen = []
    for addressee, blob, index in rows:
        number = vault.decrypt(blob, context=addressee.encode())
        digits = number.reveal()
        assert is_valid(digits)
        assert vault.blind_index_raw(digits) == bytes(index)
        seen.append(index)
    assert len(set(seen)) == len(seen)
    # A ciphertext copied to another row does not decrypt there.
    with pytest.raises(DecryptionError):
        vault.decrypt(rows[0][1], context=rows[1][0].encode())


async def test_ages_agree_with_categories_and_acquisition(city: City) -> None:
    # Born on or before these days: 65 (40) on TODAY, the age rising on the birthday's eve.
    born_65 = add_years(TODAY + timedelta(days=1), -65)
    born_40 = add_years(TODAY + timedelta(days=1), -40)
    async with city.engine.connect() as conn:
        young_first = await _scalar(
            conn,
            "SELECT count(*) FROM qualifications q JOIN persons p ON p.id = q.person_id "
            "WHERE q.category = '1' AND p.birth_date > :b65",
            b65=born_65,
        )
        assert young_first == 0
        second_out_of_range = await _scalar(
            conn,
            "SELECT count(*) FROM qualifications q JOIN persons p ON p.id = q.person_id WHERE q.category = '2' "
            "AND (p.birth_date <= :b65 OR p.birth_date > :b40)",
            b65=born_65,
            b40=born_40,
        )
        assert second_out_of_range == 0
        # 年齢到達: first category from the eve of the 65th birthday (or the move-in, or the 2000 start).
        wrong_age_acquisition = await _scalar(
            conn,
            "SELECT count(*) FROM qualifications q JOIN persons p ON p.id = q.person_id "
            "WHERE q.acquisition_reason = '11' AND q.acquired_on <> greatest("
            "  (p.birth_date + interval '65 years')::date - 1, DATE '2000-04-01')"
            "  AND NOT (extract(month FROM p.birth_date) = 2 AND extract(day FROM p.birth_date) = 29)",
        )
        assert wrong_age_acquisition == 0
        second_uncertified = await _scalar(
            conn,
            "SELECT count(*) FROM qualifications q WHERE q.category = '2' AND NOT EXISTS "
            "(SELECT 1 FROM certifications c WHERE c.person_id = q.person_id)",
        )
        assert second_uncertified == 0
        dead_without_status = await _scalar(
            conn,
            "SELECT count(*) FROM qualifications q JOIN persons p ON p.id = q.person_id "
            "WHERE q.loss_reason = '21' AND p.resident_status <> '4'",
        )
        assert dead_without_status == 0


async def test_certifications_belong_to_the_insured_and_follow_the_workflow(city: City) -> None:
    async with city.engine.connect() as conn:
        orphans = await _scalar(
            conn,
            "SELECT count(*) FROM certifications c WHERE NOT EXISTS "
            "(SELECT 1 FROM qualifications q WHERE q.person_id = c.person_id)",
        )
        assert orphans == 0
        assert await _scalar(conn, "SELECT count(*) FROM certifications WHERE application_type = '1'") > 0
        assert await _scalar(conn, "SELECT count(*) FROM certifications WHERE application_type = '2'") > 0
        assert await _scalar(conn, "SELECT count(*) FROM certifications WHERE postponed_on IS NOT NULL") > 0
        assert await _scalar(conn, "SELECT count(*) FROM certifications WHERE care_level = '01'") > 0
        open_applications = await _scalar(
            conn, "SELECT count(*) FROM certifications WHERE decided_on IS NULL AND cancelled_on IS NULL"
        )
        assert open_applications > 0
        # Validity ends on a month-end (unless a level change took over the next day); a new
        # certification starts on its application date.
        assert (
            await _scalar(
                conn,
                "SELECT count(*) FROM certifications c WHERE c.valid_to IS NOT NULL "
                "AND extract(day FROM c.valid_to + 1) <> 1 AND NOT EXISTS (SELECT 1 FROM certifications n "
                "WHERE n.person_id = c.person_id AND n.application_type = '3' AND n.valid_from = c.valid_to + 1)",
            )
            == 0
        )
        assert (
            await _scalar(
                conn,
                "SELECT count(*) FROM certifications WHERE application_type = '1' AND care_level <> '01' "
                "AND valid_from <> applied_on",
            )
            == 0
        )
        late_without_postponement = await _scalar(
            conn,
            "SELECT count(*) FROM certifications WHERE decided_on - applied_on > 30 AND postponed_on IS NULL",
        )
        assert late_without_postponement == 0
        # Support levels use the community programme, not care-level services.
        support_in_facility = await _scalar(
            conn,
            "SELECT count(*) FROM claim_results WHERE service_type IN ('51', '52', '32') AND person_id IN "
            "(SELECT person_id FROM certifications WHERE care_level IN ('12', '13') AND valid_from <= service_month "
            "AND valid_to >= service_month + 14)",
        )
        assert support_in_facility == 0
        assert (
            await _scalar(conn, "SELECT count(*) FROM claim_results WHERE service_type IN ('A2', 'A6')") > 0
        )


async def test_levies_are_for_the_first_category_and_add_up(city: City) -> None:
    async with city.engine.connect() as conn:
        not_first = await _scalar(
            conn,
            "SELECT count(*) FROM levies l JOIN qualifications q ON q.person_id = l.person_id "
            "WHERE q.category <> '1' OR l.levied_on < q.first_category_on",
        )
        assert not_first == 0
        assert (
            await _scalar(
                conn,
                "SELECT count(*) FROM levies l WHERE NOT EXISTS "
                "(SELECT 1 FROM qualifications q WHERE q.person_id = l.person_id)",
            )
            == 0
        )
        unbalanced = await _scalar(
            conn,
            "SELECT count(*) FROM levies l WHERE l.annual_premium - l.reduction_amount <> "
            "(SELECT sum(amount) FROM levy_installments i WHERE i.levy_id = l.id)",
        )
        assert unbalanced == 0
        full_year = (
            await conn.execute(
                text(
                    "SELECT income_stage, annual_premium FROM levies "
                    "WHERE levied_on = make_date(fiscal_year, 4, 1) AND corrected_on IS NULL"
                )
            )
        ).all()
        assert full_year
        assert all(premium == annual_premium(stage) for stage, premium in full_year)
        assert await _scalar(conn, "SELECT count(DISTINCT fiscal_year) FROM levies") == 2
        pension_periods = await _scalar(
            conn,
            "SELECT count(*) FROM levy_installments WHERE collection_method = '1' "
            "AND extract(month FROM due_on) NOT IN (4, 6, 8, 10, 12, 2)",
        )
        assert pension_periods == 0
        assert await _scalar(conn, "SELECT count(*) FROM levy_receipts WHERE paid_on > :t", t=TODAY) == 0
        assert await _scalar(conn, "SELECT count(*) FROM levy_reminders WHERE fee = 100") > 0


async def test_households_share_an_address_and_have_one_head(city: City) -> None:
    async with city.engine.connect() as conn:
        spread = await _scalar(
            conn,
            "SELECT count(*) FROM (SELECT household_code FROM persons GROUP BY 1 "
            "HAVING count(DISTINCT (address, postal_code)) > 1 OR count(*) FILTER (WHERE relationship = '01') <> 1 "
            "OR count(*) > 5) x",
        )
        assert spread == 0
        assert await _scalar(conn, "SELECT count(*) FROM persons WHERE postal_code !~ '^71[0-3]-'") == 0
        assert await _scalar(conn, "SELECT count(*) FROM persons WHERE alias_name IS NOT NULL") > 0
        assert await _scalar(conn, "SELECT count(*) FROM persons WHERE no_automatic_response") > 0
        status_mismatch = await _scalar(
            conn,
            "SELECT count(*) FROM persons p WHERE p.resident_status <> (SELECT m.resident_status_after "
            "FROM resident_moves m WHERE m.person_id = p.id ORDER BY m.moved_on DESC, m.id DESC LIMIT 1)",
        )
        assert status_mismatch == 0


async def test_every_kind_of_benefit_record_is_present(city: City) -> None:
    async with city.engine.connect() as conn:
        for name in (
            "facility_admissions",
            "care_plan_notifications",
            "reimbursements",
            "high_cost_benefits",
            "combined_benefits",
            "cost_reductions",
            "benefit_restrictions",
            "recipient_notices",
            "community_eligibilities",
            "levy_refunds",
            "copay_ratios",
            "certificate_issuances",
        ):
            assert await _scalar(conn, f"SELECT count(*) FROM {name}") > 0, name
        care_plan_in_facility = await _scalar(
            conn,
            "SELECT count(*) FROM care_plan_notifications n JOIN qualifications q ON q.person_id = n.person_id "
            "JOIN facility_admissions f ON f.qualification_id = q.id "
            "WHERE n.valid_from >= f.admitted_on AND f.discharged_on IS NULL",
        )
        assert care_plan_in_facility == 0
        # 特養 (welfare facilities of the city) admit from care level 3.
        light_in_welfare_facility = await _scalar(
            conn,
            "SELECT count(*) FROM facility_admissions f JOIN qualifications q ON q.id = f.qualification_id "
            "JOIN certifications c ON c.person_id = q.person_id AND f.admitted_on BETWEEN c.valid_from AND c.valid_to "
            "WHERE f.facility_name LIKE '特別養護老人ホーム%' AND NOT f.domicile_exception "
            "AND c.care_level NOT IN ('23', '24', '25')",
        )
        assert light_in_welfare_facility == 0


async def test_a_failed_seed_leaves_nothing_behind(
    empty_database_url: str, vault: NumberVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    import persistence.seed as seed_module

    monkeypatch.setattr(seed_module, "HOUSEHOLDS_PER_BATCH", 20)
    calls: list[str] = []

    def explode(message: str) -> None:
        calls.append(message)
        if len(calls) == 3:
            raise RuntimeError("interrupted")

    engine = make_engine(empty_database_url, pool_size=1)
    fk_sql = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
    try:
        async with engine.connect() as conn:
            foreign_keys = await _scalar(conn, fk_sql)
        with pytest.raises(RuntimeError, match="interrupted"):
            await seed_city(engine, vault, insured=150, seed=3, today=TODAY, progress=explode)
        async with engine.connect() as conn:
            assert await _scalar(conn, "SELECT count(*) FROM persons") == 0
            assert await _scalar(conn, "SELECT count(*) FROM levy_installments") == 0
            assert await _scalar(conn, fk_sql) == foreign_keys
        # And the database can still be seeded afterwards.
        report = await seed_city(engine, vault, insured=150, seed=3, today=TODAY)
        assert report.counts["qualifications"] == 150
    finally:
        await engine.dispose()
