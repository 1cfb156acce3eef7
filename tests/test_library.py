"""The library: built-in, user and extra folders; replacing, clashes and invalid files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from coach.library import BUILT_IN, USER, content_dir, load_library
from tests.conftest import ROOT

GOOD = "title: Mine\nsteps:\n  - say: Hello.\n"


def test_built_ins_come_from_the_checkout() -> None:
    assert content_dir() == ROOT / "content"
    library = load_library()
    assert len(library.valid) >= 10
    assert all(e.source == BUILT_IN for e in library.entries)


def test_user_routine_replaces_built_in(user_routines: Path) -> None:
    (user_routines / "x.yaml").write_text("id: healing-light\n" + GOOD)
    entry = load_library().find("healing-light")
    assert entry is not None and entry.source == USER
    assert entry.routine is not None and entry.routine.title == "Mine"
    assert entry.replaces is not None and entry.replaces.source == BUILT_IN


def test_extra_folder_replaces_user(user_routines: Path, tmp_path: Path) -> None:
    (user_routines / "mine.yaml").write_text(GOOD)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "mine.yaml").write_text(GOOD.replace("Mine", "Extra"))
    entry = load_library(extra=[extra]).find("mine")
    assert entry is not None and entry.source == str(extra)
    assert entry.replaces is not None and entry.replaces.source == USER


def test_invalid_files_are_listed_not_dropped(user_routines: Path) -> None:
    (user_routines / "bad.yaml").write_text("title: Bad\nsteps: []\n")
    (user_routines / "notes.txt").write_text("not a routine")
    library = load_library()
    bad = [e for e in library.entries if not e.valid]
    assert [e.path.name for e in bad] == ["bad.yaml"]
    assert "at least one step" in bad[0].problems[0].message


def test_an_invalid_user_copy_does_not_hide_the_built_in(user_routines: Path) -> None:
    (user_routines / "healing-light.yaml").write_text("title: [\n")
    library = load_library()
    found = library.find("healing-light")
    assert found is not None and found.valid and found.source == BUILT_IN
    assert any(e.path.parent == user_routines and not e.valid for e in library.entries)


def test_same_id_twice_in_one_source_is_an_error_naming_both(user_routines: Path) -> None:
    (user_routines / "one.yaml").write_text("id: twin\n" + GOOD)
    (user_routines / "two.yaml").write_text("id: twin\n" + GOOD)
    twins = [e for e in load_library().entries if e.id == "twin"]
    assert len(twins) == 2 and not any(e.valid for e in twins)
    messages = {e.path.name: e.problems[0].message for e in twins}
    assert str(user_routines / "two.yaml") in messages["one.yaml"]
    assert str(user_routines / "one.yaml") in messages["two.yaml"]


def test_built_ins_are_found_from_an_installed_wheel(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("unknot-*.whl"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "coach" / "content" / "routines").is_dir()
    assert (site / "coach" / "schema" / "routine-1.schema.json").is_file()
    code = (
        "import coach.library as l, coach.safety as s; "
        "print(l.content_dir()); print(len(l.load_library(include_user=False).valid)); s.load_red_flags()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1"},
    )
    assert done.returncode == 0, done.stderr
    folder, count = done.stdout.split()
    assert Path(folder) == site / "coach" / "content"
    assert int(count) >= 10
