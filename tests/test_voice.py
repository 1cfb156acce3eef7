"""Voice commands with the real recognizer: espeak-ng speech, pocketsphinx decoding, `unknot listen`."""

from __future__ import annotations

import io
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from coach import classifier, voice
from coach.voice import (
    RATE,
    Listener,
    NotInstalled,
    Recognizer,
    RecognizerProcess,
    VoiceError,
    listen_file,
    parse_words,
    to_pcm16k,
)
from tests.conftest import run_unknot

COMMAND_CLIPS = {"pause": "pause", "stop": "stop", "repeat": "repeat", "resume": "resume", "previous": "back",
                 "again": "repeat"}
NOT_COMMANDS = ["don't stop breathing", "next, bring your knee up", "please find a comfortable position"]
# The trainer reads none of these (test_corpus checks): they test what it learnt from other sentences.
COMMA_SENTENCES = ["next, bring your knee up", "stop, then breathe out slowly", "wait, I need a minute",
                   "again, a little slower", "pause, not yet"]


def say(text: str, rate: int = 150, voice_name: str = "en-us") -> np.ndarray:
    """espeak-ng speech at 16 kHz, as float samples, from its first sound to its last."""
    done = subprocess.run(["espeak-ng", "-v", voice_name, "-s", str(rate), "--stdout", text],
                          capture_output=True, check=True)
    with wave.open(io.BytesIO(done.stdout)) as handle:
        pcm = to_pcm16k(handle.readframes(handle.getnframes()), handle.getframerate(), handle.getnchannels())
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 100)
    return samples[loud[0] : loud[-1] + 1]  # without espeak's own silence, so pauses are what a test says


def room(*parts: np.ndarray | float, seed: int = 0) -> np.ndarray:
    """Speech and pauses (seconds) in a quiet room: faint noise, never digital silence."""
    pieces = [np.zeros(round(p * RATE), np.float32) if isinstance(p, float) else p for p in parts]
    out = np.concatenate(pieces)
    return out + np.random.default_rng(seed).normal(0, 30, len(out)).astype(np.float32)


