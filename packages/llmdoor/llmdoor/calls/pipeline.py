"""The parts every modality shares, in the order a call passes them: who is calling and
may they (access), how much may the call spend (max_tokens cap, budget reservation),
retries, and the usage/settlement at the end.

Chat (completion, streaming, structured) uses it today; transcription, speech, images
and the tool loop join as modules of their own on the same pipeline: each builds its
request, asks ``admit`` and ``open``, sends through ``retry.run`` and ends with
``recorder.finish``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from llmdoor.access import Caller, CallerResolver, Role
from llmdoor.budget import BudgetGuard, Unlimited
from llmdoor.calls.recorder import Call, UsageRecorder
from llmdoor.calls.retry import RetryPolicy
from llmdoor.errors import AccessDenied
from llmdoor.models import pricing
from llmdoor.options import OwnOptions
from llmdoor.settings import LLMSettings
from llmdoor.usage import UsageSink


@runtime_checkable
class _Gatekeeper(Protocol):
    def ensure_allowed(self, caller: Caller) -> None: ...


def ensure_allowed(access: CallerResolver, caller: Caller) -> None:
    """The access authority's own rule when it has one (AccessPolicy), else: no strangers."""
    if isinstance(access, _Gatekeeper):
        access.ensure_allowed(caller)
    elif caller.role is Role.STRANGER:
        raise AccessDenied(f"User {caller.user_id} may not use the model.", user_id=caller.user_id)


class Pipeline:
    def __init__(
        self,
        settings: LLMSettings,
        access: CallerResolver | None,
        budget: BudgetGuard | None,
        usage_sink: UsageSink,
    ) -> None:
        self.settings = settings
        self.access = access
        self.budget: BudgetGuard = budget if budget is not None else Unlimited()
        self.recorder = UsageRecorder(usage_sink)
        self.retry = RetryPolicy(settings)

    async def admit(self, options: OwnOptions) -> Caller:
        """The caller, resolved once (or as the bot already resolved it), or AccessDenied."""
        caller = options.get("caller")
        if self.access is None:
            # Library use without access rules: the caller is the owner.
            return caller or Caller(
                user_id=options.get("user_id"), role=Role.ADMIN, username=options.get("username")
            )
        if caller is None:
            caller = await self.access.resolve(options.get("user_id"), options.get("username"))
        ensure_allowed(self.access, caller)
        return caller

    def max_tokens_for(self, caller: Caller, requested: int | None) -> int | None:
        """Non-admins never get more than LLM_USER_MAX_TOKENS, so one call cannot cost far
        more than the budget has left; admins get what they ask for."""
        if caller.is_admin:
            return requested
        cap = self.settings.user_max_tokens
        return cap if requested is None else min(requested, cap)

    def estimate(
        self, rate: pricing.Rate | None, count_prompt: Callable[[], int], output_tokens: int | None
    ) -> float | None:
        """The worst case to reserve: the prompt plus all the output tokens allowed, at the
        model's price (real or fallback); None for a model without a price."""
        if isinstance(self.budget, Unlimited) or rate is None:
            return None  # nobody keeps books, or there is no price: skip the tokenizer
        completion = output_tokens if output_tokens is not None else self.settings.user_max_tokens
        return rate.price(count_prompt(), completion)

    async def open(
        self,
        caller: Caller,
        model_id: str,
        shortcut: str | None,
        *,
        count_prompt: Callable[[], int],
        output_tokens: int | None,
        streamed: bool,
        secrets: tuple[str | None, ...] = (),
    ) -> Call:
        """Reserve the estimate (BudgetExceeded: the vendor is never called) and start the
        call's clock."""
        count_prompt = functools.cache(count_prompt)
        rate = pricing.rate_for(model_id, self.settings)
        estimate = self.estimate(rate, count_prompt, output_tokens)
        hold = await self.budget.reserve(caller, estimate)
        return Call(
            caller=caller,
            model_id=model_id,
            shortcut=shortcut,
            hold=hold,
            reserved_usd=estimate,
            rate=rate,
            count_prompt=count_prompt,
            count_output=functools.partial(pricing.count_text, model_id),
            secrets=secrets,
            streamed=streamed,
        )
