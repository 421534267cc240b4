"""The read planner: a query operation answered by one SQL statement that builds its answer in PostgreSQL.

``tree`` reads an operation against a role view into what each response key is made of (declining what
it does not cover), ``sql`` turns that into one statement (the audit entry riding in it), ``plan`` binds a
request's values and finishes the answer (the individual numbers, decrypted by the server only).
"""

from .payloads import TransferPlan, plan_transfer
from .plan import Bound, ReadPlan, plan_read
from .tree import Declined

__all__ = ["Bound", "Declined", "ReadPlan", "TransferPlan", "plan_read", "plan_transfer"]