def write(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    if rate != RATE:
        import soxr

        samples = soxr.resample(samples, RATE, rate)
    data = np.clip(np.round(samples), -32768, 32767).astype("<i2")
    if channels > 1:
        data = np.repeat(data[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(data.tobytes())
    return path


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for text in [*COMMAND_CLIPS, *NOT_COMMANDS]:
        made[text] = write(folder / (text.replace(" ", "_").replace(",", "").replace("'", "") + ".wav"),
                           room(0.6, say(text), 0.8))
    return made


# -- words --------------------------------------------------------------------------------------------

def test_default_words_cover_every_command() -> None:
    assert set(parse_words([])) == set(voice.COMMANDS)
    assert parse_words([])["next"] == ("next", "skip")


def test_words_can_be_replaced_per_command() -> None:
    words = parse_words(["next=onward, forward", "STOP=halt"])
    assert words["next"] == ("onward", "forward")
    assert words["stop"] == ("halt",)
    assert words["pause"] == ("pause", "wait")


@pytest.mark.parametrize(("spec", "message"), [
    ("next", "expected COMMAND=WORD"),
    ("jump=hop", "expected COMMAND=WORD"),
    ("next=", "no words for next"),
    ("next=stop", "given to both"),
])
def test_bad_word_settings_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(VoiceError, match=message):
        parse_words([spec])


def test_a_word_the_recognizer_cannot_know_is_an_error_at_start_up() -> None:
    with pytest.raises(VoiceError, match="'zzxq'"):
        Recognizer(parse_words(["pause=zzxq"]))
    done = run_unknot("listen", "--words", "pause=zzxq", "--file", "nothing.wav")
    assert done.returncode == 2
    assert "the recognizer does not know 'zzxq'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("spec", "message"), [("pause=zzxq", "the recognizer does not know 'zzxq'"),
                                                ("jump=hop", "expected COMMAND=WORD")])
def test_run_with_bad_words_is_a_usage_error_and_no_session(tmp_path: Path, spec: str, message: str) -> None:
    routine = tmp_path / "short.yaml"
    routine.write_text("title: Short\nsteps:\n  - say: Hello.\n")
    done = run_unknot("run", str(routine), "--voice", "--no-voice", "--words", spec)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert "Short:" not in done.stdout  # the session never began


def test_the_worker_process_refuses_an_unknown_word_the_same_way() -> None:
    with pytest.raises(VoiceError, match="the recognizer does not know 'zzxq'"):
        RecognizerProcess(parse_words(["pause=zzxq"]))


def test_the_worker_process_decides_every_utterance_as_the_recognizer_does(recognizer: Recognizer) -> None:
    texts = ["next", "stop", "pause it now", "my back feels a little better", "again"]
    utterances = [room(0.1, say(text, 160), 0.1).astype("<i2").tobytes() for text in texts]
    rooms = [None, 40.0, 70.0, 70.0, None]  # how loud the room was, in dB: 70 is noise nearly as loud as the words
    worker = RecognizerProcess()
    try:
        assert worker.command_of == recognizer.command_of
        assert ([worker.decide(pcm, level) for pcm, level in zip(utterances, rooms, strict=True)]
                == [recognizer.decide(pcm, level) for pcm, level in zip(utterances, rooms, strict=True)])
    finally:
        worker.close()
    with pytest.raises(VoiceError, match="stopped"):
        worker.decide(utterances[0])


# -- decisions ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("word", sorted(COMMAND_CLIPS))
def test_a_spoken_command_word_is_heard_as_its_command(recognizer: Recognizer, clips: dict[str, Path],
                                                      word: str) -> None:
    heard = listen_file(Listener(recognizer), clips[word])
    assert [(h.command, h.word) for h in heard] == [(COMMAND_CLIPS[word], word)]
    assert 0.45 < heard[0].start < 0.75  # where the word begins in the clip, after 0.6 s of room


@pytest.mark.parametrize("text", NOT_COMMANDS)
def test_a_sentence_is_not_a_command_even_with_a_command_word_in_it(recognizer: Recognizer,
                                                                    clips: dict[str, Path], text: str) -> None:
    listener = Listener(recognizer)
    assert listen_file(listener, clips[text]) == []
    assert listener.verdicts, "the sentence was never even cut out as an utterance"


def test_a_command_right_after_other_speech_is_the_end_of_a_sentence(recognizer: Recognizer) -> None:
    listener = Listener(recognizer)
    stream = room(0.6, say("now breathe out"), 0.6, say("stop"), 0.8)  # two utterances, 0.6 s apart
    pcm = np.clip(stream, -32768, 32767).astype("<i2").tobytes()
    alone = np.clip(room(0.6, say("stop"), 0.8), -32768, 32767).astype("<i2").tobytes()
    assert [h.command for h in listener.feed(pcm) + listener.flush()] == []
    listener.reset()
    assert [h.command for h in listener.feed(alone) + listener.flush()] == ["stop"]


def test_deafened_audio_is_never_heard(recognizer: Recognizer) -> None:
    listener = Listener(recognizer)
    pcm = np.clip(room(0.6, say("pause"), 0.8), -32768, 32767).astype("<i2").tobytes()
    half = len(pcm) // 2 // 640 * 640
    heard = listener.feed(pcm[:half])
    listener.deafen()  # the coach started speaking in the middle of the word
    heard += listener.feed(pcm[half:]) + listener.flush()
    assert heard == []


class Nods:
    """A recognizer that takes every utterance for "next" (a unit test's stand-in for pocketsphinx)."""

    def decide(self, pcm: bytes, background: float | None = None) -> voice.Verdict:
        return voice.Verdict("next", "next", len(pcm) / 2 / RATE, 1.0, 0.0, "command")


def test_a_long_session_keeps_only_its_last_verdicts_and_a_tally_of_all() -> None:
    listener = Listener(Nods(), suppression=0)  # type: ignore[arg-type]
    times = voice.KEPT_VERDICTS + 30
    word = say("next")
    pcm = np.clip(room(*[part for _ in range(times) for part in (1.5, word)], 1.0), -32768, 32767)
    heard = listener.feed(pcm.astype("<i2").tobytes()) + listener.flush()
    assert len(heard) == times  # every one obeyed, as before
    assert listener.decided == times and listener.reasons == {"command": times}
    assert len(listener.verdicts) == voice.KEPT_VERDICTS
    assert len(listener.since(times - 3)) == 3 and listener.since(times) == []
    assert len(listener.since(0)) == voice.KEPT_VERDICTS  # the older ones are forgotten


def test_one_listener_reads_many_files_and_times_are_per_file(recognizer: Recognizer, tmp_path: Path) -> None:
    first = write(tmp_path / "a.wav", room(1.5, say("pause"), 0.8))
    second = write(tmp_path / "b.wav", room(0.5, say("pause"), 0.8))
    listener = Listener(recognizer)
    starts = [listen_file(listener, p)[0].start for p in (first, second)]
    assert 1.35 < starts[0] < 1.65 and 0.35 < starts[1] < 0.65


# -- unknot listen --file -------------------------------------------------------------------------------

def test_listen_prints_file_seconds_and_command_for_each_command(clips: dict[str, Path], tmp_path: Path) -> None:
    two = write(tmp_path / "two commands.wav", room(0.6, say("pause"), 1.5, say("resume"), 0.8))
    stereo = write(tmp_path / "stereo.wav", room(0.6, say("stop"), 0.8), rate=44100, channels=2)
    files = [str(clips["pause"]), str(clips["don't stop breathing"]), str(two), str(stereo)]
    done = run_unknot("listen", "--file", *files)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [(files[0], "pause"), (files[2], "pause"), (files[2], "resume"),
                                            (files[3], "stop")]
    seconds = [float(r[1]) for r in rows]
    assert 0.45 < seconds[0] < 0.75 and 0.45 < seconds[1] < 0.75 and 2.3 < seconds[2] < 2.9
    assert done.stderr == ""


def test_listen_reports_bad_files_and_goes_on(clips: dict[str, Path], tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    eight = tmp_path / "eight.wav"
    with wave.open(str(eight), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(bytes(8000))
    done = run_unknot("listen", "--file", str(text), str(eight), str(tmp_path / "gone.wav"), str(clips["stop"]))
    assert done.returncode == 1
    assert done.stdout == f"{clips['stop']}\t" + done.stdout.split("\t", 1)[1]
    assert done.stdout.endswith("\tstop\n")
    lines = done.stderr.splitlines()
    assert lines == [
        f"unknot listen: {text}: not a 16-bit PCM WAV file (file does not start with RIFF id)",
        f"unknot listen: {eight}: 8-bit samples; expected 16-bit PCM",
        f"unknot listen: {tmp_path / 'gone.wav'}: no such file",
    ]


def test_flush_after_a_stream_that_ends_on_a_frame_boundary(recognizer: Recognizer) -> None:
    listener = Listener(recognizer)
    pcm = np.clip(room(0.6, say("pause"), 0.8), -32768, 32767).astype("<i2").tobytes()
    whole = len(pcm) // 960 * 960  # 30 ms frames at 16 kHz: nothing is left pending
    heard = listener.feed(pcm[:whole]) + listener.flush()
    assert [h.command for h in heard] == ["pause"]


# -- endpointer ----------------------------------------------------------------------------------------

def utterances(endpointer: voice.Endpointer, samples: np.ndarray) -> list[tuple[float, float, int]]:
    """(start, end, bytes) of each utterance, fed frame by frame, then the end of the stream."""
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    size = endpointer.frame_bytes
    found = []
    for offset in range(0, len(pcm) - size + 1, size):
        if (cut := endpointer.process(pcm[offset : offset + size])) is not None:
            found.append((endpointer.start, endpointer.end, len(cut)))
    if (cut := endpointer.end_stream()) is not None:
        found.append((endpointer.start, endpointer.end, len(cut)))
    return found


@pytest.mark.parametrize(("word", "rate"), [("back", 230), ("skip", 230), ("stop", 190), ("next", 230)])
def test_a_short_word_makes_an_utterance_around_it(word: str, rate: int) -> None:
    spoken = say(word, rate, "en-gb")
    seconds = len(spoken) / RATE
    assert seconds < 0.4  # shorter than the end window
    found = utterances(voice.Endpointer(), room(1.0, spoken, 1.0, seed=5))
    assert len(found) == 1, found
    start, end, size = found[0]
    # The pre-roll and the tail keep a little room either side of the word, and no more.
    assert 0.85 <= start <= 1.0 and 1.0 + seconds <= end <= 1.0 + seconds + 0.2
    assert size == round((end - start) * RATE) * 2


def test_pocketsphinx_s_own_endpointer_misses_those_short_words() -> None:
    # Why coach.voice has its own: this one needs its whole window voiced before it starts.
    import pocketsphinx

    missed = 0
    for word, rate in [("back", 230), ("skip", 230), ("stop", 190), ("next", 230)]:
        endpointer = pocketsphinx.Endpointer(window=voice.ENDPOINT_WINDOW, ratio=voice.ENDPOINT_RATIO, vad_mode=3)
        pcm = np.clip(room(1.0, say(word, rate, "en-gb"), 1.0, seed=5), -32768, 32767).astype("<i2").tobytes()
        size = endpointer.frame_bytes
        voiced = [endpointer.process(pcm[i : i + size]) for i in range(0, len(pcm) - size + 1, size)]
        missed += not any(frame is not None for frame in voiced)
    assert missed >= 2


def test_a_long_utterance_keeps_its_times_but_not_all_its_sound() -> None:
    sentence = say("please find a comfortable position and let your shoulders go heavy, slowly, without hurry")
    found = utterances(voice.Endpointer(), room(0.5, sentence, 1.0))
    assert [round(end - start) for start, end, _ in found] == [round(len(sentence) / RATE)]
    assert found[0][2] <= 2 * voice.MAX_SECONDS * RATE * 2 + 960  # never a command: only the start is kept


@pytest.mark.parametrize("seconds", [0.05, 0.1, 0.2, 0.4])
def test_a_burst_of_noise_is_no_command_nor_a_sentence_a_command_ends(recognizer: Recognizer, seconds: float) -> None:
    # A rustle as the person moves on the floor: loud hiss, a little low-passed.
    burst = np.random.default_rng(6).normal(0, 4000, int(seconds * RATE)).astype(np.float32)
    burst = np.convolve(burst, np.ones(4) / 4, mode="same")
    listener = Listener(recognizer)
    alone = np.clip(room(0.6, burst, 1.0), -32768, 32767).astype("<i2").tobytes()
    assert listener.feed(alone) + listener.flush() == []
    assert {v.reason for v in listener.verdicts} <= {"no voice in it"}
    listener.reset()
    then = np.clip(room(0.6, burst, 0.6, say("stop"), 0.8), -32768, 32767).astype("<i2").tobytes()
    assert [h.command for h in listener.feed(then) + listener.flush()] == ["stop"]


def test_pitched_frames_counts_the_vowel_of_even_the_fastest_word() -> None:
    fast = np.clip(say("stop", 230, "en-gb"), -32768, 32767).astype("<i2").tobytes()
    hiss = np.random.default_rng(7).normal(0, 3000, RATE).astype("<i2").tobytes()
    assert voice.pitched_frames(fast) >= voice.MIN_PITCHED
    assert voice.pitched_frames(hiss) == 0


def rms_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-9))


def test_the_cleaner_takes_steady_noise_out_and_leaves_speech() -> None:
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 300, 3 * RATE).astype(np.float32)
    speech = say("please find a comfortable position")
    clip = np.concatenate([hiss, speech + hiss[: len(speech)]])
    cleaner = voice.Cleaner(voice.NOISE_SUPPRESSION)
    # Fed in odd sizes, as a microphone would; it answers in whole 10 ms frames and keeps the rest.
    pcm = np.clip(clip, -32768, 32767).astype("<i2").tobytes()
    cleaned = b"".join(cleaner.clean(pcm[i : i + 998]) for i in range(0, len(pcm), 998)) + cleaner.flush()
    assert len(cleaned) == len(pcm)
    out = np.frombuffer(cleaned, dtype="<i2").astype(np.float32)
    noise_only = slice(2 * RATE, 3 * RATE)  # after a second to learn the noise
    assert rms_db(out[noise_only]) < rms_db(clip[noise_only]) - 10
    with_speech = slice(3 * RATE, len(clip))
    assert rms_db(out[with_speech]) > rms_db(speech) - 3


