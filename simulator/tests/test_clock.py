"""The simulated clock's timestamps."""

from __future__ import annotations

from datetime import datetime

from kurator_sim.clock import SimClock


def test_timestamps_follow_the_clock_second_by_second() -> None:
    clock = SimClock(scale=100_000.0)
    seen = []
    for _ in range(50):
        before = clock.now().replace(microsecond=0)
        stamp = clock.timestamp()
        after = clock.now().replace(microsecond=0)
        parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=before.tzinfo)
        assert before <= parsed <= after
        seen.append(stamp)
    assert len(set(seen)) > 1  # at 100,000x the simulated seconds move on between calls
    assert seen == sorted(seen)
