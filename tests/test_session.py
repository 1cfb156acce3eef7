"""The session player on a fake clock: every control, and cues exactly on time however long it runs."""

from __future__ import annotations

import numpy as np
import pytest

from coach.plan import Cue, Plan, compile_plan
from coach.routines import load_text
from coach.session import (
    LEAD,
    CueSounded,
    Event,
    Finished,
    Paused,
    PhaseStarted,
    Player,
    Resumed,
    StepStarted,
    Waiting,
)
from coach.sound import SAMPLE_RATE, Sound
from coach.testing import FakeClock, RecordingOutput

START = 1000.0


class Fixed:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def duration(self, text: str) -> float:
        return self.seconds


def tone(cue: Cue) -> Sound:
    return np.full(round((cue.dur or 0) * SAMPLE_RATE) + 100, 0.1, dtype=np.float32)


class Rig:
    def __init__(self, yaml_text: str, speech: float = 1.0, wait_limit: float | None = None) -> None:
        self.plan: Plan = compile_plan(load_text(yaml_text, "t.yaml", "t"), Fixed(speech))
        self.clock = FakeClock(START)
        self.output = RecordingOutput()
        self.events: list[Event] = []
        self.player = Player(self.plan, self.output, tone, self.events.append, wait_limit=wait_limit)

    def start(self) -> None:
        self.player.start(self.clock.now())

    def run_to(self, clock_time: float) -> None:
        """Advance the clock to `clock_time`, waking the player whenever it asked to be woken."""
        for _ in range(1_000_000):
            wake = self.player.update(self.clock.now())
            if wake is None or wake > clock_time:
                break
            assert wake > self.clock.t or self.player.state == "finished", "the player asked to wake in the past"
            self.clock.t = wake
        else:
            raise AssertionError("the player never settled")
        self.clock.t = clock_time
        self.player.update(self.clock.now())

    def run_for(self, seconds: float) -> None:
        self.run_to(self.clock.now() + seconds)

    def sound_cues(self) -> list[Cue]:
        return [c for c in self.plan.cues if c.kind in ("speech", "chime")]

    def of(self, kind: type) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


STEPS3 = "title: T\nsteps:\n  - say: One.\n  - pause: 10\n  - say: Three.\n  - pause: 5\n"


def test_every_sound_is_scheduled_at_its_planned_time() -> None:
    rig = Rig("title: B\nsteps:\n  - say: Hello.\n  - breathe: {cycles: 6, count: true}\n  - say: Bye.\n")
    rig.start()
    rig.run_to(START + rig.plan.duration + 1)
    cues = rig.sound_cues()
    assert [p.at for p in rig.output.played] == [START + c.t for c in cues]
    assert [round(p.seconds, 4) for p in rig.output.played] == [round(c.dur or 0, 4) for c in cues]
    assert rig.of(Finished) == [Finished(stopped=False, at=rig.plan.duration)]
    assert rig.player.state == "finished"


def test_no_drift_over_a_two_hour_session() -> None:
    rig = Rig("title: Long\nsteps:\n  - repeat: {times: 4, steps: [{breathe: {cycles: 180}}]}\n")
    assert rig.plan.duration == 7200.0
    rig.start()
    rig.run_to(START + 7300)
    last = rig.sound_cues()[-1]
    assert rig.output.played[-1].at == START + last.t  # exact: times come from the plan, not from sums
    assert len(rig.output.played) == len(rig.sound_cues())


def test_sounds_are_handed_over_early_for_sample_accurate_start() -> None:
    rig = Rig(STEPS3)
    rig.start()
    third = rig.plan.steps[2].t
    rig.run_to(START + third - LEAD - 0.001)
    assert len(rig.output.played) == 1
    rig.run_to(START + third - LEAD)
    assert len(rig.output.played) == 2 and rig.output.played[1].at == START + third


def test_events_come_in_plan_order() -> None:
    rig = Rig("title: B\nsteps:\n  - breathe: {cycles: 1}\n")
    rig.start()
    rig.run_to(START + 11)
    kinds = [type(e).__name__ for e in rig.events]
    assert kinds[:3] == ["StepStarted", "PhaseStarted", "CueSounded"]
    assert [e.phase for e in rig.of(PhaseStarted)] == ["inhale", "hold", "exhale"]
    assert kinds[-1] == "Finished"


