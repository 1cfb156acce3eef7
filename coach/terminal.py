"""`unknot run`: a spoken session in the terminal, for eyes-closed use.

One status line, rewritten in place on a terminal; plain lines when the output is a file or pipe.
Keys: space pause/resume, n next, b back, r repeat, q stop. With no terminal on stdin nobody can
press next, so a `wait` goes on by itself after a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from coach.plan import RENDER_WAIT_SECONDS, Plan, clock
from coach.session import (
    CueSounded,
    Event,
    Finished,
    Paused,
    Player,
    Resumed,
    Session,
    Status,
    StepStarted,
    Waiting,
)

if TYPE_CHECKING:
    from coach.microphone import VoiceControl
    from coach.voice import Heard

KEYS = {" ": "toggle_pause", "p": "toggle_pause", "n": "next", "b": "back", "r": "repeat", "q": "stop", "\x1b": "stop"}
HELP = "space pause · n next · b back · r repeat · q stop"
TICK = 0.2  # how often the status line is redrawn


def status_line(status: Status) -> str:
    if status.step is None:
        return "starting…"
    parts = [status.step.name]
    if status.state == "paused":
        parts.append("PAUSED")
    elif status.state == "waiting":
        parts.append("press n for next")
    elif status.phase:
        parts.append(f"{ {'inhale': 'breathe in', 'exhale': 'breathe out'}.get(status.phase, status.phase)} "
                     f"{status.phase_left:.0f}")
    parts.append(f"step {clock(status.step_left)} left")
    parts.append(f"session {clock(status.session_left)} left")
    return " · ".join(parts)


@contextlib.contextmanager
def raw_keys(stream: TextIO) -> Iterator[bool]:
    """Single keys without Enter, when `stream` is a terminal; yields whether it is."""
    if not stream.isatty():
        yield False
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_key(fd: int) -> str:
    """One key press. An arrow or function key sends Escape and more bytes at once: that is not Escape."""
    key = os.read(fd, 1).decode("utf-8", "replace").lower()
    if key == "\x1b" and select.select([fd], [], [], 0.05)[0]:
        _skip_sequence(fd)
        return ""
    return key


def _skip_sequence(fd: int) -> None:
    """The rest of an escape sequence, to its last byte and no further: a key pressed right after an
    arrow may already be waiting behind it. CSI is ESC [ then bytes up to one in @..~; SS3 is ESC O
    and one byte; anything else is Alt with one key."""
    kind = os.read(fd, 1)
    if kind == b"O":
        os.read(fd, 1)
    elif kind == b"[":
        while (byte := os.read(fd, 1)) and not 0x40 <= byte[0] <= 0x7E:
            pass


class TerminalRun:
    def __init__(self, plan: Plan, out: TextIO = sys.stdout) -> None:
        self.plan = plan
        self.out = out
        self.live = out.isatty()
        self._lock = threading.Lock()
        self.result: Finished | None = None
        self._finished = threading.Event()
        self.waits_alone = False
        self.session: Session | None = None
        self.voice: VoiceControl | None = None
        self.heard = ""

    def print(self, line: str) -> None:
        with self._lock:
            if self.live:
                self.out.write("\r\x1b[K")
            self.out.write(line + "\n")
            self.out.flush()

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.print(f"[{event.step.index + 1}/{event.count}] {event.step.name}")
        elif isinstance(event, CueSounded) and event.cue.kind == "speech" and not self.live:
            self.print(f"    “{event.cue.text}”")
        elif isinstance(event, Paused):
            self.print("paused")
        elif isinstance(event, Resumed):
            self.print("going on")
        elif isinstance(event, Waiting):
            if self.waits_alone:
                self.print(f"waiting {RENDER_WAIT_SECONDS:g} s (no keyboard), then going on")
            else:
                self.print("waiting: press n when you are ready")
        elif isinstance(event, Finished):
            self.result = event
            self._finished.set()

    def on_heard(self, heard: Heard) -> None:
        """A spoken command: does what its key does, and says so."""
        self.heard = heard.command
        self.print(f"heard: {heard.command}")
        if self.session is not None:
            self.session.command(heard.command)

    def run(self, player: Player, stdin: TextIO = sys.stdin, voice: VoiceControl | None = None) -> Finished:
        session = Session(player)
        self.session = session
        self.voice = voice
        with raw_keys(stdin) as keys:
            if not keys:
                player.wait_limit = RENDER_WAIT_SECONDS
                self.waits_alone = True
            elif self.live:
                self.print(HELP)
            session.start()
            try:
                while not session.join(timeout=0 if keys else TICK):
                    if keys:
                        ready, _, _ = select.select([stdin], [], [], TICK)
                        if ready:
                            key = read_key(stdin.fileno())
                            if key in KEYS:
                                session.command(KEYS[key])
                    if self.live:
                        # Never ask the session for its status while holding the print lock: the
                        # session thread prints events while holding its own lock.
                        line = "\r\x1b[K" + (status_line(session.status()) + self._voice_state())[: self._width()]
                        with self._lock:
                            self.out.write(line)
                            self.out.flush()
            except KeyboardInterrupt:
                session.command("stop")
                # Not session.join(): a thread join that Ctrl-C interrupted can return at once after.
                self._finished.wait(timeout=2.0)
        if self.live:
            self.print("")
        assert self.result is not None
        return self.result

    def _voice_state(self) -> str:
        if self.voice is None:
            return ""
        return f" · voice: {self.voice.state}" + (f", heard: {self.heard}" if self.heard else "")

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns - 1
        except OSError:
            return 100
