"""The smaller screens: settings, history, when to see a doctor, help, and the new-routine prompt."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static, Switch

from coach.settings import PACE_RANGE, RATE_RANGE
from tui.base import AppScreen

if TYPE_CHECKING:
    from coach.history import Record
    from coach.progress import RoutineChange
    from coach.speech import Voice

DEFAULT_VOICE = "__default__"
SAMPLE = "Breathe in slowly through your nose, and let the knot loosen."


class AskIdScreen(ModalScreen[str | None]):
    """Asks for a new routine's id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="ask"):
            yield Label("The new routine's id (lowercase letters, digits and dashes, like my-evening-stretch):")
            yield Input(placeholder="my-routine", id="new-id", restrict=r"[a-z0-9-]*", max_length=64)

    @on(Input.Submitted, "#new-id")
    def done(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]
    TEXT = """[b]Unknot keys[/]

[b]Picker[/]   up/down choose · type or / to filter · Enter start · e edit · n new routine
           h history · s settings · d when to see a doctor · ? help · q quit
[b]Session[/]  space pause/resume · n next · b back · r repeat · Escape stop
           v voice commands on/off · m mute · + and - speech rate · d when to see a doctor
[b]Voice[/]    say "next", "back", "pause", "resume", "stop" or "repeat" on its own,
           after a moment of quiet; the coach's own voice is never heard as a command.
           In settings, "Teach it my voice": say each command word twice, to be heard better.

Editing: e on a built-in routine copies it into your routines folder first. The file opens in
$EDITOR; when you close it, it is checked and the list is reloaded.

[dim]Escape closes this.[/]"""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(self.TEXT)

    def action_close(self) -> None:
        self.dismiss(None)


class SafetyScreen(Screen[None]):
    """When to see a doctor; shown by itself on the first start, and with d at any time."""

    BINDINGS = [Binding("escape,q,enter", "close", "Back")]

    def __init__(self, first: bool = False) -> None:
        super().__init__()
        self.first = first

    def compose(self) -> ComposeResult:
        from coach.safety import load_red_flags

        yield Header()
        try:
            text = escape(load_red_flags().as_text(width=84))
        except ValueError as error:
            text = f"[red]{escape(str(error))}[/]"
        if self.first:
            text = ("[b]Welcome to Unknot.[/] Before anything else, please read when to see a doctor. "
                    "This list is always one key away: d in the routine list.\n\n" + text
                    + "\n\n[dim]Enter or Escape to go on.[/]")
        with VerticalScroll(id="safety"):
            yield Static(text, id="safety-text")
        yield Footer()

    def action_close(self) -> None:
        self.app.pop_screen()


class DoctorNotice(ModalScreen[None]):
    """Said once for each rule that holds: the recorded pain is a reason to see a doctor."""

    BINDINGS = [Binding("escape,enter", "close", "Close"), Binding("d", "safety", "When to see a doctor")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="doctor-notice"):
            yield Static("[b]A reason to see a doctor[/]", id="doctor-title")
            yield Static(escape(self.message), id="doctor-message")
            yield Static("[dim]d: when to see a doctor · Enter: close[/]")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_safety(self) -> None:
        self.dismiss(None)
        self.app.push_screen(SafetyScreen())


