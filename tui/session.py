"""Before, during and after a session."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.validation import Integer
from textual.widgets import Footer, Header, Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from coach.live import CueSounds, Recorder, prepare
from coach.model import Routine
from coach.plan import Plan, clock
from coach.session import (
    CueSounded,
    Event,
    Finished,
    Player,
    Session,
    Status,
    StepStarted,
)
from coach.settings import RATE_RANGE
from tui.base import AppScreen
from tui.pacer import Pacer

if TYPE_CHECKING:
    from coach.audio import SoundOutput
    from coach.microphone import VoiceControl
    from coach.speech import Speech
    from coach.voice import Heard

TICK = 1 / 20  # screen refresh: the pacer moves smoothly, the clock stays the session's
PROGRESS_AFTER = 0.5  # show the speech progress bar only for work longer than this
RATE_STEP = 10  # words per minute per + or -
DEFAULT_SAFETY = "Move gently and stop if the pain sharpens, spreads down a leg, or brings numbness or tingling."


class PainBox(Input):
    """Takes digits only, so letters stay the screen's keys (d: when to see a doctor)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character.isdigit()


def pain_box(box_id: str) -> Input:
    return PainBox(placeholder="0-10, or Enter to skip", id=box_id, max_length=2, restrict=r"[0-9]*",
                 validators=[Integer(0, 10)], valid_empty=True)


def read_pain(screen: Screen[None], text: str) -> tuple[bool, int | None]:
    """(usable, pain): empty is usable and no rating; anything but 0 to 10 is said and not usable."""
    text = text.strip()
    if not text:
        return True, None
    if text.isdigit() and 0 <= int(text) <= 10:
        return True, int(text)
    screen.notify("Pain is a number from 0 to 10, or leave it empty.", severity="error")
    return False, None


class BeforeScreen(Screen[None]):
    """The routine's safety text, the way to the red flags, and an optional pain rating."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("d", "safety", "When to see a doctor", priority=True),  # the box would stop it otherwise
    ]

    def __init__(self, routine: Routine) -> None:
        super().__init__()
        self.routine = routine

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="before"):
            yield Static(f"[b]{escape(self.routine.title)}[/]", id="before-title")
            yield Static(f"[b yellow]Before you start[/]\n{escape(self.routine.safety or DEFAULT_SAFETY)}",
                         id="before-safety")
            yield Static("Press [b]d[/] for when to see a doctor instead.", classes="dim")
            yield Static("How bad is the pain right now, 0 (none) to 10 (the worst)? "
                         "Enter starts; leave it empty to skip.")
            yield pain_box("pain-before")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pain-before", Input).focus()

    @on(Input.Submitted, "#pain-before")
    def start(self, event: Input.Submitted) -> None:
        usable, pain = read_pain(self, event.value)
        if not usable:
            return
        self.app.switch_screen(SessionScreen(self.routine, pain))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_safety(self) -> None:
        from tui.screens import SafetyScreen

        self.app.push_screen(SafetyScreen())


class SessionEvent(Message):
    """A player event, posted from the session's thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class HeardCommand(Message):
    def __init__(self, heard: Heard) -> None:
        super().__init__()
        self.heard = heard


class Ready(Message):
    """Speech rendered and the plan compiled: the session can start."""

    def __init__(self, speech: Speech, plan: Plan, notices: list[str], rate: int) -> None:
        super().__init__()
        self.speech = speech
        self.plan = plan
        self.notices = notices
        self.rate = rate


