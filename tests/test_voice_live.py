"""End to end: `unknot run --voice` with a real PulseAudio server whose null sink is both the speaker
and, through its monitor, the microphone. The coach hears itself, so it must not obey itself."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import UNKNOT
from tests.pulse import PulseServer, start_pulse
from tests.test_voice import room, say, write

ROUTINE = """\
title: Voice check
steps:
  - say: Don't stop. Next, bring your knee up, then pause and breathe.
  - pause: 1.5
  - say: Again.
  - pause: 14
  - say: Second step.
  - pause: 30
"""


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    server = start_pulse(tmp_path_factory.mktemp("pulse"))
    server.null_sink("room", microphone=True)
    yield server
    server.stop()


class Lines:
    """A child's stdout, each line with the monotonic time it arrived."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        assert process.stdout is not None
        self._stdout = process.stdout
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for at, line in list(self.lines):
                if text in line:
                    return at
            time.sleep(0.01)
        raise AssertionError(f"no line with {text!r} in {timeout} s; got {[line for _, line in self.lines]}")

    def text(self) -> list[str]:
        return [line for _, line in self.lines]


def room_env(pulse: PulseServer) -> dict[str, str]:
    """This test's environment, with the private server as the speaker and the microphone."""
    return {**os.environ, **pulse.client_env()}


def ctrl_c_as_at_a_terminal() -> None:
    """In the child: SIGINT as a terminal gives it. A shell's background job ignores SIGINT, its children
    inherit that, and Python then never raises KeyboardInterrupt: the Ctrl-C tests failed so."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def unknot(*args: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """`unknot ARGS` with its stdout read line by line; killed if the test leaves it running."""
    process = subprocess.Popen([str(UNKNOT), *args], env=env, text=True, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        yield process, Lines(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def play(path: Path, env: dict[str, str]) -> float:
    """Plays into the room; returns when the last sample has been played."""
    subprocess.run(["paplay", str(path)], env=env, check=True, timeout=20)
    return time.monotonic()


def test_a_spoken_next_moves_on_and_nothing_else_does(pulse: PulseServer, tmp_path: Path) -> None:
    routine = tmp_path / "voice.yaml"
    routine.write_text(ROUTINE)
    env = room_env(pulse)
    sentence = write(tmp_path / "sentence.wav", room(0.3, say("my back feels a little better today", 150, "en-gb"),
                                                     0.3, seed=1))
    spoken_next = write(tmp_path / "next.wav", room(0.3, say("next", 150, "en-gb"), 0.2, seed=2))
    spoken_stop = write(tmp_path / "stop.wav", room(0.3, say("stop", 150, "en-gb"), 0.2, seed=3))
    tail = 0.2  # seconds of room after each word

    with unknot("run", str(routine), "--voice", env=env) as (process, lines):
        # The coach says "stop", "next" and "pause" in a sentence, then "Again." alone, and hears it all.
        quiet = lines.wait_for("[4/6]", timeout=60)
        time.sleep(max(0.0, quiet + 1.0 - time.monotonic()))
        play(sentence, env)
        time.sleep(1.5)
        assert not [line for line in lines.text() if line.startswith(("heard:", "[5/6]", "paused"))], lines.text()

        ended = play(spoken_next, env) - tail
        moved = lines.wait_for("[5/6]", timeout=5)
        assert moved - ended < 1.0, f"moved {moved - ended:.2f} s after the word ended"
        assert "heard: next" in lines.text()

        time.sleep(3.0)  # "Second step." has been said and its tail has passed
        play(spoken_stop, env)
        assert process.wait(timeout=10) == 0
    stderr = process.stderr.read() if process.stderr else ""
    assert "Traceback" not in stderr and "no voice commands" not in stderr, stderr
    heard = [line for line in lines.text() if line.startswith("heard:")]
    assert heard == ["heard: next", "heard: stop"]
    assert lines.text()[-1].startswith("Stopped after")


LONG_SAY = """\
title: Long say
steps:
  - say: Lie on your back and let the floor take your weight. Breathe in slowly through your nose. Stop. \
      Quit. Now breathe out through your mouth, and let your shoulders soften a little more with every \
      breath, as if a knot were loosening one loop at a time. Let your knees fall gently to one side, keep \
      both shoulders on the floor, and stay there for a few slow breaths before you bring them back.
  - pause: 20
