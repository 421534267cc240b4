"""Markers for fields that need a duty (事務) beyond reading LTCI records.

Each field that returns or takes an individual number (個人番号) is declared with
``directives=requires_duty(NUMBER_USE)`` and a ``# requires duty: number_use`` comment.  Today
``requires_duty`` returns no directive, so every role sees the field in the schema; the role-scoped
schema (issue 3) makes it return the ``strawberry.schema_directive`` the per-role schema filters
on, and every marked field picks it up without further edits.

Behind that, the resolvers check the duty again when the field runs (``resolvers.context.Context
.require``: FORBIDDEN), so a schema built without the filtering still never returns a number to a
principal without the duty.

Marked fields (keep this list in step with ``grep -rn "requires duty: number_use" schema resolvers``):

* ``Person.individualNumber``      — schema/persons.py
* ``Query.personByIndividualNumber`` — resolvers/query.py
"""

from __future__ import annotations

from typing import Final

__all__ = ["NUMBER_USE", "requires_duty"]

NUMBER_USE: Final = "number_use"
"""The duty of staff on number-use affairs (番号利用事務): the only ones who may see or search by a number."""


def requires_duty(duty: str) -> tuple[object, ...]:
    """The schema directives that mark a field as needing ``duty`` (none yet: see the module docstring)."""
    del duty
    return ()