def test_pause_freezes_plan_time_mid_phase_and_resume_goes_on() -> None:
    rig = Rig("title: B\nsteps:\n  - breathe: {cycles: 3}\n")
    rig.start()
    rig.run_for(2.5)  # 2.5 s into the first 5 s in-breath
    rig.player.pause(rig.clock.now())
    stops = rig.output.stops
    assert rig.output.stops == stops and rig.of(Paused) == [Paused(2.5)]
    rig.run_for(60)  # nothing moves while paused
    status = rig.player.status(rig.clock.now())
    assert (status.state, status.phase, status.phase_left, status.position) == ("paused", "inhale", 2.5, 2.5)
    played = len(rig.output.played)
    assert played == 1
    rig.player.resume(rig.clock.now())
    assert rig.of(Resumed) == [Resumed(2.5)]
    rig.run_to(START + 62.5 + 30)
    # after the resume every cue is 60 s later than planned
    later = [p.at for p in rig.output.played[1:]]
    assert later == [START + 60 + c.t for c in rig.sound_cues()[1:]]
    assert rig.of(Finished)[0].at == 30.0


def test_resume_finishes_an_interrupted_sound_from_where_it_stopped() -> None:
    rig = Rig("title: S\nsteps:\n  - say: A long sentence.\n  - pause: 5\n", speech=3.0)
    rig.start()
    rig.run_for(1.0)
    rig.player.pause(rig.clock.now())
    rig.run_for(10)
    rig.player.resume(rig.clock.now())
    assert len(rig.output.played) == 2
    again = rig.output.played[1]
    assert again.at == pytest.approx(START + 11.0)
    assert again.seconds == pytest.approx(2.0)  # the last 2 of its 3 seconds


def test_next_goes_to_the_next_step_at_once() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_for(3.0)  # in the 10 s pause
    rig.player.next(rig.clock.now())
    steps = [e.step.index for e in rig.of(StepStarted)]
    assert steps == [0, 1, 2]
    assert rig.output.played[-1].at == START + 3.0  # "Three." starts now
    assert rig.player.position(rig.clock.now()) == pytest.approx(rig.plan.steps[2].t)


def test_next_on_the_last_step_finishes() -> None:
    rig = Rig(STEPS3)
    rig.start()
    for _ in range(4):
        rig.player.next(rig.clock.now())
    assert rig.of(Finished) == [Finished(stopped=False, at=rig.plan.duration)]


def test_back_in_the_first_two_seconds_goes_to_the_previous_step() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_to(START + rig.plan.steps[2].t + 1.0)
    rig.player.back(rig.clock.now())
    assert rig.of(StepStarted)[-1].step.index == 1


def test_back_later_restarts_this_step() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_to(START + rig.plan.steps[1].t + 5.0)
    rig.player.back(rig.clock.now())
    assert rig.of(StepStarted)[-1].step.index == 1
    assert rig.player.position(rig.clock.now()) == pytest.approx(rig.plan.steps[1].t)


def test_back_on_the_first_step_restarts_it() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_for(0.5)
    rig.player.back(rig.clock.now())
    assert [e.step.index for e in rig.of(StepStarted)] == [0, 0]
    assert rig.output.played[-1].at == START + 0.5


def test_repeat_plays_this_step_again() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_to(START + rig.plan.steps[2].t + 0.5)
    rig.player.repeat(rig.clock.now())
    assert [e.step.index for e in rig.of(StepStarted)] == [0, 1, 2, 2]
    texts = [e.cue.text for e in rig.of(CueSounded)]
    assert texts == ["One.", "Three.", "Three."]


def test_stop_finishes_at_once_and_silences() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_for(4.0)
    stops = rig.output.stops
    rig.player.stop(rig.clock.now())
    assert rig.of(Finished) == [Finished(stopped=True, at=4.0)]
    assert rig.output.stops == stops + 1
    assert rig.player.update(rig.clock.now()) is None
    rig.player.next(rig.clock.now())  # controls after the end do nothing
    assert len(rig.of(Finished)) == 1


