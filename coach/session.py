"""The session player: runs a Plan against a clock, sounds each cue at its planned offset, takes controls.

Plan time is the only time. While playing, plan time = clock - anchor; pause and `wait` freeze it;
next, back and repeat move it to a step's start. Every sound is scheduled at `anchor + cue.t` on the
monotonic clock, never "after the previous one finished", so nothing drifts however long it runs.

`Player` is a plain state machine (give it `now`, it does what is due and says when to wake next),
so unit tests drive it on a fake clock; `Session` runs one on a thread for the front ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from coach.audio import SoundOutput
from coach.clock import Clock, MonotonicClock
from coach.plan import Cue, Plan, PlanStep
from coach.sound import SAMPLE_RATE, Sound

LEAD = 0.08  # hand sounds to the output this early, so it can start them on the exact sample
BACK_GRACE = 2.0  # "back" in a step's first seconds goes to the previous step
EPSILON = 1e-6  # clock - anchor may come back a hair short of the time it was woken for
RESUME_MIN = 0.3  # after a pause, finish an interrupted sound only if this much of it is left

State = Literal["ready", "playing", "paused", "waiting", "finished"]


# -- events: plain data for any front end ------------------------------------------------------------


@dataclass(frozen=True)
class StepStarted:
    step: PlanStep
    count: int  # steps in the plan


@dataclass(frozen=True)
class PhaseStarted:
    phase: str  # inhale, hold, exhale or rest
    seconds: float


@dataclass(frozen=True)
class CueSounded:
    cue: Cue


@dataclass(frozen=True)
class Paused:
    at: float  # plan time


@dataclass(frozen=True)
class Resumed:
    at: float


@dataclass(frozen=True)
class Waiting:
    step: PlanStep


@dataclass(frozen=True)
class Finished:
    stopped: bool
    at: float  # plan time reached


Event = StepStarted | PhaseStarted | CueSounded | Paused | Resumed | Waiting | Finished


@dataclass(frozen=True)
class Status:
    state: State
    step: PlanStep | None
    phase: str | None
    phase_left: float
    phase_seconds: float  # the whole phase, for a pacer's share of it
    step_left: float
    session_left: float
    position: float


class Player:
    def __init__(
        self,
        plan: Plan,
        output: SoundOutput,
        sounds: Callable[[Cue], Sound | None],
        emit: Callable[[Event], None] = lambda event: None,
        wait_limit: float | None = None,
    ) -> None:
        self.plan = plan
        self.output = output
        self.sounds = sounds
        self.emit = emit
        self.wait_limit = wait_limit  # seconds a `wait` holds before going on by itself; None: forever
        self.state: State = "ready"
        self._anchor = 0.0  # clock time of plan time 0, while playing
        self._frozen = 0.0  # plan time, while paused or waiting
        self._waited_since = 0.0
        self._cursor = 0  # next cue to act on, at its time
        self._sound_cursor = 0  # next cue whose sound to hand to the output, LEAD early
        self._step: PlanStep | None = None
        self._phase: Cue | None = None
        self._step_cue = {c.step: i for i, c in enumerate(plan.cues) if c.kind == "step"}

    # -- time ---------------------------------------------------------------------------------------

    def position(self, now: float) -> float:
        """Plan time at clock time `now`."""
        if self.state == "playing":
            return now - self._anchor
        return self._frozen

    def status(self, now: float) -> Status:
        p = self.position(now)
        step, phase = self._step, self._phase
        phase_left = max(0.0, phase.end - p) if phase is not None and phase.t <= p < phase.end else 0.0
        return Status(
            state=self.state,
            step=step,
            phase=phase.phase if phase is not None and phase_left > 0 else None,
            phase_left=phase_left,
            phase_seconds=(phase.dur or 0.0) if phase is not None and phase_left > 0 else 0.0,
            step_left=max(0.0, step.t + step.dur - p) if step else 0.0,
            session_left=max(0.0, self.plan.duration - p),
            position=p,
        )

    # -- running ------------------------------------------------------------------------------------

    def start(self, now: float, lead: float = 0.0) -> None:
        """Start; with a `lead`, plan time 0 falls that much later, so the first sound starts on time."""
        self.state = "playing"
        self._anchor = now + lead
        self.update(now)

    def update(self, now: float) -> float | None:
        """Do everything due by `now`; returns the clock time to call again, or None for never."""
        if self.state == "waiting" and self.wait_limit is not None:
            if now + EPSILON < self._waited_since + self.wait_limit:
                return self._waited_since + self.wait_limit
            self._continue(now)
        if self.state != "playing":
            return None
        p = now - self._anchor
        cues = self.plan.cues
        wake = self.plan.duration
        while self._sound_cursor < len(cues):
            cue = cues[self._sound_cursor]
            if cue.kind in ("speech", "chime"):
                if cue.t - LEAD > p + EPSILON:
                    wake = cue.t - LEAD
                    break
                self._sound(cue, 0.0)
            elif cue.kind == "wait" and self._sound_cursor >= self._cursor:
                break  # nothing after a wait may sound before the wait has been held and left
            self._sound_cursor += 1
        while self._cursor < len(cues):
            cue = cues[self._cursor]
            if cue.t > p + EPSILON:
                return self._anchor + min(wake, cue.t)
            self._cursor += 1
            self._handle(cue, now)
            if self.state != "playing":
                return self.update(now)
        if p + EPSILON >= self.plan.duration:
            self._finish(stopped=False, at=self.plan.duration)
            return None
        return self._anchor + wake

    def _handle(self, cue: Cue, now: float) -> None:
        if cue.kind == "step":
            self._step = self.plan.steps[cue.step]
            self._phase = None
            self.emit(StepStarted(self._step, len(self.plan.steps)))
        elif cue.kind == "phase":
            self._phase = cue
            self.emit(PhaseStarted(cue.phase or "", cue.dur or 0.0))
        elif cue.kind in ("speech", "chime"):
            self.emit(CueSounded(cue))
        elif cue.kind == "wait":
            self.state = "waiting"
            self._frozen = cue.t
            self._waited_since = now
            self.output.stop()
            assert self._step is not None
            self.emit(Waiting(self._step))

    def _sound(self, cue: Cue, offset: float) -> None:
        """Schedule a cue's sound from `offset` seconds into it, at its place on the clock."""
        sound = self.sounds(cue)
        if sound is not None and cue.dur:
            start = round(offset * SAMPLE_RATE)
            end = min(len(sound), round(cue.dur * SAMPLE_RATE))
            if end > start:
                self.output.play(sound[start:end], self._anchor + cue.t + offset)

    def _finish(self, stopped: bool, at: float) -> None:
        self.output.stop()
        self.state = "finished"
        self._frozen = at
        self.emit(Finished(stopped=stopped, at=at))

    # -- controls -----------------------------------------------------------------------------------

    def pause(self, now: float) -> None:
        if self.state != "playing":
            return
        self._frozen = now - self._anchor
        self.state = "paused"
        self.output.stop()
        self.emit(Paused(self._frozen))

    def resume(self, now: float) -> None:
        if self.state != "paused":
            return
        p = self._frozen
        self._anchor = now - p
        self.state = "playing"
        self.emit(Resumed(p))
        # Finish what the pause cut off, and re-hand sounds that were handed early and then dropped.
        first = self._step_cue.get(self._step.index, 0) if self._step else 0
        for cue in self.plan.cues[first : self._sound_cursor]:
            if cue.kind in ("speech", "chime") and cue.dur and cue.t < p + LEAD and p < cue.t + cue.dur:
                offset = max(0.0, p - cue.t)
                if cue.dur - offset >= RESUME_MIN or offset == 0.0:
                    self._sound(cue, offset)
        self.update(now)

    def toggle_pause(self, now: float) -> None:
        if self.state == "playing":
            self.pause(now)
        elif self.state == "paused":
            self.resume(now)

    def next(self, now: float) -> None:
        if self.state == "waiting":
            self._continue(now)
            self.update(now)
        elif self.state in ("playing", "paused") and self._step is not None:
            self._goto(self._step.index + 1, now)

    def back(self, now: float) -> None:
        if self.state in ("playing", "paused", "waiting") and self._step is not None:
            into = self.position(now) - self._step.t
            target = self._step.index - 1 if into < BACK_GRACE and self._step.index > 0 else self._step.index
            self._goto(target, now)

    def repeat(self, now: float) -> None:
        if self.state in ("playing", "paused", "waiting") and self._step is not None:
            self._goto(self._step.index, now)

    def jump(self, index: int, now: float) -> None:
        """To the start of step `index` (a front end that rebuilt the plan carries on where it was)."""
        if self.state in ("playing", "paused", "waiting"):
            self._goto(min(index, len(self.plan.steps) - 1), now)

    def stop(self, now: float) -> None:
        if self.state != "finished":
            self._finish(stopped=True, at=self.position(now))

    def _continue(self, now: float) -> None:
        """Leave a `wait`: plan time goes on from where it was held."""
        self._anchor = now - self._frozen
        self.state = "playing"
        self.emit(Resumed(self._frozen))

    def _goto(self, index: int, now: float) -> None:
        self.output.stop()
        if index >= len(self.plan.steps):
            self._finish(stopped=False, at=self.plan.duration)
            return
        step = self.plan.steps[index]
        self._cursor = self._step_cue[index]
        self._sound_cursor = self._cursor
        self._anchor = now - step.t
        self._phase = None
        if self.state == "paused":  # stay paused at the new step's start; its cues sound on resume
            self._frozen = step.t
            self._handle(self.plan.cues[self._cursor], now)
            self._cursor += 1
            self._sound_cursor = self._cursor
            return
        self.state = "playing"
        self.update(now)


