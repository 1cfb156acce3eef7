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
