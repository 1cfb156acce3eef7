""""Stop" said over the coach, live: the real `unknot run --voice --stop-over-speech` on a private
PulseAudio server whose null sink is the speaker and, through its monitor, the microphone.

    .venv/bin/python scripts/bench_bargein_live.py [--sessions 10] [--seed 1]

Each session is one long say of sentences from the built-in routines. From 6 s in, every 3-4 s, a
test-half voice of scripts/make_corpus.py says "stop" or "quit" (rate 110-230, pitch 15-85) at the
coach's level or 6 dB below it, played into the same sink with paplay. A word is heard when the
session stops within 1.5 s of its end; then the session is over. Words said once the coach has
finished its say are not counted. With --alone N, N more sessions play the coach with nothing said
over it: any stop in them is a false one.

Unlike scripts/bench_bargein.py (simulated rooms, offline), this runs the whole path: the sound
output's callback, the capture device, the two devices' clocks, the echo canceller, the listener and
its decoder process, all in the app's own processes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402
from bench_bargein import loud_rms  # noqa: E402
from bench_commands import coach_texts  # noqa: E402

from coach.voice import RATE  # noqa: E402
from tests.pulse import start_pulse  # noqa: E402

UNKNOT = ROOT / ".venv" / "bin" / "unknot"
SAY_SECONDS = 40.0  # of coach speech a session, about
HEARD_WITHIN = 1.5


class Session:
    """One `unknot run`, its stdout lines stamped as they come."""

    def __init__(self, routine: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(UNKNOT), "run", str(routine), "--voice", "--stop-over-speech"],
                                        env=env, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line))

    def seen(self, text: str) -> float | None:
        return next((at for at, line in list(self.lines) if text in line), None)

    def wait_for(self, text: str, timeout: float) -> float | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.seen(text) is None:
            time.sleep(0.01)
        return self.seen(text)

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def write(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())
    return path


def routine_text(pick: random.Random) -> str:
    texts, chosen, words = coach_texts(), [], 0
    while words < SAY_SECONDS * 2.5:  # 150 words a minute
        text = pick.choice(texts)
        chosen.append(text)
        words += len(text.split())
    say = " ".join(chosen).replace('"', "'")
    return f'title: Long say\nsteps:\n  - say: "{say}"\n  - pause: 3\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--alone", type=int, default=2, help="sessions of the coach alone, for false stops")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pick = random.Random(args.seed)
    voices = make_corpus.voices("test")
    coach_level = loud_rms(make_corpus.speak(" ".join(coach_texts()[:3]), "en-us", 150, 50).astype(np.float64))
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        server = start_pulse(folder / "pulse")
        try:
            server.null_sink("room", microphone=True)
            env = {**os.environ, **server.client_env()}
            tries = heard = false = 0
            alone_seconds = 0.0
            latencies: list[float] = []
            by_level = {0: [0, 0], 6: [0, 0]}
            for number in range(args.sessions + args.alone):
                alone = number >= args.sessions
                routine = folder / f"say{number}.yaml"
                routine.write_text(routine_text(pick))
                session = Session(routine, env)
                began = session.wait_for("[1/2]", timeout=60)
                if began is None:
                    print(f"session {number}: did not start")
                    session.end()
                    continue
                outcome = ""
                if alone:
                    while session.seen("[2/2]") is None and session.process.poll() is None:
                        time.sleep(0.05)
                    finished, stopped = session.seen("[2/2]"), session.seen("Stopped after")
                    alone_seconds += (finished or time.monotonic()) - began
                    if stopped is not None and finished is None:
                        false += 1
                        outcome = f"a false stop at {stopped - began:.1f} s"
                    print(f"session {number} (coach alone): {outcome or 'no stop'}", flush=True)
                    session.end()
                    continue
                time.sleep(max(0.0, began + 6.0 - time.monotonic()))
                said = 0
                while session.seen("[2/2]") is None and session.process.poll() is None:
                    below = pick.choice([0, 6])
                    word = make_corpus.speak(pick.choice(["stop", "quit"]), pick.choice(voices),
                                             pick.randint(110, 230), pick.randint(15, 85)).astype(np.float64)
                    loud = np.flatnonzero(np.abs(word) > 0.01 * np.max(np.abs(word)))
                    word = word[loud[0] : loud[-1] + 1] * coach_level * 10 ** (-below / 20) / loud_rms(word)
                    quiet = np.zeros(RATE // 10)
                    path = write(folder / "word.wav", np.concatenate([quiet, word, quiet]))
                    subprocess.run(["paplay", str(path)], env=env, check=True, timeout=20)
                    ended = time.monotonic() - 0.1
                    stopped = session.wait_for("Stopped after", timeout=HEARD_WITHIN)
                    finished = session.seen("[2/2]")
                    if finished is not None and (stopped is None or stopped > finished):
                        break  # the coach had finished: this word was not said over it
                    said += 1
                    by_level[below][1] += 1
                    if stopped is not None:
                        by_level[below][0] += 1
                        latencies.append(stopped - ended)
                        outcome = f"stopped by word {said}"
                        break
                    time.sleep(pick.uniform(1.5, 2.5))
                tries += said
                heard += bool(outcome)
                print(f"session {number}: {outcome or f'not stopped by {said} words'}", flush=True)
                session.end()
        finally:
            server.stop()
    print("\nsummary")
    print(f"  'stop' over the coach heard   {heard}/{tries} = {100 * heard / max(1, tries):.1f}% of words")
    print("  by level below the coach      " + ", ".join(f"{b} dB {h}/{n}" for b, (h, n) in by_level.items()))
    if latencies:
        ms = np.array(latencies) * 1000
        print(f"  end of word to 'Stopped'      median {np.median(ms):.0f} ms, max {ms.max():.0f} ms")
    if alone_seconds:
        print(f"  false stops, coach alone      {false} in {alone_seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
