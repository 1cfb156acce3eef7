"""`unknot history` and `unknot export`, run for real on sessions written first through History."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coach.history import History, history_path
from coach.progress import HIGH_PAIN_MESSAGE, LONG_PAIN_MESSAGE
from tests.conftest import run_unknot

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)  # long past: no streak, nothing this week
HEADER = ["id", "routine", "title", "started", "ended", "outcome", "step", "steps", "seconds", "pain_before",
          "pain_after"]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local time in the child is UTC unless a test says otherwise."""
    monkeypatch.setenv("TZ", "UTC")


def write_sessions() -> list[int]:
    """Four sessions, oldest first: two rated knee sessions, one unrated cat-cow, one still running."""
    with History() as h:
        a = h.start("knee-to-chest", "Knee to chest", steps=6, pain_before=6, now=T0)
        h.finish(a, "finished", step=5, seconds=300.0, now=T0 + timedelta(minutes=5))
        h.rate_after(a, 3)
        b = h.start("cat-cow", 'Cat, "cow" and more', steps=4, now=T0 + timedelta(days=1))
        h.finish(b, "stopped", step=1, seconds=90.0, now=T0 + timedelta(days=1, minutes=2))
        c = h.start("knee-to-chest", "Knee to chest", steps=6, pain_before=7, now=T0 + timedelta(days=2))
        h.finish(c, "finished", step=5, seconds=300.0, now=T0 + timedelta(days=2, minutes=5))
        h.rate_after(c, 7)
        d = h.start("knee-to-chest", "Knee to chest", steps=6, pain_before=5, now=T0 + timedelta(days=3))
        h.progress(d, step=2, seconds=45.0)
    return [a, b, c, d]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("command", ["history", "export"])
def test_the_new_commands_have_help(command: str) -> None:
    done = run_unknot(command, "--help")
    assert done.returncode == 0
    assert f"usage: unknot {command}" in done.stdout


def test_with_no_sessions_history_says_so_in_one_line_and_creates_nothing() -> None:
    done = run_unknot("history")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "No sessions" in done.stdout
    assert not history_path().exists()


def test_history_shows_the_sessions_newest_first_then_the_totals() -> None:
    write_sessions()
    done = run_unknot("history")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["WHEN", "ROUTINE", "OUTCOME", "MINUTES", "PAIN"]
    assert [line.split("  ")[0] for line in lines[1:5]] == [
        "2025-03-06 09:30", "2025-03-05 09:30", "2025-03-04 09:30", "2025-03-03 09:30"
    ]
    assert lines[1].split() == ["2025-03-06", "09:30", "Knee", "to", "chest", "interrupted", "0.8", "5", "→", "–"]
    assert lines[2].split() == ["2025-03-05", "09:30", "Knee", "to", "chest", "finished", "5.0", "7", "→", "7"]
    assert lines[3].split() == ["2025-03-04", "09:30", "Cat,", '"cow"', "and", "more", "stopped", "1.5"]
    assert lines[4].split() == ["2025-03-03", "09:30", "Knee", "to", "chest", "finished", "5.0", "6", "→", "3"]
    rest = lines[5:]
    assert "Streak: 0 days in a row" in rest
    assert "This week: 0 minutes" in rest
    assert "Knee to chest: 3 sessions, pain 1.5 lower on average (2 rated)" in rest
    assert 'Cat, "cow" and more: 1 session, no pain ratings before and after yet' in rest
    assert rest.index("Knee to chest: 3 sessions, pain 1.5 lower on average (2 rated)") < rest.index(
        'Cat, "cow" and more: 1 session, no pain ratings before and after yet'
    )
    assert "doctor" not in done.stdout


def test_history_shows_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    write_sessions()
    monkeypatch.setenv("TZ", "XST-10")  # UTC+10
    lines = run_unknot("history").stdout.splitlines()
    assert lines[1].startswith("2025-03-06 19:30  Knee to chest")


