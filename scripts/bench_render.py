"""Rendering whole sessions to WAV with the pyttsx3 engine: how many times faster than real time.

    .venv/bin/python scripts/bench_render.py [--repeat N]

(a) a 10-minute routine (breathing, imagery, a timer with reminders) with the speech cache warm: the
    render alone (render() into a WAV, sounds read from the cache), and the whole `unknot render` command;
(b) every built-in routine, each from a fresh empty speech cache (cold: the engine speaks every text)
    and again from the same cache (warm): speech, plan and WAV, as `unknot render` does them.

Everything runs with user folders of its own in a temporary folder, removed at the end.
Prints figures; asserts nothing (tests never assert timings).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# User folders of our own, before anything reads them: no user routines, an empty speech cache.
TEMP = Path(tempfile.mkdtemp(prefix="unknot-bench-render-"))
for _name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
    os.environ[_name] = str(TEMP / _name.lower())

from coach.chimes import chime  # noqa: E402
from coach.library import load_library  # noqa: E402
from coach.model import Routine  # noqa: E402
from coach.plan import Cue, Plan, SilentDurations, compile_plan  # noqa: E402
from coach.render import RenderResult, render  # noqa: E402
from coach.routines import load_text  # noqa: E402
from coach.sound import Sound  # noqa: E402
from coach.speech import Speech, SpeechError, SpeechSettings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UNKNOT = Path(sys.executable).parent / "unknot"
SETTINGS = SpeechSettings(engine="pyttsx3")
RETRIED: list[str] = []  # renders that failed once and were tried again

TEN_MINUTES = """\
title: Ten minutes
steps:
  - say: Lie on your back, knees bent, feet flat on the floor. Let your arms rest by your sides.
  - breathe: {cycles: 12, count: true}
  - imagery:
      breaths_per_line: 2
      lines:
        - Picture a tight knot in your lower back.
        - As you breathe out, it loosens a little.
        - Warmth spreads into the muscle.
        - The strands slide apart.
        - Your back sinks into the floor.
        - The knot is smaller now.
        - Let the floor hold you.
        - Soft and heavy.
  - chime: soft
  - timer:
      duration: 5m
      say: Rest here for five minutes, breathing slowly.
      remind_every: 1m
      reminder: "{remaining} left. Keep breathing out slowly."
      end: That's five minutes.
  - say: Well done. Roll slowly onto your side before you get up.