"""


def test_a_spoken_stop_is_obeyed_while_the_coach_speaks_and_its_own_stop_is_not(pulse: PulseServer,
                                                                                 tmp_path: Path) -> None:
    # The coach's "Stop. Quit." mid-sentence reaches the microphone too; the echo canceller takes it out.
    # Over the coach a "stop" is heard less surely than in quiet (scripts/bench_bargein_live.py: 36% of
    # words in many voices), so, like a person, the test says it again if it has to: up to six times,
    # all within the coach's say.
    routine = tmp_path / "long.yaml"
    routine.write_text(LONG_SAY)
    env = dict(room_env(pulse), UNKNOT_DEBUG_VOICE="1")  # a failure then shows what was heard
    spoken_stop = write(tmp_path / "stop.wav", room(0.2, say("stop", 150, "en-gb"), 0.2, seed=3))
    with unknot("run", str(routine), "--voice", "--stop-over-speech", env=env) as (process, lines):
        began = lines.wait_for("[1/2]", timeout=60)
        time.sleep(max(0.0, began + 8.0 - time.monotonic()))  # past the coach's own "Stop. Quit."
        if process.poll() is not None:
            raise AssertionError(f"it obeyed itself: {lines.text()}\n{process.communicate()[1]}")
        for _ in range(6):
            ended = play(spoken_stop, env) - 0.2
            try:
                code = process.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            process.kill()
            raise AssertionError(f"not stopped: {lines.text()}\n{process.communicate()[1]}")
        stopped = lines.wait_for("Stopped after", timeout=5)
    assert code == 0
    assert stopped - ended < 1.0, f"stopped {stopped - ended:.2f} s after the word ended"
    assert [line for line in lines.text() if line.startswith("heard:")] == ["heard: stop"]
    assert "[2/2]" not in "\n".join(lines.text())  # it was still the coach's long sentence


def test_with_no_sound_server_a_voice_session_says_so_once_and_goes_on(tmp_path: Path) -> None:
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Hello.\n  - pause: 2\n")
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path / 'nobody'}")
    done = subprocess.run([str(UNKNOT), "run", str(routine), "--voice"], env=env, text=True, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0, done.stderr
    notices = done.stderr.splitlines()
    assert len(notices) == 2, notices
    assert notices[0].startswith("unknot: no sound: ")
    assert notices[1].startswith("unknot: no voice commands: ") and notices[1].endswith("carrying on with keys")
    assert done.stdout.splitlines()[-1].startswith("Finished after 0:0")


def test_with_no_recognizer_installed_a_voice_session_says_so_once_and_goes_on(tmp_path: Path) -> None:
    # A module of that name ahead of site-packages that fails to import, as a missing wheel does.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pocketsphinx.py").write_text("raise ImportError('No module named pocketsphinx')\n")
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Hello.\n  - pause: 1\n")
    env = dict(os.environ, PYTHONPATH=str(shadow), PULSE_SERVER=f"unix:{tmp_path / 'nobody'}")
    done = subprocess.run([str(UNKNOT), "run", str(routine), "--voice", "--no-voice"], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0, done.stderr
    notices = [line for line in done.stderr.splitlines() if "voice commands" in line]
    assert notices == ["unknot: no voice commands: the speech recognizer is not installed"
                       " (No module named pocketsphinx); carrying on with keys"], done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines()[-1].startswith("Finished after 0:0")

    clip = write(tmp_path / "next.wav", room(0.3, say("next", 150, "en-gb"), 0.2, seed=2))
    done = subprocess.run([str(UNKNOT), "listen", "--file", str(clip)], env=env, text=True, capture_output=True,
                          timeout=60)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    assert done.stderr == "unknot listen: the speech recognizer is not installed (No module named pocketsphinx)\n"


def test_listen_prints_what_it_hears_live_and_ctrl_c_ends_it(pulse: PulseServer, tmp_path: Path) -> None:
    env = room_env(pulse)
    spoken = write(tmp_path / "pause.wav", room(0.3, say("pause", 150, "en-gb"), 0.3, seed=4))
    with unknot("listen", env=env) as (process, lines):
        time.sleep(2.0)  # the recognizer loads
        play(spoken, env)
        lines.wait_for("\tpause\t(pause)", timeout=5)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    stderr = process.stderr.read() if process.stderr else ""
    assert stderr.startswith("unknot: listening on ") and "Traceback" not in stderr, stderr


def test_ctrl_c_ends_a_voice_session_cleanly_and_its_workers_with_it(pulse: PulseServer, tmp_path: Path) -> None:
    # Ctrl-C signals the whole process group: the app, its speech worker and its decoder's worker.
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Hello there.\n  - pause: 20\n")
    process = subprocess.Popen([str(UNKNOT), "run", str(routine), "--voice"], env=room_env(pulse), text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        lines = Lines(process)
        lines.wait_for("[2/2]", timeout=60)
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
    lines.wait_for("Stopped after", timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 0)
        time.sleep(3.0)  # the workers end when their stdin closes, killed after 2 s at most
        os.killpg(process.pid, 0)
        raise AssertionError("a worker outlived the session")


def test_unknot_enrol_asks_aloud_hears_each_answer_and_never_its_own_prompts(pulse: PulseServer,
                                                                             tmp_path: Path) -> None:
    """The coach says each prompt into the room its microphone hears; the test answers after each."""
    import re

    from coach.enrol import prompts, voice_print_path

    env = room_env(pulse)
    answers = {p.text: write(tmp_path / f"{i}.wav", room(0.2, say(p.text, 160, "en-gb"), 0.2, seed=i))
               for i, p in enumerate(prompts())}
    asked: list[str] = []
    with unknot("enrol", env=env) as (process, lines):
        while process.poll() is None and len(asked) < 40:
            waiting = len(asked)
            end = time.monotonic() + 60
            while len([line for line in lines.text() if line.startswith("[")]) == waiting:
                if process.poll() is not None or time.monotonic() > end:
                    break
                time.sleep(0.05)
            prompt_lines = [line for line in lines.text() if line.startswith("[")]
            if len(prompt_lines) == waiting:
                break
            asked.append(prompt_lines[-1])
            said = re.search(r"(?:Say|Once more): (.*)\.$", asked[-1])
            assert said is not None, asked[-1]
            time.sleep(1.0 + 0.07 * len(asked[-1]))  # the coach's prompt has been said, and its tail has passed
            play(answers[said.group(1)], env)
        assert process.wait(timeout=30) == 0, (lines.text(), process.stderr.read() if process.stderr else "")
    stderr = process.stderr.read() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
    # Each prompt asked once: neither a prompt of its own nor silence was taken as an answer.
    assert [re.sub(r"^\[\d+/24\] ", "", line) for line in asked] == [f"Say: {p.text}." for p in prompts()]
    saved = [line for line in lines.text() if line.startswith("Saved your voice print")]
    assert saved and voice_print_path().exists()
    heard = re.search(r"Before it, (\d+) of your 24", saved[0])
    assert heard is not None and int(heard.group(1)) >= 18, saved  # its own words, not the coach's
    with unknot("listen", env=env) as (listening, _):
        time.sleep(2.0)  # the recognizer loads
        listening.send_signal(signal.SIGINT)
        assert listening.wait(timeout=10) == 0
    notice = listening.stderr.read() if listening.stderr else ""
    assert f"with your voice print of {time.strftime('%Y-%m-%d')}" in notice, notice