def test_a_session_today_makes_a_streak_of_one_and_counts_this_week() -> None:
    started = datetime.now(UTC) - timedelta(minutes=2)
    with History() as h:
        sid = h.start("knee-to-chest", "Knee to chest", steps=6, now=started)
        h.finish(sid, "finished", step=5, seconds=600.0, now=started + timedelta(minutes=1))
    done = run_unknot("history", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # Today, or yesterday if midnight struck in between: a streak of one either way.
    assert data["streak"] == 1
    monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday())
    if started.date() >= monday:  # unless a new week began in between
        assert data["minutes_this_week"] == 10.0
    plain = run_unknot("history").stdout
    assert "Streak: 1 day in a row" in plain


def test_history_csv_has_every_session_with_utc_times() -> None:
    a, b, c, d = write_sessions()
    done = run_unknot("history", "--csv")
    assert done.returncode == 0, done.stderr
    rows = csv_rows(done.stdout)
    assert rows[0] == HEADER
    assert rows[1:] == [
        [str(d), "knee-to-chest", "Knee to chest", "2025-03-06T09:30:00Z", "", "interrupted", "2", "6", "45.0", "5",
         ""],
        [str(c), "knee-to-chest", "Knee to chest", "2025-03-05T09:30:00Z", "2025-03-05T09:35:00Z", "finished", "5",
         "6", "300.0", "7", "7"],
        [str(b), "cat-cow", 'Cat, "cow" and more', "2025-03-04T09:30:00Z", "2025-03-04T09:32:00Z", "stopped", "1",
         "4", "90.0", "", ""],
        [str(a), "knee-to-chest", "Knee to chest", "2025-03-03T09:30:00Z", "2025-03-03T09:35:00Z", "finished", "5",
         "6", "300.0", "6", "3"],
    ]
    assert '"Cat, ""cow"" and more"' in done.stdout  # quoted the RFC 4180 way


def test_history_csv_with_no_history_is_just_the_header() -> None:
    done = run_unknot("history", "--csv")
    assert done.returncode == 0, done.stderr
    assert csv_rows(done.stdout) == [HEADER]
    assert not history_path().exists()


def test_history_json_has_sessions_totals_and_routines() -> None:
    a, b, c, d = write_sessions()
    done = run_unknot("history", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"sessions", "streak", "minutes_this_week", "routines", "doctor"}
    assert [s["id"] for s in data["sessions"]] == [d, c, b, a]
    assert data["sessions"][3] == {
        "id": a, "routine": "knee-to-chest", "title": "Knee to chest", "started": "2025-03-03T09:30:00Z",
        "ended": "2025-03-03T09:35:00Z", "outcome": "finished", "step": 5, "steps": 6, "seconds": 300.0,
        "pain_before": 6, "pain_after": 3,
    }
    assert data["sessions"][0]["ended"] is None and data["sessions"][0]["pain_after"] is None
    assert (data["streak"], data["minutes_this_week"], data["doctor"]) == (0, 0, [])
    assert data["routines"] == [
        {"routine": "knee-to-chest", "title": "Knee to chest", "sessions": 3, "rated": 2, "average_change": -1.5},
        {"routine": "cat-cow", "title": 'Cat, "cow" and more', "sessions": 1, "rated": 0, "average_change": None},
    ]


def test_history_json_with_no_history() -> None:
    data = json.loads(run_unknot("history", "--json").stdout)
    assert data == {"sessions": [], "streak": 0, "minutes_this_week": 0, "routines": [], "doctor": []}


def test_severe_pain_brings_the_doctor_message_and_it_is_remembered() -> None:
    with History() as h:
        for i in range(3):
            h.start("knee-to-chest", "Knee to chest", steps=6, pain_before=9, now=T0 + timedelta(days=i))
    data = json.loads(run_unknot("history", "--json").stdout)
    assert data["doctor"] == [{"key": "high-pain", "message": HIGH_PAIN_MESSAGE}]
    with History() as h:
        assert not h.notice_shown("high-pain")  # JSON is for programs: it marks nothing as shown
    done = run_unknot("history")
    assert done.returncode == 0, done.stderr
    assert " ".join(done.stdout.split()).endswith(HIGH_PAIN_MESSAGE)
    assert "`unknot safety`" in done.stdout  # never split over two lines
    with History() as h:
        assert h.notice_shown("high-pain") and not h.notice_shown("long-pain")


