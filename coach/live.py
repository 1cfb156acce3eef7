"""What every front end does to get a routine talking: speech ready, the plan compiled with its real
lengths, and the sound for each cue. The CLI's `run`, `plan` and `render` and the TUI share it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from coach.model import Routine, paced
from coach.plan import Cue, Plan, SilentDurations, compile_plan

if TYPE_CHECKING:
    from coach.history import History
    from coach.session import Event
    from coach.sound import Sound
    from coach.speech import Speech, SpeechSettings

Progress = Callable[[int, int], None]


def prepare(routine: Routine, settings: SpeechSettings, notices: list[str], speak: bool = True,
            progress: Progress | None = None, pace: float = 1.0) -> tuple[Speech, Plan]:
    """Render every text the routine speaks (the engine starts only if something is not cached), then
    compile the plan with their real lengths. An engine that cannot run here gives way to the silent
    one, with a notice. `pace` stretches every breath timing."""
    from coach.speech import Speech, SpeechError, SpeechSettings

    routine = paced(routine, pace)
    speech = Speech(settings)
    if not speak:
        return speech, compile_plan(routine, SilentDurations(settings.rate))
    texts = compile_plan(routine, SilentDurations()).texts()
    try:
        speech.prepare(texts, progress)
    except SpeechError as error:
        speech.close()
        notices.append(f"no speech: {error}; carrying on with text and chimes")
        speech = Speech(SpeechSettings(engine="silent", rate=settings.rate))
    return speech, compile_plan(routine, speech)


class CueSounds:
    """The sound for each cue. `muted` and `chimes` may change while a session plays."""

    def __init__(self, speech: Speech, speak: bool = True, chimes: bool = True) -> None:
        self.speech = speech
        self.speak = speak
        self.chimes = chimes
        self.muted = False

    def __call__(self, cue: Cue) -> Sound | None:
        from coach.chimes import chime

        if self.muted:
            return None
        if cue.kind == "chime" and cue.sound:
            return chime(cue.sound) if self.chimes else None
        if cue.kind == "speech" and cue.text and self.speak:
            return self.speech.sound(cue.text)
        return None


class Recorder:
    """Writes a session into the history as it goes: begun (so a kill leaves it as interrupted), each
    step reached, and how it ended. A history that fails is said once through `say` and then left alone:
    it never stops a session."""

    def __init__(self, history: History | None, say: Callable[[str], None]) -> None:
        self.history = history
        self.say = say
        self.record: int | None = None
        self.step: int | None = None

    def begin(self, routine: Routine, plan: Plan, pain_before: int | None = None) -> None:
        from coach.history import HistoryError

        if self.history is None:
            return
        try:
            self.record = self.history.start(routine.id, routine.title, len(plan.steps), pain_before)
        except HistoryError as error:
            self._fail(error)

    def on_event(self, event: Event) -> None:
        from coach.session import Finished, StepStarted

        if isinstance(event, StepStarted):
            self.step = event.step.index
            self._write("progress", self.step, event.step.t)
        elif isinstance(event, Finished):
            self._write("finish", "stopped" if event.stopped else "finished", self.step, event.at)

    def rate_after(self, pain: int) -> None:
        self._write("rate_after", pain)

    def _write(self, method: str, *args: object) -> None:
        from coach.history import HistoryError

        if self.history is None or self.record is None:
            return
        try:
            getattr(self.history, method)(self.record, *args)
        except HistoryError as error:
            self._fail(error)

    def _fail(self, error: Exception) -> None:
        self.say(str(error))
        self.history = None
