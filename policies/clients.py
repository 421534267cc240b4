"""Clients (front ends, the departments' systems), the roles that use them, and trusted-documents mode.

Read from ``data/clients.toml``. Pure: the only I/O is reading the packaged data file. The HTTP layer
asks two questions here: which client a principal acts through when its token names none, and whether
the principal may run registered documents only.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from policies.individual_number import contains_valid_number
from policies.principals import Principal
from policies.roles import PolicyError, duties_for, policy

__all__ = [
    "CLIENT_NAME",
    "Client",
    "ClientPolicy",
    "client_of_department",
    "clients",
    "is_trusted",
    "load_clients",
    "valid_client_name",
]

CLIENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")
"""What a client name looks like (token claim, header, data file): short, printable, no spaces."""


def valid_client_name(name: str) -> bool:
    """Shaped like a client name, and holding nothing shaped like an individual number (names are
    stored with registrations and logged)."""
    return CLIENT_NAME.fullmatch(name) is not None and not contains_valid_number(name)


@dataclass(frozen=True)
class Client:
    """A client and the roles whose principals use it (with their department, for a receiving one)."""

    name: str
    ja: str
    roles: tuple[str, ...]
    department: str | None = None

    def views(self) -> dict[str, frozenset[str]]:
        """Role → the duty set of its view (the schema its principals are served through this client)."""
        return {role: duties_for([role], self.department) for role in self.roles}


@dataclass(frozen=True)
class ClientPolicy:
    clients: Mapping[str, Client]
    trusted_roles: frozenset[str]


def _parse(raw: Mapping[str, Any]) -> ClientPolicy:
    unknown = set(raw) - {"clients", "trusted_roles"}
    if unknown:
        raise PolicyError(f"clients data: unknown keys {sorted(unknown)}")
    roles = policy().roles
    trusted = raw.get("trusted_roles", [])
    if not isinstance(trusted, list) or not all(isinstance(r, str) and r in roles for r in trusted):
        raise PolicyError("clients data: 'trusted_roles' must list roles of roles.toml")
    table = raw.get("clients")
    if not isinstance(table, dict) or not table:
        raise PolicyError("clients data: [clients] must be a non-empty table")
    found: dict[str, Client] = {}
    for name, body in table.items():
        where = f"client {name!r}"
        if not valid_client_name(name) or not isinstance(body, dict):
            raise PolicyError(f"{where}: a short name without spaces, and a table")
        ja, names, department = body.get("ja"), body.get("roles"), body.get("department")
        if not isinstance(ja, str) or not ja.strip():
            raise PolicyError(f"{where}: 'ja' must be a non-empty string")
        if not isinstance(names, list) or not names or not all(isinstance(r, str) for r in names):
            raise PolicyError(f"{where}: 'roles' must be a non-empty list of role names")
        undeclared = sorted(set(names) - set(roles))
        if undeclared:
            raise PolicyError(f"{where}: unknown roles {undeclared}")
        if department is not None and department not in policy().departments:
            raise PolicyError(f"{where}: unknown department {department!r}")
        if department is None and any(roles[r].requires_department for r in names):
            raise PolicyError(f"{where}: its roles need a department")
        found[name] = Client(name, ja.strip(), tuple(names), department)
    return ClientPolicy(clients=found, trusted_roles=frozenset(trusted))


def load_clients(text: str) -> ClientPolicy:
    """Parse and validate clients TOML text (tests use it to check that broken files are refused)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"clients data is not valid TOML: {exc}") from exc
    return _parse(raw)


@cache
def clients() -> ClientPolicy:
    """The packaged client policy, read and validated once per process."""
    text = resources.files("policies").joinpath("data/clients.toml").read_text(encoding="utf-8")
    return load_clients(text)


def client_of_department(department: str | None) -> str | None:
    """The client a department's principal acts through when its token names none."""
    if department is None:
        return None
    for found in clients().clients.values():
        if found.department == department:
            return found.name
    return None


def is_trusted(
    principal: Principal,
    client_name: str | None,
    *,
    trusted_roles: Iterable[str] = (),
    trusted_clients: Iterable[str] = (),
) -> bool:
    """Whether the principal may only run documents registered for its client: by role (the servers use
    ``clients().trusted_roles``: a receiving department applies and receives through the operations
    registered for it) or by client (``KAIGO_TRUSTED_CLIENTS``)."""
    if principal.roles & frozenset(trusted_roles):
        return True
    return client_name is not None and client_name in frozenset(trusted_clients)
