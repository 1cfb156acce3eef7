"""The engine stays free of the UI: coach never imports textual or tui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

COACH = Path(__file__).resolve().parent.parent / "coach"


def test_no_module_in_coach_names_textual_or_tui() -> None:
    offenders = []
    for path in COACH.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("textual", "tui")]
    assert offenders == []


def test_importing_every_coach_module_loads_no_textual() -> None:
    modules = sorted(f"coach.{p.stem}" for p in COACH.glob("*.py") if p.stem != "__main__")
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert len(modules) > 5
