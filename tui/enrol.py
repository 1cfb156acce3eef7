"""Teaching the voice commands the user's voice: `unknot enrol` in the app (coach/enrol.py does the work)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from tui.base import AppScreen

if TYPE_CHECKING:
    from coach.microphone import Microphone

INTRO = ("The coach asks for each command word twice. Say each one as you would in a session, once it"
         " has asked. Escape stops: nothing is kept until the end.")


def print_status() -> str:
    """One line on the saved voice print, for the settings screen."""
    from coach.enrol import saved
    from coach.voice import VoiceError

    try:
        voice_print = saved()
    except VoiceError as error:
        return str(error)
    return f"made {voice_print.made}" if voice_print is not None else "none yet"


class EnrolScreen(AppScreen):
    BINDINGS = [Binding("escape", "close", "Stop")]

    def __init__(self) -> None:
        super().__init__()
        self.done = False  # the print was saved
        self.problem: str | None = None
        self._microphone: Microphone | None = None
        self._stopping = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="enrol-screen"):
            yield Static(INTRO, id="enrol-intro")
            yield Static("Getting ready…", id="enrol-prompt")
            yield Static("", id="enrol-status")
        yield Footer()

    def on_mount(self) -> None:
        self.enrol()

    def show(self, text: str) -> None:
        self.query_one("#enrol-prompt", Static).update(text)

    def status(self, text: str) -> None:
        self.query_one("#enrol-status", Static).update(text)

    @work(thread=True, exclusive=True, group="enrol", exit_on_error=False)
    def enrol(self) -> None:
        from coach.enrol import Enrolment, prompt_speech, speaker, take_recordings, voice_print_path
        from coach.microphone import DEAF_TAIL, Microphone
        from coach.speech import SpeechSettings
        from coach.voice import NotInstalled, Recognizer, VoiceError

        call = self.app.call_from_thread
        s = self.unknot.settings
        output = None
        try:
            enrolment = Enrolment(Recognizer())
            speech, problem = prompt_speech(SpeechSettings(engine=self.unknot.speech_engine(), voice=s.voice,
                                                           rate=s.rate, volume=s.volume), enrolment.recognizer.words)
            if problem:
                call(self.status, f"{problem[0].upper()}{problem[1:]}: read each prompt here.")
            output, problem = self.unknot.output_factory()
            if problem:
                call(self.status, f"{problem}: read each prompt here.")

            def show(text: str) -> None:
                call(self.show, f"[{len(enrolment.taken) + 1}/{len(enrolment.prompts)}]  {text}")

            with speech, Microphone(s.microphone) as microphone:
                self._microphone = microphone
                if self._stopping.is_set():
                    return
                assert microphone.stream is not None
                take_recordings(enrolment, microphone.stream, speaker(speech, output), show, DEAF_TAIL)
            enrolment.voice_print().save(voice_print_path())
        except (NotInstalled, VoiceError, OSError) as error:
            if not self._stopping.is_set():
                self.problem = str(error)
                call(self.show, f"No voice print: {error}. Nothing was kept.")
            return
        finally:
            if output is not None:
                output.close()
        self.done = True
        call(self.show, f"Done: your voice print is saved. Before it, {enrolment.heard_right} of your"
                        f" {len(enrolment.taken)} command words were heard right; voice commands now listen"
                        " with it. Escape goes back.")

    def action_close(self) -> None:
        self._stopping.set()
        if self._microphone is not None and not self.done:
            self._microphone.__exit__(None, None, None)  # its stream ends, and so does the enrolment
        self.app.pop_screen()
