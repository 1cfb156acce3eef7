"""Routine -> Plan: the one timeline that playback, the pacer, rendering and the tests all read.

Pure: the only outside input is how long each text takes to say, from a DurationProvider.
Times are absolute offsets from the session start. The rules:
- breath phases start on the clock: a cycle is exactly inhale + hold + exhale + rest;
- a sound never pushes anything: a sound cut off by the next one is shortened, or dropped when less
  than half of it would be heard; reminders and counted seconds give way to speech already sounding;
- a `wait` has no end in a live plan (its cue has dur None and takes no plan time: the player holds
  the clock there); `Plan.for_render()` turns each wait into a few seconds of silence.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Protocol

from coach import model as m

CHIME_SECONDS = {"bell": 2.5, "soft": 1.0, "rise": 0.8, "fall": 0.8}
PHASE_CHIMES = ("rise", "soft", "fall")  # sound-only cues for inhale, hold, exhale
SPEECH_GAP = 0.6  # a breath of silence after a spoken step, before the next one starts
RENDER_WAIT_SECONDS = 5.0
MAX_CUES = 50_000
PHASES = ("inhale", "hold", "exhale", "rest")
_NUMBERS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)


class DurationProvider(Protocol):
    def duration(self, text: str) -> float:
        """Seconds it takes to say `text`."""
        ...


class SilentDurations:
    """Estimates speaking time from the words, for plans without a speech engine."""

    def __init__(self, rate_wpm: float = 160.0) -> None:
        self.rate_wpm = rate_wpm

    def duration(self, text: str) -> float:
        words = len(text.split())
        stops = sum(text.count(c) for c in ".,;:!?")
        return round(max(0.4, words * 60.0 / self.rate_wpm + 0.25 * stops), 3)


class PlanLimitError(Exception):
    def __init__(self, message: str, where: m.Where) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


@dataclass(frozen=True)
class Cue:
    t: float
    dur: float | None  # None: a live wait, open-ended
    kind: str  # step, speech, chime, phase or wait
    step: int  # index into Plan.steps
    type: str | None = None  # step: the step kind
    name: str | None = None  # step
    text: str | None = None  # speech
    sound: str | None = None  # chime
    phase: str | None = None  # phase: inhale, hold, exhale or rest

    @property
    def end(self) -> float:
        return self.t + (self.dur or 0.0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": round(self.t, 3),
            "dur": None if self.dur is None else round(self.dur, 3),
            "kind": self.kind,
            "step": self.step,
        }
        for key in ("type", "name", "text", "sound", "phase"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class PlanStep:
    index: int
    type: str
    name: str
    t: float
    dur: float
    waits: bool = False  # ends with a wait for "next"


@dataclass(frozen=True)
class Plan:
    routine: str
    title: str
    steps: tuple[PlanStep, ...]
    cues: tuple[Cue, ...]

    @property
    def duration(self) -> float:
        """Seconds from start to end; waits count as no time."""
        return max((s.t + s.dur for s in self.steps), default=0.0)

    @property
    def has_waits(self) -> bool:
        return any(s.waits for s in self.steps)

    def texts(self) -> list[str]:
        """Every distinct text spoken, in order of first use."""
        return list(dict.fromkeys(c.text for c in self.cues if c.kind == "speech" and c.text))

    def to_json(self) -> dict[str, Any]:
        return {
            "routine": self.routine,
            "title": self.title,
            "duration": round(self.duration, 3),
            "cues": [c.to_json() for c in self.cues],
        }

    def for_render(self, wait_seconds: float = RENDER_WAIT_SECONDS) -> Plan:
        """The same plan with every wait as `wait_seconds` of silence, for a file."""
        shift = 0.0
        cues: list[Cue] = []
        for cue in self.cues:
            cue = dataclasses.replace(cue, t=cue.t + shift)
            if cue.kind == "wait":
                cue = dataclasses.replace(cue, dur=wait_seconds)
                shift += wait_seconds
            elif cue.kind == "step" and self.steps[cue.step].waits:
                cue = dataclasses.replace(cue, dur=(cue.dur or 0.0) + wait_seconds)
            cues.append(cue)
        steps: list[PlanStep] = []
        shift = 0.0
        for step in self.steps:
            extra = wait_seconds if step.waits else 0.0
            steps.append(dataclasses.replace(step, t=step.t + shift, dur=step.dur + extra, waits=False))
            shift += extra
        return Plan(self.routine, self.title, tuple(steps), tuple(cues))


def format_remaining(seconds: float) -> str:
    """Spoken time: '45 seconds', '1 minute', '2 minutes 30 seconds'."""
    total = max(1, round(seconds))
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if secs:
        parts.append(f"{secs} second{'s' if secs != 1 else ''}")
    return " ".join(parts)


def clock(seconds: float) -> str:
    """Shown time: '0:45', '12:05', '1:02:03'."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _number(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else str(n)