"""


def clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02}"


def cue_sounds(speech: Speech) -> Callable[[Cue], Sound | None]:
    """As the `unknot` command gives sounds to render(): chimes generated, speech from the cache."""

    def sound(cue: Cue) -> Sound | None:
        if cue.kind == "chime" and cue.sound:
            return chime(cue.sound)
        if cue.kind == "speech" and cue.text:
            return speech.sound(cue.text)
        return None

    return sound


def spoken_plan(routine: Routine, speech: Speech) -> Plan:
    """As the `unknot` command plans: speak every text (or find it cached), then time the plan by it.

    A fresh pyttsx3 worker's first runAndWait() can return before espeak has written the file ("pyttsx3
    wrote no sound file", mostly for a long first text); that render is tried again, and counted.
    """
    texts = compile_plan(routine, SilentDurations()).texts()
    for attempt in range(3):
        try:
            speech.prepare(texts)
            break
        except SpeechError as error:
            if attempt == 2:
                raise
            RETRIED.append(f"{routine.id}: {error}")
    return compile_plan(routine, speech)


def render_routine(routine: Routine, cache: Path, out: Path) -> tuple[float, RenderResult]:
    """Speech, plan and WAV for one routine, with a new Speech on `cache`; seconds taken and the result."""
    started = time.perf_counter()
    with Speech(SETTINGS, cache_dir=cache) as speech:
        plan = spoken_plan(routine, speech)
        result = render(plan, cue_sounds(speech), out)
    took = time.perf_counter() - started
    out.unlink(missing_ok=True)
    return took, result


def part_a(repeat: int) -> None:
    print("(a) a 10-minute routine, pyttsx3, speech cache warm")
    folder = TEMP / "ten"
    folder.mkdir()
    routine_file = folder / "ten-minutes.yaml"
    routine_file.write_text(TEN_MINUTES, encoding="utf-8")
    routine = load_text(TEN_MINUTES, str(routine_file), "ten-minutes")
    cache = folder / "speech"
    out = folder / "out.wav"

    started = time.perf_counter()
    with Speech(SETTINGS, cache_dir=cache) as speech:
        spoken_plan(routine, speech)
        texts = speech.renders
    print(f"  cold speech first: {texts} texts spoken by the engine in {time.perf_counter() - started:.2f} s")

    renders: list[float] = []
    prepares: list[float] = []
    length = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        with Speech(SETTINGS, cache_dir=cache) as speech:  # new each time: sounds come from the disk cache
            plan = spoken_plan(routine, speech)
            assert speech.renders == 0
            ready = time.perf_counter()
            result = render(plan, cue_sounds(speech), out)
            renders.append(time.perf_counter() - ready)
            prepares.append(ready - started)
            length = result.seconds
        size = out.stat().st_size
        out.unlink()
    took = statistics.median(renders)
    print(f"  session length {clock(length)} ({length:.1f} s), {result.cues} sounds, WAV {size / 2**20:.1f} MiB")
    print(f"  render alone (mix + write WAV), median of {repeat}: {took:.3f} s = {length / took:,.0f}x real time"
          f" (best {min(renders):.3f} s, worst {max(renders):.3f} s)")
    print(f"  speech and plan from the warm cache before it, median: {statistics.median(prepares):.3f} s")

    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = str(TEMP / "command-cache")
    # The command's speech cache, warmed with the sounds made above (same settings, same file names).
    shutil.copytree(cache, TEMP / "command-cache" / "unknot" / "speech")
    command = [str(UNKNOT), "render", str(routine_file), "-o", str(out)]
    walls: list[float] = []
    for run in range(repeat + 1):  # the first run also fills the command's other caches
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - started
        if done.returncode != 0 or done.stderr.strip():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"  `unknot render` (exit {done.returncode}) said: {last}")
            if done.returncode != 0:
                return
        if run:
            walls.append(took)
        out.unlink()
    print(f"  the command said: {done.stdout.strip()}")
    wall = statistics.median(walls)
    print(f"  `unknot render` command, wall time, median of {repeat}: {wall:.2f} s = {length / wall:,.0f}x real time"
          f" (best {min(walls):.2f} s, worst {max(walls):.2f} s)")


def part_b() -> None:
    entries = load_library(include_user=False).valid
    print(f"\n(b) all {len(entries)} built-in routines, pyttsx3: speech, plan and WAV, as `unknot render` does")
    print(f"  {'routine':<28} {'length':>7} {'cold s':>8} {'warm s':>8} {'warm x real time':>17}")
    cold_total = warm_total = audio_total = 0.0
    for entry in entries:
        assert entry.routine is not None
        cache = TEMP / "builtin" / entry.id / "speech"  # each routine starts from an empty cache
        out = TEMP / "builtin" / entry.id / "out.wav"
        out.parent.mkdir(parents=True)
        cold, result = render_routine(entry.routine, cache, out)
        warm, _ = render_routine(entry.routine, cache, out)
        cold_total += cold
        warm_total += warm
        audio_total += result.seconds
        print(f"  {entry.id:<28} {clock(result.seconds):>7} {cold:>8.2f} {warm:>8.3f} {result.seconds / warm:>16,.0f}x")
        shutil.rmtree(cache)
    print(f"  {'total':<28} {clock(audio_total):>7} {cold_total:>8.2f} {warm_total:>8.3f}"
          f" {audio_total / warm_total:>16,.0f}x")
    print(f"  total audio rendered (each routine once): {audio_total:.0f} s = {audio_total / 3600:.2f} h;"
          f" cold {cold_total:.1f} s = {audio_total / cold_total:,.0f}x real time,"
          f" warm {warm_total:.2f} s = {audio_total / warm_total:,.0f}x real time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="times to repeat the warm measurements of (a)")
    args = parser.parse_args()
    try:
        with Speech(SETTINGS, cache_dir=TEMP / "check") as speech:
            speech.check()
    except SpeechError as error:
        print(f"the pyttsx3 engine cannot run here: {error}", file=sys.stderr)
        return 1
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; temporary folders in {TEMP}\n")
    try:
        part_a(max(1, args.repeat))
        part_b()
        print(f"\nrenders that failed and were tried again: {len(RETRIED)}")
        for line in RETRIED:
            print(f"  {line}")
    finally:
        shutil.rmtree(TEMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
