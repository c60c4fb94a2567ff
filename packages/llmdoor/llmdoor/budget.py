"""Money is reserved before it is spent: the contract between llmdoor and whoever keeps
the books (the bot's storage-backed ledger, or nothing for plain library use).

Before any vendor call the provider estimates the call's worst-case cost (prompt tokens
plus ``max_tokens`` at the model's price) and asks the guard to ``reserve`` it; the guard
refuses with ``BudgetExceeded`` when it does not fit. After the call, whatever its outcome
(success, error, cancellation, a broken stream), the hold is settled exactly once to the
real cost, or to an estimate from counted tokens when the vendor reported none.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llmdoor.access import Caller


@runtime_checkable
class BudgetHold(Protocol):
    async def settle(self, cost_usd: float | None) -> None:
        """Replace the reserved amount by ``cost_usd`` (None: unpriced, charge nothing more
        than what is known). Called exactly once; must not raise for storage faults."""
        ...


@runtime_checkable
class BudgetGuard(Protocol):
    async def reserve(self, caller: Caller, estimate_usd: float | None) -> BudgetHold:
        """Atomically reserve ``estimate_usd`` (None: unpriced model) of the caller's
        remaining daily budget, or raise ``BudgetExceeded``."""
        ...


class _NoHold:
    async def settle(self, cost_usd: float | None) -> None:
        return None


NO_HOLD: BudgetHold = _NoHold()


class Unlimited:
    """The guard for library use without books: never refuses, keeps nothing."""

    async def reserve(self, caller: Caller, estimate_usd: float | None) -> BudgetHold:
        return NO_HOLD
