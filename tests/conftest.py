"""Every test runs with its own empty user folders, so nothing reads or writes the real ones."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNKNOT = Path(sys.executable).parent / "unknot"


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    for name, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        (home / sub).mkdir(parents=True)
        monkeypatch.setenv(name, str(home / sub))
    yield home


@pytest.fixture
def user_routines(user_dirs: Path) -> Path:
    folder = user_dirs / "data" / "unknot" / "routines"
    folder.mkdir(parents=True)
    return folder


def run_unknot(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real `unknot` console script in a child process, with this test's user folders."""
    return subprocess.run(
        [str(UNKNOT), *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd or ROOT,
        env=dict(os.environ),
        timeout=120,
    )
