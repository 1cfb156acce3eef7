"""The README's pictures of the app: docs/screenshots/picker.svg and docs/screenshots/session.svg.

    .venv/bin/python scripts/screenshots.py

The app runs headless at 110x34 with empty user folders (built-in routines only, no history, default
settings), the silent speech engine and a fake clock; the session picture is taken half-way through the
first in-breath of "Untie the knot", so it shows the breath pacer. Nothing depends on this machine or
the time of day: running it again writes the same files unless the app or the routine has changed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZE = (110, 34)
ROUTINE = "untie the knot"  # typed into the picker's filter


async def until(pilot, condition: Callable[[], bool], seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise RuntimeError("the app did not get there in time")


async def shoot() -> list[Path]:
    from coach.testing import FakeClock, RecordingOutput
    from tui.app import UnknotApp
    from tui.pacer import Pacer
    from tui.picker import PickerScreen
    from tui.session import SessionScreen

    clock = FakeClock()
    app = UnknotApp(clock=clock, output=lambda: (RecordingOutput(), None), engine="silent", threaded=False,
                    watch=False, welcome=False)
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PickerScreen) and bool(app.screen.shown))
        await pilot.pause(0.2)
        written.append(Path(app.save_screenshot("picker.svg", str(OUT))))

        await pilot.press("slash", *ROUTINE, "enter", "enter", "enter")  # filter, the list, Before, start
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.session is not None)
        screen = app.screen
        assert isinstance(screen, SessionScreen) and screen.plan is not None and screen.session is not None
        inhale = next(c for c in screen.plan.cues if c.kind == "phase" and c.phase == "inhale")
        clock.advance(inhale.t + (inhale.dur or 0) / 2 - screen.session.status().position)
        await until(pilot, lambda: screen.query_one(Pacer).phase == "inhale")
        await pilot.pause(0.2)
        written.append(Path(app.save_screenshot("session.svg", str(OUT))))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SessionScreen))
    return written


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="unknot-screenshots-") as home:
        # Empty user folders: no routines, history or settings of whoever runs this.
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(home) / name.lower())
        for path in asyncio.run(shoot()):
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
