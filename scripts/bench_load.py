"""Loading, checking and planning routines: how long it takes and how much memory hostile files get.

    .venv/bin/python scripts/bench_load.py

Prints figures; asserts nothing (tests never assert timings).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from coach.library import content_dir, load_library
from coach.plan import SilentDurations, compile_plan
from coach.routines import RoutineError, iter_routine_files, load_file, load_text

ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and worst wall time of `action`, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def peak_memory(action: Callable[[], object]) -> float:
    """Peak Python allocations during `action`, in MiB."""
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def refused(text: str) -> Callable[[], object]:
    def action() -> object:
        try:
            load_text(text, "hostile.yaml", "hostile")
        except RoutineError as error:
            return error
        raise AssertionError("a hostile file was accepted")

    return action


def alias_bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        name, prev = chr(97 + i), chr(96 + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "title: Bomb\nsteps:\n  - say: hi\nx:\n" + "\n".join("  " + line for line in lines) + "\n"


def step_bomb() -> str:
    # Valid YAML, few bytes, but 100 ** 4 steps once the repeats are expanded.
    inner = "{say: hi}"
    for _ in range(4):
        inner = f"{{repeat: {{times: 100, steps: [{inner}]}}}}"
    return f"title: Steps\nsteps: [{inner}]\n"


def big_file() -> str:
    # Just under the 256 KiB limit: a long routine of short steps that is still valid.
    header = "title: Big\nsteps:\n"
    line = "  - say: Breathe out slowly and let your shoulders drop.\n"
    count = min(1999, (256 * 1024 - len(header)) // len(line))
    return header + line * count


def main() -> None:
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp()  # start with no file known to be good
    files = list(iter_routine_files(content_dir() / "routines"))
    print(f"built-in routines: {len(files)}")
    cold, _ = timed(lambda: [load_file(p) for p in files], 1)
    print(f"load and check all built-ins, first time (JSON Schema): {cold:.1f} ms")
    routines = [load_file(p) for p in files]
    median, worst = timed(lambda: [load_file(p) for p in files], 20)
    print(f"load and check all built-ins, known good: median {median:.1f} ms, worst {worst:.1f} ms "
          f"({median / len(files):.2f} ms a routine)")
    median, worst = timed(lambda: [compile_plan(r, SilentDurations()) for r in routines], 20)
    cues = sum(len(compile_plan(r, SilentDurations()).cues) for r in routines)
    print(f"compile all built-in plans: median {median:.1f} ms, worst {worst:.1f} ms ({cues} cues)")
    median, worst = timed(load_library, 10)
    print(f"load the whole library: median {median:.1f} ms, worst {worst:.1f} ms")

    big = big_file()
    cold, _ = timed(lambda: load_text(big, "big.yaml", "big"), 1)
    print(f"largest valid file, first time: {cold:.0f} ms")
    median, worst = timed(lambda: load_text(big, "big.yaml", "big"), 5)
    print(f"largest valid file ({len(big.encode()) // 1024} KiB, {big.count(chr(10)) - 2} steps): "
          f"median {median:.0f} ms, peak {peak_memory(lambda: load_text(big, 'big.yaml', 'big')):.1f} MiB")

    for name, text in (("alias bomb (10^9 values)", alias_bomb()), ("repeat bomb (10^8 steps)", step_bomb())):
        action = refused(text)
        median, worst = timed(action, 20)
        print(f"{name}: refused in median {median:.2f} ms, worst {worst:.2f} ms, "
              f"peak {peak_memory(action):.2f} MiB: {action()}")

    many_cues = "title: Cues\nsteps:\n  - timer: {duration: 3h, remind_every: 0.01}\n"
    action = refused(many_cues)
    median, worst = timed(action, 3)
    print(f"cue bomb (10^6 reminders): refused in median {median:.0f} ms, peak {peak_memory(action):.1f} MiB")

    unknot = Path(sys.executable).parent / "unknot"
    for args in (["--version"], ["list"], ["validate", "content"]):
        def run(args: list[str] = args) -> object:
            return subprocess.run([str(unknot), *args], capture_output=True, cwd=ROOT, check=False)

        median, worst = timed(run, 5)
        print(f"`unknot {' '.join(args)}` wall time: median {median:.0f} ms, worst {worst:.0f} ms")


if __name__ == "__main__":
    main()
