from __future__ import annotations

from app.access import RefusalThrottle


def test_one_refusal_per_cooldown_per_user() -> None:
    now = [0.0]
    throttle = RefusalThrottle(60, clock=lambda: now[0])
    assert throttle.allow(1)
    assert not throttle.allow(1)
    assert throttle.allow(2)  # others are not affected
    now[0] = 59.9
    assert not throttle.allow(1)
    now[0] = 60.0
    assert throttle.allow(1)


def test_memory_is_bounded() -> None:
    throttle = RefusalThrottle(60, max_users=3, clock=lambda: 0.0)
    for uid in range(10):
        assert throttle.allow(uid)
    assert len(throttle._last) == 3
    assert throttle.allow(0)  # forgotten, so answered again (bounded memory wins)
