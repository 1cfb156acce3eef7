"""User settings: defaults, round trip, a problem line per bad value, and saving loses nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coach.settings import (
    PACE_RANGE,
    RATE_RANGE,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    settings_path,
)

DEFAULTS = Settings()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_live_in_the_user_config_folder(user_dirs: Path) -> None:
    assert settings_path() == user_dirs / "config" / "unknot" / "settings.json"


def test_a_missing_file_gives_the_defaults_and_no_problems() -> None:
    assert not settings_path().exists()
    assert load_settings() == (DEFAULTS, [])
    assert (DEFAULTS.engine, DEFAULTS.rate, DEFAULTS.volume, DEFAULTS.breath_pace) == ("pyttsx3", 150, 1.0, 1.0)
    assert (DEFAULTS.chimes, DEFAULTS.voice_commands, DEFAULTS.words) == (True, False, {})
    assert not DEFAULTS.stop_over_speech  # it can mistake what is left of the coach's voice for "stop"


def test_save_then_load_round_trips() -> None:
    settings = Settings(
        engine="piper",
        voice="en_GB-alba",
        rate=RATE_RANGE[0],
        volume=0.25,
        breath_pace=PACE_RANGE[1],
        chimes=False,
        voice_commands=True,
        stop_over_speech=True,
        words={"next": ("next", "onward"), "stop": ("enough",)},
        microphone="USB headset",
    )
    save_settings(settings)  # creates the config folder
    assert load_settings() == (settings, [])
    saved = settings_path().read_text(encoding="utf-8")
    assert json.loads(saved)["words"] == {"next": ["next", "onward"], "stop": ["enough"]}
    assert list(json.loads(saved)) == sorted(json.loads(saved))  # sorted keys
    assert saved.startswith("{\n  ")  # pretty, for people to edit
    assert [p.name for p in settings_path().parent.iterdir()] == ["settings.json"]  # no temp file left behind


def test_with_changes_one_value_and_checks_it() -> None:
    changed = DEFAULTS.with_(rate=200, words={"pause": ["hold on"]})
    assert changed == Settings(rate=200, words={"pause": ("hold on",)})
    assert DEFAULTS.rate == 150
    with pytest.raises(ValueError, match="rate must be a whole number from 80 to 300"):
        DEFAULTS.with_(rate=301)
    with pytest.raises(ValueError, match="breath_pace"):
        Settings(breath_pace=0.4)


# Each bad value, written on line 3 after two good ones, indented 2 spaces.
BAD = [
    ("rate", 79),
    ("rate", 301),
    ("rate", 150.5),
    ("rate", "fast"),
    ("rate", True),
    ("breath_pace", 0.49),
    ("breath_pace", 1.51),
    ("breath_pace", None),
    ("volume", -0.1),
    ("volume", 1.01),
    ("volume", "loud"),
    ("chimes", "yes"),
    ("chimes", 1),
    ("voice_commands", None),
    ("stop_over_speech", "on"),
    ("engine", "nonesuch"),
    ("engine", 3),
    ("voice", 42),
    ("microphone", ""),
    ("words", ["next"]),
]


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_a_bad_value_is_a_problem_at_its_key_and_gets_its_default_only(key: str, value: Any) -> None:
    good = {"chimes": False, "rate": 222} if key not in ("chimes", "rate") else {"volume": 0.5, "voice": "Kate"}
    lines = [f'  "{k}": {json.dumps(v)},' for k, v in good.items()] + [f'  "{key}": {json.dumps(value)}']
    path = write(settings_path(), "{\n" + "\n".join(lines) + "\n}\n")
    settings, problems = load_settings()
    assert settings == Settings(**good)  # the good values kept, the bad one at its default
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:4:3: {key} must be ")
    assert f"not {json.dumps(value)}; using {json.dumps(getattr(DEFAULTS, key))}" in problems[0]


def test_each_bad_word_list_falls_back_alone() -> None:
    path = write(
        settings_path(),
        '{\n  "words": {\n    "next": ["next", "onward"],\n    "back": [],\n    "jump": ["hop"]\n  }\n}\n',
    )
    settings, problems = load_settings()
    assert settings.words == {"next": ("next", "onward")}
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:4:5", f"{path}:5:5"]
    assert "words.back must be a list of one or more words" in problems[0]
    assert "unknown command 'jump'" in problems[1]


def test_several_bad_values_are_each_reported() -> None:
    path = write(settings_path(), '{"rate": 5, "volume": 0.3,\n "breath_pace": 9}')
    settings, problems = load_settings()
    assert settings == Settings(volume=0.3)
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:1:2", f"{path}:2:2"]


def test_invalid_json_is_a_problem_at_its_line_and_column() -> None:
    path = write(settings_path(), '{\n  "rate": 120,\n  "volume": 0.5\n  "chimes": false\n}\n')
    settings, problems = load_settings()
    assert settings == DEFAULTS
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:4:3: is not valid JSON (Expecting ',' delimiter)")


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"[1, 2]", "must be a JSON object"), (b'{"voice": "\xff"}', "not UTF-8"), (b"", "not valid JSON")],
)
def test_a_file_that_is_not_settings_is_a_problem_at_1_1(content: bytes, what: str) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    settings, problems = load_settings()
    assert settings == DEFAULTS
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:1:1: ")
    assert what in problems[0]


def test_an_unreadable_file_is_a_problem_not_an_exception() -> None:
    settings_path().mkdir(parents=True)  # a folder where the file should be
    settings, problems = load_settings()
    assert settings == DEFAULTS
    assert len(problems) == 1
    assert problems[0].startswith(f"{settings_path()}:1:1: cannot be read")


def test_strict_loading_raises_with_the_problems() -> None:
    path = write(settings_path(), '{"rate": 5}')
    with pytest.raises(SettingsError) as caught:
        load_settings(strict=True)
    assert caught.value.problems == load_settings()[1]
    assert caught.value.problems[0].startswith(f"{path}:1:2: rate")
    save_settings(DEFAULTS)
    assert load_settings(strict=True) == (DEFAULTS, [])


def test_saving_over_invalid_json_keeps_the_original_as_bad() -> None:
    original = '{\n  "rate": 120,\n  "volume": 0.5\n  "chimes": false\n}\n'
    path = write(settings_path(), original)
    settings, problems = load_settings()
    assert problems
    save_settings(settings.with_(rate=180))
    assert path.with_name("settings.json.bad").read_text(encoding="utf-8") == original
    assert load_settings() == (Settings(rate=180), [])


def test_saving_over_good_json_makes_no_bad_copy() -> None:
    save_settings(DEFAULTS)
    save_settings(DEFAULTS.with_(chimes=False))
    assert not settings_path().with_name("settings.json.bad").exists()
    assert load_settings()[0].chimes is False


def test_unknown_keys_are_reported_and_survive_a_save() -> None:
    path = write(settings_path(), '{\n  "rate": 170,\n  "theme": {"dark": true},\n  "x": [1, 2]\n}\n')
    settings, problems = load_settings()
    assert settings == Settings(rate=170)
    assert problems == [
        f"{path}:3:3: unknown setting 'theme' (kept, but not used)",
        f"{path}:4:3: unknown setting 'x' (kept, but not used)",
    ]
    save_settings(settings.with_(volume=0.7))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["theme"] == {"dark": True} and data["x"] == [1, 2]
    assert data["rate"] == 170 and data["volume"] == 0.7
    assert load_settings()[0] == Settings(rate=170, volume=0.7)


def test_a_bad_known_value_is_replaced_on_save_but_unknown_ones_stay() -> None:
    path = write(settings_path(), '{"rate": 999, "future": "on"}')
    settings, _ = load_settings()
    save_settings(settings)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["rate"], data["future"]) == (150, "on")