def test_weeks_of_pain_bring_the_long_pain_message() -> None:
    now = datetime.now(UTC)
    with History() as h:
        for days in (20, 9, 1):
            h.start("cat-cow", "Cat and cow", steps=4, pain_before=4, now=now - timedelta(days=days))
    done = run_unknot("history")
    assert done.returncode == 0, done.stderr
    assert " ".join(done.stdout.split()).endswith(LONG_PAIN_MESSAGE)
    assert HIGH_PAIN_MESSAGE.split(".")[0] not in " ".join(done.stdout.split())
    with History() as h:
        assert h.notice_shown("long-pain")


# -- forgetting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["no\n", "y\n", "\n", "", "yes please\n"])
def test_forget_deletes_nothing_without_a_yes(answer: str) -> None:
    write_sessions()
    done = run_unknot("history", "--forget", stdin=answer)
    assert done.returncode == 1
    assert done.stdout == "Nothing deleted.\n"
    assert done.stderr.startswith(
        "Delete all 4 sessions from the history? This cannot be undone. Type yes to confirm: "
    )
    with History() as h:
        assert h.count() == 4


def test_forget_deletes_everything_after_yes() -> None:
    write_sessions()
    with History() as h:
        h.mark_notice("high-pain", now=T0)
    done = run_unknot("history", "--forget", stdin="yes\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Deleted 4 sessions.\n"
    assert "Type yes to confirm" in done.stderr
    with History() as h:
        assert h.sessions() == [] and not h.notice_shown("high-pain")
    assert run_unknot("history").stdout.startswith("No sessions")


def test_forget_with_yes_asks_nothing() -> None:
    write_sessions()
    done = run_unknot("history", "--forget", "--yes", stdin="")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Deleted 4 sessions.\n"
    assert done.stderr == ""
    with History() as h:
        assert h.count() == 0


def test_forget_with_nothing_to_forget_asks_nothing() -> None:
    done = run_unknot("history", "--forget", stdin="")
    assert (done.returncode, done.stdout, done.stderr) == (0, "The history is already empty.\n", "")
    assert not history_path().exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--yes"], "unknot history: --yes goes with --forget"),
        (["--forget", "--csv"], "not allowed with argument"),
        (["--csv", "--json"], "not allowed with argument"),
    ],
)
def test_options_that_do_not_go_together_are_usage_errors(args: list[str], message: str) -> None:
    write_sessions()
    done = run_unknot("history", *args, stdin="yes\n")
    assert done.returncode == 2
    assert message in done.stderr
    with History() as h:
        assert h.count() == 4


# -- export -------------------------------------------------------------------------------------------


def test_export_writes_the_history_and_a_copy_of_the_routines(tmp_path: Path, user_routines: Path) -> None:
    write_sessions()
    (user_routines / "mine.yaml").write_text("title: Mine\n", encoding="utf-8")
    (user_routines / "more").mkdir()
    (user_routines / "more" / "other.yml").write_text("title: Other\n", encoding="utf-8")
    out = tmp_path / "backup" / "unknot"
    done = run_unknot("export", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"wrote {out / 'history.csv'} (4 sessions)",
        f"wrote {out / 'routines'} (2 files from {user_routines})",
    ]
    data = (out / "history.csv").read_bytes()
    assert data.count(b"\r\n") == 5 and data.endswith(b"\r\n")  # RFC 4180 line ends
    assert data.decode("utf-8") == run_unknot("history", "--csv").stdout.replace("\n", "\r\n")
    assert (out / "routines" / "mine.yaml").read_text(encoding="utf-8") == "title: Mine\n"
    assert (out / "routines" / "more" / "other.yml").read_text(encoding="utf-8") == "title: Other\n"