def test_next_while_paused_stays_paused_at_the_next_step() -> None:
    rig = Rig(STEPS3)
    rig.start()
    rig.run_for(3.0)
    rig.player.pause(rig.clock.now())
    rig.player.next(rig.clock.now())
    assert rig.player.state == "paused"
    assert rig.of(StepStarted)[-1].step.index == 2
    played = len(rig.output.played)
    rig.run_for(30)
    assert len(rig.output.played) == played
    rig.player.resume(rig.clock.now())
    assert rig.output.played[-1].at == rig.clock.now()
    assert [e.cue.text for e in rig.of(CueSounded)] == ["One.", "Three."]


def test_wait_holds_until_next() -> None:
    rig = Rig("title: W\nsteps:\n  - wait: Ready?\n  - say: Go.\n")
    rig.start()
    rig.run_for(600)
    assert rig.player.state == "waiting" and len(rig.of(Waiting)) == 1
    assert len(rig.output.played) == 1
    rig.player.next(rig.clock.now())
    assert rig.output.played[-1].at == pytest.approx(rig.clock.now())
    rig.run_for(5)
    assert rig.player.state == "finished"


def test_wait_with_a_limit_goes_on_by_itself() -> None:
    rig = Rig("title: W\nsteps:\n  - wait: Ready?\n  - say: Go.\n", wait_limit=5.0)
    rig.start()
    rig.run_for(1.0 + 4.9)
    assert rig.player.state == "waiting"
    rig.run_for(0.2)
    assert rig.output.played[-1].at == pytest.approx(START + 6.0)


def test_status_reports_step_phase_and_time_left() -> None:
    rig = Rig("title: B\nsteps:\n  - say: Hi.\n  - breathe: {cycles: 2}\n")
    rig.start()
    rig.run_to(START + 1.6 + 6.5)  # 0.5 s into the first out-breath
    status = rig.player.status(rig.clock.now())
    assert status.step is not None and status.step.index == 1
    assert status.phase == "exhale" and status.phase_left == pytest.approx(3.5)
    assert status.step_left == pytest.approx(13.5) and status.session_left == pytest.approx(13.5)


def test_a_session_thread_runs_on_the_real_clock_and_ends() -> None:
    from coach.session import Session

    plan = compile_plan(load_text("title: S\nsteps:\n  - say: Hi.\n  - pause: 0.3\n", "s.yaml", "s"), Fixed(0.2))
    output = RecordingOutput()
    events: list[Event] = []
    session = Session(Player(plan, output, tone, events.append))
    session.start()
    session.command("next")
    assert session.join(timeout=10), "the session thread did not end"
    assert session.finished and isinstance(events[-1], Finished)
    assert [type(e).__name__ for e in events].count("StepStarted") == 2


class SlottedOutput(RecordingOutput):
    """An output whose device can start a sound only at its next request, 12 ms from now."""

    def first_slot(self, now: float) -> float:
        return now + 0.012


def test_a_session_starts_plan_time_0_at_the_outputs_first_slot() -> None:
    from coach.session import Session

    plan = compile_plan(load_text("title: S\nsteps:\n  - say: Hi.\n  - pause: 1\n", "s.yaml", "s"), Fixed(0.2))
    output, clock = SlottedOutput(), FakeClock(START)
    session = Session(Player(plan, output, tone, lambda event: None), clock, threaded=False)
    session.start()
    assert output.played[0].at == pytest.approx(START + 0.012)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (0.000, 0.040),  # just asked: the next request, one period on
        (0.015, 0.040),  # 5 ms before the next request: still in time for it
        (0.017, 0.060),  # 3 ms before it: too close, so the one after
        (0.045, 0.080),  # a request was missed: counted from the latest one seen
    ],
)
def test_the_first_slot_is_the_next_request_not_due_too_soon(now: float, expected: float) -> None:
    from coach.audio import next_request

    # The latest request was asked at 0.0 and is heard from 0.020; requests come 20 ms apart.
    assert next_request(now, asked=0.0, heard=0.020, period=0.020, margin=0.004) == pytest.approx(expected)
