"""Test doubles that stand in for the outside world in unit tests. The real parts are tested for real."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coach.plan import SilentDurations
from coach.sound import SAMPLE_RATE, Sound

if TYPE_CHECKING:
    from coach.echo import EchoCanceller


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


@dataclass
class Played:
    at: float
    seconds: float
    sound: Sound = field(repr=False)


class RecordingOutput:
    """A sound output that remembers what it was asked to play and when."""

    def __init__(self) -> None:
        self.played: list[Played] = []
        self.stops = 0

    def play(self, sound: Sound, at: float) -> None:
        self.played.append(Played(at, len(sound) / SAMPLE_RATE, sound))

    def stop(self) -> None:
        self.stops += 1

    def sounding_until(self) -> float:
        return max((p.at + p.seconds for p in self.played), default=0.0)

    def first_slot(self, now: float) -> float:
        return now

    def close(self) -> None:
        pass


class SilentEngine(SilentDurations):
    """Speech lengths estimated from the words, and no sound at all."""

    def sound(self, text: str) -> Sound | None:
        return None


class TakesNothingOut:
    """An echo canceller's filter that has lost track of the echo entirely."""

    def cancel_echo(self, heard: list[int], echo: list[int]) -> list[int]:
        return heard


def losing_track(canceller: EchoCanceller) -> EchoCanceller:
    """`canceller`, its filter (and each one it starts afresh) taking nothing out."""
    canceller._make = TakesNothingOut
    canceller._aec = TakesNothingOut()
    return canceller
