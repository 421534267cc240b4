"""Who is acting: the principal every request carries (認証された職員・システム)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """A verified identity and the duties (事務) its roles give it.

    Duties come from policy (policies/data/roles.toml), never from the token itself: a token names
    roles, and the policy decides what those roles may do.
    """

    subject: str
    roles: frozenset[str]
    duties: frozenset[str]
    department: str | None = None
    client_name: str | None = None

    def has_duty(self, duty: str) -> bool:
        return duty in self.duties
