"""The session history on real SQLite files: round trip, migrations, damage, kill -9 and locks."""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO

import pytest

from coach.history import SCHEMA_VERSION, History, HistoryError, Record, history_path, open_history
from tests.conftest import ROOT

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_history_lives_in_the_user_data_folder(user_dirs: Path) -> None:
    assert history_path() == user_dirs / "data" / "unknot" / "history.sqlite3"
    with History() as history:  # creates the missing folder
        history.start("neck", "Neck release", steps=3, now=T0)
    assert history_path().is_file()


def test_a_session_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with History(path) as history:
        sid = history.start("cat-cow", "Cat and cow", steps=6, pain_before=7, now=T0)
        history.progress(sid, step=2, seconds=41.5)
        history.progress(sid, step=3, seconds=63.0)
        history.finish(sid, "finished", step=5, seconds=180.0, now=T0 + timedelta(minutes=3))
        history.rate_after(sid, 3)
    with History(path) as history:  # read back through a fresh connection: it was committed
        assert history.sessions() == [
            Record(
                id=sid,
                routine="cat-cow",
                title="Cat and cow",
                started=T0,
                ended=T0 + timedelta(minutes=3),
                outcome="finished",
                step=5,
                steps=6,
                seconds=180.0,
                pain_before=7,
                pain_after=3,
            )
        ]


def test_a_started_session_counts_as_interrupted_until_it_finishes(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        sid = history.start("r", "R", steps=4, now=T0)
        history.progress(sid, step=1, seconds=12.0)
        [record] = history.sessions()
        assert (record.outcome, record.step, record.seconds, record.ended) == ("interrupted", 1, 12.0, None)
        history.finish(sid, "stopped", step=2, seconds=30.0, now=T0 + timedelta(seconds=30))
        [record] = history.sessions()
        assert (record.outcome, record.step, record.ended) == ("stopped", 2, T0 + timedelta(seconds=30))


def test_sessions_are_newest_first_and_times_come_back_in_utc(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        middle = history.start("b", "B", steps=1, now=T0)
        # 09:00 in UTC-5 is 14:00 UTC: later than T0, though "09:00" sorts before "09:30" as text.
        newest = history.start("c", "C", steps=1, now=datetime(2025, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))))
        oldest = history.start("a", "A", steps=1, now=T0 - timedelta(days=1))
        records = history.sessions()
    assert [r.id for r in records] == [newest, middle, oldest]
    assert records[0].started == datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
    assert all(r.started.tzinfo == UTC for r in records)


@pytest.mark.parametrize("pain", [-1, 11, 2.5, "3", True])
def test_pain_must_be_a_whole_number_from_0_to_10(tmp_path: Path, pain: object) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        sid = history.start("r", "R", steps=1, now=T0)
        with pytest.raises(ValueError, match="0 to 10"):
            history.rate_after(sid, pain)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="0 to 10"):
            history.start("r", "R", steps=1, pain_before=pain)  # type: ignore[arg-type]
        assert len(history.sessions()) == 1  # the refused start recorded nothing
        assert history.sessions()[0].pain_after is None


