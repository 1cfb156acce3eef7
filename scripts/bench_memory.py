"""Does memory grow over a long session?

    .venv/bin/python scripts/bench_memory.py [--minutes N] [--hours H] [--terminal] [--utterances N]

(a) a 2-hour session played by the Player on a fake clock, every wake-up and every status redraw of the
    terminal front end in order, sounds (synthetic, cached per text as Speech caches them) handed to an
    output that drops them; Python's allocations (tracemalloc) sampled every simulated 5 minutes;
(b) the real `unknot run --tts silent` on the real clock for N minutes (default 20), with no sound
    server and no terminal (or, with --terminal, in a tmux pane, its status line live); its resident
    memory (VmRSS in /proc/PID/status) sampled every 30 s;
(c) the voice-command decoder's worker process (coach.decode_worker, with the command classifier)
    deciding N utterances (default 3,000: an hour of someone speaking every 1.2 s), espeak-ng words
    and sentences in turn; its VmRSS sampled every 250.

Prints figures; asserts nothing. Stops by itself: (b) is ended if it runs a minute past its length.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from coach.audio import NullOutput
from coach.chimes import chime
from coach.plan import Cue, Plan, SilentDurations, compile_plan
from coach.routines import load_text
from coach.session import Player
from coach.sound import SAMPLE_RATE, Sound
from coach.terminal import TICK, TerminalRun, status_line
from coach.testing import FakeClock

ROOT = Path(__file__).resolve().parent.parent
UNKNOT = Path(sys.executable).parent / "unknot"
SAMPLE_EVERY = 300.0  # simulated seconds between samples in (a)
RSS_EVERY = 30.0  # real seconds between samples in (b)


def rounds(times: int) -> str:
    """`times` rounds of 10 minutes each: counted breathing, imagery, a chime and a timer with reminders."""
    return f"""\
title: Long session
steps:
  - say: Lie on your back and let the floor take your weight.
  - repeat:
      times: {times}
      steps:
        - breathe: {{cycles: 18, count: true}}
        - imagery:
            breaths_per_line: 1
            lines:
              - Picture a tight knot in your lower back.
              - As you breathe out, it loosens a little.
              - Warmth spreads into the muscle.
              - The strands slide apart.
              - Your back sinks into the floor.
              - Let the floor hold you.
        - chime: soft
        - timer:
            duration: 6m
            say: Rest here, breathing slowly.
            remind_every: 1m
            reminder: "{{remaining}} left."
  - say: Well done.
"""


def minutes_routine(minutes: int) -> str:
    """About `minutes` minutes: one round of breathing and imagery (30 s each) a minute."""
    return f"""\
title: Memory run
steps:
  - say: Lie on your back and let the floor take your weight.
  - repeat:
      times: {minutes}
      steps:
        - breathe: {{cycles: 3, count: true}}
        - imagery:
            lines:
              - As you breathe out, the knot loosens.
              - Warmth spreads into the muscle.
              - Your back sinks into the floor.
