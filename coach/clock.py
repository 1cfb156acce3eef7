"""The one clock sessions run on."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a clock that never jumps (monotonic)."""
        ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()
