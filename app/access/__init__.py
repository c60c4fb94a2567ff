"""Who may do what: roles from settings plus approvals in storage, access requests and
daily budgets. Imports nothing from aiogram: services return outcomes."""

from app.access.authority import AccessAuthority
from app.access.budget import LedgerBudget
from app.access.service import (
    AccessService,
    DecisionOutcome,
    DecisionResult,
    RequestOutcome,
    RequestResult,
    parse_budget,
)
from app.access.throttle import RefusalThrottle

__all__ = [
    "AccessAuthority",
    "AccessService",
    "DecisionOutcome",
    "DecisionResult",
    "LedgerBudget",
    "RefusalThrottle",
    "RequestOutcome",
    "RequestResult",
    "parse_budget",
]