def test_a_command_10_db_above_steady_noise_is_heard(recognizer: Recognizer) -> None:
    rng = np.random.default_rng(4)
    word = say("repeat")
    power = np.mean(word**2)
    clip = room(1.5, word, 1.0)
    clip = clip + rng.normal(0, np.sqrt(power / 10), len(clip)).astype(np.float32)  # 10 dB below the word
    pcm = np.clip(clip, -32768, 32767).astype("<i2").tobytes()
    listener = Listener(recognizer)
    heard = listener.feed(pcm) + listener.flush()
    assert [h.command for h in heard] == ["repeat"]


@pytest.mark.parametrize("text", COMMA_SENTENCES)
def test_a_command_word_then_a_comma_is_not_obeyed_at_any_rate_or_voice(recognizer: Recognizer, text: str) -> None:
    # A 0.3 s endpoint window obeyed 4 of these 80; the shipped 0.4 s obeys none.
    obeyed = []
    for voice_name in ("en-us", "en-gb", "en-us+f3", "en-gb-scotland+m3"):
        for rate in (110, 150, 190, 230):
            listener = Listener(recognizer)
            pcm = np.clip(room(1.0, say(text, rate, voice_name), 1.0), -32768, 32767).astype("<i2").tobytes()
            if listener.feed(pcm) + listener.flush():
                obeyed.append((voice_name, rate))
    assert obeyed == []


