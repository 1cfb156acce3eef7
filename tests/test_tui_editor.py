"""Editing a routine from the app in a real terminal: the app hands the terminal to $EDITOR and takes
it back, checks the file, shows its problems at their lines and reloads the list."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, UNKNOT
from tui.app import welcomed_path

DEADLINE = 60.0

# Breaks the file the first time (an unknown key on line 4), mends it the second.
EDITOR = """\
#!/bin/sh
if grep -q '^stepz:' "$1"; then
    sed -i 's/^stepz:/steps:/' "$1"
else
    sed -i 's/^steps:/stepz:/' "$1"
fi
echo "edited $1" >> "$(dirname "$0")/editor.log"
"""

ROUTINE = """\
format: 1
id: evening
title: Evening unwind
steps:
  - say: Lie down and let the floor hold you.
  - breathe: {cycles: 2}
"""


class Tmux:
    def __init__(self, folder: Path) -> None:
        self.server = f"unknot-edit-{os.getpid()}-{secrets.token_hex(4)}"
        self.folder = folder
        self.rc = folder / "rc"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.server, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def keys(self, *keys: str) -> None:
        """One key at a time, as a person types: keys sent in one burst arrive in one read, and
        Textual's input parser does not always split such a read into its keys."""
        for key in keys:
            self("send-keys", "-t", "app", key)
            time.sleep(0.05)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-t", "app")

    def wait(self, text: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"gave up waiting for {text!r}; the screen:\n{self.screen()}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is needed for these tests: scripts/setup installs it")
    server = Tmux(tmp_path)
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-L", server.server, "kill-server"], capture_output=True, timeout=20)


def test_edit_breaks_then_mends_a_routine_and_the_app_follows(tmux: Tmux, user_routines: Path) -> None:
    (user_routines / "evening.yaml").write_text(ROUTINE, encoding="utf-8")
    welcomed_path().touch()  # a returning user: the first-start safety list is tested in test_tui.py
    editor = tmux.folder / "edit.sh"
    editor.write_text(EDITOR, encoding="utf-8")
    editor.chmod(0o755)
    env = {name: os.environ[name] for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env.update(EDITOR=str(editor), PULSE_SERVER="unix:/nonexistent/pulse", TERM="xterm-256color")
    script = tmux.folder / "run.sh"
    script.write_text(
        "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        + f"cd {shlex.quote(str(ROOT))}\n{shlex.quote(str(UNKNOT))} app\necho $? > {shlex.quote(str(tmux.rc))}\n",
        encoding="utf-8",
    )
    tmux("set-option", "-g", "remain-on-exit", "on", ";",
         "new-session", "-d", "-s", "app", "-x", "110", "-y", "34", f"sh {shlex.quote(str(script))}")
    tmux.wait("Evening unwind")
    tmux.keys("/", *"evening", "Enter")
    tmux.wait("Lie down and let the floor")

    tmux.keys("e")
    screen = tmux.wait("has problems")
    assert "evening.yaml:4:1" in screen, screen  # the unknown key, at its line and column
    assert (user_routines / "evening.yaml").read_text().count("stepz:") == 1
    tmux.wait("invalid")  # listed, with its error, not dropped

    tmux.keys("e")
    tmux.wait("evening.yaml is valid")
    assert (tmux.folder / "editor.log").read_text().count("edited") == 2
    tmux.wait("Lie down and let the floor")  # back in the list, previewed again

    tmux.keys("q")
    deadline = time.monotonic() + DEADLINE
    while not (tmux.rc.exists() and tmux.rc.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tmux.rc.read_text().strip() == "0", tmux.screen()
    assert "Traceback" not in tmux.screen()
