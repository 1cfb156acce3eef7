"""What every front end does to get a routine talking: speech ready, the plan compiled with its real
lengths, and the sound for each cue. The CLI's `run`, `plan` and `render` and the TUI share it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from coach.model import Routine, paced
from coach.plan import Cue, Plan, SilentDurations, compile_plan

if TYPE_CHECKING:
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
