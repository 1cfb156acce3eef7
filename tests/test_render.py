"""Rendering a session to one WAV: every sound at its cue time, cut at its dur, silence everywhere else."""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from coach import render as render_module
from coach.chimes import chime
from coach.library import content_dir
from coach.plan import Cue, Plan, compile_plan
from coach.render import render
from coach.routines import load_file, load_text
from coach.sound import SAMPLE_RATE, Sound, read_wav

WINDOW = round(0.005 * SAMPLE_RATE)  # the 5 ms envelope
HEARD = 0.02  # a window louder than this has sound in it
SILENT = 0.002
SPEECH_SECONDS = 1.2
Floats = npt.NDArray[np.float64]


class FixedDurations:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def duration(self, text: str) -> float:
        return self.seconds


def tone(seconds: float, freq: float = 220.0) -> Sound:
    """A stand-in for speech: a plain tone with 5 ms ramps at both ends."""
    count = round(seconds * SAMPLE_RATE)
    samples = 0.3 * np.sin(2 * np.pi * freq * np.arange(count) / SAMPLE_RATE)
    ramp = min(count, WINDOW)
    samples[:ramp] *= np.linspace(0.0, 1.0, ramp)
    samples[count - ramp :] *= np.linspace(1.0, 0.0, ramp)
    return samples.astype(np.float32)


def synthetic(speech_seconds: float = SPEECH_SECONDS) -> Callable[[Cue], Sound | None]:
    speech = tone(speech_seconds)

    def sounds(cue: Cue) -> Sound | None:
        if cue.kind == "speech":
            return speech
        assert cue.kind == "chime" and cue.sound
        return chime(cue.sound)

    return sounds


def plan_of(yaml_text: str, seconds: float = SPEECH_SECONDS) -> Plan:
    return compile_plan(load_text(yaml_text, "t.yaml", "t"), FixedDurations(seconds))


def envelope(samples: Sound) -> Floats:
    count = len(samples) // WINDOW
    frames = samples[: count * WINDOW].reshape(count, WINDOW).astype(np.float64)
    env: Floats = np.sqrt(np.mean(np.square(frames), axis=1))
    return env


def onset(env: Floats, t: float) -> float | None:
    """The start of the first window above HEARD from the window holding t on."""
    first = int(t * SAMPLE_RATE) // WINDOW
    loud = np.flatnonzero(env[first:] > HEARD)
    return None if len(loud) == 0 else (first + int(loud[0])) * WINDOW / SAMPLE_RATE


def sound_cues(plan: Plan) -> list[Cue]:
    return [c for c in plan.cues if c.kind in ("speech", "chime")]