"""


class DropOutput(NullOutput):
    """The silent output, counting what it was asked to do."""

    def __init__(self) -> None:
        super().__init__()
        self.plays = 0
        self.stops = 0

    def play(self, sound: Sound, at: float) -> None:
        self.plays += 1
        super().play(sound, at)

    def stop(self) -> None:
        self.stops += 1
        super().stop()


class SyntheticSpeech:
    """Sounds for cues: a quiet tone per distinct text, made once and kept, as Speech keeps its sounds."""

    def __init__(self) -> None:
        self.sounds: dict[str, Sound] = {}

    def __call__(self, cue: Cue) -> Sound | None:
        if cue.kind == "chime" and cue.sound:
            return chime(cue.sound)
        if cue.kind == "speech" and cue.text:
            if cue.text not in self.sounds:
                count = round((cue.dur or 0.5) * SAMPLE_RATE)
                tone = 0.1 * np.sin(2 * np.pi * 200 * np.arange(count) / SAMPLE_RATE)
                self.sounds[cue.text] = tone.astype(np.float32)
            return self.sounds[cue.text]
        return None


def mib(value: float) -> str:
    return f"{value / 2**20:.2f} MiB"


def fake_clock_session(hours: float) -> None:
    routine = load_text(rounds(round(hours * 6)), "long.yaml", "long")
    plan: Plan = compile_plan(routine, SilentDurations())
    print(f"(a) {plan.duration / 3600:.2f}-hour session on a fake clock: {len(plan.cues):,} cues, "
          f"{len(plan.steps):,} steps")
    clock = FakeClock(0.0)
    output = DropOutput()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        front = TerminalRun(plan, out=devnull)  # prints a line per event, as into a pipe
        speech = SyntheticSpeech()
        player = Player(plan, output, speech, front.on_event)
        tracemalloc.start()
        started = time.perf_counter()
        samples: list[tuple[float, int]] = [(0.0, tracemalloc.get_traced_memory()[0])]
        player.start(clock.now())
        wake: float | None = clock.now()
        next_tick = clock.now() + TICK
        next_sample = SAMPLE_EVERY
        wakes = ticks = 0
        while player.state != "finished":
            if wake is None:  # a wait: nobody can press next here, so go on at once
                player.next(clock.now())
                wake = player.update(clock.now())
                continue
            clock.t = min(wake, next_tick)
            if clock.t >= wake:
                wakes += 1
            if clock.t >= next_tick:
                status_line(player.status(clock.now()))  # the terminal's redraw, every TICK
                next_tick += TICK
                ticks += 1
            wake = player.update(clock.now())
            while player.position(clock.now()) >= next_sample:
                samples.append((next_sample, tracemalloc.get_traced_memory()[0]))
                next_sample += SAMPLE_EVERY
        took = time.perf_counter() - started
        if samples[-1][0] < plan.duration:
            samples.append((plan.duration, tracemalloc.get_traced_memory()[0]))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"  played in {took:.1f} s: {wakes:,} wake-ups, {ticks:,} status redraws, {output.plays:,} sounds handed"
          f" to the output")
    print("  traced Python memory (current) by session time:")
    for at, current in samples:
        print(f"    {at / 60:6.1f} min  {mib(current)}")
    five = next(current for at, current in samples if at >= SAMPLE_EVERY)
    cached = sum(sound.nbytes for sound in speech.sounds.values())
    print(f"  growth from 5 min to the end: {(samples[-1][1] - five) / 1024:+.1f} KiB"
          f" ({mib(five)} -> {mib(samples[-1][1])}); peak {mib(peak)}")
    print(f"  of the memory at the end, {mib(cached)} are the {len(speech.sounds)} distinct texts' sounds, kept as"
          " Speech keeps them; every text has been heard once by the end of the first 10-minute round")
    if plan.duration > 4 * SAMPLE_EVERY:
        ten = next(current for at, current in samples if at >= 2 * SAMPLE_EVERY)
        before_end = [current for at, current in samples if at <= plan.duration - SAMPLE_EVERY / 2][-1]
        print(f"  growth from 10 min to the last sample before the end: {(before_end - ten) / 1024:+.1f} KiB")


def rss(pid: int) -> tuple[int, int] | None:
    """VmRSS and VmHWM of a process, in KiB; None once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    if "VmRSS" not in values:
        return None  # a zombie
    return values["VmRSS"], values.get("VmHWM", 0)


