"""Who may do what: roles from settings plus approvals in storage, and access requests."""

from app.access.service import AccessService, DecisionOutcome, RequestOutcome

__all__ = ["AccessService", "DecisionOutcome", "RequestOutcome"]
