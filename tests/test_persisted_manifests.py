"""Manifests: the departments' shipped ones are exact and valid for their views; `kaigo pq import` checks
every document (id, one operation, no number literal, the client's role views) and imports all or
nothing; `kaigo pq list` and `kaigo pq revoke`; the clients data file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import FieldNode, parse, print_ast

from api.cli import main as kaigo
from api.documents import document_id
from api.documents.manifests import ManifestError, ManifestOperation, check, parse_manifest
from policies.clients import client_of_department, clients, is_trusted, load_clients
from policies.individual_number import complete
from policies.principals import Principal
from policies.roles import PolicyError, departments

from .persisted_support import MANIFESTS

DEPARTMENT_OPERATIONS = {
    "RequestTransferPermission",
    "DepartmentTransferPermissions",
    "TransferInformation",
    "ReviewedTransfers",
    "Viewer",
}


def _information(body: str) -> str:
    """The selection under ``information`` (the items a department's 別表第2 items permit)."""
    found = [
        print_ast(node)
        for node in _fields(parse(body))
        if isinstance(node, FieldNode) and node.name.value == "information"
    ]
    assert len(found) == 1, body
    return found[0]


def _fields(node: Any) -> list[Any]:
    selections = getattr(getattr(node, "selection_set", None), "selections", None) or []
    children = list(getattr(node, "definitions", ())) + list(selections)
    return [*selections, *(f for child in children for f in _fields(child))]


def _named(node: Any, name: str) -> bool:
    return isinstance(node, FieldNode) and node.name.value == name


def _op(body: str, **kw: Any) -> ManifestOperation:
    return ManifestOperation(kw.pop("id", document_id(body)), body, **kw)


@pytest.mark.parametrize("department", sorted(departments()))
def test_each_department_has_an_exact_manifest_valid_for_its_view(department: str) -> None:
    raw = json.loads((MANIFESTS / f"{department}.json").read_text(encoding="utf-8"))
    assert raw["format"] == "apollo-persisted-query-manifest" and raw["version"] == 1
    operations = parse_manifest(raw)
    assert {op.name for op in operations} == DEPARTMENT_OPERATIONS
    client = clients().clients[department]
    assert client.department == department and client.roles == ("receiving_department",)
    for op in operations:
        assert op.id == document_id(op.body), f"{op.name}: the id is not the sha256 of the body"
        checked = check(op, client)
        assert checked.accepted, checked.problems
        assert checked.roles == ("receiving_department",)
    # the persons held back and then confirmed arrive with what a transfer page carries, no more
    bodies = {op.name: op.body for op in operations}
    assert _information(bodies["ReviewedTransfers"]) == _information(bodies["TransferInformation"])
    # and the department is told who was held back for review or denied for a suspension (issue 15)
    (held,) = [n for n in _fields(parse(bodies["TransferInformation"])) if _named(n, "heldBack")]
    assert {"id", "outcome", "code", "reason", "personCount"} <= {f.name.value for f in _fields(held)}


def test_what_a_check_refuses() -> None:
    department = clients().clients["fukushi_engo"]
    web = clients().clients["kaigo_web"]
    viewer = "query V { viewer { subject } }"

    def problems(op: ManifestOperation, client: Any = department) -> str:
        return " | ".join(check(op, client).problems)

    assert "not the sha256 of the body (that is sha256:" in problems(_op(viewer, id="0" * 64))
    assert "not sha256:" in problems(_op(viewer, id="md5-ish"))
    assert "exactly one operation" in problems(
        _op("query A { viewer { subject } } query B { viewer { roles } }")
    )
    assert "name" in problems(_op(viewer, name="Other"))
    assert "type" in problems(_op(viewer, type="mutation"))
    assert "does not parse" in problems(_op("query {"))
    number = complete("12345678901")
    literal = f'query N {{ personByIndividualNumber(number: "{number}") {{ nameKana }} }}'
    assert "individual number" in problems(_op(literal), web)
    assert number not in problems(_op(literal), web)

    # Selecting what the client's principals cannot see: refused, with graphql-core's reason.
    persons = "query P { persons(first: 1) { edges { node { nameKana } } } }"
    assert "Cannot query field 'persons' on type 'Query'" in problems(_op(persons))
    numbers = "query N { persons(first: 1) { edges { node { individualNumber } } } }"
    accepted = check(_op(numbers), web)
    assert accepted.accepted and set(accepted.roles) == {"kaigo_number_officer", "kaigo_section_chief"}


def test_relay_and_malformed_manifests() -> None:
    viewer = "query V { viewer { subject } }"
    assert parse_manifest({document_id(viewer): viewer}) == [ManifestOperation(document_id(viewer), viewer)]
    for bad in (
        [],
        {"format": "other"},
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        {"a": 1},
    ):
        with pytest.raises(ManifestError):
            parse_manifest(bad)


def test_the_clients_data_file() -> None:
    assert {client_of_department(d) for d in departments()} == set(departments())
    assert client_of_department(None) is None
    department = Principal("s", frozenset({"receiving_department"}), frozenset(), "fukushi_engo")
    officer = Principal("s", frozenset({"kaigo_officer"}), frozenset())
    roles = clients().trusted_roles
    assert is_trusted(department, None, trusted_roles=roles)
    assert not is_trusted(officer, "kaigo_web", trusted_roles=roles)
    assert is_trusted(officer, "kiosk", trusted_roles=roles, trusted_clients={"kiosk"})
    for broken in (
        "[clients.x]\nja = 'x'\nroles = ['nobody']\n",
        "[clients.x]\nja = 'x'\nroles = ['receiving_department']\n",  # needs a department
        "trusted_roles = ['nobody']\n[clients.x]\nja = 'x'\nroles = ['kaigo_officer']\n",
        "[clients.'has space']\nja = 'x'\nroles = ['kaigo_officer']\n",
    ):
        with pytest.raises(PolicyError):
            load_clients(broken)


@pytest.mark.db
def test_import_list_revoke(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    files = sorted(str(p) for p in MANIFESTS.glob("*.json"))
    kaigo(["pq", "import", *files])
    first = capsys.readouterr().out.splitlines()
    assert len(first) == 4 * len(DEPARTMENT_OPERATIONS) and all(
        line.startswith("registered") for line in first
    )
    kaigo(["pq", "import", *files])
    assert all(line.startswith("unchanged") for line in capsys.readouterr().out.splitlines())

    viewer = next(op for op in parse_manifest(json.loads(Path(files[0]).read_text())) if op.name == "Viewer")
    kaigo(["pq", "revoke", f"sha256:{viewer.id}", "--client", Path(files[0]).stem])
    assert "revoked 1 registration(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no live registration"):
        kaigo(["pq", "revoke", f"sha256:{viewer.id}", "--client", Path(files[0]).stem])
    kaigo(["pq", "import", files[0]])
    assert sum("revoked (stays revoked)" in line for line in capsys.readouterr().out.splitlines()) == 1

    kaigo(["pq", "list", "--client", Path(files[0]).stem])
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(DEPARTMENT_OPERATIONS) and sum(" revoked " in line for line in listed) == 1
    kaigo(["pq", "list", "--live"])
    assert len(capsys.readouterr().out.splitlines()) == 4 * len(DEPARTMENT_OPERATIONS) - 1

    # All or nothing: one refused document, and the good one beside it is not imported either.
    good = "query Good { viewer { subject } }"
    bad = "query Bad { persons(first: 1) { edges { node { nameKana } } } }"
    relay = tmp_path / "mixed.json"
    relay.write_text(json.dumps({document_id(good): good, document_id(bad): bad}))
    with pytest.raises(SystemExit, match="nothing was imported"):
        kaigo(["pq", "import", str(relay), "--client", "bosai_kiki_kanri"])
    assert "Cannot query field 'persons'" in capsys.readouterr().err
    kaigo(["pq", "list", "--client", "bosai_kiki_kanri"])
    assert "Good" not in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"not in policies/data/clients\.toml"):
        kaigo(["pq", "import", str(relay)])
