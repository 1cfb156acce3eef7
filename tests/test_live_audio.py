"""Real sound: a private PulseAudio server with a null sink, recorded with parec while `unknot run` plays."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.chimes import chime
from coach.sound import SAMPLE_RATE, read_wav
from coach.speech import Speech, SpeechSettings
from tests.conftest import UNKNOT
from tests.pulse import LOUD, PulseServer, Recorder, envelope, locate, loudest, onset_after, start_pulse

ROUTINE = """\
title: Pacing check
steps:
  - say: Lie down and let your shoulders rest.
  - pause: 1.5
  - chime: bell
  - breathe: {cycles: 2, inhale: 3, hold: 1, exhale: 3, cues: {inhale: In, hold: Hold, exhale: Out}}
  - chime: soft
  - say: That is all.
"""
TOLERANCE = 0.05


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    server = start_pulse(tmp_path_factory.mktemp("pulse"))
    server.null_sink("coach")
    yield server
    server.stop()


def unknot(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UNKNOT), *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def sound_cues(plan: dict) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in plan["cues"] if c["kind"] in ("speech", "chime")]


def cue_sound(cue: dict, speech: Speech) -> np.ndarray:  # type: ignore[type-arg]
    """The sound a cue plays, cut to its length in the plan."""
    sound = chime(cue["sound"]) if cue["kind"] == "chime" else speech.sound(cue["text"])
    assert sound is not None
    return sound[: round(cue["dur"] * SAMPLE_RATE)]


def check_onsets(samples: np.ndarray, cues: list[dict], zero: float) -> list[float]:  # type: ignore[type-arg]
    """Each cue's sound starts within TOLERANCE of `zero` + t, and it is quiet between cues."""
    errors = []
    with Speech(SpeechSettings()) as speech:  # the same cache as the command: the same sounds
        for cue in cues:
            expected = zero + cue["t"]
            found = locate(samples, cue_sound(cue, speech), expected)
            errors.append(found - expected)
            assert abs(found - expected) <= TOLERANCE, f"{cue} started {1000 * (found - expected):.0f} ms off"
    env = envelope(samples)
    for cue, following in itertools.pairwise(cues):
        quiet_from, quiet_to = zero + cue["t"] + cue["dur"] + 0.06, zero + following["t"] - 0.03
        if quiet_to - quiet_from > 0.05:
            level = loudest(env, quiet_from, quiet_to)
            assert level < LOUD, f"sound between {cue.get('text') or cue.get('sound')!r} and the next: {level:.3f}"
    return errors


def test_run_sounds_every_cue_on_time_and_is_quiet_between(pulse: PulseServer, tmp_path: Path) -> None:
    routine = tmp_path / "pacing.yaml"
    routine.write_text(ROUTINE)
    env = {**pulse.env, **{k: os.environ[k] for k in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}}
    planned = unknot("plan", str(routine), "--json", env=env)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    recorder = Recorder(pulse, "coach")
    recorder.wait_for_data()
    done = unknot("run", str(routine), env=env)
    samples = recorder.stop()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Finished after" in done.stdout
    cues = sound_cues(plan)
    with Speech(SpeechSettings()) as speech:
        first = locate(samples, cue_sound(cues[0], speech), len(samples) / SAMPLE_RATE / 2, len(samples) / SAMPLE_RATE)
    errors = check_onsets(samples, cues, first - cues[0]["t"])
    assert len(errors) == len(cues) >= 10


def test_render_puts_every_cue_at_its_time(pulse: PulseServer, tmp_path: Path) -> None:
    routine = tmp_path / "pacing.yaml"
    routine.write_text(ROUTINE)
    out, timeline = tmp_path / "session.wav", tmp_path / "session.json"
    done = unknot("render", str(routine), "-o", str(out), "--timeline", str(timeline), env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    plan = json.loads(timeline.read_text())
    samples = read_wav(out)
    assert len(samples) / SAMPLE_RATE == pytest.approx(plan["duration"], abs=0.01)
    errors = check_onsets(samples, sound_cues(plan), 0.0)
    assert max(abs(e) for e in errors) <= 0.001  # a file is exact; a tone correlates at near-equal lags


def test_stop_cuts_the_sound_within_50_ms(pulse: PulseServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from coach.audio import MiniaudioOutput

    monkeypatch.setenv("PULSE_SERVER", pulse.env["PULSE_SERVER"])
    recorder = Recorder(pulse, "coach")
    recorder.wait_for_data()
    output = MiniaudioOutput()
    try:
        assert output.wait_ready()
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
        at = time.monotonic() + 0.2
        output.play(tone, at)
        time.sleep(max(0.0, at + 1.0 - time.monotonic()))
        stopped = time.monotonic()
        output.stop()
        time.sleep(0.5)
    finally:
        output.close()
    env_ = envelope(recorder.stop())
    start = onset_after(env_, 0, len(env_) * 0.005)
    assert start is not None
    loud = np.flatnonzero(env_ > LOUD)
    heard = (loud[-1] + 1) * 0.005 - start
    assert heard - (stopped - at) <= 0.05, f"sound went on {1000 * (heard - (stopped - at)):.0f} ms after stop"


def test_no_sound_server_runs_on_time_with_one_notice(tmp_path: Path) -> None:
    routine = tmp_path / "pacing.yaml"
    routine.write_text(ROUTINE)
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/socket"}
    plan = json.loads(unknot("plan", str(routine), "--json", env=env).stdout)
    started = time.monotonic()
    done = unknot("run", str(routine), env=env)
    took = time.monotonic() - started
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("unknot: no sound:") and "carrying on" in lines[0], lines
    assert "ALSA" not in done.stderr
    assert "Finished after" in done.stdout
    assert took >= plan["duration"]  # it cannot finish before its plan ends: it waited on the clock
    assert took < plan["duration"] + 20  # and it did not hang
