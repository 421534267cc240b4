"""Who is asking: the authenticated principal as the client may see it."""

from __future__ import annotations

import strawberry

from policies.principals import Principal

__all__ = ["Viewer"]


@strawberry.type(description="The authenticated staff member or system making the request.")
class Viewer:
    subject: str = strawberry.field(description="Subject of the verified token")
    roles: list[str] = strawberry.field(description="Roles named by the token, sorted")
    duties: list[str] = strawberry.field(description="Duties (事務) the roles give, sorted")
    department: str | None = strawberry.field(description="The token's department (receiving departments)")

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(
            subject=principal.subject,
            roles=sorted(principal.roles),
            duties=sorted(principal.duties),
            department=principal.department,
        )
