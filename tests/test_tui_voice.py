"""The app obeys a spoken "next": real clock, real sound and microphone through a private PulseAudio
server whose null sink is both the speaker and (through its monitor) the microphone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach.settings import settings_path
from tests.pulse import PulseServer, start_pulse
from tests.test_voice import room, say, write
from tests.test_voice_live import play
from tui.app import UnknotApp
from tui.session import SessionScreen

ROUTINE = """\
format: 1
id: voice-app
title: Voice in the app
steps:
  - name: First
    say: Lie still for a moment.
  - pause: 30
  - name: Second
    say: Second step.
  - pause: 30
"""


@pytest.fixture
def pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    server = start_pulse(tmp_path / "pulse")
    server.null_sink("room", microphone=True)
    for name, value in server.client_env().items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


async def test_a_spoken_next_moves_the_app_on(pulse: PulseServer, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "voice.yaml").write_text(ROUTINE, encoding="utf-8")
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"engine": "espeak", "voice_commands": True}), encoding="utf-8")
    spoken_next = write(tmp_path / "next.wav", room(0.3, say("next", 150, "en-gb"), 0.2, seed=2))
    env = dict(pulse.env)

    app = UnknotApp(routines=[mine], watch=False, welcome=False)  # the real clock, output and threads
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("slash", *"voice in", "enter", "enter", "enter")

        async def until(check, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if check():
                    return
                await pilot.pause(0.05)
            raise AssertionError(f"gave up waiting for {what}")

        await until(lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None, 60, "a session")
        screen = app.screen
        assert isinstance(screen, SessionScreen) and screen.session is not None and screen.plan is not None
        await until(lambda: screen.voice is not None and screen.voice.state == "listening", 30, "listening")
        session, output = screen.session, screen.output
        assert output is not None
        quiet = screen.plan.steps[1].t + 1.0  # past the coach's first words and the deaf tail after them
        # On a loaded machine a null sink can start late, and the words with it: wait for the real quiet.
        await until(lambda: session.status().position > quiet and output.sounding_until() + 0.5 < time.monotonic(),
                    30, "the quiet")
        assert screen.heard == ""  # its own voice moved nothing

        ended = play(spoken_next, env) - 0.2
        await until(lambda: (step := session.status().step) is not None and step.name == "Second", 5, "the next step")
        moved = time.monotonic()
        assert screen.heard == "next"
        assert moved - ended < 1.0, f"moved {moved - ended:.2f} s after the word ended"
        assert "heard: next" in str(screen.query_one("#voice-state").render())
        await pilot.press("escape")


async def test_the_app_teaches_the_commands_a_voice_and_forgets_it(pulse: PulseServer, tmp_path: Path) -> None:
    """Settings, "Teach it my voice": the coach asks aloud into the room, the test answers each prompt."""
    import re

    from textual.widgets import Static

    from coach.enrol import prompts, voice_print_path
    from tui.enrol import EnrolScreen
    from tui.screens import SettingsScreen

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"engine": "espeak"}), encoding="utf-8")
    answers = {p.text: write(tmp_path / f"{i}.wav", room(0.2, say(p.text, 160, "en-gb"), 0.2, seed=i))
               for i, p in enumerate(prompts())}
    env = dict(pulse.env)
    app = UnknotApp(watch=False, welcome=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, SettingsScreen)
        shown = app.screen.query_one("#voice-print", Static)
        assert str(shown.render()) == "none yet"
        await pilot.click("#enrol")
        assert isinstance(app.screen, EnrolScreen)
        screen = app.screen
        asked: list[str] = []
        end = time.monotonic() + 240
        while not screen.done and screen.problem is None and time.monotonic() < end:
            text = str(screen.query_one("#enrol-prompt", Static).render())
            said = re.match(r"\[(\d+)/24\]\s+(?:Say|Once more): (.*)\.$", text)
            if said is None or (asked and asked[-1] == text):
                await pilot.pause(0.05)
                continue
            asked.append(text)
            await pilot.pause(1.0 + 0.07 * len(text))  # the coach has asked, and its tail has passed
            play(answers[said.group(2)], env)
        assert screen.done, (screen.problem, asked)
        assert len(asked) == 24 and not [a for a in asked if "Once more" in a], asked
        assert voice_print_path().exists()
        assert "Before it," in str(screen.query_one("#enrol-prompt", Static).render())
        await pilot.press("escape")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.pause(0.1)
        assert "made " in str(app.screen.query_one("#voice-print", Static).render())
        await pilot.click("#forget-print")
        assert not voice_print_path().exists()
        assert str(app.screen.query_one("#voice-print", Static).render()) == "none yet"


async def test_with_no_microphone_teaching_a_voice_says_why_and_keeps_nothing(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    from coach.enrol import voice_print_path
    from tui.enrol import EnrolScreen
    from tui.screens import SettingsScreen

    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'nobody'}")
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(tmp_path / "no-alsa.conf"))  # and no ALSA device either
    (tmp_path / "no-alsa.conf").write_text("")
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"engine": "silent"}), encoding="utf-8")
    app = UnknotApp(watch=False, welcome=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.click("#enrol")
        screen = app.screen
        assert isinstance(screen, EnrolScreen)
        end = time.monotonic() + 60
        while screen.problem is None and time.monotonic() < end:
            await pilot.pause(0.05)
        assert screen.problem is not None and "microphone" in screen.problem, screen.problem
        assert str(screen.query_one("#enrol-prompt", Static).render()).startswith("No voice print: ")
        assert not voice_print_path().exists()
        await pilot.press("escape")
        assert isinstance(app.screen, SettingsScreen)
