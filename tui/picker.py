"""The first screen: the routines, a filter, and a preview of the highlighted one."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from coach.library import BUILT_IN, Entry, user_routines_dir
from coach.plan import Plan, SilentDurations, clock, compile_plan
from coach.routines import ID_PATTERN
from tui.base import AppScreen

WATCH_SECONDS = 1.0  # how often the routine folders are checked for changes


def plan_of(entry: Entry) -> Plan | None:
    """The routine's plan with estimated speech lengths: its length and step names for the list."""
    if entry.routine is None:
        return None
    try:
        return compile_plan(entry.routine, SilentDurations())
    except Exception:  # a plan that breaks a limit: the preview shows the problem instead
        return None


def matches(entry: Entry, words: str) -> bool:
    routine = entry.routine
    fields = [entry.id, routine.title, routine.summary, routine.position, *routine.tags] if routine else [entry.id]
    hay = " ".join(fields)
    return all(word in hay.lower() for word in words.lower().split())


def folder_stamp(folders: list[Path]) -> tuple[tuple[str, float, int], ...]:
    """Names, times and sizes of every routine file: a change in any is a change to reload."""
    stamp = []
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*.y*ml")):
                with_stat = path.stat()
                stamp.append((str(path), with_stat.st_mtime, with_stat.st_size))
    return tuple(stamp)


