"""What the app's screens look like, kept as SVG snapshots (pytest-textual-snapshot) in tests/__snapshots__/.

Every screen here is made stable: the session runs on a FakeClock with the silent engine and is moved to
an exact plan time; the picker lists the built-in routines only (no machine-specific paths); the history
is written with fixed times and read in UTC; the settings screen is taken after its voices worker is done.
After a deliberate change to a screen: `.venv/bin/pytest tests/test_tui_snapshots.py --snapshot-update`,
then look at the new SVGs before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from coach.history import History, history_path
from coach.testing import FakeClock, RecordingOutput
from tui.app import UnknotApp
from tui.pacer import Pacer
from tui.picker import PickerScreen
from tui.screens import HistoryScreen, SettingsScreen
from tui.session import SessionScreen

SIZE = (110, 34)
ROUTINE = """\
format: 1
id: snapshot-breaths
title: Snapshot breaths
summary: Settle, three slow breaths, then a rest.
tags: [breathing]
position: lying
safety: Stop if it hurts more.
breath: {inhale: 5, hold: 1, exhale: 4}
steps:
  - name: Settle
    say: Lie down and let your shoulders rest.
  - name: Breathe
    breathe: {cycles: 3}
  - name: Rest
    pause: 10
"""
Compare = Callable[..., bool]


def make_app(clock: FakeClock | None = None, routines: Path | None = None) -> UnknotApp:
    return UnknotApp(routines=[routines] if routines else [], clock=clock or FakeClock(),
                     output=lambda: (RecordingOutput(), None), engine="silent", threaded=False, watch=False,
                     welcome=False)


async def wait_for(pilot: Pilot[int], condition: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting")


@pytest.fixture
def routines(tmp_path: Path) -> Path:
    """A routine of this test's own: its path is never shown on the session screen."""
    folder = tmp_path / "routines"
    folder.mkdir()
    (folder / "snapshot-breaths.yaml").write_text(ROUTINE, encoding="utf-8")
    return folder


@pytest.fixture
def utc() -> Iterator[None]:
    """The history table shows local times: make local time UTC for the test, and put it back after."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


async def mid_inhale(pilot: Pilot[int], clock: FakeClock) -> SessionScreen:
    """The routine started with no pain rating, and the clock moved to the middle of its first in-breath."""
    app = pilot.app
    await pilot.press("slash", *"snapshot", "enter", "enter", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
    screen = app.screen
    assert isinstance(screen, SessionScreen) and screen.plan is not None and screen.session is not None
    inhale = next(c for c in screen.plan.cues if c.kind == "phase" and c.phase == "inhale")
    assert inhale.dur == 5.0
    clock.advance(inhale.t + inhale.dur / 2 - screen.session.status().position)
    await wait_for(pilot, lambda: screen.query_one(Pacer).phase == "inhale")
    await pilot.pause(0.1)
    pacer = screen.query_one(Pacer)
    assert pacer.level == pytest.approx(0.5) and pacer.left == pytest.approx(2.5)
    return screen


def test_picker_with_the_built_in_routines(snap_compare: Compare) -> None:
    app = make_app()

    async def ready(pilot: Pilot[int]) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PickerScreen) and bool(pilot.app.screen.shown))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_session_mid_inhale_with_the_pacer(snap_compare: Compare, routines: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines)

    async def run_before(pilot: Pilot[int]) -> None:
        await mid_inhale(pilot, clock)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_session_paused_mid_inhale(snap_compare: Compare, routines: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines)

    async def run_before(pilot: Pilot[int]) -> None:
        screen = await mid_inhale(pilot, clock)
        await pilot.press("space")
        assert screen.session is not None and screen.session.status().state == "paused"
        clock.advance(20)  # time stands still while paused: the screen must not move on
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_settings_screen(snap_compare: Compare) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await pilot.press("s")
        assert isinstance(pilot.app.screen, SettingsScreen)
        await pilot.app.workers.wait_for_complete()  # the voices, loaded in a thread
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_history_screen_with_two_sessions(snap_compare: Compare, utc: None) -> None:
    with History(history_path()) as history:
        first = history.start("untie-the-knot", "Untie the knot", 12, pain_before=7,
                              now=datetime(2025, 3, 1, 8, 30, tzinfo=UTC))
        history.finish(first, "finished", 11, 540.0, now=datetime(2025, 3, 1, 8, 39, tzinfo=UTC))
        history.rate_after(first, 4)
        second = history.start("spasm-first-aid", "Spasm first aid", 20,
                               now=datetime(2025, 3, 2, 21, 5, tzinfo=UTC))
        history.finish(second, "stopped", 6, 180.0, now=datetime(2025, 3, 2, 21, 8, tzinfo=UTC))
    app = make_app()
    app.wall_clock = lambda: datetime(2025, 3, 2, 22, 0, tzinfo=UTC)  # a Sunday: both in this week's streak

    async def run_before(pilot: Pilot[int]) -> None:
        await pilot.press("h")
        assert isinstance(pilot.app.screen, HistoryScreen)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
