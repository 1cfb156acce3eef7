"""Live pacing and start-up, measured through a real PulseAudio null sink recorded with parec.

    .venv/bin/python scripts/bench_pacing.py [--minutes 10] [--skip-pacing] [--skip-start]

Pacing: `unknot run` plays a long routine; every cue's onset is located in the recording by
cross-correlation with its own sound. Errors are relative to the first cue (the output's constant
latency is measured by the start-up figures instead); the last cue's error is the drift.
Start-up: time from starting `unknot run` to the first sound, with a cold and a warm speech cache.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.chimes import chime  # noqa: E402
from coach.sound import SAMPLE_RATE  # noqa: E402
from coach.speech import Speech, SpeechSettings  # noqa: E402
from tests.pulse import Recorder, locate, start_pulse  # noqa: E402

UNKNOT = Path(sys.executable).parent / "unknot"


def long_routine(minutes: float) -> str:
    """About `minutes` long, with every kind of timed sound: speech, counts, chimes, reminders, imagery."""
    block = """\
  - say: Settle into the floor and let your breath slow down.
  - chime: bell
  - breathe: {cycles: 4, count: true}
  - hold: {seconds: 30, say: Stay here and breathe., remind_every: 10s, end: Good.}
  - imagery:
      lines:
        - Picture the tight muscle as a knot.
        - With each breath out, the knot loosens.
  - breathe: {cycles: 3, cues: {inhale: '', hold: '', exhale: ''}}
  - pause: 5
"""
    rounds = max(1, round(minutes * 60 / 140))
    return f"title: Long pacing\nsteps:\n  - repeat:\n      times: {rounds}\n      steps:\n" + "".join(
        "    " + line + "\n" for line in block.splitlines()
    )


def cue_sound(cue: dict, speech: Speech) -> np.ndarray:  # type: ignore[type-arg]
    sound = chime(cue["sound"]) if cue["kind"] == "chime" else speech.sound(cue["text"])
    assert sound is not None
    return sound[: round(cue["dur"] * SAMPLE_RATE)]


def pacing(server_env: dict[str, str], folder: Path, minutes: float, recorder_for: object) -> None:
    routine = folder / "long.yaml"
    routine.write_text(long_routine(minutes))
    plan = json.loads(subprocess.run([str(UNKNOT), "plan", str(routine), "--json"], env=server_env,
                                     capture_output=True, text=True, check=True).stdout)
    cues = [c for c in plan["cues"] if c["kind"] in ("speech", "chime") and c["dur"] >= 0.15]
    print(f"pacing: a {plan['duration'] / 60:.1f}-minute routine, {len(cues)} sound cues")
    recorder = recorder_for()  # type: ignore[operator]
    recorder.wait_for_data()
    done = subprocess.run([str(UNKNOT), "run", str(routine)], env=server_env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    samples = recorder.stop()
    if done.returncode != 0:
        print(done.stderr)
        return
    with Speech(SpeechSettings()) as speech:
        sounds = [cue_sound(c, speech) for c in cues]
    keep = Path(tempfile.gettempdir()) / "unknot-bench-pacing"
    keep.mkdir(exist_ok=True)
    a, b = recorder.clock()
    np.save(keep / "recording.npy", samples)  # kept, to analyse again without another long run
    (keep / "plan.json").write_text(json.dumps({**plan, "clock": [a, b]}))
    print(f"  the sink's sample clock runs {1e6 * (1 / (b * SAMPLE_RATE) - 1):+.0f} ppm against the monotonic clock")
    analyse(samples, cues, sounds, b * SAMPLE_RATE)


def analyse(samples: np.ndarray, cues: list[dict], sounds: list[np.ndarray],  # type: ignore[type-arg]
            seconds_per_second: float = 1.0) -> None:
    """Onset errors on the monotonic clock: recording positions are scaled by the recording's own rate."""
    # The first loud sample places the first cue roughly; its own sound then places it exactly.
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    first = locate(samples, sounds[0], loud[0] / SAMPLE_RATE, 0.3)
    zero = first * seconds_per_second - cues[0]["t"]
    errors = []
    for cue, sound in zip(cues, sounds, strict=True):
        expected = zero + cue["t"]  # monotonic seconds since the recording began
        found = locate(samples, sound, expected / seconds_per_second, 0.3) * seconds_per_second
        errors.append(found - expected)
    absolute = sorted(abs(e) * 1000 for e in errors)
    p95 = absolute[min(len(absolute) - 1, round(0.95 * (len(absolute) - 1)))]
    print(f"  onset error: median {statistics.median(absolute):.1f} ms, p95 {p95:.1f} ms, "
          f"max {absolute[-1]:.1f} ms over {len(errors)} cues")
    print(f"  drift: the last cue (at {cues[-1]['t'] / 60:.1f} min) {1000 * errors[-1]:+.1f} ms; "
          f"the mean of the last 20 {1000 * statistics.mean(errors[-20:]):+.1f} ms, "
          f"of the first 20 {1000 * statistics.mean(errors[:20]):+.1f} ms")


def start_up(server_env: dict[str, str], folder: Path, recorder_for: object, runs: int) -> None:
    routine = folder / "short.yaml"
    routine.write_text("title: Start\nsteps:\n  - say: Hello. Find a comfortable position.\n  - pause: 1\n")
    for label in ("cold", "warm"):
        times = []
        for i in range(runs):
            env = dict(server_env)
            cache = folder / (f"cold-{i}" if label == "cold" else "warm")
            env["XDG_CACHE_HOME"] = str(cache)
            if label == "warm" and i == 0:
                subprocess.run([str(UNKNOT), "plan", str(routine), "--json"], env=env, capture_output=True, check=True)
            recorder = recorder_for()  # type: ignore[operator]
            recorder.wait_for_data()
            time.sleep(0.3)
            started = time.monotonic()
            subprocess.run([str(UNKNOT), "run", str(routine)], env=env, capture_output=True, stdin=subprocess.DEVNULL)
            samples = recorder.stop()
            loud = np.flatnonzero(np.abs(samples) > 0.01)
            if not len(loud) or recorder.first_data is None:
                print(f"  {label}: no sound recorded")
                continue
            times.append(recorder.first_data + loud[0] / SAMPLE_RATE - started)
        if times:
            print(f"start-up, {label} cache: first sound {1000 * statistics.median(times):.0f} ms after "
                  f"`unknot run` started (median of {len(times)}; min {1000 * min(times):.0f}, "
                  f"max {1000 * max(times):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--skip-pacing", action="store_true")
    parser.add_argument("--skip-start", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        server = start_pulse(folder / "pulse")
        try:
            server.null_sink("bench")
            env = {**server.env, "XDG_CACHE_HOME": str(folder / "cache"), "XDG_DATA_HOME": str(folder / "data"),
                   "XDG_CONFIG_HOME": str(folder / "config")}
            os.environ.update({k: env[k] for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")})
            recorder_for = lambda: Recorder(server, "bench")  # noqa: E731
            if not args.skip_start:
                start_up(env, folder, recorder_for, args.runs)
            if not args.skip_pacing:
                pacing(env, folder, args.minutes, recorder_for)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