# -- the classifier's second opinion ------------------------------------------------------------------

def test_the_default_words_get_the_classifier_and_words_of_ones_own_the_phone_loop(tmp_path: Path) -> None:
    own = Recognizer(parse_words(["pause=hold"]))
    assert own.classifier is None  # it never heard "hold"
    heard = listen_file(Listener(own), write(tmp_path / "hold.wav", room(0.6, say("hold"), 0.8)))
    assert [(h.command, h.word) for h in heard] == [("pause", "hold")]
    assert Recognizer().classifier is not None


def test_without_its_weights_the_classifier_is_missing_and_the_phone_loop_judges(
        monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path]) -> None:
    monkeypatch.setattr(classifier, "WEIGHTS", Path("/nonexistent/commands.npz"))
    with pytest.raises(NotInstalled, match="weights cannot be read"):
        classifier.CommandClassifier()
    alone = Recognizer()
    assert alone.classifier is None
    assert [h.command for h in listen_file(Listener(alone), clips["pause"])] == ["pause"]


def test_the_classifier_sees_a_short_utterance_whole_and_the_middle_of_a_long_one() -> None:
    size = int(classifier.LENGTH * RATE)
    short = np.arange(1, 1001, dtype=np.float32)
    out = classifier.fixed_length(short)
    assert len(out) == size and np.count_nonzero(out) == 1000
    assert abs(np.flatnonzero(out).mean() - size / 2) < 2  # centred
    long = np.arange(size + 1000, dtype=np.float32)
    assert classifier.fixed_length(long)[0] == 500


