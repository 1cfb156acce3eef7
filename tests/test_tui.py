"""The app through Textual's Pilot: every screen and every key, on a fake clock with the silent engine.

A session here runs on the screen's refresh tick (threaded=False) against a FakeClock, so what the
pacer shows at a given plan time is exact; the real clock, real sound and a real terminal are tested
in tests/test_tui_tmux.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, OptionList, Static, Switch

from coach.history import History, history_path
from coach.settings import load_settings, settings_path
from coach.testing import FakeClock, RecordingOutput
from tui.app import UnknotApp
from tui.pacer import Pacer, fullness
from tui.picker import PickerScreen
from tui.screens import DoctorNotice, HelpScreen, HistoryScreen, SafetyScreen, SettingsScreen
from tui.session import AfterScreen, BeforeScreen, SessionScreen

SIZE = (110, 36)
SHORT = """\
format: 1
id: short-breaths
title: Short breaths
summary: Three slow breaths, then a rest.
tags: [breathing]
position: lying
safety: Stop if it hurts more.
breath: {inhale: 5, hold: 1, exhale: 4}
steps:
  - name: Settle
    say: Lie down.
  - name: Breathe
    breathe: {cycles: 3}
  - name: Rest
    pause: 4
"""


def make_app(clock: FakeClock | None = None, routines: Path | None = None, watch: bool = False) -> UnknotApp:
    return UnknotApp(routines=[routines] if routines else [], clock=clock or FakeClock(),
                     output=lambda: (RecordingOutput(), None), engine="silent", threaded=False, watch=watch,
                     welcome=False)


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "short.yaml").write_text(SHORT, encoding="utf-8")
    broken = "format: 1\nid: broken\ntitle: Broken\nsteps:\n  - sing: la\n"
    (folder / "broken.yaml").write_text(broken, encoding="utf-8")
    return folder


def text_of(app: UnknotApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def wait_for(pilot, condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting")


async def start_short(pilot, app: UnknotApp, pain: str = "") -> SessionScreen:  # type: ignore[no-untyped-def]
    app.screen.query_one("#filter", Input).value = ""
    await pilot.press("slash", *"short breaths")  # "s" alone on the list would open the settings
    await pilot.press("enter")  # leaves the filter for the list
    await pilot.press("enter")
    assert isinstance(app.screen, BeforeScreen)
    await pilot.press(*pain, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
    screen = app.screen
    assert isinstance(screen, SessionScreen)
    return screen


# -- the pacer ------------------------------------------------------------------------------------


def test_pacer_grows_stays_and_shrinks() -> None:
    assert fullness("inhale", 5.0, 5.0) == 0.0
    assert 0.45 < fullness("inhale", 2.5, 5.0) < 0.55
    assert fullness("inhale", 0.0, 5.0) == 1.0
    assert fullness("hold", 0.5, 1.0) == 1.0
    assert fullness("exhale", 4.0, 4.0) == 1.0
    assert fullness("exhale", 0.0, 4.0) == 0.0
    assert fullness(None, 1.0, 2.0) == 0.0
    rising = [fullness("inhale", 5.0 - t / 10, 5.0) for t in range(51)]
    assert rising == sorted(rising)


# -- picker ---------------------------------------------------------------------------------------


async def test_picker_lists_filters_and_previews(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PickerScreen)
        screen = app.screen
        titles = [e.routine.title for e in screen.shown if e.routine]
        assert "Short breaths" in titles and "Untie the knot" in titles
        assert any(not e.valid and e.path.name == "broken.yaml" for e in screen.shown)
        await pilot.press(*"breaths")
        assert [e.id for e in screen.shown] == ["short-breaths"]
        preview = text_of(app, "#preview-body")
        assert "Three slow breaths" in preview and "Stop if it hurts more." in preview
        assert "Settle" in preview and "Rest" in preview
        await pilot.press("escape")  # clears the filter, back to the list
        assert app.screen.query_one("#filter", Input).value == ""
        assert len(screen.shown) > 10


async def test_picker_shows_an_invalid_routine_with_its_error(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"broken", "enter")
        preview = text_of(app, "#preview-body")
        assert "broken.yaml:5:" in preview
        await pilot.press("enter")  # cannot start: stays on the picker
        assert isinstance(app.screen, PickerScreen)


async def test_picker_picks_up_a_new_file_while_running(mine: Path) -> None:
    app = make_app(routines=mine, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        (mine / "later.yaml").write_text(SHORT.replace("short-breaths", "later").replace("Short breaths", "Later one"),
                                         encoding="utf-8")
        await wait_for(pilot, lambda: any(e.id == "later" for e in screen.shown), 5.0)


async def test_help_safety_history_settings_and_quit(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("d")
        assert isinstance(app.screen, SafetyScreen)
        assert "doctor" in text_of(app, "#safety-text").lower()
        await pilot.press("escape")
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("escape")
        await pilot.press("s")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("q")
    assert app.return_code == 0


# -- a session, key by key ------------------------------------------------------------------------


async def test_session_keys_pacer_and_history(mine: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app, pain="6")
        assert screen.plan is not None
        breathe = screen.plan.steps[2]  # after the safety step every plan starts with, and "Settle"
        inhale = next(c for c in screen.plan.cues if c.kind == "phase" and c.phase == "inhale")
        # Half-way through the first in-breath, by the plan: the pacer is half full.
        clock.advance(inhale.t + (inhale.dur or 0) / 2)
        await pilot.pause(0.15)
        pacer = screen.query_one(Pacer)
        assert pacer.phase == "inhale" and 0.4 < pacer.level < 0.6
        assert "Step 3 of 4" in text_of(app, "#times")
        assert app.screen.query_one("#steps", OptionList).highlighted == breathe.index

        await pilot.press("space")
        assert screen.session is not None and screen.session.status().state == "paused"
        assert "Paused" in text_of(app, "#instruction")
        clock.advance(30)  # time stands still while paused
        await pilot.pause(0.1)
        assert screen.session.status().step == breathe
        await pilot.press("space")
        assert screen.session.status().state == "playing"

        await pilot.press("n")
        assert screen.session.status().step.index == 3  # type: ignore[union-attr]
        await pilot.press("b")  # in its first 2 seconds: back to the previous step
        assert screen.session.status().step.index == 2  # type: ignore[union-attr]
        clock.advance(3)
        await pilot.press("r")  # this step again, from its start
        status = screen.session.status()
        assert status.step.index == 2 and status.position == pytest.approx(breathe.t)  # type: ignore[union-attr]

        await pilot.press("m")
        assert screen.sounds is not None and screen.sounds.muted
        assert "muted" in text_of(app, "#times")
        await pilot.press("m")
        assert not screen.sounds.muted

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AfterScreen))
        assert "Stopped" in text_of(app, "#after-title")
        await pilot.press("3", "enter")
        assert isinstance(app.screen, PickerScreen)
    with History(history_path()) as history:
        (record,) = history.sessions()
    assert (record.routine, record.outcome, record.pain_before, record.pain_after) == ("short-breaths", "stopped", 6, 3)
    assert record.step == 2


async def test_session_runs_to_the_end_and_is_recorded_finished(mine: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app)
        assert screen.plan is not None
        clock.advance(screen.plan.duration + 1)
        await wait_for(pilot, lambda: isinstance(app.screen, AfterScreen))
        assert "Finished" in text_of(app, "#after-title")
        await pilot.press("escape")  # skip the rating
        assert isinstance(app.screen, PickerScreen)
    with History(history_path()) as history:
        (record,) = history.sessions()
    assert record.outcome == "finished" and record.pain_before is None and record.pain_after is None


async def test_pain_rating_rejects_out_of_range(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"short breaths", "enter", "enter")
        await pilot.press("1", "1", "enter")  # 11: not a rating
        assert isinstance(app.screen, BeforeScreen)
        await pilot.press("backspace", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen))


async def test_speech_rate_keys_rebuild_the_plan_and_keep_the_step(mine: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app)
        old_plan = screen.plan
        assert old_plan is not None
        clock.advance(old_plan.steps[2].t + 2)
        await pilot.pause(0.1)
        await pilot.press("minus")
        await wait_for(pilot, lambda: screen.plan is not old_plan)
        assert app.settings.rate == 140
        assert screen.session is not None and screen.session.status().step.index == 2  # type: ignore[union-attr]
        assert screen.plan.steps[0].dur > old_plan.steps[0].dur  # slower speech: a longer first step
        await pilot.press("plus", "plus")
        await wait_for(pilot, lambda: app.settings.rate == 160 and screen.preparing_rate is None)
        await pilot.pause(0.3)  # any render overtaken by the last press has finished by now
        assert screen.speech is not None and screen.speech.settings.rate == 160
    assert load_settings()[0].rate == 160


async def test_voice_toggle_without_a_microphone_says_so_once(mine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/pulse")
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app)
        assert "Voice commands: off" in text_of(app, "#voice-state")
        await pilot.press("v")
        await wait_for(pilot, lambda: screen.voice is not None or any(
            "voice commands" in n.message.lower() for n in app._notifications), 20.0)
        assert app.settings.voice_commands
        if screen.voice is None:  # no capture device here: keys still work
            app.clock.advance(0.1)  # type: ignore[attr-defined]
            await pilot.pause(0.1)
            await pilot.press("n")
            assert screen.session is not None and screen.session.status().step.index == 1  # type: ignore[union-attr]
        await pilot.press("v")
        assert not app.settings.voice_commands and screen.voice is None
        assert "Voice commands: off" in text_of(app, "#voice-state")


# -- settings -------------------------------------------------------------------------------------


async def test_settings_are_checked_applied_and_saved(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        await pilot.pause(0.2)
        # Opening the screen changes nothing: no "Saved.", no file written
        assert text_of(app, "#settings-status") == "" and not settings_path().exists()
        rate = screen.query_one("#rate", Input)
        rate.value = "400"
        await rate.action_submit()
        await pilot.pause(0.05)
        assert "80 to 300" in text_of(app, "#settings-status")
        assert app.settings.rate == 150
        rate.value = "180"
        await rate.action_submit()
        pace = screen.query_one("#breath_pace", Input)
        pace.value = "1.25"
        await pace.action_submit()
        words = screen.query_one("#words", Input)
        words.value = "next=next,onward"
        await words.action_submit()
        switch = screen.query_one("#chimes", Switch)
        switch.value = False
        screen.query_one("#stop_over_speech", Switch).value = True
        await pilot.pause(0.05)
        assert app.settings.rate == 180 and app.settings.breath_pace == 1.25 and not app.settings.chimes
        assert app.settings.stop_over_speech
        assert app.settings.words["next"] == ("next", "onward")
        words.value = "next=zzzqx"
        await words.action_submit()
        await pilot.pause(0.05)
        assert "does not know" in text_of(app, "#settings-status")
    saved = json.loads(settings_path().read_text())
    assert saved["rate"] == 180 and saved["breath_pace"] == 1.25 and saved["chimes"] is False
    assert saved["stop_over_speech"] is True


async def test_breath_pace_setting_stretches_the_session(mine: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app)
        normal = screen.plan
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AfterScreen))
        await pilot.press("escape")
        from dataclasses import replace

        app.change_settings(replace(app.settings, breath_pace=1.5))
        screen = await start_short(pilot, app)
        assert normal is not None and screen.plan is not None
        inhales = [[c.dur for c in p.cues if c.phase == "inhale"] for p in (normal, screen.plan)]
        assert inhales[0] == [5.0] * 3 and inhales[1] == [7.5] * 3
        assert screen.plan.steps[2].dur == pytest.approx(normal.steps[2].dur * 1.5)


async def test_history_screen_lists_sessions(mine: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app, pain="4")
        assert screen.plan is not None
        clock.advance(screen.plan.duration + 1)
        await wait_for(pilot, lambda: isinstance(app.screen, AfterScreen))
        await pilot.press("2", "enter")
        await pilot.press("h")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        row = table.get_row_at(0)
        assert row[1:] == ["Short breaths", "finished", "1", "4", "2"]


# -- editing --------------------------------------------------------------------------------------


async def test_new_routine_is_written_from_the_starter_and_listed(mine: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  user_routines: Path) -> None:
    monkeypatch.setenv("EDITOR", "true")
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.press(*"my-evening", "enter")
        await pilot.pause(0.1)
        assert (user_routines / "my-evening.yaml").exists()
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        assert any(e.id == "my-evening" and e.valid for e in screen.shown)


async def test_edit_on_a_built_in_copies_it_first(mine: Path, monkeypatch: pytest.MonkeyPatch,
                                                  user_routines: Path) -> None:
    monkeypatch.setenv("EDITOR", "true")
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"untie", "enter", "e")
        await pilot.pause(0.1)
        assert (user_routines / "untie-the-knot.yaml").exists()
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        entry = next(e for e in screen.shown if e.id == "untie-the-knot")
        assert entry.source != "built-in"


async def test_arrows_move_the_preview_and_d_before_a_session_shows_when_to_see_a_doctor(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, PickerScreen)
        first = text_of(app, "#preview-body")
        await pilot.press("down")
        second = text_of(app, "#preview-body")
        assert second != first and screen.shown[1].routine is not None
        assert screen.shown[1].routine.title in second
        await pilot.press("up")
        assert text_of(app, "#preview-body") == first
        await pilot.press("enter")
        assert isinstance(app.screen, BeforeScreen)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, SafetyScreen))
        await pilot.press("escape")
        assert isinstance(app.screen, BeforeScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)


async def test_new_routine_prompt_can_be_cancelled(mine: Path, user_routines: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.press(*"half", "escape")
        assert isinstance(app.screen, PickerScreen)
        assert list(user_routines.iterdir()) == []


async def test_settings_sample_button_says_when_the_engine_has_no_voice(mine: Path) -> None:
    app = make_app(routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.click("#sample")
        await wait_for(pilot, lambda: "no voice to play" in text_of(app, "#settings-status"))


async def test_the_first_start_shows_when_to_see_a_doctor_once() -> None:
    for first in (True, False):
        app = UnknotApp(clock=FakeClock(), output=lambda: (RecordingOutput(), None), engine="silent", threaded=False,
                        watch=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.1)
            if first:
                assert isinstance(app.screen, SafetyScreen)
                text = text_of(app, "#safety-text")
                assert "Welcome to Unknot" in text and "doctor" in text.lower()
                await pilot.press("enter")
            assert isinstance(app.screen, PickerScreen)


def record_sessions(pains: list[tuple[int | None, int | None]], start: datetime, every: timedelta) -> None:
    with History(history_path()) as history:
        for i, (before, after) in enumerate(pains):
            when = start + i * every
            sid = history.start("short-breaths", "Short breaths", 4, before, now=when)
            history.finish(sid, "finished", 3, 38.0, now=when + timedelta(minutes=1))
            if after is not None:
                history.rate_after(sid, after)


NOW = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(("pains", "says"), [
    ([(8, 8), (9, 8), (8, 9)], True),  # three rated sessions at 8 or more
    ([(3, 2), (9, 8), (8, 9)], False),  # only two
    ([(9, 8), (8, None), (5, 3)], False),  # the latest is lower
])
async def test_the_doctor_notice_appears_exactly_when_pain_stays_high(mine: Path, pains: list[tuple[int, int | None]],
                                                                      says: bool) -> None:
    record_sessions(pains, NOW - timedelta(days=3), timedelta(days=1))
    for run in range(2):
        app = make_app(routines=mine)
        app.wall_clock = lambda: NOW
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.1)
            shown = isinstance(app.screen, DoctorNotice)
            assert shown == (says and run == 0), (run, app.screen)  # said once, never again
            if shown:
                assert "8 or more" in str(app.screen.query_one("#doctor-message", Static).render())
                await pilot.press("enter")
            assert isinstance(app.screen, PickerScreen)


async def test_the_doctor_notice_for_pain_longer_than_two_weeks(mine: Path) -> None:
    record_sessions([(4, 3)] * 4, NOW - timedelta(days=15), timedelta(days=5))  # days -15, -10, -5, 0
    app = make_app(routines=mine)
    app.wall_clock = lambda: NOW
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, DoctorNotice)
        assert "two weeks" in str(app.screen.query_one("#doctor-message", Static).render())
        await pilot.press("d")  # straight on to the full list
        await wait_for(pilot, lambda: isinstance(app.screen, SafetyScreen))


async def test_history_screen_shows_streak_week_routines_and_chart(mine: Path) -> None:
    record_sessions([(6, 4), (5, 3), (5, None)], NOW - timedelta(days=2), timedelta(days=1))
    app = make_app(routines=mine)
    app.wall_clock = lambda: NOW
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        await pilot.pause(0.1)
        summary = text_of(app, "#history-summary")
        assert "3 sessions · 3 days in a row" in summary
        assert "Short breaths: 3 sessions, pain 2.0 lower after, on average" in text_of(app, "#history-routines")
        assert app.screen.query_one(DataTable).row_count == 3
        chart = app.screen.query_one("#pain-chart")
        assert chart.display


async def test_d_during_a_session_shows_the_doctor_list_and_the_session_goes_on(mine: Path) -> None:
    clock = FakeClock()
    app = make_app(clock, routines=mine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_short(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, SafetyScreen))
        assert screen.session is not None and screen.session.status().state == "playing"
        await pilot.press("escape")
        assert app.screen is screen


async def test_a_wait_step_holds_until_n(tmp_path: Path) -> None:
    folder = tmp_path / "waits"
    folder.mkdir()
    (folder / "w.yaml").write_text("format: 1\nid: waits\ntitle: Waits here\nsteps:\n  - say: Roll onto your side.\n"
                                   "  - wait: Take your time, then say next.\n  - say: Well done.\n", encoding="utf-8")
    clock = FakeClock()
    app = make_app(clock, routines=folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"waits here", "enter", "enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
        screen = app.screen
        assert isinstance(screen, SessionScreen) and screen.session is not None
        clock.advance(60)
        await wait_for(pilot, lambda: screen.session is not None and screen.session.status().state == "waiting")
        assert "press n when you are ready" in text_of(app, "#instruction")
        clock.advance(60)  # it holds
        await pilot.pause(0.1)
        assert screen.session.status().state == "waiting"
        await pilot.press("n")
        await wait_for(pilot, lambda: "press n" not in text_of(app, "#instruction"))
        assert screen.session.status().state in ("playing", "finished")


def test_the_app_without_a_terminal_says_so_and_ends() -> None:
    from tests.conftest import run_unknot

    done = run_unknot("app")
    assert done.returncode == 2 and "needs a terminal" in done.stderr and done.stdout == ""
    assert run_unknot().stdout.startswith("usage: unknot")  # `unknot` alone off a terminal: the help
