"""Unknot's engine: routines, plans, speech, sound, sessions. Knows nothing of Textual."""

__version__ = "0.1.0"
