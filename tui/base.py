"""What every screen of the app shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from tui.app import UnknotApp


class AppScreen(Screen[None]):
    @property
    def unknot(self) -> UnknotApp:
        """The app, with its settings, history and clock."""
        return self.app  # type: ignore[return-value]