def test_pain_from_0_to_10_is_kept(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        low = history.start("r", "R", steps=1, pain_before=0, now=T0)
        high = history.start("r", "R", steps=1, pain_before=10, now=T0 + timedelta(seconds=1))
        history.rate_after(low, 10)
        history.rate_after(high, 0)
        assert [(r.id, r.pain_before, r.pain_after) for r in history.sessions()] == [(high, 10, 0), (low, 0, 10)]
        with pytest.raises(ValueError, match="0 to 10"):
            history.rate_after(low, None)  # type: ignore[arg-type]


def test_finish_takes_only_finished_or_stopped_and_a_known_session(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        sid = history.start("r", "R", steps=1, now=T0)
        with pytest.raises(ValueError, match="finished"):
            history.finish(sid, "interrupted", step=0, seconds=1.0)
        with pytest.raises(ValueError, match="no session 999"):
            history.finish(999, "finished", step=0, seconds=1.0)
        with pytest.raises(ValueError, match="aware"):
            history.start("r", "R", steps=1, now=datetime(2025, 1, 1))


def test_the_connection_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    History(path).close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


# -- migrations and damage ----------------------------------------------------------------------------


def table_names(path: Path) -> list[str]:
    conn = raw(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM sqlite_master ORDER BY name")]
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["empty file", "version 0 with another table"])
def test_a_version_0_database_is_migrated_to_the_current_version(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "h.sqlite3"
    if kind == "empty file":
        path.write_bytes(b"")
    else:
        conn = raw(path)
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
        conn.close()
    assert "sessions" not in table_names(path)
    with History(path) as history:
        assert history.sessions() == []
        history.start("r", "R", steps=2, now=T0)
        assert not history.notice_shown("high-pain")
    assert {"sessions", "sessions_started", "notices"} <= set(table_names(path))
    conn = raw(path)
    if kind != "empty file":
        assert conn.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
    assert conn.execute("PRAGMA user_version").fetchone() == (2,) == (SCHEMA_VERSION,)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
    conn.close()


# The schema as version 1 of Unknot wrote it, copied here so that this stays a real version-1 database
# whatever later migrations do.
VERSION_1 = """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        routine TEXT NOT NULL,
        title TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('finished', 'stopped', 'interrupted')),
        step INTEGER,
        steps INTEGER,
        seconds REAL NOT NULL DEFAULT 0,
        pain_before INTEGER CHECK (pain_before BETWEEN 0 AND 10),
        pain_after INTEGER CHECK (pain_after BETWEEN 0 AND 10)
    );
    CREATE INDEX sessions_started ON sessions (started);
    INSERT INTO sessions VALUES
        (7, 'cat-cow', 'Cat and cow', '2025-03-01T09:30:00.000000+00:00', '2025-03-01T09:33:00.000000+00:00',
         'finished', 5, 6, 180.0, 7, 3);
    PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_migrated_to_version_2_keeping_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    conn = raw(path)
    conn.executescript(VERSION_1)
    conn.close()
    assert "notices" not in table_names(path)
    with History(path) as history:
        assert history.sessions() == [
            Record(7, "cat-cow", "Cat and cow", T0, T0 + timedelta(minutes=3), "finished", 5, 6, 180.0, 7, 3)
        ]
        assert not history.notice_shown("long-pain")
        history.mark_notice("long-pain", now=T0)
        new = history.start("neck", "Neck release", steps=2, now=T0 + timedelta(days=1))
        assert [r.id for r in history.sessions()] == [new, 7]
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    assert conn.execute("SELECT key FROM notices").fetchall() == [("long-pain",)]
    conn.close()


def test_a_version_2_database_opens_without_migrating_again(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History(path) as history:
        history.start("r", "R", steps=1, now=T0)
        history.mark_notice("high-pain", now=T0)
    with History(path) as history:
        assert len(history.sessions()) == 1 and history.notice_shown("high-pain")


# -- notices and forgetting -----------------------------------------------------------------------------


def test_a_notice_is_remembered_once_marked(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History(path) as history:
        assert not history.notice_shown("high-pain")
        history.mark_notice("high-pain", now=T0)
        assert history.notice_shown("high-pain")
        assert not history.notice_shown("long-pain")
        history.mark_notice("high-pain", now=T0 + timedelta(days=2))  # marking again is fine
    with History(path) as history:
        assert history.notice_shown("high-pain")
    conn = raw(path)
    assert conn.execute("SELECT key, shown FROM notices").fetchall() == [
        ("high-pain", "2025-03-03T09:30:00.000000+00:00")  # when it was last shown
    ]
    conn.close()


def test_mark_notice_needs_an_aware_time(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        with pytest.raises(ValueError, match="aware"):
            history.mark_notice("high-pain", now=datetime(2025, 1, 1))
        assert not history.notice_shown("high-pain")
        history.mark_notice("high-pain")  # now
        assert history.notice_shown("high-pain")


def on_disk(path: Path) -> bytes:
    """The bytes of the database and its write-ahead log."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_forget_deletes_every_session_and_notice(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History(path) as history:
        for i in range(3):
            history.start("secret-routine", "A title to forget", steps=1, pain_before=i, now=T0 + timedelta(hours=i))
        history.mark_notice("high-pain", now=T0)
    with History(path) as history:  # the sessions are now in the database file itself, not only in its log
        assert history.count() == 3
        assert b"A title to forget" in path.read_bytes()
        assert history.forget() == 3
        # Overwritten on disk, not just unlinked from the table, and gone from the write-ahead log too.
        assert b"A title to forget" not in on_disk(path)
        assert history.sessions() == [] and history.count() == 0
        assert not history.notice_shown("high-pain")
        assert history.forget() == 0
        history.start("r", "R", steps=1, now=T0)  # and it goes on working
        assert history.count() == 1
    assert b"A title to forget" not in on_disk(path) and b"secret-routine" not in on_disk(path)


def test_forget_under_a_lock_is_a_history_error_and_deletes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History(path) as history:
        history.start("r", "R", steps=1, now=T0)
        history.mark_notice("high-pain", now=T0)
    other = raw(path)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with History(path, busy_timeout=0.2) as history:
            with pytest.raises(HistoryError, match="is locked by another program") as caught:
                history.forget()
            assert str(caught.value).startswith(f"{path}: ")
    finally:
        other.execute("ROLLBACK")
        other.close()
    with History(path) as history:
        assert history.count() == 1 and history.notice_shown("high-pain")


def test_count_works_when_a_row_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History(path) as history:
        history.start("r", "R", steps=1, now=T0)
    conn = raw(path)
    conn.execute("UPDATE sessions SET started = 'not a time'")
    conn.close()
    with History(path) as history:
        with pytest.raises(HistoryError, match="is damaged"):
            history.sessions()
        assert history.count() == 1
        assert history.forget() == 1  # so a damaged history can still be cleared


def test_a_database_from_a_newer_unknot_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    conn = raw(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(HistoryError, match="newer Unknot") as caught:
        History(path)
    assert str(path) in str(caught.value)
    assert table_names(path) == []
    history, reason = open_history(path)
    assert history is None and reason is not None and "newer Unknot" in reason


def test_a_file_of_random_bytes_is_reported_as_damaged_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    garbage = random.Random(7).randbytes(8192)
    path.write_bytes(garbage)
    with pytest.raises(HistoryError) as caught:
        History(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: the history database is damaged")
    assert "\n" not in message
    history, reason = open_history(path)
    assert history is None
    assert reason == message
    assert path.read_bytes() == garbage  # never overwritten


def test_a_folder_that_cannot_be_made_is_a_history_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    history, reason = open_history(blocker / "history.sqlite3")
    assert history is None
    assert reason is not None and reason.startswith(f"{blocker / 'history.sqlite3'}: ")
    assert "\n" not in reason


def test_open_history_gives_a_working_history_when_all_is_well(tmp_path: Path) -> None:
    history, reason = open_history(tmp_path / "h.sqlite3")
    assert reason is None and history is not None
    with history:
        history.start("r", "R", steps=1)
        assert len(history.sessions()) == 1


# -- kill -9 and locks --------------------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path
from coach.history import History

history = History(Path(sys.argv[1]))
sid = history.start("spine", "Spine unwind", steps=9)
history.progress(sid, step=4, seconds=50.0)
print("started", flush=True)
seconds = 50.0
while True:  # write as fast as possible, so the kill lands mid-write
    seconds += 0.001
    history.progress(sid, step=4, seconds=seconds)
"""


def read_line(stream: IO[str], timeout: float) -> str:
    """One line from a child's stdout, or "" after `timeout` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_session_killed_with_sigkill_stays_recorded_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert read_line(child.stdout, timeout=30) == "started\n"
        time.sleep(0.3)  # let it spin in the write loop
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()

    assert path.with_name(path.name + "-wal").exists()  # killed before it could tidy up
    with History(path) as history:
        [record] = history.sessions()
    assert (record.routine, record.outcome, record.step, record.steps, record.ended) == (
        "spine",
        "interrupted",
        4,
        9,
        None,
    )
    assert record.seconds > 50.0  # the loop's writes up to the kill are there
    conn = raw(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


def test_a_locked_database_is_a_quick_history_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    History(path).close()
    other = raw(path)
    other.execute("BEGIN EXCLUSIVE")
    try:
        began = time.monotonic()
        with History(path, busy_timeout=0.2) as history:  # WAL: reading still works
            assert history.sessions() == []
            with pytest.raises(HistoryError, match="is locked by another program") as caught:
                history.start("r", "R", steps=1)
        assert time.monotonic() - began < 3
        assert str(caught.value).startswith(f"{path}: ")
    finally:
        other.execute("ROLLBACK")
        other.close()
    with History(path) as history:  # and once the lock is gone, all is well
        history.start("r", "R", steps=1)
        assert len(history.sessions()) == 1


def test_a_database_locked_before_it_is_opened_gives_a_reason_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    other = raw(path)  # a rollback-journal database, never opened by Unknot: the lock also stops readers
    other.execute("CREATE TABLE notes (text TEXT)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        began = time.monotonic()
        with pytest.raises(HistoryError, match="is locked by another program"):
            History(path, busy_timeout=0.2)
        assert time.monotonic() - began < 3
    finally:
        other.execute("ROLLBACK")
        other.close()