class SessionScreen(AppScreen):
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("n", "command('next')", "Next"),
        Binding("b", "command('back')", "Back"),
        Binding("r", "command('repeat')", "Repeat"),
        Binding("escape", "stop", "Stop"),
        Binding("d", "safety", "Doctor?", show=False),
        Binding("v", "voice", "Voice"),
        Binding("m", "mute", "Mute"),
        Binding("plus,equals_sign", "rate(1)", "Faster", key_display="+"),
        Binding("minus", "rate(-1)", "Slower", key_display="-"),
    ]

    def __init__(self, routine: Routine, pain_before: int | None = None) -> None:
        super().__init__()
        self.routine = routine
        self.pain_before = pain_before
        self.plan: Plan | None = None
        self.session: Session | None = None
        self.output: SoundOutput | None = None
        self.speech: Speech | None = None
        self.sounds: CueSounds | None = None
        self.voice: VoiceControl | None = None
        self.heard = ""
        self.voice_problem: str | None = None
        self.text = ""
        self.recorder: Recorder | None = None
        self.started_wall = time.monotonic()
        self.preparing_rate: int | None = None
        self.outcome: Finished | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="main"):
                yield Static(f"[b]{escape(self.routine.title)}[/]", id="session-title")
                yield Static("Getting the voice ready…", id="instruction")
                yield ProgressBar(id="progress", show_eta=False)
                yield Pacer(id="pacer")
                yield Static("", id="times")
                yield Static("", id="voice-state")
            with VerticalScroll(id="side"):
                yield OptionList(id="steps")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#steps", OptionList).can_focus = False
        self.prepare(self.unknot.settings.rate)
        self.open_sound()
        self.set_interval(TICK, self.tick)

    # -- getting ready (workers) ---------------------------------------------------------------------

    @work(thread=True, group="sound", exit_on_error=False)
    def open_sound(self) -> None:
        output, problem = self.unknot.output_factory()
        self.app.call_from_thread(self._sound_opened, output, problem)

    def _sound_opened(self, output: SoundOutput, problem: str | None) -> None:
        if not self.is_attached:  # the screen was left while the device opened
            output.close()
            return
        self.output = output
        if problem:
            self.unknot.say_once(problem)
        self.begin()

    @work(thread=True, exclusive=True, group="speech", exit_on_error=False)
    def prepare(self, rate: int) -> None:
        from coach.speech import SpeechSettings

        app = self.unknot
        settings = app.settings
        speech_settings = SpeechSettings(engine=app.speech_engine(), voice=settings.voice, rate=rate,
                                         volume=settings.volume)
        started = time.monotonic()
        worker = get_current_worker()

        def progress(done: int, total: int) -> None:
            if time.monotonic() - started >= PROGRESS_AFTER and not worker.is_cancelled:
                self.app.call_from_thread(self._progress, done, total)

        notices: list[str] = []
        speech, plan = prepare(self.routine, speech_settings, notices, progress=progress, pace=settings.breath_pace)
        self.post_message(Ready(speech, plan, notices, rate))

    def _progress(self, done: int, total: int) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.display = done < total
        bar.update(total=total, progress=done)

    def on_ready(self, message: Ready) -> None:
        self.query_one("#progress", ProgressBar).display = False
        for notice in message.notices:
            self.unknot.say_once(notice)
        if self.preparing_rate is not None and message.rate != self.preparing_rate:
            message.speech.close()  # overtaken by a later + or -: only the last one counts
            return
        if self.session is not None:  # a new speech rate while playing
            self.swap(message)
            return
        self.preparing_rate = None
        self.speech, self.plan = message.speech, message.plan
        self.sounds = CueSounds(message.speech, chimes=self.unknot.settings.chimes)
        self.begin()

    def begin(self) -> None:
        """Starts once both the sound and the speech are ready."""
        if self.session is not None or self.output is None or self.plan is None or self.sounds is None:
            return
        plan = self.plan
        steps = self.query_one("#steps", OptionList)
        steps.add_options([Option("  " + escape(s.name), id=str(s.index)) for s in plan.steps])
        player = Player(plan, self.output, self.sounds, self.post_event)
        self.session = Session(player, self.unknot.clock, threaded=self.unknot.threaded)
        self.recorder = Recorder(self.unknot.get_history(), self.unknot.say_once)
        self.recorder.begin(self.routine, plan, self.pain_before)
        self.session.start()
        if self.unknot.settings.voice_commands:
            self.start_voice()
        self.tick()

    def post_event(self, event: Event) -> None:
        self.post_message(SessionEvent(event))

    # -- the session's events ------------------------------------------------------------------------

    def on_session_event(self, message: SessionEvent) -> None:
        event = message.event
        if self.recorder is not None:
            self.recorder.on_event(event)
        if isinstance(event, StepStarted):
            self.text = event.step.name
            self.mark_step(event.step.index)
        elif isinstance(event, CueSounded) and event.cue.kind == "speech" and event.cue.text:
            self.text = event.cue.text
        elif isinstance(event, Finished):
            self.finish(event)
            return
        self.tick()

    def mark_step(self, index: int) -> None:
        """▶ on the current step; the list is never focused, so its own highlight is not enough."""
        if self.plan is None:
            return
        steps = self.query_one("#steps", OptionList)
        for i, step in enumerate(self.plan.steps):
            mark = "▶ " if i == index else "  "
            steps.replace_option_prompt_at_index(i, mark + escape(step.name))
        steps.highlighted = index

    def finish(self, event: Finished) -> None:
        if self.outcome is not None:
            return
        self.outcome = event
        self.release()
        self.app.switch_screen(AfterScreen(self.routine, event, self.recorder, time.monotonic() - self.started_wall))

    # -- the screen ----------------------------------------------------------------------------------

    def tick(self) -> None:
        if self.session is None:
            return
        self.session.pump()
        status = self.session.status()
        self.query_one(Pacer).show(status)
        instruction = self.query_one("#instruction", Static)
        if status.state == "paused":
            instruction.update("[b reverse] Paused [/]  [dim]space to resume[/]\n\n" + escape(self.text))
        else:
            ready = "\n\n[dim]Say “next” or press n when you are ready.[/]" if status.state == "waiting" else ""
            instruction.update(escape(self.text) + ready)
        self.query_one("#times", Static).update(self.times(status))
        self.query_one("#voice-state", Static).update(self.voice_line())

    def times(self, status: Status) -> str:
        if status.step is None:
            return ""
        count = len(self.plan.steps) if self.plan else 0
        return (f"Step {status.step.index + 1} of {count} · {clock(status.step_left)} left in the step · "
                f"{clock(status.session_left)} left in the session"
                + (" · [b]muted[/]" if self.sounds and self.sounds.muted else ""))

    def voice_line(self) -> str:
        wanted = self.unknot.settings.voice_commands
        state = self.voice.state if self.voice is not None else ("starting" if wanted and self.voice_problem is None
                                                                  else "off")
        words = {"deaf": "deaf while the coach speaks", "stop only": "only “stop” while the coach speaks"
                 }.get(state, state)
        if wanted and self.voice is None and self.voice_problem:
            words = f"off ({self.voice_problem})"
        heard = f" · heard: {self.heard}" if self.heard else ""
        return f"Voice commands: {escape(words)}{heard}  [dim](v to turn {'off' if wanted else 'on'})[/]"

    # -- keys ----------------------------------------------------------------------------------------

    def action_command(self, name: str) -> None:
        if self.session is not None:
            self.session.command(name)
            self.tick()

    def action_toggle_pause(self) -> None:
        self.action_command("toggle_pause")

    def action_stop(self) -> None:
        if self.session is None:  # still getting ready: nothing was played, nothing to record
            self.workers.cancel_all()
            self.app.pop_screen()
            return
        self.action_command("stop")

    def action_safety(self) -> None:
        from tui.screens import SafetyScreen

        self.app.push_screen(SafetyScreen())  # over the session, which goes on

    def action_mute(self) -> None:
        if self.sounds is None:
            return
        self.sounds.muted = not self.sounds.muted
        if self.sounds.muted and self.output is not None:
            self.output.stop()
        self.notify("Muted: text and pacer only." if self.sounds.muted else "Sound on from the next cue.")
        self.tick()

    def action_rate(self, direction: int) -> None:
        """A new speech rate: rendered in the background, then the current step starts again with it."""
        low, high = RATE_RANGE
        rate = min(high, max(low, (self.preparing_rate or self.unknot.settings.rate) + direction * RATE_STEP))
        self.preparing_rate = rate
        self.unknot.change_settings(replace(self.unknot.settings, rate=rate))
        self.notify(f"Speech rate {rate} words a minute: this step starts again with it.")
        self.prepare(rate)

    def swap(self, message: Ready) -> None:
        """The same session, its plan recompiled for the new speech: the current step starts again."""
        assert self.session is not None and self.output is not None
        status = self.session.status()
        index = status.step.index if status.step else 0
        paused = status.state == "paused"
        self.abandon()
        if self.speech is not None:
            self.speech.close()
        self.speech, self.plan = message.speech, message.plan
        muted = self.sounds.muted if self.sounds else False
        self.sounds = CueSounds(message.speech, chimes=self.unknot.settings.chimes)
        self.sounds.muted = muted
        player = Player(self.plan, self.output, self.sounds, self.post_event)
        now = self.unknot.clock.now()
        player.start(now)
        if paused:
            player.pause(now)
        player.jump(index, now)
        self.session = Session(player, self.unknot.clock, threaded=self.unknot.threaded)
        self.session.start()
        self.preparing_rate = None

    # -- voice commands ------------------------------------------------------------------------------

    def action_voice(self) -> None:
        on = not self.unknot.settings.voice_commands
        self.unknot.change_settings(replace(self.unknot.settings, voice_commands=on))
        if on:
            self.voice_problem = None
            self.start_voice()
        else:
            self.close_voice()
            self.tick()

    @work(thread=True, exclusive=True, group="voice", exit_on_error=False)
    def start_voice(self) -> None:
        from coach.enrol import saved_print, voice_print_path
        from coach.microphone import Microphone, VoiceControl, echo_for
        from coach.voice import Listener, RecognizerProcess, VoiceError, merge_words

        settings = self.unknot.settings
        words = merge_words(settings.words)
        voice_print, problem = saved_print(words)
        if problem:
            self.app.call_from_thread(self.unknot.say_once, problem[0].upper() + problem[1:] + ".")
        try:
            own = voice_print_path() if voice_print is not None else None  # the worker reads it
            listener = Listener(RecognizerProcess(words, voice_print=own))
            output = self.output
            control = VoiceControl(listener, Microphone(settings.microphone),
                                   self.post_heard,
                                   output.sounding_until if output is not None else (lambda: 0.0),
                                   echo_for(output) if settings.stop_over_speech else None)
            control.start()
        except (VoiceError, ImportError, OSError) as error:
            self.app.call_from_thread(self._voice_failed, str(error))
            return
        self.app.call_from_thread(self._voice_started, control)

    def post_heard(self, heard: Heard) -> None:
        self.post_message(HeardCommand(heard))

    def _voice_failed(self, problem: str) -> None:
        self.voice_problem = "no microphone or recognizer"
        self.unknot.say_once(f"No voice commands: {problem}. Keys still work.")
        self.tick()

    def _voice_started(self, control: VoiceControl) -> None:
        if self.outcome is not None or not self.unknot.settings.voice_commands:
            control.close()
            return
        self.voice = control
        self.tick()

    def on_heard_command(self, message: HeardCommand) -> None:
        self.heard = message.heard.command
        self.action_command(message.heard.command)

    def close_voice(self) -> None:
        if self.voice is not None:
            self.voice.close()
            self.voice = None

    def abandon(self) -> None:
        """Stops the session without a word: no events, so nothing is shown or recorded of its end."""
        if self.session is not None:
            self.session.player.emit = lambda event: None
            self.session.command("stop")
            self.session.join(1.0)

    def release(self) -> None:
        """Gives back the microphone, the sound device and the speech engine (once)."""
        self.close_voice()
        if self.output is not None:
            self.output.close()
            self.output = None
        if self.speech is not None:
            self.speech.close()
            self.speech = None

    def on_unmount(self) -> None:
        if self.outcome is None:  # left before the end (stopped while getting ready, or the app quit)
            self.abandon()
        self.release()


class AfterScreen(AppScreen):
    BINDINGS = [Binding("escape", "done", "Skip")]

    def __init__(self, routine: Routine, result: Finished, recorder: Recorder | None, wall: float) -> None:
        super().__init__()
        self.routine = routine
        self.result = result
        self.recorder = recorder
        self.wall = wall

    def compose(self) -> ComposeResult:
        yield Header()
        how = "Stopped" if self.result.stopped else "Finished"
        with Vertical(id="after"):
            yield Static(f"[b]{how}: {escape(self.routine.title)}[/]", id="after-title")
            yield Static(f"Time spent: {clock(self.wall)} (routine time {clock(self.result.at)})", id="after-time")
            yield Static("How is the pain now, 0 to 10? Enter saves; leave it empty to skip.")
            yield pain_box("pain-after")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pain-after", Input).focus()

    @on(Input.Submitted, "#pain-after")
    def save(self, event: Input.Submitted) -> None:
        usable, pain = read_pain(self, event.value)
        if not usable:
            return
        if pain is not None and self.recorder is not None:
            self.recorder.rate_after(pain)
        self.action_done()

    def action_done(self) -> None:
        self.app.pop_screen()
        self.unknot.check_doctor_rule()  # a new rating may make it hold
