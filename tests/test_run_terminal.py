"""`unknot run` for real, in a real terminal: a private tmux server, keys sent to it, its screen read back.

Every run has this test's own user folders and no sound server (PULSE_SERVER points nowhere), so it
says once that there is no sound and carries on in text. Screens are polled until the text a test looks
for appears (within a generous deadline), never read after a fixed sleep; the fixed waits are only the
one that shows time standing still and the gaps between keys pressed in a burst.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, UNKNOT

DEADLINE = 20.0  # seconds to wait for anything to appear on the screen
POLL = 0.1
STILL = 1.5  # seconds between two captures that must be the same: long enough for m:ss to tick if running
NO_SOUND = "unix:/nonexistent/socket"

STATUS = re.compile(
    r"^(?P<name>.+?) · (?:(?P<state>PAUSED|press n for next|(?:breathe in|breathe out|hold|rest) \d+) · )?"
    r"step (?P<step>\d+:\d\d) left · session (?P<session>\d+:\d\d) left$"
)
HELP = "space pause · n next · b back · r repeat · q stop"

ROUTINE = """\
title: Terminal test
steps:
  - say: Settle in.
  - pause: 30
  - breathe: {cycles: 3, count: true}
  - say: Now roll over.
  - wait: Roll over, then press n.
  - say: Almost done.
  - pause: 20
  - say: Well done.
"""
WAITING = """\
title: Wait test
steps:
  - say: Hello.
  - wait: Roll over, then press n.
  - say: After the wait.
  - pause: 30
