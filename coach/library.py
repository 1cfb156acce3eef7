"""The routines a user can pick: built-in, the user's own folder, and any extra folders.

Later sources replace earlier ones by id (a user's copy of a built-in wins). Invalid files stay in
the list with their problems; they are never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from coach.model import Routine
from coach.routines import Problem, RoutineError, iter_routine_files, load_file

BUILT_IN = "built-in"
USER = "user"


def content_dir() -> Path:
    """The built-in content: inside the installed package, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "content", here.parent / "content"):
        if (candidate / "routines").is_dir():
            return candidate
    return here / "content"


def user_routines_dir() -> Path:
    return platformdirs.user_data_path("unknot") / "routines"


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    source: str
    routine: Routine | None
    problems: tuple[Problem, ...] = ()
    replaces: Entry | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        return self.routine is not None and not self.problems


@dataclass
class Library:
    entries: list[Entry]  # the routines to offer, one per id, plus every invalid file

    def find(self, routine_id: str) -> Entry | None:
        for entry in self.entries:
            if entry.id == routine_id and entry.valid:
                return entry
        for entry in self.entries:
            if entry.id == routine_id:
                return entry
        return None

    @property
    def valid(self) -> list[Entry]:
        return [e for e in self.entries if e.valid]


def read_folder(folder: Path, source: str) -> list[Entry]:
    entries: list[Entry] = []
    for path in iter_routine_files(folder):
        try:
            routine = load_file(path)
        except RoutineError as error:
            entries.append(Entry(path.stem, path, source, None, tuple(error.problems)))
        else:
            entries.append(Entry(routine.id, path, source, routine))
    by_id: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.valid:
            by_id.setdefault(entry.id, []).append(entry)
    clashes = {e.path: group for group in by_id.values() if len(group) > 1 for e in group}
    out = []
    for entry in entries:
        if entry.path in clashes:
            others = ", ".join(str(o.path) for o in clashes[entry.path] if o.path != entry.path)
            problem = Problem(str(entry.path), 1, 1, "id", f"the id '{entry.id}' is also used by {others}")
            entry = Entry(entry.id, entry.path, source, entry.routine, (problem,))
        out.append(entry)
    return out


def load_library(extra: Iterable[Path] = (), include_user: bool = True) -> Library:
    """Read every source. Never raises for a bad file: it becomes an entry with problems."""
    sources: list[tuple[Path, str]] = [(content_dir() / "routines", BUILT_IN)]
    if include_user:
        sources.append((user_routines_dir(), USER))
    sources.extend((Path(folder), str(folder)) for folder in extra)
    active: dict[str, Entry] = {}
    invalid: list[Entry] = []
    for folder, source in sources:
        if not folder.is_dir():
            continue
        for entry in read_folder(folder, source):
            if not entry.valid:
                invalid.append(entry)
                continue
            replaced = active.pop(entry.id, None)
            active[entry.id] = Entry(entry.id, entry.path, source, entry.routine, replaces=replaced)
    return Library(list(active.values()) + invalid)
