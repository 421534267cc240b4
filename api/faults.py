"""Database faults answered as a whole: HTTP 503 with ``DATABASE_UNAVAILABLE`` or ``DATABASE_BUSY`` and a
``Retry-After``, ``data`` null, and a fixed message (no SQL, no driver message).

A request meets a fault in one of three places, all answered the same way by ``KaigoGraphQL``:

* in a resolver: the error is tagged with the code (resolvers/errors.py) and :func:`refuse_faulted`
  turns the result into the refusal before anything is committed or audited;
* outside execution (the persisted-document registry, the commit): the exception reaches ``_answer``,
  where :func:`refusal_for` recognises it;
* writing the audit entry: the trail refuses with ``AUDIT_UNAVAILABLE`` raised *from* the database's
  error; when that error is a fault the answer is the fault's code, since the whole database, not the
  trail alone, is what is missing. The entry is not written (nothing can be), and neither is the work:
  nothing of the request is committed, so no personal data leaves without its entry.

A connection lost during the commit leaves the commit's outcome unknown to the app (PostgreSQL may have
committed just before it went away): the message says "not completed", never "nothing was done".
"""

from __future__ import annotations

import logging
from typing import Final

from strawberry.types import ExecutionResult

from resolvers.errors import (
    DATABASE_BUSY,
    DATABASE_UNAVAILABLE,
    FAULT_MESSAGES,
    database_fault,
    innermost_name,
)

from .refusals import Refusal

__all__ = ["RETRY_AFTER_SECONDS", "fault_refusal", "refusal_for", "refuse_faulted"]

log = logging.getLogger("kaigo.faults")

# Seconds a client should wait before trying again: a restart or failover takes a few seconds; a pool
# frees a connection as soon as a request ends.
RETRY_AFTER_SECONDS: Final = {DATABASE_UNAVAILABLE: 5, DATABASE_BUSY: 1}


def fault_refusal(code: str) -> Refusal:
    return Refusal(503, code, FAULT_MESSAGES[code], headers={"Retry-After": str(RETRY_AFTER_SECONDS[code])})


def refusal_for(exc: BaseException) -> Refusal | None:
    """The 503 refusal for an exception that is (or was caused by) a database fault, else None."""
    code = database_fault(exc)
    if code is None:
        return None
    log.warning("database fault %s answered with 503 (%s)", code, innermost_name(exc))  # class only
    return fault_refusal(code)


def refuse_faulted(result: ExecutionResult) -> None:
    """Raise the 503 refusal when any error of ``result`` is a database fault: a request that lost its
    database answers as a whole, without the part of its data that was read before."""
    for error in result.errors or ():
        code = (error.extensions or {}).get("code")
        if code in FAULT_MESSAGES:
            raise fault_refusal(code)