class Child:
    """`unknot run` in a child process: with no terminal (stdin /dev/null, output to files), or in a tmux pane."""

    def __init__(self, folder: Path, routine: Path, terminal: bool) -> None:
        self.folder = folder
        self.terminal = terminal
        self.server = f"unknot-bench-memory-{os.getpid()}"
        env = dict(os.environ)
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            env[name] = str(folder / name.lower())
        env["PULSE_SERVER"] = "unix:/nonexistent/socket"
        command = [str(UNKNOT), "run", "--tts", "silent", str(routine)]
        if terminal:
            script = folder / "run.sh"
            script.write_text(
                "".join(f"export {name}={shlex.quote(env[name])}\n" for name in (
                    "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "PULSE_SERVER"))
                + f"cd {shlex.quote(str(ROOT))}\n"
                + f"{' '.join(map(shlex.quote, command))} 2> {shlex.quote(str(folder / 'stderr.txt'))}\n"
                + f"echo $? > {shlex.quote(str(folder / 'rc'))}\n",
                encoding="utf-8",
            )
            self.tmux("set-option", "-g", "remain-on-exit", "on", ";", "new-session", "-d", "-s", "run",
                      "-x", "120", "-y", "30", f"sh {shlex.quote(str(script))}")
            self.socket = Path(self.tmux("display-message", "-p", "#{socket_path}"))
            shell = int(self.tmux("display-message", "-p", "-t", "run", "#{pane_pid}"))
            self.pid = self._child(shell)
            self.process: subprocess.Popen[bytes] | None = None
        else:
            with (folder / "stdout.txt").open("w") as out, (folder / "stderr.txt").open("w") as err:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                                cwd=ROOT, env=env)
            self.pid = self.process.pid

    @staticmethod
    def _child(parent: int) -> int:
        """The process the pane's shell started: unknot."""
        for _ in range(100):
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                children = []
            if children:
                return int(children[0])
            time.sleep(0.05)
        raise RuntimeError("unknot did not start in the tmux pane")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.server, "-f", "/dev/null", *args], capture_output=True,
                              text=True, timeout=20, check=True).stdout.strip()

    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return rss(self.pid) is not None

    def end(self) -> str:
        """Ends it if it still runs; its exit and last line."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            code = self.process.wait()
            lines = (self.folder / "stdout.txt").read_text().strip().splitlines()
            return f"exit {code}: {lines[-1] if lines else ''}"
        try:
            rc = self.folder / "rc"
            for _ in range(50):  # the shell writes it a moment after unknot has gone
                if rc.exists() and rc.read_text().strip():
                    break
                time.sleep(0.1)
            status = rc.read_text().strip() if rc.exists() else "unknown (still running, or killed)"
            lines = [line for line in self.tmux("capture-pane", "-p", "-t", "run").splitlines()
                     if line.strip() and not line.startswith("Pane is dead")]
            return f"exit {status}: {lines[-1] if lines else ''}"
        finally:
            subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=20)
            self.socket.unlink(missing_ok=True)  # kill-server leaves it behind


def real_run(minutes: int, terminal: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="unknot-bench-memory-"))
    routine = folder / "memory-run.yaml"
    routine.write_text(minutes_routine(minutes), encoding="utf-8")
    plan = compile_plan(load_text(routine.read_text(), str(routine), "memory-run"), SilentDurations())
    where = ("in a 120x30 tmux terminal (status line redrawn every 0.2 s)" if terminal
             else "stdin not a terminal, output to a file")
    print(f"\n(b) `unknot run --tts silent` on a {plan.duration / 60:.1f}-minute routine, real clock, no sound server,"
          f" {where}; VmRSS every {RSS_EVERY:.0f} s")
    started = time.monotonic()
    child = Child(folder, routine, terminal)
    samples: list[tuple[float, int]] = []
    hwm = 0
    try:
        limit = started + plan.duration + 60
        next_sample = started + RSS_EVERY
        print("    elapsed   VmRSS")
        while child.running():
            if time.monotonic() > limit:
                print("  it ran a minute past its length: ending it")
                break
            if time.monotonic() >= next_sample:
                got = rss(child.pid)
                if got is not None:
                    samples.append((time.monotonic() - started, got[0]))
                    hwm = max(hwm, got[1])
                    print(f"    {samples[-1][0] / 60:5.1f} min  {got[0] / 1024:.1f} MiB", flush=True)
                next_sample += RSS_EVERY
            time.sleep(0.2)
        took = time.monotonic() - started
    finally:
        result = child.end()
    print(f"  {result} (after {took:.0f} s)")
    notices = (folder / "stderr.txt").read_text().strip()
    if notices:
        print(f"  stderr: {notices}")
    shutil.rmtree(folder, ignore_errors=True)
    if len(samples) >= 2:
        growth = samples[-1][1] - samples[0][1]
        print(f"  growth from {samples[0][0] / 60:.1f} min to {samples[-1][0] / 60:.1f} min: {growth:+d} KiB"
              f" ({samples[0][1] / 1024:.1f} -> {samples[-1][1] / 1024:.1f} MiB);"
              f" peak RSS (VmHWM) {hwm / 1024:.1f} MiB")


def decoder_worker(utterances: int) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_corpus

    from coach.voice import RATE, RecognizerProcess

    clips = []
    for text in ("pause", "stop", "next", "neck", "breathe in slowly", "my back hurts"):
        speech = make_corpus.speak(text, "en-us", 150, 50)
        samples = np.random.default_rng(len(clips)).normal(0, 30, len(speech) + RATE // 5)
        samples[RATE // 10 : RATE // 10 + len(speech)] += speech
        clips.append(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    began = time.perf_counter()
    worker = RecognizerProcess()
    print(f"\n(c) the decoder's worker: greeted after {1000 * (time.perf_counter() - began):.0f} ms; {utterances:,}"
          f" utterances, {len(clips)} clips in turn")
    print("    decided   VmRSS")
    pid = worker._proc.pid
    samples: list[tuple[int, int]] = []
    try:
        began = time.perf_counter()
        for n in range(utterances + 1):
            if n % 250 == 0:
                got = rss(pid)
                if got is None:
                    print("  the worker has gone")
                    return
                samples.append((n, got[0]))
                print(f"    {n:7,}  {got[0] / 1024:.1f} MiB", flush=True)
            if n < utterances:
                worker.decide(clips[n % len(clips)])
        took = time.perf_counter() - began
    finally:
        worker.close()
    print(f"  {1000 * took / utterances:.1f} ms an utterance; growth from 250 to {utterances:,}:"
          f" {samples[-1][1] - samples[1][1]:+d} KiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=20, help="length of the real run in (b), 1 to 100 (default 20)")
    parser.add_argument("--hours", type=float, default=2.0, help="length of the fake-clock session in (a) (default 2)")
    parser.add_argument("--terminal", action="store_true",
                        help="run (b) in a tmux terminal, with its live status line, instead of with no terminal")
    parser.add_argument("--utterances", type=int, default=3000, help="utterances the decoder's worker decides in (c)")
    parser.add_argument("--only-decoder", action="store_true", help="run (c) alone")
    args = parser.parse_args()
    if not 1 <= args.minutes <= 100:
        parser.error("--minutes takes 1 to 100")
    if not 1 / 6 <= args.hours <= 3.5:
        parser.error("--hours takes 0.17 to 3.5 (routines are at most 4 hours)")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    if not args.only_decoder:
        fake_clock_session(args.hours)
        real_run(args.minutes, args.terminal)
    decoder_worker(args.utterances)
    return 0


if __name__ == "__main__":
    sys.exit(main())
