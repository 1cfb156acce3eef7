"""The history store and its sums, on a large history: years of daily sessions.

    .venv/bin/python scripts/bench_history.py [--sessions 5000]

Writes the sessions into a fresh database in a temporary folder (as a session would: start, a
progress write per step, finish, a rating), then times reading them back, the sums and the doctor
rules, and `unknot history` and `unknot history --csv` as whole commands. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(action, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds of `repeat` calls."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unknot-bench-history-") as home:
        os.environ["XDG_DATA_HOME"] = str(Path(home) / "data")
        from coach.history import History, history_path
        from coach.progress import doctor_reasons, summarize

        rng = random.Random(1)
        now = datetime.now(UTC)
        start = now - timedelta(days=args.sessions)
        session_ms = []
        with History(history_path()) as history:
            for i in range(args.sessions):
                when = start + timedelta(days=i, minutes=rng.randint(0, 600))
                began = time.perf_counter()
                sid = history.start("untie-the-knot", "Untie the knot", 12, rng.randint(2, 9), now=when)
                for step in range(12):
                    history.progress(sid, step, step * 40.0)
                history.finish(sid, rng.choice(["finished", "stopped"]), 11, 480.0, now=when + timedelta(minutes=8))
                history.rate_after(sid, rng.randint(0, 7))
                session_ms.append((time.perf_counter() - began) * 1000)
            records = history.sessions()
            read_ms = timed(history.sessions)
            sums_ms = timed(lambda: summarize(records, now))
            rules_ms = timed(lambda: doctor_reasons(records, now))
        size = history_path().stat().st_size
        unknot = str(Path(sys.executable).parent / "unknot")
        plain_ms = timed(lambda: subprocess.run([unknot, "history"], capture_output=True, check=True), 3)
        csv_ms = timed(lambda: subprocess.run([unknot, "history", "--csv"], capture_output=True, check=True), 3)
    print(f"sessions: {args.sessions} (one a day), database {size / 1024:.0f} KiB")
    print(f"recording one session (start, 12 progress writes, finish, rating): median "
          f"{statistics.median(session_ms):.2f} ms, p95 {sorted(session_ms)[int(len(session_ms) * 0.95)]:.2f} ms")
    print(f"reading every session: {read_ms:.1f} ms; sums: {sums_ms:.1f} ms; doctor rules: {rules_ms:.2f} ms")
    print(f"`unknot history`: {plain_ms:.0f} ms wall; `unknot history --csv`: {csv_ms:.0f} ms wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
