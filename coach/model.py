"""A routine as plain, validated data: what the loader builds and the plan compiler reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

# Limits from the routine format contract.
MAX_FILE_BYTES = 256 * 1024
MAX_STEPS = 2000
MAX_REPEAT_DEPTH = 4
MAX_SECONDS = 4 * 3600.0
MAX_TEXT = 1000

POSITIONS = ("lying", "seated", "standing", "any")
CHIMES = ("bell", "soft", "rise", "fall")


@dataclass(frozen=True)
class Breath:
    inhale: float = 5.0
    hold: float = 1.0
    exhale: float = 4.0
    rest: float = 0.0

    @property
    def cycle(self) -> float:
        return self.inhale + self.hold + self.exhale + self.rest

    def scaled(self, factor: float) -> Breath:
        return Breath(self.inhale * factor, self.hold * factor, self.exhale * factor, self.rest * factor)


@dataclass(frozen=True)
class Where:
    """Where a step was written, for messages about it."""

    path: str = ""
    line: int = 1
    col: int = 1


@dataclass(frozen=True, kw_only=True)
class Step:
    name: str | None = None
    where: Where = field(default_factory=Where, compare=False)

    @property
    def kind(self) -> str:
        return type(self).__name__.lower()


@dataclass(frozen=True, kw_only=True)
class Say(Step):
    text: str


@dataclass(frozen=True, kw_only=True)
class Pause(Step):
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Chime(Step):
    sound: str


@dataclass(frozen=True, kw_only=True)
class Breathe(Step):
    cycles: int
    breath: Breath
    count: bool = False
    cues: tuple[str, str, str] = ("Breathe in", "Hold", "Breathe out")  # inhale, hold, exhale
    say: str | None = None


@dataclass(frozen=True, kw_only=True)
class Hold(Step):
    seconds: float | None = None
    breaths: int | None = None
    breath: Breath = field(default_factory=Breath)  # the routine's, to time breaths
    say: str | None = None
    remind_every: float | None = None
    end: str | None = None

    @property
    def length(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return (self.breaths or 0) * self.breath.cycle


@dataclass(frozen=True, kw_only=True)
class Stretch(Step):
    hold: Hold
    say: str | None = None  # may contain {side}
    sides: tuple[str, ...] = ()
    release: str | None = None  # may contain {side}
    rest: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Imagery(Step):
    lines: tuple[str, ...]
    breath: Breath
    breaths_per_line: int = 1


@dataclass(frozen=True, kw_only=True)
class Timer(Step):
    seconds: float
    say: str | None = None
    remind_every: float | None = None
    reminder: str = "{remaining} left."  # may contain {remaining}
    end: str | None = None


@dataclass(frozen=True, kw_only=True)
class Wait(Step):
    text: str


@dataclass(frozen=True, kw_only=True)
class Repeat(Step):
    times: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Routine:
    id: str
    title: str
    steps: tuple[Step, ...]
    summary: str = ""
    tags: tuple[str, ...] = ()
    position: str = "any"
    safety: str | None = None
    breath: Breath = field(default_factory=Breath)
    path: Path | None = None


def paced(routine: Routine, factor: float) -> Routine:
    """The routine with every breath timing stretched by `factor` (slower above 1); fixed seconds stay."""
    if factor == 1.0:
        return routine

    def step(s: Step) -> Step:
        if isinstance(s, Breathe | Imagery | Hold):
            return replace(s, breath=s.breath.scaled(factor))
        if isinstance(s, Stretch):
            return replace(s, hold=replace(s.hold, breath=s.hold.breath.scaled(factor)))
        if isinstance(s, Repeat):
            return replace(s, steps=tuple(step(x) for x in s.steps))
        return s

    return replace(routine, breath=routine.breath.scaled(factor), steps=tuple(step(s) for s in routine.steps))