class PickerScreen(AppScreen):
    BINDINGS = [
        Binding("enter", "start", "Start", priority=False),
        Binding("e", "edit", "Edit"),
        Binding("n", "new", "New"),
        Binding("h", "history", "History"),
        Binding("s", "settings", "Settings"),
        Binding("d", "safety", "See a doctor?"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[Entry] = []
        self._plans: dict[Path, Plan | None] = {}
        self._stamp: tuple[tuple[str, float, int], ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield Input(placeholder="type to filter", id="filter", select_on_focus=False)
                yield OptionList(id="routines")
            with VerticalScroll(id="preview"):
                yield Static(id="preview-body")
        yield Footer()

    def on_mount(self) -> None:
        self._stamp = folder_stamp(self.unknot.routine_folders())
        self.fill()
        self.query_one("#routines", OptionList).focus()
        if self.unknot.watch_folders:
            self.set_interval(WATCH_SECONDS, self.check_folders)

    # -- the list ------------------------------------------------------------------------------------

    def fill(self, keep: str | None = None) -> None:
        highlighted = keep or self.current_id()  # before the list changes under it
        words = self.query_one("#filter", Input).value
        entries = self.unknot.library.entries
        self.shown = sorted((e for e in entries if matches(e, words)),
                            key=lambda e: (not e.valid, e.routine.title.lower() if e.routine else e.id))
        options = self.query_one("#routines", OptionList)
        options.clear_options()
        options.add_options([Option(self.label(e), id=str(e.path)) for e in self.shown])
        if self.shown:
            index = next((i for i, e in enumerate(self.shown) if e.id == highlighted), 0)
            options.highlighted = index
        self.preview()

    def label(self, entry: Entry) -> str:
        if entry.routine is None or not entry.valid:
            return f"[red]✗ {escape(entry.path.name)}[/] [dim]invalid[/]"
        plan = self.plan(entry)
        length = f"{round(plan.duration / 60) or 1} min" if plan and plan.duration else "?"
        mine = "" if entry.source == BUILT_IN else " [dim](yours)[/]"
        tags = ", ".join(entry.routine.tags[:2])
        return (f"[b]{escape(entry.routine.title)}[/]{mine}\n"
                f"  [dim]{length} · {entry.routine.position} · {escape(tags)}[/]")

    def plan(self, entry: Entry) -> Plan | None:
        if entry.path not in self._plans:
            self._plans[entry.path] = plan_of(entry)
        return self._plans[entry.path]

    def current(self) -> Entry | None:
        index = self.query_one("#routines", OptionList).highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]

    def current_id(self) -> str | None:
        entry = self.current()
        return entry.id if entry else None

    def preview(self) -> None:
        entry = self.current()
        body = self.query_one("#preview-body", Static)
        if entry is None:
            body.update("[dim]No routine matches the filter.[/]")
            return
        if entry.routine is None or not entry.valid:
            lines = [f"[b red]{escape(entry.path.name)}[/]", "", "This routine has problems:", ""]
            lines += [f"  {escape(str(p))}" for p in entry.problems]
            lines += ["", "[dim]e: edit it; it is checked again when you save.[/]"]
            body.update("\n".join(lines))
            return
        routine = entry.routine
        plan = self.plan(entry)
        seconds = plan.duration if plan else None
        lines = [f"[b]{escape(routine.title)}[/]", ""]
        if routine.summary:
            lines += [escape(routine.summary), ""]
        lines.append(f"[dim]About {clock(seconds) if seconds else '?'} · {routine.position} · "
                     f"{escape(', '.join(routine.tags))}[/]")
        mine = f"yours: {escape(entry.path.name)}"
        lines.append(f"[dim]{'built-in routine' if entry.source == BUILT_IN else mine}[/]")
        if routine.safety:
            lines += ["", "[b yellow]Safety[/]", escape(routine.safety)]
        lines += ["", "[b]Steps[/]"]
        names = [s.name for s in plan.steps] if plan else [s.name or s.kind for s in routine.steps]
        lines += [f"  {i + 1:>2}. {escape(name)}" for i, name in enumerate(names)]
        body.update("\n".join(lines))

    @on(OptionList.OptionHighlighted, "#routines")
    def _highlighted(self) -> None:
        self.preview()

    @on(OptionList.OptionSelected, "#routines")
    def _selected(self) -> None:
        self.action_start()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#routines", OptionList).focus()

    def on_key(self, event: Key) -> None:
        filter_box = self.query_one("#filter", Input)
        if filter_box.has_focus:
            if event.key in ("down", "escape"):
                if event.key == "escape":
                    filter_box.value = ""
                self.query_one("#routines", OptionList).focus()
                event.stop()
            return
        # Handled here, not as a binding: an action runs later, and keys typed right after "/" would
        # reach the list as commands.
        if event.key == "slash":
            self.set_focus(filter_box)  # at once: Widget.focus() waits its turn
            event.stop()
            return
        # Typing on the list starts the filter with that letter (command letters stay commands).
        if event.character and event.character.isprintable() and event.character not in "enhsdq?/ ":
            self.set_focus(filter_box)
            filter_box.insert_text_at_cursor(event.character)
            event.stop()

    # -- changes on disk -----------------------------------------------------------------------------

    def check_folders(self) -> None:
        stamp = folder_stamp(self.unknot.routine_folders())
        if stamp != self._stamp:
            self._stamp = stamp
            self.reload()

    def reload(self, keep: str | None = None) -> None:
        self._plans.clear()
        self.unknot.load_library()
        self.fill(keep)

    # -- actions -------------------------------------------------------------------------------------

    def action_start(self) -> None:
        entry = self.current()
        if entry is None:
            return
        if entry.routine is None or not entry.valid:
            self.notify("This routine has problems: press e to fix them.", severity="error")
            return
        from tui.session import BeforeScreen

        self.app.push_screen(BeforeScreen(entry.routine))

    def action_edit(self) -> None:
        entry = self.current()
        if entry is None:
            return
        path = entry.path
        if entry.source == BUILT_IN:
            path = user_routines_dir() / entry.path.name
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(entry.path, path)
                self.notify(f"Copied to {path}: your copy replaces the built-in one.")
        self.edit(path, entry.id)

    def action_new(self) -> None:
        from tui.screens import AskIdScreen

        def made(routine_id: str | None) -> None:
            if routine_id:
                self.create(routine_id)

        self.app.push_screen(AskIdScreen(), made)

    def create(self, routine_id: str) -> None:
        from coach.starter import write_starter

        if not ID_PATTERN.fullmatch(routine_id):
            self.notify(f"'{routine_id}' is not a plain id: use lowercase letters, digits and dashes.",
                        severity="error")
            return
        try:
            path = write_starter(routine_id, user_routines_dir())
        except FileExistsError:
            path = user_routines_dir() / f"{routine_id}.yaml"
            self.notify(f"{path} already exists: opening it.")
        self.edit(path, routine_id)

    def edit(self, path: Path, routine_id: str) -> None:
        """The file in $EDITOR with the app suspended; checked and reloaded on return."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "nano"
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(path)], check=False)
        except (OSError, ValueError) as error:
            self.notify(f"Could not start the editor '{editor}': {error}. Set $EDITOR.", severity="error")
            return
        except Exception as error:  # no terminal to hand over (a test, a pipe)
            self.notify(f"Could not open an editor here: {error}", severity="error")
        self.after_edit(path, routine_id)

    def after_edit(self, path: Path, routine_id: str) -> None:
        self._stamp = folder_stamp(self.unknot.routine_folders())
        self.reload(keep=routine_id)
        problems = [p for e in self.unknot.library.entries if e.path == path for p in e.problems]
        if problems:
            self.notify("\n".join(str(p) for p in problems[:5]), title="The routine has problems",
                        severity="error", timeout=15)
        else:
            self.notify(f"{path.name} is valid.")

    def action_history(self) -> None:
        from tui.screens import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def action_settings(self) -> None:
        from tui.screens import SettingsScreen

        self.app.push_screen(SettingsScreen())

    def action_safety(self) -> None:
        from tui.screens import SafetyScreen

        self.app.push_screen(SafetyScreen())

    def action_help(self) -> None:
        from tui.screens import HelpScreen

        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.app.exit(0)