def test_export_with_no_history_and_no_routines(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_unknot("export", str(out))
    assert done.returncode == 0, done.stderr
    assert csv_rows((out / "history.csv").read_text(encoding="utf-8")) == [HEADER]
    assert list((out / "routines").iterdir()) == []
    assert not history_path().exists()


@pytest.mark.parametrize("existing", ["history.csv", "routines"])
def test_export_never_overwrites(tmp_path: Path, user_routines: Path, existing: str) -> None:
    write_sessions()
    (user_routines / "mine.yaml").write_text("title: Mine\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    if existing == "routines":
        (out / "routines").mkdir()
    else:
        (out / "history.csv").write_text("keep me", encoding="utf-8")
    done = run_unknot("export", str(out))
    assert done.returncode == 1
    assert done.stderr == f"unknot export: {out / existing} already exists; nothing written " \
                          "(export into a new or empty folder)\n"
    assert done.stdout == ""
    assert [p.name for p in out.iterdir()] == [existing]  # nothing else written
    if existing == "history.csv":
        assert (out / "history.csv").read_text(encoding="utf-8") == "keep me"
    else:
        assert list((out / "routines").iterdir()) == []


def test_export_to_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a file"
    target.write_text("x", encoding="utf-8")
    done = run_unknot("export", str(target))
    assert (done.returncode, done.stderr) == (1, f"unknot export: {target} is not a folder\n")


def test_export_into_the_routines_folder_itself_is_refused(user_routines: Path) -> None:
    done = run_unknot("export", str(user_routines / "backup"))
    assert done.returncode == 1
    assert "inside your routines folder" in done.stderr
    assert not (user_routines / "backup").exists()


# -- a damaged or locked database -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["history"], ["history", "--csv"], ["history", "--json"], ["history", "--forget", "--yes"]]
)
def test_a_damaged_database_is_one_plain_line(args: list[str]) -> None:
    path = history_path()
    path.parent.mkdir(parents=True)
    garbage = random.Random(3).randbytes(4096)
    path.write_bytes(garbage)
    done = run_unknot(*args)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"unknot history: {path}: the history database is damaged")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert path.read_bytes() == garbage


def test_export_stops_before_writing_when_the_database_is_damaged(tmp_path: Path) -> None:
    path = history_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    out = tmp_path / "out"
    done = run_unknot("export", str(out))
    assert done.returncode == 1
    assert done.stderr.startswith(f"unknot export: {path}: the history database is damaged")
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_a_locked_database_is_one_plain_line() -> None:
    path = history_path()
    path.parent.mkdir(parents=True)
    other = sqlite3.connect(path, isolation_level=None)  # not yet in WAL mode: the lock stops readers too
    other.execute("CREATE TABLE notes (text TEXT)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        done = run_unknot("history")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert done.returncode == 1
    assert done.stderr.startswith(f"unknot history: {path}: the history database is locked by another program")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_unknot_run_records_its_session_with_the_pain_given(tmp_path: Path) -> None:
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Hello.\n  - pause: 1\n", encoding="utf-8")
    done = run_unknot("run", str(routine), "--tts", "silent", "--pain", "6")
    assert done.returncode == 0, done.stderr
    with History(history_path()) as history:
        (record,) = history.sessions()
    assert (record.title, record.outcome, record.pain_before, record.pain_after) == ("Short", "finished", 6, None)
    assert record.step == record.steps - 1 and record.ended is not None
    assert "Short" in run_unknot("history").stdout


@pytest.mark.parametrize("pain", ["11", "-1", "six"])
def test_unknot_run_refuses_a_pain_outside_0_to_10(tmp_path: Path, pain: str) -> None:
    done = run_unknot("run", "untie-the-knot", "--tts", "silent", "--pain", pain)
    assert done.returncode == 2 and "0 to 10" in done.stderr and "Traceback" not in done.stderr
    assert not history_path().exists()


def test_a_damaged_history_never_stops_unknot_run(tmp_path: Path) -> None:
    history_path().parent.mkdir(parents=True, exist_ok=True)
    history_path().write_bytes(b"this is not a database" * 100)
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Hello.\n  - pause: 1\n", encoding="utf-8")
    done = run_unknot("run", str(routine), "--tts", "silent")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("Finished after")
    said = [line for line in done.stderr.splitlines() if "history database is damaged" in line]
    assert len(said) == 1 and "Traceback" not in done.stderr, done.stderr
