"""The session history: one SQLite row per session, written as the session goes.

A row is inserted as "interrupted" when a session starts and committed at once, so a session that is
killed (kill -9, power cut) stays recorded with the last step it reached. `finish` corrects the
outcome when the session ends normally. A second table remembers which notices (such as the
see-a-doctor suggestion) have been shown; `forget` empties both.

A damaged, locked or unwritable database never stops a session: every SQLite error becomes a
HistoryError whose message is one plain line naming the file, and `open_history` hands that line to
the front end to say once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

SCHEMA_VERSION = 2
OUTCOMES = ("finished", "stopped", "interrupted")
BUSY_TIMEOUT = 2.0  # seconds to wait for another Unknot's write before calling the database locked

# MIGRATIONS[i] takes a database from version i to i + 1, in one transaction. Append, never edit.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """
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
        )
        """,
        "CREATE INDEX sessions_started ON sessions (started)",
    ),
    (
        # Notices already shown (e.g. the see-a-doctor suggestion), by key, with when they were last shown.
        "CREATE TABLE notices (key TEXT PRIMARY KEY, shown TEXT NOT NULL)",
    ),
]
assert len(MIGRATIONS) == SCHEMA_VERSION

COLUMNS = "id, routine, title, started, ended, outcome, step, steps, seconds, pain_before, pain_after"


def history_path() -> Path:
    return platformdirs.user_data_path("unknot") / "history.sqlite3"


class HistoryError(Exception):
    """The history database cannot be used; the message is one line that names the file."""


@dataclass(frozen=True)
class Record:
    id: int
    routine: str  # routine id
    title: str
    started: datetime  # UTC
    ended: datetime | None
    outcome: str  # "finished", "stopped" or "interrupted"
    step: int | None  # index of the step reached
    steps: int | None  # steps in the plan
    seconds: float  # plan seconds done
    pain_before: int | None
    pain_after: int | None


class History:
    """The history store. Opens (and migrates) the database at once; safe to use from any thread."""

    def __init__(self, path: Path | None = None, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path if path is not None else history_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(self._message(f"cannot create its folder ({_one_line(exc)})")) from None
        try:
            # Autocommit (isolation_level=None): each statement commits by itself unless we BEGIN.
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL survives a killed process; only a power cut can lose the last few commits.
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._error(exc) from None
        except HistoryError:
            self._conn.close()
            raise

    # -- writing ------------------------------------------------------------------------------------

    def start(
        self, routine: str, title: str, steps: int, pain_before: int | None = None, now: datetime | None = None
    ) -> int:
        """Record a session as begun; until `finish`, it counts as interrupted."""
        if pain_before is not None:
            _check_pain(pain_before)
        cursor = self._run(
            "INSERT INTO sessions (routine, title, started, outcome, step, steps, seconds, pain_before)"
            " VALUES (?, ?, ?, 'interrupted', NULL, ?, 0, ?)",
            (routine, title, _stamp(now), steps, pain_before),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def progress(self, session_id: int, step: int, seconds: float) -> None:
        self._update(session_id, "UPDATE sessions SET step = ?, seconds = ? WHERE id = ?", (step, seconds, session_id))

    def finish(
        self, session_id: int, outcome: str, step: int | None, seconds: float, now: datetime | None = None
    ) -> None:
        # "interrupted" is what a session is until it finishes, never something to finish with.
        if outcome not in ("finished", "stopped"):
            raise ValueError(f"outcome must be 'finished' or 'stopped', not {outcome!r}")
        self._update(
            session_id,
            "UPDATE sessions SET outcome = ?, step = ?, seconds = ?, ended = ? WHERE id = ?",
            (outcome, step, seconds, _stamp(now), session_id),
        )

    def rate_after(self, session_id: int, pain: int) -> None:
        _check_pain(pain)
        self._update(session_id, "UPDATE sessions SET pain_after = ? WHERE id = ?", (pain, session_id))

    def mark_notice(self, key: str, now: datetime | None = None) -> None:
        """Remember that the notice `key` has been shown (now: when)."""
        self._run(
            "INSERT INTO notices (key, shown) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET shown = excluded.shown",
            (key, _stamp(now)),
        )

    def forget(self) -> int:
        """Delete every session and notice in one transaction; the number of sessions deleted.

        The deleted rows are overwritten in the file (secure_delete) and the write-ahead log is emptied
        afterwards when no other Unknot is reading, so forgotten sessions do not linger on disk."""
        with self._lock:
            try:
                self._conn.execute("PRAGMA secure_delete = ON")
                with self._transaction():
                    deleted = self._conn.execute("DELETE FROM sessions").rowcount
                    self._conn.execute("DELETE FROM notices")
                # Best effort: with another reader the log stays, and is emptied by a later checkpoint.
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.ProgrammingError:
                raise
            except sqlite3.Error as exc:
                raise self._error(exc) from None
        return deleted

    # -- reading ------------------------------------------------------------------------------------

    def count(self) -> int:
        """How many sessions there are (without reading them, so it works even if a row is damaged)."""
        count = self._run("SELECT count(*) FROM sessions").fetchone()[0]
        assert isinstance(count, int)
        return count

    def notice_shown(self, key: str) -> bool:
        """Whether the notice `key` has been shown (see `mark_notice`)."""
        return self._run("SELECT 1 FROM notices WHERE key = ?", (key,)).fetchone() is not None

    def sessions(self) -> list[Record]:
        """Every session, newest first."""
        rows = self._run(f"SELECT {COLUMNS} FROM sessions ORDER BY started DESC, id DESC").fetchall()
        try:
            return [_record(row) for row in rows]
        except (TypeError, ValueError) as exc:  # a row edited by hand into something unreadable
            raise HistoryError(self._message(f"is damaged ({_one_line(exc)})")) from None

    # -- lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- inside -------------------------------------------------------------------------------------

    def _migrate(self) -> None:
        while True:
            version = self._version()
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    self._message(
                        f"was written by a newer Unknot (schema version {version}, this one knows {SCHEMA_VERSION})"
                    )
                )
            if version == SCHEMA_VERSION:
                return
            with self._transaction():
                # Read again under the write lock: another Unknot may have migrated in the meantime.
                if self._version() == version:
                    for statement in MIGRATIONS[version]:
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {version + 1}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, taking the write lock at once; rolled back on any error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _version(self) -> int:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        assert isinstance(version, int)
        return version

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, args)
            except sqlite3.ProgrammingError:  # our mistake (e.g. used after close), not the file's
                raise
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def _update(self, session_id: int, sql: str, args: tuple[Any, ...]) -> None:
        if self._run(sql, args).rowcount == 0:
            raise ValueError(f"no session {session_id} in {self.path}")

    def _error(self, exc: sqlite3.Error) -> HistoryError:
        name = getattr(exc, "sqlite_errorname", None) or ""  # absent when not raised by SQLite itself
        text = _one_line(exc)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            what = f"is locked by another program ({text})"
        elif name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or not isinstance(exc, sqlite3.OperationalError):
            what = f"is damaged ({text})"
        else:  # unwritable folder or file, full disk, I/O error
            what = f"cannot be used ({text})"
        return HistoryError(self._message(what))

    def _message(self, what: str) -> str:
        return f"{self.path}: the history database {what}; sessions still run, but are not recorded"


def open_history(path: Path | None = None) -> tuple[History | None, str | None]:
    """The history, or None and the one-line reason it cannot be used (say it once and carry on)."""
    try:
        return History(path), None
    except HistoryError as exc:
        return None, str(exc)


def _check_pain(pain: int) -> None:
    if isinstance(pain, bool) or not isinstance(pain, int) or not 0 <= pain <= 10:
        raise ValueError(f"pain must be a whole number from 0 to 10, not {pain!r}")


def _stamp(now: datetime | None) -> str:
    """UTC in one fixed ISO format, so text order is time order."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _record(row: tuple[Any, ...]) -> Record:
    id_, routine, title, started, ended, outcome, step, steps, seconds, pain_before, pain_after = row
    return Record(
        id=id_,
        routine=routine,
        title=title,
        started=_when(started),
        ended=None if ended is None else _when(ended),
        outcome=outcome,
        step=step,
        steps=steps,
        seconds=float(seconds),
        pain_before=pain_before,
        pain_after=pain_after,
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
