"""The schema as an artifact: schema/sdl/ holds the whole schema and each role's view as `kaigo schema`
prints them (the receiving department's once per department), and CHANGELOG.md names every change that
breaks a client.

A breaking change is what graphql-core's ``find_breaking_changes`` finds between the SDL committed at
the base revision (the merge base with ``main``; on ``main`` itself, the previous commit; or
``KAIGO_SCHEMA_BASE``) and the schema the code builds now, role by role. Each must appear in
CHANGELOG.md as a backquoted line item under a ``### Breaking`` heading, in graphql-core's words.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import (
    ObjectTypeDefinitionNode,
    Visitor,
    build_schema,
    find_breaking_changes,
    parse,
    print_ast,
    visit,
)

from api.cli import cmd_schema, schema_views
from api.settings import Settings
from policies.roles import ROLE_NAMES, departments

ROOT = Path(__file__).resolve().parent.parent
SDL = ROOT / "schema" / "sdl"
CHANGELOG = ROOT / "CHANGELOG.md"
VIEWS = schema_views()


def kaigo_schema(
    roles: list[str] | None = None, department: str | None = None, out: Path | None = None
) -> str:
    """What `kaigo schema [--role R] [--department D] [--out DIR]` prints."""
    printed = io.StringIO()
    args = argparse.Namespace(role=roles, department=department, out=out)
    with contextlib.redirect_stdout(printed):
        cmd_schema(args, Settings())
    return printed.getvalue()


def printed(view: str) -> str:
    """What `kaigo schema` prints for ``view`` ("full", a role, or "receiving_department.DEPT")."""
    return kaigo_schema(*VIEWS[view])


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    """graphql-core's descriptions of the changes from ``old_sdl`` to ``new_sdl`` that break a client."""
    return [
        change.description for change in find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))
    ]


def named_in_changelog(text: str) -> set[str]:
    """The backquoted texts of the line items under every ``### Breaking`` heading."""
    named: set[str] = set()
    breaking = False
    for line in text.splitlines():
        if line.startswith("#"):
            breaking = line.strip().lower() == "### breaking"
        elif breaking and line.lstrip().startswith(("- ", "* ")):
            named.update(re.findall(r"`([^`]+)`", line))
    return named


def unnamed(changes: dict[str, list[str]], changelog: str) -> dict[str, list[str]]:
    """The breaking changes (by view) that CHANGELOG.md does not name."""
    named = named_in_changelog(changelog)
    missing = {view: [c for c in found if c not in named] for view, found in changes.items()}
    return {view: found for view, found in missing.items() if found}


def base_revision() -> str | None:
    """The revision whose committed SDL the schema is compared with (None: no git history here)."""
    if shutil.which("git") is None:
        return None

    def git(*args: str) -> str | None:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    if git("rev-parse", "--git-dir") is None:
        return None
    if os.environ.get("KAIGO_SCHEMA_BASE"):
        return git("rev-parse", "--verify", os.environ["KAIGO_SCHEMA_BASE"] + "^{commit}")
    head = git("rev-parse", "HEAD")
    for main in ("main", "origin/main"):
        base = git("merge-base", "HEAD", main)
        if base is not None:
            return base if base != head else git("rev-parse", "--verify", "HEAD^1")
    return git("rev-parse", "--verify", "HEAD^1")


def committed_at(revision: str, view: str) -> str | None:
    done = subprocess.run(
        ["git", "show", f"{revision}:schema/sdl/{view}.graphql"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


# ---------------------------------------------------------------------------------------------------


def test_the_committed_sdl_is_what_the_server_builds() -> None:
    stale = [view for view in VIEWS if not (SDL / f"{view}.graphql").is_file()]
    stale += [
        view for view in VIEWS if view not in stale and (SDL / f"{view}.graphql").read_text() != printed(view)
    ]
    extra = sorted({p.stem for p in SDL.glob("*.graphql")} - set(VIEWS))
    assert (stale, extra) == ([], []), (
        "schema/sdl/ differs from the schema the code builds: run `make schema`, commit the files, and name "
        "every breaking change in CHANGELOG.md (tests/test_schema_sdl.py says which)"
    )


def test_the_receiving_department_is_one_view_per_department() -> None:
    """Its duties come with its department: without one its view would hold only `viewer`."""
    assert "receiving_department" not in VIEWS and not (SDL / "receiving_department.graphql").exists()
    assert ROLE_NAMES - {"receiving_department"} <= set(VIEWS)
    for dept in departments():
        sdl = (SDL / f"receiving_department.{dept}.graphql").read_text()
        assert sdl == kaigo_schema(["receiving_department"], dept)
        assert "transferInformation(" in sdl and "requestTransferPermission(" in sdl
    with pytest.raises(SystemExit, match="add --department, one of bosai_kiki_kanri, fukushi_engo"):
        kaigo_schema(["receiving_department"])
    with pytest.raises(SystemExit, match="add --department"):
        kaigo_schema(["receiving_department"], "no_such_division")
    with pytest.raises(SystemExit, match="--department goes with --role receiving_department"):
        kaigo_schema(["kaigo_officer"], "fukushi_engo")


def test_out_writes_every_view_and_removes_the_stale(tmp_path: Path) -> None:
    (tmp_path / "receiving_department.graphql").write_text("type Query { viewer: String }\n")
    kaigo_schema(out=tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.graphql")) == sorted(VIEWS)
    assert all((tmp_path / f"{v}.graphql").read_text() == (SDL / f"{v}.graphql").read_text() for v in VIEWS)
    with pytest.raises(SystemExit, match="--out writes every view"):
        kaigo_schema(["kaigo_officer"], out=tmp_path)


def test_every_breaking_change_since_the_base_is_in_the_changelog() -> None:
    base = base_revision()
    if base is None:
        pytest.skip("no git history to compare the schema with (not a checkout, or no base revision)")
    changes: dict[str, list[str]] = {}
    for view in VIEWS:
        before = committed_at(base, view)
        if before is not None:  # a view new since the base breaks nobody
            changes[view] = breaking_changes(before, printed(view))
    assert unnamed(changes, CHANGELOG.read_text(encoding="utf-8")) == {}, (
        f"breaking changes since {base[:12]} not named under a '### Breaking' heading of CHANGELOG.md"
    )


def test_a_breaking_change_fails_until_the_changelog_names_it() -> None:
    """The check above, on a change made here: ``Person.nameKana`` removed."""
    before = (SDL / "kaigo_officer.graphql").read_text()

    class DropNameKana(Visitor):
        def enter_object_type_definition(self, node: ObjectTypeDefinitionNode, *_: object) -> object:
            if node.name.value != "Person":
                return None
            fields = tuple(f for f in node.fields or () if f.name.value != "nameKana")
            return ObjectTypeDefinitionNode(**{**{k: getattr(node, k) for k in node.keys}, "fields": fields})

    after = print_ast(visit(parse(before), DropNameKana()))
    changes = {"kaigo_officer": breaking_changes(before, after)}
    assert changes == {"kaigo_officer": ["Field Person.nameKana was removed."]}
    removed = "Field Person.nameKana was removed."
    assert unnamed(changes, "# Changelog\n\n## Unreleased\n\n### Added\n- `" + removed + "`\n") == changes
    named = f"# Changelog\n\n## Unreleased\n\n### Breaking\n- `{removed}` Use `alias.nameKana`.\n"
    assert unnamed(changes, named) == {}


def test_the_changelog_reads_as_the_check_expects() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "## Unreleased" in text
    assert named_in_changelog("### Breaking\n- `A.b was removed.` why\n### Added\n- `C.d`\n") == {
        "A.b was removed."
    }