"""


def seconds(text: str) -> int:
    minutes, secs = text.split(":")
    return int(minutes) * 60 + int(secs)


class Ended(Exception):
    """The command ended while a test still waited for something on its screen."""


class Terminal:
    """`unknot run` in a 120x30 pane of a tmux server of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server = f"unknot-test-{os.getpid()}-{secrets.token_hex(4)}"
        self.rc = folder / "rc"
        self.started = False
        self.socket: Path | None = None

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.server, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=20
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, routine: str, *options: str) -> None:
        path = self.folder / "routine.yaml"
        path.write_text(routine, encoding="utf-8")
        env = {name: os.environ[name] for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
        env["PULSE_SERVER"] = NO_SOUND
        script = self.folder / "run.sh"
        script.write_text(
            "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
            + f"cd {shlex.quote(str(ROOT))}\n"
            + "trap : INT\n"  # Ctrl-C is the command's: the shell lives on to write its exit code
            + f"{shlex.quote(str(UNKNOT))} run {' '.join(map(shlex.quote, options))} {shlex.quote(str(path))}\n"
            + f"echo $? > {shlex.quote(str(self.rc))}\n",
            encoding="utf-8",
        )
        # remain-on-exit keeps the last screen readable after the command has ended.
        self.tmux("set-option", "-g", "remain-on-exit", "on", ";",
                  "new-session", "-d", "-s", "run", "-x", "120", "-y", "30", f"sh {shlex.quote(str(script))}")
        self.started = True
        self.socket = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "run", *keys)

    def screen(self) -> str:
        """Everything shown so far, scrolled-off lines too, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "run")

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen().splitlines()]

    def count(self, line: str) -> int:
        return self.lines().count(line)

    def cursor_line(self) -> str:
        """The line the cursor is on: the status line while a session runs."""
        y = int(self.tmux("display-message", "-p", "-t", "run", "#{cursor_y}").strip())
        visible = self.tmux("capture-pane", "-p", "-t", "run").split("\n")
        return visible[y].rstrip() if y < len(visible) else ""

    def wait_for(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            ended = self.rc.exists()
            if check():
                return
            if ended:
                raise Ended(f"the command ended before {what}; the screen:\n{self.screen()}")
            time.sleep(POLL)
        raise AssertionError(f"gave up waiting for {what}; the screen:\n{self.screen()}")

    def wait_line(self, line: str, times: int = 1) -> None:
        """Until `line` has been printed `times` times."""
        self.wait_for(lambda: self.count(line) >= times, f"{line!r} x{times}")

    def wait_status(self, check: Callable[[re.Match[str]], bool] = lambda m: True,
                    what: str = "a status line") -> re.Match[str]:
        found: list[re.Match[str]] = []

        def matches() -> bool:
            m = STATUS.match(self.cursor_line())
            if m is not None and check(m):
                found.append(m)
                return True
            return False

        self.wait_for(matches, what)
        return found[-1]

    def exit_code(self) -> int:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.rc.exists() and self.rc.read_text().strip():
                return int(self.rc.read_text())
            time.sleep(POLL)
        raise AssertionError(f"the command did not end; the screen:\n{self.screen()}")

    def close(self) -> None:
        if self.started:
            subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=20)
            if self.socket is not None:
                self.socket.unlink(missing_ok=True)  # kill-server leaves it behind


@pytest.fixture
def term(tmp_path: Path, user_dirs: Path) -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is needed for these tests: scripts/setup installs it")
    terminal = Terminal(tmp_path)
    try:
        yield terminal
    finally:
        terminal.close()


def stops_cleanly(term: Terminal) -> None:
    assert term.exit_code() == 0
    text = term.screen()
    assert "Stopped after" in text
    assert "Traceback" not in text
    assert text.count("no sound:") == 1, text  # said once, on stderr (the terminal), never again


# -- the tests ----------------------------------------------------------------------------------------


def test_help_line_and_status_line_then_q_stops(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    term.wait_line(HELP)
    status = term.wait_status(lambda m: m["name"] in ("Settle in.", "Pause 30 s"))
    assert seconds(status["session"]) > 60
    assert "Terminal test: about" in term.screen()
    assert "[1/8] Settle in." in term.lines()
    term.keys("q")
    term.wait_for(lambda: "Stopped after" in term.screen(), "Stopped after")
    stops_cleanly(term)
    assert "carrying on in text" in term.screen()
    assert "ALSA" not in term.screen()


def test_space_pauses_and_time_stands_still_until_space_again(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    first = term.wait_status(lambda m: m["name"] == "Pause 30 s", "the pause step")
    term.wait_status(lambda m: m["session"] != first["session"], "the session time to run")  # it runs...
    term.keys("Space")
    paused = term.wait_status(lambda m: m["state"] == "PAUSED", "PAUSED")
    term.wait_line("paused")
    time.sleep(STILL)
    still = term.wait_status(what="the status line again")
    assert still.group(0) == paused.group(0)  # ...and stands still while paused
    term.keys("Space")
    term.wait_line("going on")
    term.wait_status(lambda m: m["state"] is None and seconds(m["session"]) < seconds(paused["session"]),
                     "the time to run on after resuming")
    term.keys("p")  # p pauses and resumes too
    term.wait_status(lambda m: m["state"] == "PAUSED", "PAUSED after p")
    term.keys("p")
    term.wait_line("going on", times=2)
    term.wait_status(lambda m: m["state"] is None, "no PAUSED after p again")
    term.keys("q")
    stops_cleanly(term)


def test_n_b_and_r_move_between_steps(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    term.wait_line("[2/8] Pause 30 s")
    # Some seconds into a step, back starts it again.
    term.wait_status(lambda m: m["name"] == "Pause 30 s" and seconds(m["step"]) <= 27, "3 s into the pause")
    term.keys("b")
    term.wait_line("[2/8] Pause 30 s", times=2)
    term.wait_status(lambda m: m["name"] == "Pause 30 s" and seconds(m["step"]) >= 29, "the pause from its start")
    term.keys("n")
    term.wait_line("[3/8] Breathing, 3 breaths")
    term.wait_status(lambda m: (m["state"] or "").startswith("breathe in"), "breathe in, counting")
    # Paused, the keys still move; the session stays paused at the start of the step it moved to.
    term.keys("Space")
    term.wait_status(lambda m: m["state"] == "PAUSED", "PAUSED")
    term.keys("r")
    term.wait_line("[3/8] Breathing, 3 breaths", times=2)
    term.wait_status(lambda m: m["name"] == "Breathing, 3 breaths" and m["state"] == "PAUSED"
                     and m["step"] == "0:30", "the breathing step from its start, paused")
    term.keys("b")  # at a step's start, back goes to the step before
    term.wait_line("[2/8] Pause 30 s", times=3)
    term.wait_status(lambda m: m["name"] == "Pause 30 s" and m["state"] == "PAUSED" and m["step"] == "0:30",
                     "the pause step, paused")
    term.keys("n")
    term.wait_line("[3/8] Breathing, 3 breaths", times=3)
    term.wait_status(lambda m: m["name"] == "Breathing, 3 breaths", "the breathing step again")
    term.keys("n")
    term.wait_line("[4/8] Now roll over.")
    term.keys("q")
    stops_cleanly(term)
    assert term.count("[1/8] Settle in.") == 1


def test_wait_step_holds_until_n(term: Terminal) -> None:
    term.start(WAITING, "--tts", "silent")
    term.wait_line("[2/4] Roll over, then press n.")
    term.wait_line("waiting: press n when you are ready")
    waiting = term.wait_status(lambda m: m["state"] == "press n for next", "the waiting status")
    time.sleep(STILL)
    assert term.wait_status().group(0) == waiting.group(0)  # held: no time passes, nothing moves on
    assert term.count("[3/4] After the wait.") == 0
    term.keys("n")
    term.wait_line("going on")
    term.wait_line("[3/4] After the wait.")
    term.keys("q")
    stops_cleanly(term)


def test_escape_stops(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    term.wait_status()
    term.keys("Escape")
    stops_cleanly(term)


def test_an_arrow_key_does_not_stop(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    term.wait_status()
    term.keys("Up")
    term.keys("Space")  # a key after it, to know the arrow has been read
    term.wait_for(lambda: term.rc.exists() or "PAUSED" in term.cursor_line(), "PAUSED, or the end")
    assert "Stopped after" not in term.screen()


@pytest.mark.parametrize("sequence", ["\x1b[A", "\x1b[1;5C", "\x1b[15~", "\x1bOP", "\x1bx"])
def test_a_key_pressed_right_after_an_arrow_is_kept(sequence: str) -> None:
    # Under load both can be waiting when the app reads: the arrow (or F5, Ctrl-Right, F1, Alt-x) is
    # read to its last byte, and the Space behind it is still a pause.
    from coach.terminal import read_key

    read, write = os.pipe()
    try:
        os.write(write, (sequence + " q").encode())
        os.close(write)
        assert [read_key(read), read_key(read), read_key(read)] == ["", " ", "q"]
    finally:
        os.close(read)


def test_keys_pressed_quickly_never_freeze_the_session(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    term.wait_line("[2/8] Pause 30 s")
    term.wait_status()
    for _ in range(40):  # back and next, as fast as a restless hand
        term.keys("b", "n")
        time.sleep(0.05)
    term.keys("q")
    deadline = time.monotonic() + 4  # q ends a working session within a few tenths of a second
    while time.monotonic() < deadline and not term.rc.exists():
        time.sleep(POLL)
    assert term.rc.exists(), f"frozen: q did not stop it; the last lines:\n{term.screen()[-400:]}"
    stops_cleanly(term)


def test_the_default_speech_engine_runs_in_a_terminal(term: Terminal, user_dirs: Path) -> None:
    term.start(ROUTINE)  # pyttsx3: speech is prepared (the cache is empty), then the session runs
    term.wait_line(HELP)
    term.wait_status()
    term.keys("n")
    term.wait_line("[2/8] Pause 30 s")
    term.keys("q")
    stops_cleanly(term)
    assert "no speech" not in term.screen()
    assert len(list((user_dirs / "cache" / "unknot" / "speech").glob("*.wav"))) >= 7  # spoken by the engine


def test_without_a_terminal_a_wait_goes_on_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "waiting.yaml"
    path.write_text("title: Wait test\nsteps:\n  - say: Hello.\n  - wait: Roll over, then press n.\n"
                    "  - say: After the wait.\n", encoding="utf-8")
    done = subprocess.run(
        [str(UNKNOT), "run", "--tts", "silent", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PULSE_SERVER": NO_SOUND},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("Finished after"), done.stdout
    for expected in ("[1/3] Hello.", "waiting 5 s (no keyboard), then going on", "going on",
                     "[3/3] After the wait.", "    “After the wait.”"):
        assert expected in lines, done.stdout
    assert "\x1b" not in done.stdout  # plain lines: no status line is drawn into a pipe
    notices = done.stderr.splitlines()
    assert len(notices) == 1 and notices[0].startswith("unknot: no sound:"), done.stderr


def test_ctrl_c_stops_like_q(term: Terminal) -> None:
    term.start(ROUTINE, "--tts", "silent")
    term.wait_status()
    term.keys("C-c")
    stops_cleanly(term)
