"""The `unknot` command, run for real in a child process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_unknot

GOOD = "title: Mine\nsteps:\n  - say: Hello.\n  - breathe: {cycles: 6}\n"


def test_no_command_prints_help_and_the_safety_note() -> None:
    done = run_unknot()
    assert done.returncode == 0
    assert "usage: unknot" in done.stdout
    assert "not medical advice" in done.stdout


@pytest.mark.parametrize("command", ["list", "show", "plan", "validate", "new", "doctor", "safety", "schema"])
def test_every_command_has_help(command: str) -> None:
    done = run_unknot(command, "--help")
    assert done.returncode == 0
    assert f"usage: unknot {command}" in done.stdout


def test_list_shows_every_built_in_routine() -> None:
    done = run_unknot("list")
    assert done.returncode == 0, done.stderr
    built_in = sorted(p.stem for p in (ROOT / "content" / "routines").glob("*.yaml"))
    assert len(built_in) >= 10
    for routine_id in built_in:
        assert routine_id in done.stdout
    assert "cannot be used" not in done.stdout


def test_list_json_has_the_promised_fields(user_routines: Path) -> None:
    (user_routines / "broken.yaml").write_text("title: [\n")
    done = run_unknot("list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    for row in rows:
        assert {"id", "title", "summary", "tags", "position", "duration", "source", "path", "error"} <= set(row)
    good = [r for r in rows if r["error"] is None]
    assert len(good) >= 10 and all(r["duration"] > 0 for r in good)
    broken = [r for r in rows if r["id"] == "broken"]
    assert len(broken) == 1 and broken[0]["source"] == "user"
    assert broken[0]["error"].startswith(str(user_routines / "broken.yaml") + ":2:1: ")


def test_user_routine_replaces_a_built_in_and_list_says_so(user_routines: Path) -> None:
    (user_routines / "mine.yaml").write_text("id: untie-the-knot\n" + GOOD)
    done = run_unknot("list")
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("untie-the-knot "))
    assert "Mine" in line and "replaces built-in untie-the-knot.yaml" in line
    rows = json.loads(run_unknot("list", "--json").stdout)
    row = next(r for r in rows if r["id"] == "untie-the-knot")
    assert row["source"] == "user" and row["replaces"].endswith("untie-the-knot.yaml")


def test_routines_option_adds_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "extra-one.yaml").write_text(GOOD)
    done = run_unknot("list", "--routines", str(folder))
    assert "extra-one" in done.stdout and str(folder) in done.stdout


def test_two_files_with_one_id_in_one_source_name_each_other(user_routines: Path) -> None:
    (user_routines / "a.yaml").write_text("id: twin\n" + GOOD)
    (user_routines / "b.yaml").write_text("id: twin\n" + GOOD)
    done = run_unknot("list")
    assert f"also used by {user_routines / 'b.yaml'}" in done.stdout
    assert f"also used by {user_routines / 'a.yaml'}" in done.stdout


def test_show_prints_steps_and_timeline() -> None:
    done = run_unknot("show", "knee-to-chest-and-twist")
    assert done.returncode == 0, done.stderr
    assert "Steps:" in done.stdout and "Timeline:" in done.stdout
    assert "Knee to chest (right)" in done.stdout and "Knee to chest (left)" in done.stdout


def test_show_unknown_id_suggests_one() -> None:
    done = run_unknot("show", "untie-the-knott")
    assert done.returncode == 2
    assert "did you mean 'untie-the-knot'" in done.stderr
    assert "Traceback" not in done.stderr


def test_plan_json_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "breath.yaml"
    path.write_text("title: Breath\nsteps:\n  - breathe: {cycles: 6, inhale: 5, hold: 1, exhale: 4}\n")
    done = run_unknot("plan", str(path), "--json", "--tts", "silent")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["routine"] == "breath" and plan["duration"] == 60.0
    kinds = {c["kind"] for c in plan["cues"]}
    assert kinds == {"step", "speech", "phase"}
    step = plan["cues"][0]
    assert step["kind"] == "step" and step["type"] == "breathe" and "name" in step
    inhales = [c["t"] for c in plan["cues"] if c.get("phase") == "inhale"]
    assert inhales == [0, 10, 20, 30, 40, 50]
    assert all({"t", "dur", "kind"} <= set(c) for c in plan["cues"])


def test_plan_with_an_unknown_engine_is_a_usage_error() -> None:
    done = run_unknot("plan", "untie-the-knot", "--json", "--tts", "nope")
    assert done.returncode == 2 and "unknown speech engine 'nope'" in done.stderr


def test_validate_content_passes() -> None:
    done = run_unknot("validate", "content/")
    assert done.returncode == 0, done.stdout
    assert "all valid" in done.stderr


def test_validate_reports_file_line_col_path_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "knee.yaml"
    path.write_text("title: Knee\nsteps:\n  - say: Hi.\n  - breathe:\n      cycles: 3\n      inhale: five\n")
    done = run_unknot("validate", str(path), str(ROOT / "content" / "routines" / "untie-the-knot.yaml"))
    assert done.returncode == 1
    assert done.stdout.strip() == (
        f"{path}:6:15: steps[1].breathe.inhale: expected seconds > 0 (like 20, 45s, 2m or 1m30s; at most 4h), "
        "got 'five'"
    )
    assert "Traceback" not in done.stderr


def test_validate_a_missing_path_is_a_usage_error() -> None:
    done = run_unknot("validate", "no/such/place.yaml")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_validate_with_no_arguments_is_a_usage_error() -> None:
    assert run_unknot("validate").returncode == 2


def test_new_writes_a_valid_starter_and_refuses_to_overwrite(user_dirs: Path) -> None:
    done = run_unknot("new", "my-stretch")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path == user_dirs / "data" / "unknot" / "routines" / "my-stretch.yaml"
    assert path.read_text().startswith("# yaml-language-server: $schema=")
    assert run_unknot("validate", str(path)).returncode == 0
    assert "my-stretch" in run_unknot("list").stdout
    path.write_text(path.read_text() + "# my edit\n")
    again = run_unknot("new", "my-stretch")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert path.read_text().endswith("# my edit\n")


@pytest.mark.parametrize("bad", ["../x", "a/b", "Big", "x y", "", "my.routine", "-dash"])
def test_new_refuses_an_id_that_is_not_plain(bad: str, user_dirs: Path) -> None:
    done = run_unknot("new", "--", bad)
    assert done.returncode == 2 and "not a plain id" in done.stderr
    assert not (user_dirs / "data" / "unknot" / "routines").exists()


def test_safety_lists_when_to_see_a_doctor() -> None:
    done = run_unknot("safety")
    assert done.returncode == 0
    text = done.stdout.lower()
    for words in ("bladder", "two weeks", "leg", "numbness", "weakness", "severe"):
        assert words in text


def test_schema_prints_the_shipped_schema() -> None:
    done = run_unknot("schema")
    shipped = json.loads((ROOT / "coach" / "schema" / "routine-1.schema.json").read_text())
    assert json.loads(done.stdout) == shipped


def test_doctor_reports_every_part_without_library_noise() -> None:
    done = run_unknot("doctor")
    assert done.returncode in (0, 1)
    for part in ("speech engine", "sound output", "microphone", "recognizer", "echo canceller"):
        assert part in done.stdout
    assert any(line.split()[:3] == ["ok", "echo", "canceller"] for line in done.stdout.splitlines())  # a dependency
    assert any(line.split()[:3] == ["ok", "command", "classifier"] for line in done.stdout.splitlines())
    assert "ALSA lib" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_python_dash_m_coach_works() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "coach", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("unknot ")


def test_doctor_reports_a_damaged_history_and_settings_with_their_fixes(user_dirs: Path) -> None:
    history = user_dirs / "data" / "unknot" / "history.sqlite3"
    history.parent.mkdir(parents=True)
    history.write_bytes(b"not a database " * 200)
    settings = user_dirs / "config" / "unknot" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"rate": 9000}', encoding="utf-8")
    done = run_unknot("doctor")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("FAIL") and "history" in line and "damaged" in line for line in lines), done.stdout
    assert any(line.startswith("FAIL") and "settings" in line and "settings.json:1:" in line for line in lines)
    assert f"move {history} aside" in done.stdout
    assert history.read_bytes().startswith(b"not a database")  # nothing touched


def test_doctor_says_a_fresh_history_and_settings_are_fine() -> None:
    done = run_unknot("doctor")
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok") and "history" in line and "no sessions yet" in line for line in lines)
    assert any(line.startswith("ok") and "settings" in line and "the defaults" in line for line in lines)
    assert any(line.split()[:3] == ["ok", "voice", "print"] and "unknot enrol" in line for line in lines)


def test_doctor_reports_a_damaged_voice_print_with_its_fix(user_dirs: Path) -> None:
    damaged = user_dirs / "data" / "unknot" / "voice-print.npz"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"scratched")
    done = run_unknot("doctor")
    assert done.returncode == 1
    assert any(line.startswith("FAIL") and "voice print" in line and "damaged" in line
               for line in done.stdout.splitlines()), done.stdout
    assert "unknot enrol --forget" in done.stdout and "Traceback" not in done.stderr
