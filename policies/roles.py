"""Duties (事務) and roles, loaded from ``data/roles.toml``.

A token names roles; this module alone turns roles into duties. The data file says, for every role,
which duties it carries and which passage of the city's privacy impact assessment justifies it, so a
reviewer reads the access policy in one place. Pure: the only I/O is reading the packaged data file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from policies.principals import Principal

__all__ = [
    "DUTY_NAMES",
    "ROLE_NAMES",
    "Department",
    "Duty",
    "Policy",
    "PolicyError",
    "Role",
    "department",
    "departments",
    "duties_for",
    "load_policy",
    "parse_policy",
    "policy",
    "principal_from_claims",
    "unknown_roles",
]


class PolicyError(ValueError):
    """The roles data file is inconsistent (unknown duty, missing label or justification, …)."""


@dataclass(frozen=True)
class Duty:
    """One duty: a thing a principal may do, named after the affair it serves."""

    name: str
    ja: str
    en: str
    seed: str


@dataclass(frozen=True)
class Role:
    """One role a token may name, the duties it carries and why the PIA allows it."""

    name: str
    ja: str
    en: str
    duties: frozenset[str]
    justification: str
    requires_department: bool = False


@dataclass(frozen=True)
class Department:
    """A receiving department of 別紙2 (移転先), identified in tokens by its romanised id."""

    id: str
    ja: str
    en: str
    items: tuple[str, ...]
    seed: str


@dataclass(frozen=True)
class Policy:
    duties: Mapping[str, Duty]
    roles: Mapping[str, Role]
    departments: Mapping[str, Department]


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise PolicyError(f"roles data: [{key}] must be a non-empty table")
    return value


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    """Validate the parsed TOML document and build the policy; raise PolicyError on any defect."""
    unknown_sections = set(raw) - {"duties", "roles", "departments"}
    if unknown_sections:
        raise PolicyError(f"roles data: unknown sections {sorted(unknown_sections)}")

    duties: dict[str, Duty] = {}
    for name, body in _table(raw, "duties").items():
        where = f"duty {name!r}"
        if not isinstance(body, dict):
            raise PolicyError(f"{where}: must be a table")
        duties[name] = Duty(
            name, _text(body, "ja", where), _text(body, "en", where), _text(body, "seed", where)
        )

    roles: dict[str, Role] = {}
    for name, body in _table(raw, "roles").items():
        where = f"role {name!r}"
        if not isinstance(body, dict):
            raise PolicyError(f"{where}: must be a table")
        names = body.get("duties")
        if not isinstance(names, list) or not names or not all(isinstance(d, str) for d in names):
            raise PolicyError(f"{where}: 'duties' must be a non-empty list of duty names")
        if len(set(names)) != len(names):
            raise PolicyError(f"{where}: repeats a duty")
        undeclared = sorted(set(names) - set(duties))
        if undeclared:
            raise PolicyError(f"{where}: unknown duties {undeclared}")
        requires_department = body.get("requires_department", False)
        if not isinstance(requires_department, bool):
            raise PolicyError(f"{where}: 'requires_department' must be true or false")
        roles[name] = Role(
            name=name,
            ja=_text(body, "ja", where),
            en=_text(body, "en", where),
            duties=frozenset(names),
            justification=_text(body, "justification", where),
            requires_department=requires_department,
        )

    departments: dict[str, Department] = {}
    for dept_id, body in _table(raw, "departments").items():
        where = f"department {dept_id!r}"
        if not isinstance(body, dict):
            raise PolicyError(f"{where}: must be a table")
        items = body.get("items")
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            raise PolicyError(f"{where}: 'items' must be a non-empty list of strings")
        departments[dept_id] = Department(
            dept_id,
            _text(body, "ja", where),
            _text(body, "en", where),
            tuple(items),
            _text(body, "seed", where),
        )
    labels = [d.ja for d in departments.values()]
    if len(set(labels)) != len(labels):
        raise PolicyError("roles data: two departments share a Japanese name")

    return Policy(duties=duties, roles=roles, departments=departments)


def load_policy(text: str) -> Policy:
    """Parse and validate roles TOML text (used by tests to check broken files are refused)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"roles data is not valid TOML: {exc}") from exc
    return parse_policy(raw)


@cache
def policy() -> Policy:
    """The packaged policy; read and validated once per process."""
    text = resources.files("policies").joinpath("data/roles.toml").read_text(encoding="utf-8")
    return load_policy(text)


# Loading at import time makes a broken data file fail at startup, not on the first request.
ROLE_NAMES: frozenset[str] = frozenset(policy().roles)
DUTY_NAMES: frozenset[str] = frozenset(policy().duties)


def departments() -> Mapping[str, Department]:
    """The receiving departments of 別紙2, keyed by id, in file order."""
    return policy().departments


def department(value: str | None) -> Department | None:
    """The department a claim names, by id (``seikatsu_fukushi``) or Japanese name (``生活福祉課``)."""
    if not value:
        return None
    found = policy().departments.get(value)
    if found is not None:
        return found
    for candidate in policy().departments.values():
        if candidate.ja == value:
            return candidate
    return None


def _names(roles: Iterable[str]) -> frozenset[str]:
    if isinstance(roles, str):
        # A bare string would iterate as characters; make the caller say what it means.
        raise TypeError("roles must be an iterable of role names, not a string")
    return frozenset(roles)


def unknown_roles(roles: Iterable[str]) -> frozenset[str]:
    """The names among ``roles`` that the policy does not define."""
    return frozenset(r for r in _names(roles) if r not in policy().roles)


def duties_for(roles: Iterable[str], department: str | None = None) -> frozenset[str]:
    """The union of the duties of ``roles``; unknown roles contribute nothing.

    A role that requires a department (``receiving_department``) contributes its duties only when
    ``department`` names a department of 別紙2. Without the argument such roles contribute nothing.
    """
    known = policy().roles
    has_department = _department_of(department) is not None
    duties: set[str] = set()
    for name in _names(roles):
        role = known.get(name)
        if role is None:
            continue
        if role.requires_department and not has_department:
            continue
        duties |= role.duties
    return frozenset(duties)


def _department_of(value: str | None) -> Department | None:
    return department(value)


def principal_from_claims(
    subject: str,
    roles: Iterable[str],
    department: str | None = None,
    client_name: str | None = None,
) -> Principal:
    """Build the principal of a verified token from its claims; duties come from policy only.

    There is deliberately no ``duties`` parameter: whatever duties a token claims are ignored.
    ``roles`` keeps only the roles the policy defines (see ``unknown_roles`` for the rest);
    ``department`` is normalised to a 別紙2 department id, or None when it names none.
    """
    role_names = _names(roles)
    dept = _department_of(department)
    known = frozenset(r for r in role_names if r in policy().roles)
    return Principal(
        subject=subject,
        roles=known,
        duties=duties_for(known, dept.id if dept is not None else None),
        department=dept.id if dept is not None else None,
        client_name=client_name,
    )
