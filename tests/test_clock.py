"""The device clock that the sound output and the echo canceller place samples on."""

from __future__ import annotations

import numpy as np

from coach.clock import DeviceClock

RATE = 1000


def test_it_reads_through_late_callbacks() -> None:
    clock = DeviceClock(RATE, window=2.0)
    late = np.random.default_rng(0).uniform(0.0, 0.03, 200)
    offsets = [clock.offset(k * 10, 5.0 + k * 0.01 + late[k]) for k in range(200)]
    assert abs(offsets[-1] - 5.0) < 0.001


def test_after_a_stall_it_follows_the_device_at_once() -> None:
    # A sound server's first request can wait over a second: every sample after it is heard that much
    # later, and the samples from before must not hold the clock back for a whole window.
    clock = DeviceClock(RATE, window=2.0)
    for k in range(5):
        clock.offset(k * 10, 5.0 + k * 0.01)
    assert abs(clock.offset(50, 5.05 + 1.5) - 6.5) < 1e-9
    assert abs(clock.offset(60, 5.06 + 1.5 + 0.02) - 6.5) < 1e-9  # and late callbacks after it are read through