class HistoryScreen(AppScreen):
    """Every session, the streak, this week's minutes, each routine's effect on pain, and a chart of
    pain before and after over time."""

    BINDINGS = [Binding("escape,q", "close", "Back")]

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot

        yield Header()
        with Vertical(id="history"):
            yield Static("", id="history-summary")
            with Horizontal(id="history-top"):
                yield PlotextPlot(id="pain-chart")
                yield Static("", id="history-routines")
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        from coach.progress import doctor_reasons, summarize

        app = self.unknot
        table = self.query_one(DataTable)
        table.add_columns("When", "Routine", "How it ended", "Minutes", "Pain before", "Pain after")
        summary = self.query_one("#history-summary", Static)
        records = app.history_records()
        if records is None:
            summary.update(f"[red]{escape(app.history_problem or 'No history.')}[/]")
            self.query_one("#history-top").display = False
            return
        if not records:
            summary.update("No sessions yet. They are kept here, on this computer only.")
            self.query_one("#history-top").display = False
            return
        now = app.wall_clock()
        totals = summarize(records, now)
        days = f"{totals.streak} day{'' if totals.streak == 1 else 's'} in a row"
        lines = [f"{totals.sessions} session{'' if totals.sessions == 1 else 's'} · {days} · "
                 f"{totals.minutes_this_week:.0f} minutes this week"]
        lines += [f"[b yellow]{escape(reason.message)}[/]" for reason in doctor_reasons(records, now)]
        summary.update("\n".join(lines))
        self.query_one("#history-routines", Static).update(routine_lines(totals.per_routine))
        self.draw_chart(records)
        for r in records:
            table.add_row(
                r.started.astimezone().strftime("%Y-%m-%d %H:%M"), r.title, r.outcome,
                f"{r.seconds / 60:.0f}", "" if r.pain_before is None else str(r.pain_before),
                "" if r.pain_after is None else str(r.pain_after),
            )

    def draw_chart(self, records: list[Record]) -> None:
        from textual_plotext import PlotextPlot

        from coach.progress import pain_points

        points = pain_points(records)
        chart = self.query_one("#pain-chart", PlotextPlot)
        if not points:
            chart.display = False
            return
        plt = chart.plt
        plt.clear_figure()
        xs = list(range(1, len(points) + 1))
        before = [(x, p[1]) for x, p in zip(xs, points, strict=True) if p[1] is not None]
        after = [(x, p[2]) for x, p in zip(xs, points, strict=True) if p[2] is not None]
        if before:
            plt.plot([x for x, _ in before], [y for _, y in before], label="before", marker="dot", color="red")
        if after:
            plt.plot([x for x, _ in after], [y for _, y in after], label="after", marker="dot", color="green")
        plt.ylim(0, 10)
        plt.yticks([0, 2, 4, 6, 8, 10])
        every = max(1, len(points) // 6)
        plt.xticks([float(x) for x in xs[::every]], [p[0].astimezone().strftime("%d %b") for p in points][::every])
        plt.title("Pain, 0 to 10, before and after each session")

    def action_close(self) -> None:
        self.app.pop_screen()


def routine_lines(changes: list[RoutineChange]) -> str:
    lines = ["[b]By routine[/]"]
    for c in changes:
        if c.average_change is None:
            effect = "no pain ratings yet"
        elif c.average_change < 0:
            effect = f"pain {-c.average_change:.1f} lower after, on average"
        elif c.average_change > 0:
            effect = f"pain {c.average_change:.1f} higher after, on average"
        else:
            effect = "pain the same after, on average"
        lines.append(f"{escape(c.title)}: {c.sessions} session{'' if c.sessions == 1 else 's'}, {effect}")
    return "\n".join(lines)


class SettingsScreen(AppScreen):
    """Every change is checked, applied at once and saved."""

    BINDINGS = [Binding("escape", "close", "Back")]

    def compose(self) -> ComposeResult:
        s = self.unknot.settings
        yield Header()
        with VerticalScroll(id="settings"):
            with Grid(id="settings-grid"):
                yield Label("Voice")
                with Horizontal(classes="row"):
                    yield Select([("the engine's default", DEFAULT_VOICE)], value=DEFAULT_VOICE, allow_blank=False,
                                 id="voice")
                    yield Button("Speak a sample", id="sample")
                yield Label(f"Speech rate ({RATE_RANGE[0]}-{RATE_RANGE[1]} words a minute)")
                yield Input(str(s.rate), id="rate", restrict=r"[0-9]*", max_length=3)
                yield Label("Volume (0 to 1)")
                yield Input(f"{s.volume:g}", id="volume", restrict=r"[0-9.]*", max_length=4)
                yield Label(f"Breath pace ({PACE_RANGE[0]:g} faster to {PACE_RANGE[1]:g} slower)")
                yield Input(f"{s.breath_pace:g}", id="breath_pace", restrict=r"[0-9.]*", max_length=4)
                yield Label("Chimes")
                yield Switch(s.chimes, id="chimes")
                yield Label("Voice commands")
                yield Switch(s.voice_commands, id="voice_commands")
                yield Label("“Stop” while the coach speaks (best with headphones)")
                yield Switch(s.stop_over_speech, id="stop_over_speech")
                yield Label("Command words (e.g. next=next,skip; stop=stop,quit)")
                yield Input(words_text(s.words), id="words", placeholder="the defaults")
                yield Label("Microphone (part of its name; empty: the default)")
                yield Input(s.microphone or "", id="microphone")
                yield Label("Your voice print (your own command words)")
                with Horizontal(classes="row"):
                    yield Static("", id="voice-print")
                    yield Button("Teach it my voice", id="enrol")
                    yield Button("Forget it", id="forget-print")
            yield Static("", id="settings-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#voice", Select).focus()
        self.load_voices()
        self.show_print()

    def on_screen_resume(self) -> None:
        self.show_print()

    def show_print(self) -> None:
        from tui.enrol import print_status

        self.query_one("#voice-print", Static).update(print_status())

    @on(Button.Pressed, "#enrol")
    def _enrol(self) -> None:
        from tui.enrol import EnrolScreen

        self.app.push_screen(EnrolScreen())

    @on(Button.Pressed, "#forget-print")
    def _forget_print(self) -> None:
        from coach.enrol import voice_print_path

        voice_print_path().unlink(missing_ok=True)
        self.show_print()
        self.status("Your voice print is forgotten: commands are heard as any voice's.")

    @work(thread=True, exclusive=True, group="voices", exit_on_error=False)
    def load_voices(self) -> None:
        from coach.speech import Speech, SpeechError, SpeechSettings

        try:
            with Speech(SpeechSettings(engine=self.unknot.speech_engine())) as speech:
                voices = speech.voices()
        except SpeechError as error:
            self.app.call_from_thread(self.status, f"No voices: {error}")
            return
        self.app.call_from_thread(self.show_voices, voices)

    def show_voices(self, voices: list[Voice]) -> None:
        select: Select[str] = self.query_one("#voice", Select)
        with self.prevent(Select.Changed):
            select.set_options([("the engine's default", DEFAULT_VOICE)] + [(v.name, v.id) for v in voices])
            current = self.unknot.settings.voice
            select.value = current if current in {v.id for v in voices} else DEFAULT_VOICE

    def status(self, text: str, error: bool = False) -> None:
        self.query_one("#settings-status", Static).update(f"[red]{escape(text)}[/]" if error else escape(text))

    def apply(self, **changes: Any) -> None:
        try:
            settings = replace(self.unknot.settings, **changes)  # Settings checks its own values
        except ValueError as error:
            self.status(str(error), error=True)
            return
        if settings == self.unknot.settings:  # a widget reporting the value it was given, as the Select on mount
            return
        self.unknot.change_settings(settings)
        self.status("Saved.")

    @on(Select.Changed, "#voice")
    def _voice(self, event: Select.Changed) -> None:
        value = event.value
        self.apply(voice=None if value in (DEFAULT_VOICE, Select.BLANK) else str(value))

    @on(Input.Submitted)
    @on(Input.Blurred)
    def _input(self, event: Input.Submitted | Input.Blurred) -> None:
        name, value = event.input.id or "", event.input.value.strip()
        try:
            if name == "rate":
                self.apply(rate=int(value))
            elif name in ("volume", "breath_pace"):
                self.apply(**{name: float(value)})
            elif name == "words":
                self.apply(words=parse_words_text(value))
            elif name == "microphone":
                self.apply(microphone=value or None)
        except ValueError as error:
            self.status(f"{name.replace('_', ' ')}: {error}", error=True)

    @on(Switch.Changed)
    def _switch(self, event: Switch.Changed) -> None:
        if event.switch.id in ("chimes", "voice_commands", "stop_over_speech"):
            self.apply(**{event.switch.id: event.value})

    @on(Button.Pressed, "#sample")
    def _sample(self) -> None:
        self.status("Speaking a sample…")
        self.speak_sample()

    @work(thread=True, exclusive=True, group="sample", exit_on_error=False)
    def speak_sample(self) -> None:
        from coach.speech import Speech, SpeechError, SpeechSettings

        s = self.unknot.settings
        settings = SpeechSettings(engine=self.unknot.speech_engine(), voice=s.voice, rate=s.rate, volume=s.volume)
        try:
            with Speech(settings) as speech:
                speech.prepare([SAMPLE])
                sound = speech.sound(SAMPLE)
        except SpeechError as error:
            self.app.call_from_thread(self.status, f"No speech: {error}", True)
            return
        if sound is None:
            self.app.call_from_thread(self.status, "The silent engine has no voice to play.")
            return
        output, problem = self.unknot.output_factory()
        if problem:
            self.app.call_from_thread(self.status, problem, True)
        now = self.unknot.clock.now()
        output.play(sound, now + 0.05)
        import time

        from coach.sound import SAMPLE_RATE

        time.sleep(len(sound) / SAMPLE_RATE + 0.3)
        output.close()
        self.app.call_from_thread(self.status, "")

    def action_close(self) -> None:
        self.app.pop_screen()


def words_text(words: dict[str, tuple[str, ...]]) -> str:
    return "; ".join(f"{c}={','.join(ws)}" for c, ws in words.items())


def parse_words_text(text: str) -> dict[str, tuple[str, ...]]:
    """`next=next,skip; stop=stop` checked against the recognizer's rules."""
    from coach.voice import VoiceError, check_words, merge_words, word_overrides

    try:
        overrides = word_overrides(part.strip() for part in text.split(";") if part.strip())
        check_words(merge_words(overrides))
    except VoiceError as error:
        raise ValueError(str(error).replace("--words ", "")) from None
    return overrides
