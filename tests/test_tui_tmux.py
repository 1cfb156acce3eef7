"""The app for real, in a real terminal: `unknot app` in a 110x34 pane of a tmux server of its own, keys
sent to it, its screen read back.

The Pilot tests (tests/test_tui.py) run on a fake clock with the silent engine; here everything is real:
the monotonic clock, the default speech engine (pyttsx3), the terminal's raw mode, and either no sound
server at all or a private PulseAudio server recorded with parec. The screen is polled until the text a
test looks for appears, within a generous deadline; the one fixed wait is the one that shows time
standing still while paused.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.sound import SAMPLE_RATE
from coach.speech import Speech, SpeechSettings
from tests.conftest import ROOT, UNKNOT
from tests.pulse import LOUD, WINDOW, PulseServer, Recorder, envelope, locate, start_pulse
from tests.test_run_terminal import NO_SOUND, STILL, Terminal
from tui.app import welcomed_path

WIDTH, HEIGHT = 110, 34
FILTER = "tmux"  # in this routine's title and tags, in no built-in routine
TITLE = "Tmux check"
SAFETY = "Stop at once if anything hurts more."
SETTLE = "Lie down and rest."
ROUTINE = f"""\
format: 1
id: tmux-check
title: {TITLE}
summary: A short routine for the terminal tests.
tags: [tmux, breathing]
position: lying
safety: {SAFETY}
steps:
  - name: Settle
    say: {SETTLE}
  - name: Breathe
    breathe: {{cycles: 3}}
  - name: Rest
    pause: 3
  - name: Close
    say: Well done.
"""
TIMES = re.compile(r"Step (\d+) of (\d+) · (\d+:\d\d) left in the step · (\d+:\d\d) left in the session")
PICKER_FOOTER = "q Quit"  # the picker's footer while its list (not the filter box) has the focus
# tmux's view of the terminal modes Textual changes while it runs, and their values in a plain shell.
MODES = {"alternate_on": "0", "cursor_flag": "1", "mouse_any_flag": "0", "mouse_all_flag": "0",
         "mouse_sgr_flag": "0", "wrap_flag": "1"}
FORMAT = " ".join(f"{name}=#{{{name}}}" for name in MODES)


def seconds(text: str) -> int:
    minutes, secs = text.split(":")
    return int(minutes) * 60 + int(secs)


def built_in_titles() -> list[str]:
    from coach.library import BUILT_IN, load_library

    return [e.routine.title for e in load_library().entries if e.source == BUILT_IN and e.routine is not None]


class AppTerminal(Terminal):
    """`unknot app` instead of `unknot run`, in a 110x34 pane; the shell goes on after the app ends, so the
    terminal it leaves behind can be looked at."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.routines = folder / "routines"
        self.seen: list[str] = []  # every screen read, to look for a traceback in all of them

    def start_app(self, env: dict[str, str]) -> None:
        welcomed_path().parent.mkdir(parents=True, exist_ok=True)
        welcomed_path().touch()  # a returning user: the first-start safety list is tested in test_tui.py
        self.routines.mkdir(exist_ok=True)
        (self.routines / "tmux-check.yaml").write_text(ROUTINE, encoding="utf-8")
        q = shlex.quote
        script = self.folder / "app.sh"
        stty = self.folder / "stty"
        script.write_text(
            # GNU readline in this test process exports LINES and COLUMNS (80x24) behind os.environ's back,
            # tmux passes them on, and the app would believe them over the pane's real size.
            "unset LINES COLUMNS\n"
            + "".join(f"export {name}={q(value)}\n" for name, value in env.items())
            + f"cd {q(str(ROOT))}\n"
            + f"stty -a > {q(str(stty))}.before\n"
            + f"{q(str(UNKNOT))} app --routines {q(str(self.routines))}\n"
            + f"echo $? > {q(str(self.rc))}\n"
            + f"stty -a > {q(str(stty))}.after\n"
            + "echo 'shell: after the app'\n"
            + "read reply\n",
            encoding="utf-8",
        )
        self.tmux("set-option", "-g", "remain-on-exit", "on", ";",
                  "new-session", "-d", "-s", "run", "-x", str(WIDTH), "-y", str(HEIGHT), f"sh {q(str(script))}")
        self.started = True
        self.socket = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def screen(self) -> str:
        """What the pane shows now (the app draws on the alternate screen, which has no history)."""
        text = self.tmux("capture-pane", "-p", "-t", "run")
        self.seen.append(text)
        return text

    def everything(self) -> str:
        """The normal screen with its history: where a traceback would be printed after the app ended."""
        text = Terminal.screen(self)
        self.seen.append(text)
        return text

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "run", "-l", text)

    def wait_text(self, text: str) -> str:
        shown: list[str] = []

        def check() -> bool:
            shown.append(self.screen())
            return text in shown[-1]

        self.wait_for(check, repr(text))
        return shown[-1]

    def times(self) -> re.Match[str]:
        """The session screen's times line, once it is there."""
        found: list[re.Match[str]] = []

        def check() -> bool:
            m = TIMES.search(self.screen())
            if m is not None:
                found.append(m)
            return m is not None

        self.wait_for(check, "the session's times line")
        return found[-1]

    def session_left(self) -> int:
        return seconds(self.times()[4])

    def modes(self) -> dict[str, str]:
        line = self.tmux("display-message", "-p", "-t", "run", FORMAT).strip()
        return dict(item.split("=", 1) for item in line.split())


@pytest.fixture
def app_term(tmp_path: Path, user_dirs: Path) -> Iterator[AppTerminal]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is needed for these tests: scripts/setup installs it")
    terminal = AppTerminal(tmp_path)
    try:
        yield terminal
    finally:
        terminal.close()


