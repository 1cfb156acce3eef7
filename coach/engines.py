"""The speech engine names, apart from coach.speech so the command line can name them without numpy."""

ENGINES: tuple[str, ...] = ("pyttsx3", "espeak", "piper", "silent")
