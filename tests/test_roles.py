"""Roles and duties as data (policies/data/roles.toml): pure, no database."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from policies import roles
from policies.principals import Principal
from policies.roles import (
    DUTY_NAMES,
    ROLE_NAMES,
    PolicyError,
    departments,
    duties_for,
    load_policy,
    principal_from_claims,
    unknown_roles,
)

ALL_READS = {"read_persons", "read_qualifications", "read_certifications", "read_benefits", "read_levies"}
SECTION_WRITES = {  # the section's officers keep the file current (issue 18)
    "write_residents",
    "write_qualifications",
    "write_certifications",
    "write_levies",
    "write_benefits",
}

EXPECTED = {
    # no provide_information for staff: III-6 リスク2, only the intermediate server provides (issue 15)
    "kaigo_number_officer": {
        "number_use",
        "inquire",
        "handle_subject_requests",
        "read_legal_bases",
        *ALL_READS,
        *SECTION_WRITES,
        "write_individual_numbers",
    },
    "kaigo_officer": {*ALL_READS, *SECTION_WRITES},
    "kaigo_section_chief": {
        "number_use",
        "review_provisions",
        "inquire",
        "set_no_automatic_response",
        "handle_subject_requests",
        "decide_subject_requests",
        "read_legal_bases",
        *ALL_READS,
        *SECTION_WRITES,
        "write_individual_numbers",
    },
    "kenko_choju_officer": {"read_persons", "read_qualifications", "read_certifications"},
    "shido_kansa_officer": {"read_persons", "read_certifications", "read_benefits"},
    "intermediate_server": {"provide_information", "read_legal_bases"},
    "receiving_department": {"request_transfer", "receive_transfer"},
    "security_auditor": {"read_audit"},
    "system_operator": {"read_schema"},
}

PERSONAL_DATA_DUTIES = {"number_use", *ALL_READS}


def _raw() -> dict:
    text = resources.files("policies").joinpath("data/roles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_role_and_duty_names() -> None:
    assert set(EXPECTED) == ROLE_NAMES
    assert {
        "number_use",
        *ALL_READS,
        "provide_information",
        "inquire",
        "review_provisions",
        "request_transfer",
        "receive_transfer",
        "read_audit",
        "read_schema",
        "set_no_automatic_response",
        "handle_subject_requests",
        "decide_subject_requests",
        "read_legal_bases",
        *SECTION_WRITES,
        "write_individual_numbers",
    } == DUTY_NAMES


@pytest.mark.parametrize(("role", "duties"), sorted(EXPECTED.items()))
def test_each_role_has_the_duties_of_the_table(role: str, duties: set[str]) -> None:
    department = "seikatsu_fukushi" if role == "receiving_department" else None
    assert duties_for([role], department) == frozenset(duties)
    assert roles.policy().roles[role].duties == frozenset(duties)


def test_number_use_only_for_the_number_officer_and_the_chief() -> None:
    holders = {r for r in ROLE_NAMES if "number_use" in duties_for([r], "seikatsu_fukushi")}
    assert holders == {"kaigo_number_officer", "kaigo_section_chief"}


def test_non_personal_roles_see_no_personal_data() -> None:
    for role in ("intermediate_server", "receiving_department", "security_auditor", "system_operator"):
        assert not duties_for([role], "fukushi_engo") & PERSONAL_DATA_DUTIES, role


def test_only_the_chief_reviews_provisions() -> None:
    assert {r for r in ROLE_NAMES if "review_provisions" in duties_for([r])} == {"kaigo_section_chief"}


def test_union_of_several_roles() -> None:
    assert duties_for(["kenko_choju_officer", "shido_kansa_officer"]) == frozenset(
        {"read_persons", "read_qualifications", "read_certifications", "read_benefits"}
    )
    assert duties_for(["kaigo_officer", "security_auditor"]) == frozenset(
        {*ALL_READS, *SECTION_WRITES, "read_audit"}
    )
    assert duties_for([]) == frozenset()


def test_unknown_roles_contribute_nothing_and_are_reported() -> None:
    assert duties_for(["superuser"]) == frozenset()
    assert duties_for(["superuser", "system_operator"]) == frozenset({"read_schema"})
    assert unknown_roles(["superuser", "system_operator", "admin"]) == frozenset({"superuser", "admin"})
    assert unknown_roles(["kaigo_officer"]) == frozenset()


def test_a_bare_string_is_not_a_role_list() -> None:
    with pytest.raises(TypeError):
        duties_for("kaigo_officer")
    with pytest.raises(TypeError):
        unknown_roles("kaigo_officer")


def test_receiving_department_needs_a_valid_department() -> None:
    assert duties_for(["receiving_department"]) == frozenset()
    assert duties_for(["receiving_department"], "no_such_department") == frozenset()
    assert duties_for(["receiving_department"], "") == frozenset()
    for dept in ("seikatsu_fukushi", "kokumin_kenko_hoken", "bosai_kiki_kanri", "fukushi_engo"):
        assert duties_for(["receiving_department"], dept) == {"request_transfer", "receive_transfer"}
    # Other roles do not depend on a department.
    assert duties_for(["receiving_department", "system_operator"]) == frozenset({"read_schema"})


def test_departments_are_those_of_besshi_2() -> None:
    depts = departments()
    assert {d.ja for d in depts.values()} == {"生活福祉課", "国民健康保険課", "防災危機管理室", "福祉援護課"}
    assert set(depts) == {"seikatsu_fukushi", "kokumin_kenko_hoken", "bosai_kiki_kanri", "fukushi_engo"}
    assert sorted(i for d in depts.values() for i in d.items) == sorted(
        ["26", "87", "42", "56-2", "61", "62"]
    )
    assert roles.department("生活福祉課") is depts["seikatsu_fukushi"]


def test_principal_from_claims_derives_duties_from_policy() -> None:
    p = principal_from_claims("u-1", ["kaigo_officer"], None, "frontend")
    assert p == Principal(
        subject="u-1",
        roles=frozenset({"kaigo_officer"}),
        duties=frozenset({*ALL_READS, *SECTION_WRITES}),
        department=None,
        client_name="frontend",
    )
    assert not p.has_duty("number_use")


def test_principal_from_claims_keeps_known_roles_only() -> None:
    p = principal_from_claims("u-2", ["kaigo_number_officer", "god_mode"], None, None)
    assert p.roles == frozenset({"kaigo_number_officer"})
    assert p.has_duty("number_use")


def test_principal_from_claims_department_rule() -> None:
    good = principal_from_claims("svc", ["receiving_department"], "kokumin_kenko_hoken", None)
    assert good.duties == frozenset({"request_transfer", "receive_transfer"})
    assert good.department == "kokumin_kenko_hoken"
    by_name = principal_from_claims("svc", ["receiving_department"], "福祉援護課", None)
    assert by_name.department == "fukushi_engo"
    assert by_name.duties == frozenset({"request_transfer", "receive_transfer"})
    missing = principal_from_claims("svc", ["receiving_department"], None, None)
    assert missing.duties == frozenset()
    assert missing.department is None
    wrong = principal_from_claims("svc", ["receiving_department"], "介護保険課", None)
    assert wrong.duties == frozenset()
    assert wrong.department is None


def test_principal_from_claims_takes_no_duties() -> None:
    # There is no way to hand duties in: the signature has no such parameter.
    with pytest.raises(TypeError):
        principal_from_claims("u", ["system_operator"], None, None, duties={"number_use"})  # type: ignore[call-arg]


def test_data_file_parses_and_everything_is_justified() -> None:
    raw = _raw()
    assert set(raw["roles"]) == ROLE_NAMES
    for name, role in roles.policy().roles.items():
        assert role.justification, name
        assert role.ja and role.en, name
        # Each justification cites the PIA by section (I-…, II-…, III-…, 別紙…).
        assert any(ref in role.justification for ref in ("I-", "II-", "III-", "別紙")), name
    for name, duty in roles.policy().duties.items():
        assert duty.ja and duty.en and duty.seed, name
    assert "個人番号利用事務実施者以外からは特定個人情報へのアクセスが行えない制御" in (
        roles.policy().roles["kaigo_officer"].justification
    )


def test_unknown_duty_in_a_role_is_refused_at_load() -> None:
    text = """
[duties.read_persons]
ja = "宛名"
en = "persons"
seed = "別添1"

[roles.bad]
ja = "悪"
en = "bad"
duties = ["read_persons", "see_everything"]
justification = "none"

[departments.x]
ja = "X課"
en = "X"
items = ["1"]
seed = "別紙2"
"""
    with pytest.raises(PolicyError, match="see_everything"):
        load_policy(text)


def test_missing_justification_is_refused_at_load() -> None:
    raw = _raw()
    del raw["roles"]["system_operator"]["justification"]
    with pytest.raises(PolicyError, match="justification"):
        roles.parse_policy(raw)


def test_requires_department_must_be_boolean() -> None:
    raw = _raw()
    raw["roles"]["receiving_department"]["requires_department"] = "yes"
    with pytest.raises(PolicyError):
        roles.parse_policy(raw)
