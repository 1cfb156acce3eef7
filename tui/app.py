"""The Unknot app: pick a routine, follow it, tune it, edit routines. `unknot` with no command opens it.

Everything slow (speech, sound, listening, the editor) runs off the event loop; the session itself
runs on coach.session's thread, and the screen only reads its status and its events.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
from textual.app import App
from textual.binding import Binding

from coach.audio import SoundOutput
from coach.clock import Clock, MonotonicClock
from coach.history import History, HistoryError, Record, open_history
from coach.library import load_library, user_routines_dir
from coach.settings import Settings, load_settings, save_settings

OutputFactory = Callable[[], tuple[SoundOutput, str | None]]


def welcomed_path() -> Path:
    """Left once the safety list has been shown on a first start."""
    return platformdirs.user_data_path("unknot") / "welcomed"


def default_output() -> tuple[SoundOutput, str | None]:
    from coach.audio import open_output

    return open_output()


class UnknotApp(App[int]):
    TITLE = "Unknot"
    SUB_TITLE = "relax, breathe, untie the knot"
    CSS_PATH = "app.tcss"
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(
        self,
        *,
        routines: Sequence[Path] = (),
        clock: Clock | None = None,
        output: OutputFactory = default_output,
        engine: str | None = None,
        threaded: bool = True,
        watch: bool = True,
        welcome: bool = True,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """`engine` overrides the speech engine setting (tests use "silent"); `threaded=False` runs
        sessions on the screen's refresh tick, for tests on a fake clock; `welcome=False` skips the safety
        list shown on the first start; `now` is the wall clock for dates (streaks, "this week")."""
        super().__init__()
        self.extra_routines = list(routines)
        self.clock = clock or MonotonicClock()
        self.output_factory = output
        self.engine_override = engine
        self.threaded = threaded
        self.watch_folders = watch
        self.welcome = welcome
        self.wall_clock = now or (lambda: datetime.now(UTC))
        self.settings, self.settings_problems = load_settings()
        self.history: History | None = None
        self.history_problem: str | None = None
        self.library = load_library(extra=self.extra_routines)
        self._said: set[str] = set()

    # -- shared state --------------------------------------------------------------------------------

    def load_library(self) -> None:
        self.library = load_library(extra=self.extra_routines)

    def routine_folders(self) -> list[Path]:
        return [user_routines_dir(), *self.extra_routines]

    def get_history(self) -> History | None:
        """The history store, opened on first use; a problem is said once and sessions go on."""
        if self.history is None and self.history_problem is None:
            self.history, self.history_problem = open_history()
            if self.history_problem:
                self.say_once(self.history_problem)
        return self.history

    def history_records(self) -> list[Record] | None:
        """Every recorded session, newest first; None (and the reason said once) when there is no history."""
        history = self.get_history()
        if history is None:
            return None
        try:
            return history.sessions()
        except HistoryError as error:
            self.say_once(str(error))
            return None

    def check_doctor_rule(self) -> None:
        """Says once, plainly, when the recorded pain is a reason to see a doctor."""
        from coach.progress import doctor_reasons

        records = self.history_records()
        if not records or self.history is None:
            return
        for reason in doctor_reasons(records, self.wall_clock()):
            try:
                if self.history.notice_shown(reason.key):
                    continue
                self.history.mark_notice(reason.key)
            except HistoryError as error:
                self.say_once(str(error))
                return
            from tui.screens import DoctorNotice

            self.push_screen(DoctorNotice(reason.message))

    def change_settings(self, settings: Settings) -> None:
        """Applied at once and saved; a save that fails is said, and the change still holds."""
        self.settings = settings
        try:
            save_settings(settings)
        except OSError as error:
            self.say_once(f"settings not saved: {error}")

    def speech_engine(self) -> str:
        return self.engine_override or self.settings.engine

    def say_once(self, message: str, severity: str = "warning") -> None:
        """A notice shown once in the app's life, however often its cause comes back."""
        if message in self._said:
            return
        self._said.add(message)
        self.notify(message, severity=severity, timeout=12)  # type: ignore[arg-type]

    # -- running -------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from tui.picker import PickerScreen

        for problem in self.settings_problems:
            self.say_once(f"{problem} (using the default)")
        self.push_screen(PickerScreen())
        welcomed = welcomed_path()
        if self.welcome and not welcomed.exists():
            from tui.screens import SafetyScreen

            self.push_screen(SafetyScreen(first=True))
            try:
                welcomed.parent.mkdir(parents=True, exist_ok=True)
                welcomed.touch()
            except OSError:
                pass  # shown again next time: better than never
        self.check_doctor_rule()

    def on_unmount(self) -> None:
        if self.history is not None:
            self.history.close()


@contextlib.contextmanager
def stderr_to_log() -> Iterator[Path]:
    """Library noise on fd 2 ("ALSA lib ...") would scribble over the screen: send fd 2 to a log file,
    and hand Textual, which draws on stderr, its own copy of the terminal."""
    log = platformdirs.user_cache_path("unknot") / "app.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="replace")
    real = sys.__stderr__
    with log.open("ab") as handle:
        os.dup2(handle.fileno(), 2)
        setattr(sys, "__stderr__", terminal)  # noqa: B010 (the name is Final to mypy)
        try:
            yield log
        finally:
            setattr(sys, "__stderr__", real)  # noqa: B010
            terminal.close()
            os.dup2(saved, 2)
            os.close(saved)


def run_app(routines: Sequence[Path] = ()) -> int:
    app = UnknotApp(routines=routines)
    with stderr_to_log():
        code = app.run()
    return code or 0