def test_the_loud_core_is_the_loud_part_with_room_for_its_consonants() -> None:
    rng = np.random.default_rng(1)
    quiet = rng.normal(0, 100, 3 * RATE).astype(np.float32)
    quiet[RATE : RATE + RATE // 2] += rng.normal(0, 3000, RATE // 2).astype(np.float32)  # 30 dB louder
    pcm = np.clip(quiet, -32768, 32767).astype("<i2").tobytes()
    core = voice.loud_core(pcm)
    seconds = len(core) / 2 / RATE
    assert 0.5 + voice.PREROLL <= seconds <= 0.5 + voice.PREROLL + voice.TAIL + 2 * voice.FRAME


def test_over_noise_the_loud_core_is_the_stretch_round_the_loudest_part() -> None:
    rng = np.random.default_rng(2)
    noisy = rng.normal(0, 1000, 3 * RATE).astype(np.float32)  # 60 dB: talk or noise that never stops
    for at in (0.2, 2.6):  # its louder moments, 6 dB up, far from the word
        noisy[int(at * RATE) : int((at + 0.2) * RATE)] *= 2
    noisy[RATE : RATE + RATE // 2] += rng.normal(0, 5000, RATE // 2).astype(np.float32)  # the word, 14 dB up
    pcm = np.clip(noisy, -32768, 32767).astype("<i2").tobytes()
    seconds = len(voice.loud_core(pcm, 60.0)) / 2 / RATE
    assert 0.5 + voice.PREROLL <= seconds <= 0.5 + voice.PREROLL + voice.TAIL + 2 * voice.FRAME
    quiet_room = voice.loud_core(pcm, 60.0 - voice.NOISY_DB)  # the same utterance heard in a quiet room:
    assert quiet_room == voice.loud_core(pcm)  # judged as when the room's level is not known


def word_in(segments: list[tuple[float, float]], seed: int) -> bytes:
    """PCM of (seconds, dB) stretches of noise, one after another."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(0, 10 ** (db / 20), int(seconds * RATE)) for seconds, db in segments]
    return np.clip(np.concatenate(parts), -32768, 32767).astype("<i2").tobytes()


def test_a_word_said_over_talk_that_never_stops_is_cut_out_of_it() -> None:
    # Talkers with short dips, and the word 10 dB above them: the room (their dips) 30 dB below the
    # word, and the talk above halfway to it everywhere, so the stretch round the word was all of it.
    talk = [(0.25, 64.0), (0.05, 44.0)] * 3
    pcm = word_in(talk + [(0.5, 74.0)] + talk * 2, seed=3)
    core = voice.loud_core(pcm, 44.0)
    start, seconds = pcm.find(core) / 2 / RATE, len(core) / 2 / RATE
    assert 0.5 + voice.PREROLL <= seconds <= 0.5 + voice.PREROLL + voice.TAIL + 2 * voice.FRAME
    assert abs(start - (0.9 - voice.PREROLL)) <= voice.FRAME  # the word begins 0.9 s in
    assert voice.judged_part(pcm, 44.0) == core
    assert len(voice.loud_core(pcm)) == len(pcm)  # with the room's level unknown: all of it


def test_one_s_own_sentence_in_a_quiet_room_is_not_cut_down_to_its_loudest_word() -> None:
    # "don't STOP breathing": a stressed word 4 dB above the others, the room 34 dB below it
    word, gap = (0.3, 70.0), (0.1, 40.0)
    pcm = word_in([word, gap, word, gap, (0.35, 74.0), gap] + [word, gap] * 3, seed=4)
    assert len(voice.loud_core(pcm, 40.0)) / 2 / RATE > voice.MAX_SECONDS  # too long to be a command


class SaysStop:
    """A stand-in recognizer: "stop", this sure, whatever it hears."""

    def __init__(self, confidence: float) -> None:
        self.confidence = confidence

    def decide(self, pcm: bytes, background: float | None = None) -> voice.Verdict:
        return voice.Verdict("stop", "stop", len(pcm) / 2 / RATE, 1.0, 0.0, "command", self.confidence)


def test_the_listener_knows_how_loud_the_room_is_once_it_has_heard_a_second() -> None:
    # Nothing is decided (no utterance in hiss), and nothing suppressed: the level is the hiss's own.
    listener = Listener(SaysStop(1.0), suppression=0)  # type: ignore[arg-type]
    hiss = np.random.default_rng(3).normal(0, 100, 2 * RATE)  # 40 dB
    pcm = np.clip(hiss, -32768, 32767).astype("<i2").tobytes()
    listener.feed(pcm[: RATE])  # half a second
    assert listener.background() is None
    listener.feed(pcm[RATE:])
    level = listener.background()
    assert level is not None and 36.0 < level < 40.0  # the quieter frames of 40 dB hiss
    listener.reset()
    assert listener.background() is None


def test_a_command_said_over_quieter_talk_is_heard_and_the_talk_alone_is_not(recognizer: Recognizer) -> None:
    talk = say("we walked along the river and then we bought some bread and some cheese", 170, "en-gb")
    talk = talk[: int(2.2 * RATE)] * 0.1  # 20 dB below the word: someone else, further away
    word = say("pause")
    over = talk.copy()
    at = int(0.8 * RATE)
    over[at : at + len(word)] += word

    def heard(listener: Listener, clip: np.ndarray) -> list[voice.Heard]:
        pcm = np.clip(room(1.0, clip, 1.0), -32768, 32767).astype("<i2").tobytes()
        return listener.feed(pcm) + listener.flush()

    listener = Listener(recognizer)
    found = heard(listener, over)
    assert [h.command for h in found] == ["pause"]
    assert found[0].end - found[0].start > voice.MAX_SECONDS  # cut out with the talk round it,
    assert listener.verdicts[-1].seconds < voice.MAX_SECONDS  # and judged on its core
    assert heard(Listener(recognizer), talk) == []


def test_over_three_others_talking_a_command_is_heard_and_a_sentence_is_not(recognizer: Recognizer) -> None:
    texts = [("we walked along the river and then we bought some bread", "en-gb"),
             ("the train was late again so we waited for it", "en-us+f3"),
             ("she said the garden needs water every day in summer", "en-us+m3")]
    voices = [np.concatenate([say(text, 180, name)] * 2)[k * RATE // 4 :] for k, (text, name) in enumerate(texts)]
    talk = sum(v[: min(map(len, voices))] for v in voices) / 3 * 0.25  # 12 dB below a word, before and after it

    def over_talk(words: str) -> list[voice.Heard]:
        said = say(words)
        mixed = talk[: len(said) + int(1.8 * RATE)].copy()
        mixed[int(1.2 * RATE) : int(1.2 * RATE) + len(said)] += said
        listener = Listener(recognizer)
        pcm = np.clip(room(mixed), -32768, 32767).astype("<i2").tobytes()
        return listener.feed(pcm) + listener.flush()

    assert [h.command for h in over_talk("repeat")] == ["repeat"]
    assert [h.command for h in over_talk("stop")] == ["stop"]
    assert over_talk("pause the music") == []
    assert over_talk("next one please") == []


@pytest.mark.parametrize(("confidence", "over_the_coach", "obeyed"),
                         [(0.9, True, True), (0.5, True, False), (0.5, False, True), (0.0, True, True)])
def test_over_the_coach_a_command_needs_the_classifier_sure_of_it(confidence: float, over_the_coach: bool,
                                                                  obeyed: bool) -> None:
    # 0.0: the phone loop judged (words of one's own), which gives no probability to hold it to
    listener = Listener(SaysStop(confidence))  # type: ignore[arg-type]
    pcm = np.clip(room(1.0, say("stop"), 1.0), -32768, 32767).astype("<i2").tobytes()
    heard = listener.feed(pcm, over_sound=over_the_coach) + listener.flush()
    assert [h.command for h in heard] == (["stop"] if obeyed else [])
    assert listener.verdicts[-1].reason == ("command" if obeyed else "unsure over the coach")


def test_the_training_script_writes_weights_the_classifier_reads(tmp_path: Path) -> None:
    out = tmp_path / "commands.npz"
    done = subprocess.run([sys.executable, "scripts/train_commands.py", "--per-word", "1", "--not-commands", "1",
                           "--common-words", "3", "--phrases", "2", "--commas", "1", "--over-coach", "2",
                           "--coach-alone", "2", "--seeds", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("of the coach's voice") == 2  # a room with words said over the coach, one without
    trained = classifier.CommandClassifier(out)
    assert sorted(trained.classes) == sorted([*voice.COMMANDS, classifier.NONE])
    chances = trained.probabilities(np.clip(room(0.3, say("stop"), 0.3), -32768, 32767).astype("<i2").tobytes())
    assert abs(sum(chances.values()) - 1) < 1e-5


class Counts(Nods):
    """Nods, and remembers what it was asked about."""

    def __init__(self) -> None:
        self.asked: list[bytes] = []

    def decide(self, pcm: bytes, background: float | None = None) -> voice.Verdict:
        self.asked.append(pcm)
        return super().decide(pcm, background)


def test_a_word_is_decided_ahead_in_the_quiet_after_it_and_obeyed_only_when_the_quiet_ends() -> None:
    counts = Counts()
    listener = Listener(counts, suppression=0)  # type: ignore[arg-type]
    pcm = np.clip(room(1.0, say("next"), 1.0), -32768, 32767).astype("<i2").tobytes()
    step = int(0.03 * RATE) * 2
    asked_at = heard_at = None
    for offset in range(0, len(pcm), step):
        heard = listener.feed(pcm[offset : offset + step])
        if counts.asked and asked_at is None:
            asked_at = listener.position
        if heard:
            heard_at = listener.position
            break
    assert asked_at is not None and heard_at is not None
    assert len(counts.asked) == 1  # decided once, ahead, and that answer used
    # Asked 0.15 s into the quiet, obeyed only once the window's 0.36 s of it had passed: 0.21 s later.
    assert heard_at - asked_at >= 0.15


def test_an_answer_given_ahead_is_dropped_when_the_speaker_goes_on() -> None:
    counts = Counts()
    listener = Listener(counts, suppression=0)  # type: ignore[arg-type]
    # "next", a comma's pause longer than AHEAD and shorter than the window, and more words.
    pcm = np.clip(room(1.0, say("next"), 0.25, say("bring your knee up"), 1.0), -32768, 32767)
    heard = listener.feed(pcm.astype("<i2").tobytes()) + listener.flush()
    assert len(counts.asked) == 2  # "next" alone, ahead, then the whole utterance, which ended
    assert len(counts.asked[1]) > len(counts.asked[0]) and counts.asked[1].startswith(counts.asked[0][:3200])
    assert len(heard) == 1 and heard[0].end - heard[0].start > 1.0  # what was obeyed is the whole


@pytest.mark.parametrize(("chances", "floor", "obeyed"),
                         [({"pause": 0.25, "none": 0.6}, 0.3, False),  # carried by the grammar alone
                          ({"pause": 0.25, "none": 0.6}, 0.0, True),
                          ({"pause": 0.35, "none": 0.6}, 0.3, True),  # carried, and above the floor
                          ({"pause": 0.25, "none": 0.2}, 0.3, True)])  # the classifier's own choice
def test_a_command_only_the_grammar_carries_needs_the_classifier_above_the_floor(
        chances: dict[str, float], floor: float, obeyed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    recognizer = Recognizer(carried_floor=floor)
    assert recognizer.classifier is not None
    rest = (1 - sum(chances.values())) / (len(recognizer.classifier.classes) - len(chances))
    spread = {c: chances.get(c, rest) for c in recognizer.classifier.classes}
    monkeypatch.setattr(recognizer.classifier, "chances", lambda x: spread)
    listener = Listener(recognizer)
    pcm = np.clip(room(0.6, say("pause"), 0.8), -32768, 32767).astype("<i2").tobytes()
    heard = listener.feed(pcm) + listener.flush()
    assert [h.command for h in heard] == (["pause"] if obeyed else [])
    verdict = listener.verdicts[-1]
    assert verdict.word == "pause"  # the grammar's word, whose vote is what carries it
    assert (verdict.command, verdict.reason) == (("pause", "command") if obeyed else
                                                 (None, "carried by the other votes"))
