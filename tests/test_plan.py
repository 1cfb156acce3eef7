"""The plan compiler: the format's timing rules, exactly."""

from __future__ import annotations

import itertools
import json

import pytest

from coach.library import content_dir
from coach.plan import Plan, SilentDurations, compile_plan, format_remaining
from coach.routines import iter_routine_files, load_file, load_text


class FixedDurations:
    """Every text takes the same time: makes expected times easy to state."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.asked: list[str] = []

    def duration(self, text: str) -> float:
        self.asked.append(text)
        return self.seconds


def plan_of(yaml_text: str, seconds: float = 0.5) -> Plan:
    return compile_plan(load_text(yaml_text, "t.yaml", "t"), FixedDurations(seconds))


def phases(plan: Plan) -> list[tuple[float, str, float]]:
    return [(c.t, c.phase or "", c.dur or 0.0) for c in plan.cues if c.kind == "phase"]


def sounds(plan: Plan) -> list[tuple[float, float, str]]:
    return [(c.t, c.dur or 0.0, c.text or c.sound or "") for c in plan.cues if c.kind in ("speech", "chime")]


def test_five_one_four_breathing_for_six_cycles_is_exactly_sixty_seconds() -> None:
    plan = plan_of("title: B\nsteps:\n  - breathe: {cycles: 6, inhale: 5, hold: 1, exhale: 4}\n")
    assert plan.duration == 60.0
    expected = []
    for k in range(6):
        expected += [(10.0 * k, "inhale", 5.0), (10.0 * k + 5, "hold", 1.0), (10.0 * k + 6, "exhale", 4.0)]
    assert phases(plan) == expected


def test_default_breath_is_five_one_four_with_no_rest() -> None:
    plan = plan_of("title: B\nsteps:\n  - breathe: {cycles: 3}\n")
    assert plan.duration == 30.0
    assert [p for _, p, _ in phases(plan)] == ["inhale", "hold", "exhale"] * 3


def test_routine_breath_and_step_overrides() -> None:
    plan = plan_of(
        "title: B\nbreath: {inhale: 4, hold: 0, exhale: 6, rest: 2}\n"
        "steps:\n  - breathe: {cycles: 2}\n  - breathe: {cycles: 1, exhale: 8}\n"
    )
    assert phases(plan) == [
        (0.0, "inhale", 4.0), (4.0, "exhale", 6.0), (10.0, "rest", 2.0),
        (12.0, "inhale", 4.0), (16.0, "exhale", 6.0), (22.0, "rest", 2.0),
        (24.0, "inhale", 4.0), (28.0, "exhale", 8.0), (36.0, "rest", 2.0),
    ]
    assert plan.duration == 38.0


def test_speech_longer_than_its_phase_never_pushes_the_next_phase() -> None:
    # Each cue takes 3 s: longer than the 1 s hold, so "Breathe in" and "Hold" are cut, never late.
    plan = plan_of("title: B\nsteps:\n  - breathe: {cycles: 4, inhale: 2, hold: 1, exhale: 4}\n", seconds=3.0)
    assert [t for t, _, _ in phases(plan)] == [7.0 * k + d for k in range(4) for d in (0, 2, 3)]
    assert plan.duration == 28.0
    heard = sounds(plan)
    for (t1, d1, _), (t2, _, _) in itertools.pairwise(heard):
        assert t1 + d1 <= t2 + 1e-9, "two sounds overlap"
    # "Hold" would be cut to a third of itself: dropped. "Breathe in" keeps 2 of its 3 s.
    assert all(text != "Hold" for _, _, text in heard)
    assert (0.0, 2.0, "Breathe in") in heard


def test_empty_cue_is_a_chime_only() -> None:
    plan = plan_of(
        "title: B\nsteps:\n  - breathe: {cycles: 1, cues: {inhale: '', hold: '', exhale: ''}}\n"
    )
    assert [(t, s) for t, _, s in sounds(plan)] == [(0.0, "rise"), (5.0, "soft"), (6.0, "fall")]


def test_counted_inhale_speaks_each_second_on_the_clock() -> None:
    plan = plan_of("title: B\nsteps:\n  - breathe: {cycles: 1, count: true, cues: {inhale: In}}\n", seconds=0.4)
    words = [(t, text) for t, _, text in sounds(plan)]
    assert words[:5] == [(0.0, "In"), (1.0, "two"), (2.0, "three"), (3.0, "four"), (4.0, "five")]


def test_say_step_takes_its_speech_and_a_short_gap_and_steps_are_contiguous() -> None:
    plan = plan_of("title: S\nsteps:\n  - say: Hello there.\n  - pause: 10\n  - say: Bye.\n", seconds=2.0)
    starts = [s.t for s in plan.steps]
    for step, following in zip(plan.steps, plan.steps[1:], strict=False):
        assert step.t + step.dur == pytest.approx(following.t)
    assert plan.steps[1].dur == 10.0
    assert starts[0] == 0.0
    assert plan.steps[0].dur == pytest.approx(2.0 + 0.6)


def test_safety_text_is_spoken_before_the_first_step() -> None:
    plan = plan_of("title: S\nsafety: Stop if it hurts.\nsteps:\n  - say: Hi.\n", seconds=1.0)
    assert plan.steps[0].type == "safety"
    first = next(c for c in plan.cues if c.kind == "speech")
    assert (first.t, first.text) == (0.0, "Stop if it hurts.")


def test_wait_has_no_end_live_and_five_seconds_of_silence_rendered() -> None:
    plan = plan_of("title: W\nsteps:\n  - wait: Say next when ready.\n  - say: Go.\n", seconds=1.0)
    wait = [c for c in plan.cues if c.kind == "wait"]
    assert len(wait) == 1 and wait[0].dur is None and wait[0].t == 1.0
    assert plan.steps[0].waits and plan.has_waits
    assert plan.steps[1].t == 1.0
    rendered = plan.for_render()
    assert [c.dur for c in rendered.cues if c.kind == "wait"] == [5.0]
    assert rendered.steps[1].t == 6.0
    assert rendered.duration == pytest.approx(plan.duration + 5.0)
    assert not rendered.has_waits


def test_stretch_runs_once_per_side_with_the_side_spoken() -> None:
    plan = plan_of(
        "title: S\nsteps:\n  - stretch:\n      name: Knee\n      sides: [right, left]\n"
        "      say: Lift your {side} knee.\n      hold: {seconds: 20}\n"
        "      release: Lower your {side} foot.\n      rest: 5s\n",
        seconds=1.0,
    )
    assert [s.name for s in plan.steps] == ["Knee (right)", "Knee (left)"]
    texts = [text for _, _, text in sounds(plan)]
    assert texts == ["Lift your right knee.", "Lower your right foot.", "Lift your left knee.", "Lower your left foot."]
    # say 1 + gap, hold 20, release 1 + gap, rest 5 between the sides only
    assert plan.steps[0].dur == pytest.approx(1.6 + 20 + 1.6 + 5)
    assert plan.steps[1].dur == pytest.approx(1.6 + 20 + 1.6)


def test_hold_in_breaths_follows_the_routine_breath() -> None:
    plan = plan_of("title: H\nbreath: {inhale: 3, hold: 0, exhale: 3}\nsteps:\n  - hold: {breaths: 4}\n")
    assert plan.duration == 24.0
    assert [t for t, p, _ in phases(plan) if p == "inhale"] == [0.0, 6.0, 12.0, 18.0]


def test_imagery_lines_start_on_out_breaths() -> None:
    plan = plan_of("title: I\nsteps:\n  - imagery: {lines: [One., Two.], breaths_per_line: 2}\n", seconds=2.0)
    assert plan.duration == 40.0
    assert [(t, text) for t, _, text in sounds(plan)] == [(6.0, "One."), (26.0, "Two.")]
    assert {t for t, p, _ in phases(plan) if p == "exhale"} >= {6.0, 26.0}


def test_timer_reminders_fall_on_the_clock_and_say_what_is_left() -> None:
    plan = plan_of(
        "title: T\nsteps:\n  - timer: {duration: 20m, remind_every: 5m, say: Ice on., end: Ice off.}\n",
        seconds=1.0,
    )
    assert [(t, text) for t, _, text in sounds(plan)] == [
        (0.0, "Ice on."), (300.0, "15 minutes left."), (600.0, "10 minutes left."),
        (900.0, "5 minutes left."), (1200.0, "Ice off."),
    ]
    assert plan.duration == pytest.approx(1200 + 1.6)


def test_reminders_give_way_to_speech_still_sounding() -> None:
    plan = plan_of("title: T\nsteps:\n  - hold: {seconds: 30, remind_every: 2, say: Hold still.}\n", seconds=3.0)
    times = [t for t, _, _ in sounds(plan)]
    assert times[0] == 0.0 and 2.0 not in times and 4.0 in times


def test_repeat_runs_its_steps_in_order_with_round_names() -> None:
    plan = plan_of("title: R\nsteps:\n  - repeat: {times: 3, steps: [{pause: 2, name: Rest}, {chime: bell}]}\n")
    assert [s.name for s in plan.steps][:2] == ["Rest · round 1 of 3", "Chime (bell) · round 1 of 3"]
    assert len(plan.steps) == 6


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [(45, "45 seconds"), (60, "1 minute"), (90, "1 minute 30 seconds"), (900, "15 minutes"), (0.2, "1 second")],
)
def test_format_remaining(seconds: float, spoken: str) -> None:
    assert format_remaining(seconds) == spoken


def test_duration_provider_is_asked_for_every_text() -> None:
    durations = FixedDurations(1.0)
    compile_plan(load_text("title: P\nsteps:\n  - say: A.\n  - wait: B.\n", "p.yaml", "p"), durations)
    assert durations.asked == ["A.", "B."]


def test_silent_durations_grow_with_words() -> None:
    silent = SilentDurations(rate_wpm=150)
    assert silent.duration("one two three four five six seven eight nine ten") == pytest.approx(4.0)
    assert silent.duration("Hi") >= 0.4


@pytest.mark.parametrize("path", list(iter_routine_files(content_dir() / "routines")), ids=lambda p: p.stem)
def test_every_built_in_plan_is_well_formed(path) -> None:  # type: ignore[no-untyped-def]
    plan = compile_plan(load_file(path), SilentDurations())
    data = json.loads(json.dumps(plan.to_json()))
    assert set(data) >= {"routine", "duration", "cues"}
    times = [c["t"] for c in data["cues"]]
    assert times == sorted(times)
    for step, following in zip(plan.steps, plan.steps[1:], strict=False):
        assert step.t + step.dur == pytest.approx(following.t)
    heard = sounds(plan)
    for (t1, d1, a), (t2, _, b) in itertools.pairwise(heard):
        assert t1 + d1 <= t2 + 1e-6, f"{a!r} overlaps {b!r}"
    for cue in data["cues"]:
        assert cue["kind"] in ("step", "speech", "chime", "phase", "wait")
        if cue["kind"] == "phase":
            assert cue["phase"] in ("inhale", "hold", "exhale", "rest")


def test_breaths_left_is_the_same_on_every_side() -> None:
    plan = plan_of(
        "title: S\nsteps:\n  - stretch:\n      sides: [right, left, right]\n      say: Go {side}.\n"
        "      hold: {breaths: 5, remind_every: 25s}\n      rest: 3.3\n",
        seconds=1.7,
    )
    reminders = [text for _, _, text in sounds(plan) if "breaths left" in text]
    assert reminders == ["3 breaths left."] * 3


def test_a_phase_cue_never_runs_into_the_rest_phase() -> None:
    plan = plan_of("title: B\nsteps:\n  - breathe: {cycles: 2, inhale: 4, hold: 0, exhale: 3, rest: 3}\n", seconds=3.5)
    for t, dur, text in sounds(plan):
        if text == "Breathe out":
            assert t + dur == pytest.approx(t + 3.0)  # cut at the end of the 3 s exhale, not the rest


def test_literal_braces_and_sides_in_every_stretch_text() -> None:
    plan = plan_of(
        "title: S\nsteps:\n  - stretch:\n      say: 'Curl up {{slowly}}.'\n      hold: {seconds: 5}\n"
        "  - stretch:\n      sides: [right]\n      say: '{side} {{x}}'\n"
        "      hold: {seconds: 5, say: 'Hold the {side}.', end: 'Done {side}.'}\n      release: 'Let go.'\n"
        "      rest: 0\n",
        seconds=1.0,
    )
    assert [text for _, _, text in sounds(plan)] == [
        "Curl up {slowly}.", "right {x}", "Hold the right.", "Done right.", "Let go.",
    ]


def test_a_named_repeat_names_its_rounds() -> None:
    plan = plan_of("title: R\nsteps:\n  - repeat: {name: Set, times: 2, steps: [{pause: 1, name: Rest}]}\n")
    assert [s.name for s in plan.steps] == ["Rest · Set 1 of 2", "Rest · Set 2 of 2"]
