"""The breath pacer: a shape that grows through the in-breath, stays through the hold and shrinks
through the out-breath. It has no timer of its own: the session screen hands it the player's status,
read from the same plan and clock that time the sound."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

from coach.session import Status

SMALLEST = 0.18  # the empty lungs: never a vanishing dot, so the eye keeps its place
WORDS = {"inhale": "Breathe in", "hold": "Hold", "exhale": "Breathe out", "rest": "Rest"}


def fullness(phase: str | None, left: float, seconds: float) -> float:
    """How full the breath is, 0 to 1, at `left` seconds before the end of a phase of `seconds`."""
    if phase is None or seconds <= 0:
        return 0.0
    done = min(1.0, max(0.0, 1.0 - left / seconds))
    eased = (1 - math.cos(math.pi * done)) / 2  # breath speeds up and slows down; so does the shape
    if phase == "inhale":
        return eased
    if phase == "hold":
        return 1.0
    if phase == "exhale":
        return 1.0 - eased
    return 0.0


class Pacer(Widget):
    DEFAULT_CSS = """
    Pacer { height: 13; width: 1fr; content-align: center middle; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.phase: str | None = None
        self.left = 0.0
        self.level = 0.0

    def show(self, status: Status) -> None:
        self.phase = status.phase if status.state in ("playing", "paused") else None
        self.left = status.phase_left
        self.level = fullness(status.phase, status.phase_left, status.phase_seconds)
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, max(3, self.size.height - 2)
        out = Text()
        if self.phase is None:
            out.append("\n" * (height // 2) + "·".center(width), style="dim")
            return out
        radius = SMALLEST + (1 - SMALLEST) * self.level
        # Terminal cells are about twice as tall as wide: halve the horizontal step.
        rx, ry = radius * min(width / 2 - 1, height), radius * (height / 2)
        cy = (height - 1) / 2
        cx = (width - 1) / 2
        style = {"inhale": "bold cyan", "hold": "bold blue", "exhale": "bold green", "rest": "dim"}[self.phase]
        for row in range(height):
            dy = (row - cy) / max(ry, 0.5)
            line = "".join("█" if dy * dy + ((col - cx) / max(rx * 2, 1.0)) ** 2 <= 1 else " " for col in range(width))
            out.append(line + "\n", style=style)
        label = f"{WORDS.get(self.phase, self.phase)}  {math.ceil(self.left - 1e-6)}"
        out.append("\n" + label.center(width), style="bold")
        return out
