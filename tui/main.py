"""The `unknot` command: the app when started alone on a terminal, otherwise coach's CLI.

Kept apart from coach so the engine never names the UI, and light so `unknot run` never loads Textual.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["app"] or (not args and sys.stdin.isatty() and sys.stdout.isatty()):
        return app(args[1:])
    from coach.cli import main as cli

    return cli(args)


def app(args: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="unknot app", description="open the app (what `unknot` alone does)")
    parser.add_argument("--routines", metavar="DIR", action="append", help="also read routines from DIR")
    options = parser.parse_args(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("unknot app: the app needs a terminal; every command works without one (unknot --help)",
              file=sys.stderr)
        return 2
    from tui.app import run_app

    return run_app([Path(p) for p in options.routines or ()])


if __name__ == "__main__":
    sys.exit(main())