# -- a player on its own thread ---------------------------------------------------------------------


class Session:
    """Runs a Player on a thread; controls are safe to call from any thread.

    With `threaded=False` nothing runs by itself: the owner calls `pump()` (a UI's refresh tick, or a
    test on a fake clock), and controls act at once."""

    def __init__(self, player: Player, clock: Clock | None = None, threaded: bool = True) -> None:
        self.player = player
        self.clock = clock or MonotonicClock()
        self.threaded = threaded
        self._commands: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="unknot-session", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.threaded:
            self._thread.start()
        else:
            with self._lock:
                self._begin()

    def _begin(self) -> None:
        if self.player.state == "ready":  # a player handed over already started just carries on
            now = self.clock.now()
            self.player.start(now, lead=self.player.output.first_slot(now) - now)

    def command(self, name: str) -> None:
        """One of: pause, resume, toggle_pause, next, back, repeat, stop."""
        if self.threaded:
            self._commands.put(name)
            return
        with self._lock:
            now = self.clock.now()
            getattr(self.player, name)(now)
            self.player.update(now)

    def pump(self) -> None:
        """Do what is due, when not threaded."""
        if not self.threaded:
            with self._lock:
                self.player.update(self.clock.now())

    def status(self) -> Status:
        with self._lock:
            return self.player.status(self.clock.now())

    def join(self, timeout: float | None = None) -> bool:
        if not self.threaded:
            return self.finished
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self.player.state == "finished"

    def _run(self) -> None:
        with self._lock:
            self._begin()
        while True:
            with self._lock:
                wake = self.player.update(self.clock.now())
            if self.player.state == "finished":
                return
            timeout = None if wake is None else max(0.0, wake - self.clock.now())
            try:
                name = self._commands.get(timeout=timeout)
            except queue.Empty:
                continue
            with self._lock:
                getattr(self.player, name)(self.clock.now())