def _default_name(step: m.Step) -> str:
    if isinstance(step, m.Say | m.Wait):
        words = step.text.split()
        return " ".join(words[:6]) + (" …" if len(words) > 6 else "")
    if isinstance(step, m.Pause):
        return f"Pause {step.seconds:g} s"
    if isinstance(step, m.Chime):
        return f"Chime ({step.sound})"
    if isinstance(step, m.Breathe):
        return f"Breathing, {step.cycles} breath{'s' if step.cycles != 1 else ''}"
    if isinstance(step, m.Timer):
        return f"Timer, {format_remaining(step.seconds)}"
    return step.kind.capitalize()


class _Builder:
    def __init__(self, durations: DurationProvider) -> None:
        self.durations = durations
        self.t = 0.0
        self.cues: list[Cue] = []
        self.steps: list[PlanStep] = []
        self.last_sound: int | None = None  # index in cues of the sound that may still be playing
        self.open = False  # a step has begun and not ended
        self.sounds_tried = 0  # bounds the work of reminders and counts that give way
        self.where = m.Where("steps")  # the step being built, for limit messages

    # -- cues -----------------------------------------------------------------------------------

    def _add(self, cue: Cue) -> None:
        if len(self.cues) >= MAX_CUES:
            raise PlanLimitError(f"the plan has more than {MAX_CUES:,} cues: use fewer or longer steps", self.where)
        self.cues.append(cue)

    def sound(self, t: float, kind: str, text: str | None = None, sound: str | None = None,
              gives_way: bool = False, until: float | None = None) -> float:
        """Add a speech or chime cue at t, cut at `until` if given; returns its full length."""
        self.sounds_tried += 1
        if self.sounds_tried > MAX_CUES:
            raise PlanLimitError(f"the plan has more than {MAX_CUES:,} cues: use fewer or longer steps", self.where)
        length = self.durations.duration(text) if kind == "speech" and text else CHIME_SECONDS.get(sound or "", 0)
        if self.last_sound is not None:
            last = self.cues[self.last_sound]
            if last.end > t + 1e-9:
                if gives_way:
                    return length
                self._cut(self.last_sound, t)
        self._add(Cue(t, length, kind, len(self.steps) - 1, text=text, sound=sound))
        self.last_sound = len(self.cues) - 1
        if until is not None and t + length > until + 1e-9:
            self._cut(self.last_sound, until)
        return length

    def _cut(self, index: int, at: float) -> None:
        cue = self.cues[index]
        heard = at - cue.t
        assert cue.dur is not None
        if heard < cue.dur / 2:
            self.cues[index] = dataclasses.replace(cue, kind="dropped")
        else:
            self.cues[index] = dataclasses.replace(cue, dur=heard)

    def speak(self, t: float, text: str | None, gives_way: bool = False, until: float | None = None) -> float:
        return self.sound(t, "speech", text=text, gives_way=gives_way, until=until) if text else 0.0

    def phases(self, t0: float, breath: m.Breath, count: int) -> None:
        for c in range(count):
            t = t0 + c * breath.cycle
            for phase, length in zip(PHASES, (breath.inhale, breath.hold, breath.exhale, breath.rest), strict=True):
                if length > 0:
                    self._add(Cue(t, length, "phase", len(self.steps) - 1, phase=phase))
                    t += length

    # -- steps ----------------------------------------------------------------------------------

    def begin(self, step_type: str, name: str, where: m.Where) -> None:
        self.where = where
        self.end_step()
        self.steps.append(PlanStep(len(self.steps), step_type, name, self.t, 0.0))
        self.open = True
        self._add(Cue(self.t, None, "step", len(self.steps) - 1, type=step_type, name=name))

    def need(self, seconds: float) -> None:
        """Refuse a step that would take the routine past the 4-hour limit, before building it."""
        if self.t + seconds > m.MAX_SECONDS:
            raise PlanLimitError("the routine would last longer than the 4-hour limit", self.where)

    def end_step(self, waits: bool = False) -> None:
        if not self.open:
            return
        self.open = False
        index = len(self.steps) - 1
        if self.last_sound is not None and self.cues[self.last_sound].end > self.t + 1e-9:
            self._cut(self.last_sound, self.t)
        self.last_sound = None
        start = self.steps[index].t
        self.steps[index] = dataclasses.replace(self.steps[index], dur=self.t - start, waits=waits)
        for i in range(len(self.cues) - 1, -1, -1):
            cue = self.cues[i]
            if cue.kind == "step" and cue.step == index:
                self.cues[i] = dataclasses.replace(cue, dur=self.t - start)
                break

    def add_steps(self, steps: tuple[m.Step, ...], suffix: str = "") -> None:
        for step in steps:
            self.add_step(step, suffix)

    def add_step(self, step: m.Step, suffix: str = "") -> None:
        name = (step.name or _default_name(step)) + suffix
        if isinstance(step, m.Repeat):
            for i in range(step.times):
                label = step.name or "round"
                more = f" · {label} {i + 1} of {step.times}" if step.times > 1 else ""
                self.where = step.where
                self.add_steps(step.steps, suffix + more)
            return
        if isinstance(step, m.Stretch):
            for i, side in enumerate(step.sides or ("",)):
                self.begin("stretch", f"{name} ({side})" if side else name, step.where)
                self.stretch_side(step, side, last=i == max(0, len(step.sides) - 1))
            return
        self.begin(step.kind, name, step.where)
        if isinstance(step, m.Say):
            length = self.speak(self.t, step.text) + SPEECH_GAP
            self.need(length)
            self.t += length
        elif isinstance(step, m.Pause):
            self.need(step.seconds)
            self.t += step.seconds
        elif isinstance(step, m.Chime):
            self.t += self.sound(self.t, "chime", sound=step.sound)
        elif isinstance(step, m.Wait):
            self.t += self.speak(self.t, step.text)
            self._add(Cue(self.t, None, "wait", len(self.steps) - 1))
            self.end_step(waits=True)
        elif isinstance(step, m.Breathe):
            self.breathe(step)
        elif isinstance(step, m.Hold):
            self.hold(step)
        elif isinstance(step, m.Imagery):
            self.imagery(step)
        elif isinstance(step, m.Timer):
            self.timer(step)
        self.end_step()

    def breathe(self, step: m.Breathe) -> None:
        if step.say:
            self.t += self.speak(self.t, step.say) + SPEECH_GAP
        breath = step.breath
        self.need(step.cycles * breath.cycle)
        t0 = self.t
        self.phases(t0, breath, step.cycles)
        lengths = (breath.inhale, breath.hold, breath.exhale)
        for c in range(step.cycles):
            t = t0 + c * breath.cycle
            for i, (cue, length) in enumerate(zip(step.cues, lengths, strict=True)):
                if length <= 0:
                    continue
                # A phase's cue never runs into the next phase.
                if cue:
                    self.speak(t, cue, until=t + length)
                else:
                    self.sound(t, "chime", sound=PHASE_CHIMES[i], until=t + length)
                if i == 0 and step.count:
                    for second in range(1, math.ceil(length)):
                        self.speak(t + second, _number(second + 1), until=t + length)
                t += length
        self.t = t0 + step.cycles * breath.cycle

    def hold(self, step: m.Hold, side: str | None = None) -> None:
        """A hold; inside a stretch (`side` given) its say and end are templates for the side."""
        length = step.length
        self.need(length)
        t0 = self.t
        if step.breaths is not None:
            self.phases(t0, step.breath, step.breaths)
        self.speak(t0, step.say.format(side=side) if step.say and side is not None else step.say)
        if step.remind_every:
            k = 1
            while (left := length - k * step.remind_every) > 1.0:
                t = t0 + k * step.remind_every
                if step.breaths is not None:
                    n = math.ceil(left / step.breath.cycle - 1e-6)  # the breath under way counts
                    text = f"{n} breath{'s' if n != 1 else ''} left." if n else None
                else:
                    text = f"{format_remaining(left)} left."
                self.speak(t, text, gives_way=True)
                k += 1
        self.t = t0 + length
        if step.end:
            end = step.end.format(side=side) if side is not None else step.end
            self.t += self.speak(self.t, end) + SPEECH_GAP

    def stretch_side(self, step: m.Stretch, side: str, last: bool) -> None:
        if step.say:
            text = step.say.format(side=side)
            self.t += self.speak(self.t, text) + SPEECH_GAP
        self.hold(step.hold, side)
        if step.release:
            self.t += self.speak(self.t, step.release.format(side=side)) + SPEECH_GAP
        if not last and step.rest:
            self.need(step.rest)
            self.t += step.rest
        self.end_step()

    def imagery(self, step: m.Imagery) -> None:
        breath = step.breath
        count = len(step.lines) * step.breaths_per_line
        self.need(count * breath.cycle)
        t0 = self.t
        self.phases(t0, breath, count)
        for i, line in enumerate(step.lines):
            self.speak(t0 + i * step.breaths_per_line * breath.cycle + breath.inhale + breath.hold, line)
        self.t = t0 + count * breath.cycle

    def timer(self, step: m.Timer) -> None:
        self.need(step.seconds)
        t0 = self.t
        self.speak(t0, step.say)
        if step.remind_every:
            k = 1
            while (left := step.seconds - k * step.remind_every) > 1.0:
                text = step.reminder.format(remaining=format_remaining(left))
                self.speak(t0 + k * step.remind_every, text, gives_way=True)
                k += 1
        self.t = t0 + step.seconds
        if step.end:
            self.t += self.speak(self.t, step.end) + SPEECH_GAP


def compile_plan(routine: m.Routine, durations: DurationProvider) -> Plan:
    """The timeline of a routine. Raises PlanLimitError past the contract's limits."""
    builder = _Builder(durations)
    if routine.safety:
        builder.begin("safety", "Safety", m.Where("safety"))
        builder.t += builder.speak(0.0, routine.safety) + SPEECH_GAP
        builder.end_step()
    builder.add_steps(routine.steps)
    builder.end_step()
    cues = sorted((c for c in builder.cues if c.kind != "dropped"), key=lambda c: c.t)
    return Plan(routine.id, routine.title, tuple(builder.steps), tuple(cues))