def filter_to_the_routine(term: AppTerminal) -> None:
    """The picker with every routine, then `/` and the filter word: only this test's routine is left."""
    titles = built_in_titles()
    picker = term.wait_text(PICKER_FOOTER)
    assert "type to filter" in picker
    assert any(title in picker for title in titles), picker  # the built-ins are listed to begin with
    term.keys("/")
    term.type(FILTER)
    term.wait_text(f"{TITLE} (yours)")
    term.wait_for(lambda: not any(title in term.screen() for title in titles), "the built-ins to be filtered out")
    screen = term.screen()
    assert "A short routine for the terminal tests." in screen  # its preview
    list_side = "\n".join(line[:47] for line in screen.splitlines())
    assert list_side.count(TITLE) == 1, screen
    term.keys("Enter")  # leaves the filter box for the list
    term.wait_text(PICKER_FOOTER)
    term.keys("Enter")
    before = term.wait_text("Before you start")
    assert SAFETY in before and TITLE in before


# -- the tests ----------------------------------------------------------------------------------------


def test_the_app_in_a_terminal_without_sound(app_term: AppTerminal, user_dirs: Path) -> None:
    term = app_term
    term.start_app({"PULSE_SERVER": NO_SOUND})
    term.wait_text(PICKER_FOOTER)
    running = term.modes()
    assert running["alternate_on"] == "1" and running["mouse_any_flag"] == "1", running  # the app's own modes

    filter_to_the_routine(term)
    term.keys("Enter")  # starts, with no pain rating
    term.wait_text("Step 1 of 5")
    notice = term.wait_text("no sound:")  # said once, and the session carries on
    assert notice.count("no sound:") == 1, notice

    first = term.session_left()
    term.wait_for(lambda: term.session_left() < first, "the session's time to run")
    term.keys("Space")
    term.wait_text("Paused")
    paused = term.session_left()
    time.sleep(STILL + 0.5)
    still = term.screen()
    assert "Paused" in still
    assert term.session_left() == paused, still  # time stands still while paused
    term.keys("Space")
    term.wait_for(lambda: "Paused" not in term.screen() and term.session_left() < paused,
                  "the session to count down again")

    term.keys("Escape")
    after = term.wait_text(f"Stopped: {TITLE}")
    assert "How is the pain now" in after
    term.keys("Enter")  # no rating
    term.wait_text(PICKER_FOOTER)
    assert f"{TITLE} (yours)" in term.screen()
    term.keys("q")
    assert term.exit_code() == 0

    # The terminal is as the shell left it: the line after the app is plain text at the left edge, the
    # screen modes Textual changed are back, and so are the tty settings (raw mode undone).
    term.wait_for(lambda: "shell: after the app" in term.screen().splitlines(), "the shell's line after the app")
    assert term.modes() == MODES
    before_stty = (term.folder / "stty.before").read_text()
    assert (term.folder / "stty.after").read_text() == before_stty
    assert {"icanon", "echo"} <= set(before_stty.split())  # the shell's cooked mode, which raw mode changes
    term.everything()
    for screen in term.seen:
        assert "Traceback" not in screen, screen
        assert "ALSA lib" not in screen, screen
    # fd 2 was sent to the app's log while it ran (stderr_to_log), so library noise never reached the screen.
    assert (user_dirs / "cache" / "unknot" / "app.log").exists()


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseServer]:
    server = start_pulse(tmp_path / "pulse")
    try:
        server.null_sink("coach")
        yield server
    finally:
        server.stop()


def found_in(samples: np.ndarray, sound: np.ndarray) -> tuple[float, float]:
    """Where in the recording the sound's first quarter second best matches, and how well (0 to 1)."""
    length = len(samples) / SAMPLE_RATE
    at = locate(samples, sound, length / 2, length)
    probe = sound[: round(0.25 * SAMPLE_RATE)].astype(np.float64)
    start = round(at * SAMPLE_RATE)
    segment = samples[start : start + len(probe)].astype(np.float64)
    if len(segment) < len(probe):
        return at, 0.0
    score = float(segment @ probe / (np.linalg.norm(segment) * np.linalg.norm(probe) + 1e-12))
    return at, score


def test_the_app_in_a_terminal_speaks_through_the_sound_server(app_term: AppTerminal, pulse: PulseServer) -> None:
    term = app_term
    term.start_app({name: pulse.env[name] for name in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH")})
    filter_to_the_routine(term)
    recorder = Recorder(pulse, "coach")
    try:
        recorder.wait_for_data()
        term.keys("Enter")
        # A second into the breathing: the safety line and the first step's words have been played.
        term.wait_for(lambda: (m := term.times())[1] == "3" and seconds(m[3]) <= 29, "a second into step 3")
    finally:
        samples = recorder.stop()
    loud = float((envelope(samples) > LOUD).sum() * WINDOW)
    assert loud > 2.0, f"only {loud:.2f} s of sound was recorded"
    with Speech(SpeechSettings()) as speech:  # the same engine and cache as the app: the same sounds
        safety, settle = speech.sound(SAFETY), speech.sound(SETTLE)
    assert safety is not None and settle is not None
    (safety_at, safety_score), (settle_at, settle_score) = found_in(samples, safety), found_in(samples, settle)
    assert safety_score > 0.7 and settle_score > 0.7, (safety_score, settle_score)  # the app's own speech
    assert safety_at < settle_at

    screen = term.screen()
    assert "no sound" not in screen and "no speech" not in screen, screen
    term.keys("Escape")
    term.wait_text(f"Stopped: {TITLE}")
    term.keys("Enter")
    term.wait_text(PICKER_FOOTER)
    term.keys("q")
    assert term.exit_code() == 0
    term.everything()
    for seen in term.seen:
        assert "Traceback" not in seen, seen
        assert "ALSA lib" not in seen, seen
