"""A recording's length is measured locally (PyAV) before any vendor call, not believed:
a voice note that declares 5 s and is 300 s long is reserved as 300 s, and refused when
that is over the budget; one that declares 599 s and is longer than the
600 s cap is refused; bytes that are not audio are refused here, and the vendor never
hears of any of them.

On the old code the reservation trusted the declared duration (5 s: $0.00025 against a
$0.01 budget, so the 300 s note went to the vendor), the 599 s note passed the cap, and
junk bytes went to the vendor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llmdoor import (
    AccessPolicy,
    AccessSettings,
    AudioTooLong,
    AudioUnreadable,
    BudgetExceeded,
    InMemoryUsageSink,
    LLMProvider,
)
from tests.fakes.openai_server import FakeOpenAI
from tests.llm.conftest import CountingGuard
from tests.media.files import make_ogg_opus

FRIEND = 5
RATE = 0.00005  # gpt-4o-mini-transcribe, USD per second of audio


def policy() -> AccessPolicy:
    return AccessPolicy(AccessSettings(admins="1", friends=str(FRIEND)))


async def test_a_long_note_declared_short_is_reserved_by_its_real_length(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    guard = CountingGuard()
    provider = make_provider(access=policy(), budget=guard)
    fake.media.duration = 5.0  # the vendor, too, says 5 s
    note = make_ogg_opus(300)
    await provider.atranscribe(note, user_id=FRIEND, duration_seconds=5)
    (hold,) = guard.holds
    assert hold.reserved == pytest.approx(300 * RATE, rel=0.02)
    # Settled with what the vendor bills (its usage), as every call is.
    (event,) = sink.events
    assert hold.settled == [event.cost_usd]


async def test_a_long_note_declared_short_is_refused_over_the_budget(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    # $0.01 a day: 5 s would be $0.00025, 300 s is $0.015.
    provider = make_provider(access=policy(), budget=CountingGuard(limit=0.01))
    with pytest.raises(BudgetExceeded):
        await provider.atranscribe(make_ogg_opus(300), user_id=FRIEND, duration_seconds=5)
    assert fake.media_requests == [] and sink.events == []


async def test_a_note_over_the_cap_is_refused_whatever_it_declares(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    provider = make_provider(access=policy(), budget=CountingGuard())
    with pytest.raises(AudioTooLong) as caught:
        await provider.atranscribe(
            make_ogg_opus(700), user_id=FRIEND, duration_seconds=599, max_seconds=600
        )
    assert caught.value.limit == 600 and caught.value.seconds > 600
    # Declared over the cap, really short: the longer of the two is held to the cap.
    with pytest.raises(AudioTooLong):
        await provider.atranscribe(
            make_ogg_opus(2), user_id=FRIEND, duration_seconds=601, max_seconds=600
        )
    assert fake.media_requests == [] and sink.events == []


@pytest.mark.parametrize(
    "junk",
    [
        b"OggS" + b"\x07" * 3000,  # an OGG signature, then nothing playable
        b"\x00\x00\x00\x18ftypmp42",
        b"just some text, not a recording",
        b"",
    ],
)
async def test_bytes_that_are_not_audio_never_reach_the_vendor(
    make_provider: Callable[..., LLMProvider],
    fake: FakeOpenAI,
    sink: InMemoryUsageSink,
    junk: bytes,
) -> None:
    provider = make_provider(access=policy(), budget=CountingGuard())
    with pytest.raises(AudioUnreadable):
        await provider.atranscribe(junk, user_id=FRIEND, duration_seconds=3)
    assert fake.media_requests == [] and sink.events == []