def check_onsets_and_silence(samples: Sound, render_plan: Plan) -> None:
    env = envelope(samples)
    cues = sound_cues(render_plan)
    assert cues
    for cue in cues:
        start = onset(env, cue.t)
        assert start is not None and abs(start - cue.t) <= 0.010, (cue, start)
    # Between one sound's end and the next one's start, nothing: whole windows only.
    edges = [(0.0, cues[0].t)] + [(a.end, b.t) for a, b in itertools.pairwise(cues)]
    edges.append((cues[-1].end, len(samples) / SAMPLE_RATE))
    for end, start in edges:
        first = math.ceil(end * SAMPLE_RATE / WINDOW)
        last = math.floor(start * SAMPLE_RATE / WINDOW)
        if last > first:
            assert env[first:last].max() < SILENT, (end, start)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty output folder (tmp_path also holds the test's user folders)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_sounds_start_on_their_cues_and_silence_lies_between(folder: Path) -> None:
    plan = plan_of(
        "title: T\nsteps:\n  - chime: bell\n  - say: Lie down.\n  - pause: 3\n"
        "  - breathe: {cycles: 2, cues: {inhale: '', hold: '', exhale: ''}}\n"
        "  - breathe: {cycles: 2, count: true}\n  - say: Done.\n"
    )
    out = folder / "session.wav"
    result = render(plan, synthetic(), out)
    samples = read_wav(out)
    render_plan = plan.for_render()
    assert len(samples) == round(render_plan.duration * SAMPLE_RATE)
    assert result.path == out
    assert result.seconds == pytest.approx(render_plan.duration, abs=1 / SAMPLE_RATE)
    assert result.cues == len(sound_cues(render_plan))
    check_onsets_and_silence(samples, render_plan)
    assert [p.name for p in folder.iterdir()] == ["session.wav"]


def test_a_sound_longer_than_its_cue_is_cut_at_its_dur(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n", seconds=1.0)
    out = folder / "cut.wav"
    render(plan, synthetic(speech_seconds=3.0), out)
    samples = read_wav(out)
    assert len(samples) == round(1.6 * SAMPLE_RATE)
    env = envelope(samples)
    assert env[round(0.9 * SAMPLE_RATE) // WINDOW] > HEARD
    assert not samples[round(1.0 * SAMPLE_RATE) :].any()


def test_a_cue_the_plan_shortened_is_cut_where_the_plan_says(folder: Path) -> None:
    # "Hold" takes 1.2 s but the hold lasts 1 s: the plan cuts the cue and the file must too.
    plan = plan_of("title: T\nsteps:\n  - breathe: {cycles: 1}\n")
    hold = next(c for c in plan.cues if c.text == "Hold")
    assert hold.dur == pytest.approx(1.0)
    out = folder / "hold.wav"
    render(plan, synthetic(), out)
    check_onsets_and_silence(read_wav(out), plan.for_render())
    # Alone, so whatever follows it cannot hide a tail.
    speech = tone(SPEECH_SECONDS)
    render(plan, lambda cue: speech if cue.text == "Hold" else None, out)
    samples = read_wav(out)
    start, end = round(hold.t * SAMPLE_RATE), round(hold.end * SAMPLE_RATE)
    assert envelope(samples[end - 4 * WINDOW : end - 2 * WINDOW]).min() > HEARD
    assert not samples[:start].any() and not samples[end:].any()


def test_a_wait_is_five_seconds_of_silence_and_shifts_what_follows(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Ready?\n  - wait: Say next when you are.\n  - say: Go on.\n")
    waiting = next(c for c in plan.cues if c.kind == "wait")
    render_plan = plan.for_render()
    live = sound_cues(plan)
    rendered = sound_cues(render_plan)
    assert rendered[-1].t == pytest.approx(live[-1].t + 5.0)
    assert [c.t for c in rendered[:-1]] == [c.t for c in live[:-1]]
    assert render_plan.duration == pytest.approx(plan.duration + 5.0)

    out = folder / "wait.wav"
    render(plan, synthetic(), out)
    samples = read_wav(out)
    assert len(samples) == round((plan.duration + 5.0) * SAMPLE_RATE)
    start, end = round(waiting.t * SAMPLE_RATE), round((waiting.t + 5.0) * SAMPLE_RATE)
    assert not samples[start:end].any()
    env = envelope(samples)
    assert env[(start - 2 * WINDOW) // WINDOW] > HEARD  # the wait's own words end just before
    assert env[end // WINDOW + 1] > HEARD  # and the next step starts right after
    check_onsets_and_silence(samples, render_plan)


def test_other_wait_lengths(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - wait: Next?\n  - say: On.\n")
    result = render(plan, synthetic(), folder / "w.wav", wait_seconds=2.0)
    assert result.seconds == pytest.approx(plan.duration + 2.0, abs=1 / SAMPLE_RATE)


def test_timeline_is_the_rendered_plan_as_json(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Ready?\n  - wait: Next?\n  - chime: soft\n")
    timeline = folder / "session.json"
    render(plan, synthetic(), folder / "session.wav", timeline=timeline)
    data = json.loads(timeline.read_text(encoding="utf-8"))
    assert data == plan.for_render().to_json()
    assert {"routine", "duration", "cues"} <= data.keys()
    assert all(c["dur"] is not None for c in data["cues"])  # waits have a length in a file
    assert sorted(p.name for p in folder.iterdir()) == ["session.json", "session.wav"]


def test_no_sounds_gives_a_silent_file_of_the_right_length(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n  - breathe: {cycles: 2}\n  - wait: Next?\n")
    out = folder / "silent.wav"
    result = render(plan, lambda cue: None, out)
    samples = read_wav(out)
    assert len(samples) == round(plan.for_render().duration * SAMPLE_RATE)
    assert not samples.any()
    assert result.cues == 0


def test_loud_overlaps_are_clipped(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n")
    out = folder / "loud.wav"
    render(plan, lambda cue: np.full(SAMPLE_RATE, 3.0, dtype=np.float32), out)
    assert float(np.max(read_wav(out))) == pytest.approx(1.0, abs=1e-3)


def test_a_missing_output_folder_is_an_os_error_naming_it(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n")
    missing = folder / "nowhere"
    with pytest.raises(OSError, match="nowhere") as caught:
        render(plan, synthetic(), missing / "s.wav")
    assert str(missing) in str(caught.value)
    assert list(folder.iterdir()) == []


def test_a_missing_timeline_folder_writes_nothing(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n")
    with pytest.raises(OSError, match="nowhere"):
        render(plan, synthetic(), folder / "s.wav", timeline=folder / "nowhere" / "s.json")
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_folder_is_an_os_error_naming_it(folder: Path) -> None:
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n")
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OSError, match="locked"):
            render(plan, synthetic(), locked / "s.wav")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_a_failed_write_leaves_no_partial_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_write(path: Path, sound: Sound) -> None:
        path.with_name(path.name + ".partial").write_bytes(b"RIFF half")
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(render_module, "write_wav", failing_write)
    plan = plan_of("title: T\nsteps:\n  - say: Hello.\n")
    with pytest.raises(OSError, match="No space"):
        render(plan, synthetic(), folder / "s.wav", timeline=folder / "s.json")
    assert list(folder.iterdir()) == []


def test_a_built_in_routine_renders_every_sound_on_its_cue(folder: Path) -> None:
    routine = load_file(content_dir() / "routines" / "untie-the-knot.yaml")
    plan = compile_plan(routine, FixedDurations(SPEECH_SECONDS))
    out = folder / "untie.wav"
    result = render(plan, synthetic(), out, timeline=folder / "untie.json")
    render_plan = plan.for_render()
    samples = read_wav(out)
    assert len(samples) == round(render_plan.duration * SAMPLE_RATE)
    assert result.cues == len(sound_cues(render_plan)) > 50
    assert {c.kind for c in sound_cues(render_plan)} == {"speech", "chime"}
    check_onsets_and_silence(samples, render_plan)
