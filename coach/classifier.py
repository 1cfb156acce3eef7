"""A second opinion on each utterance, from a model that has heard far more voices than ours.

Google's speech embedding (trained on a large body of real speech; the ONNX files ship in the
openWakeWord 0.4.0 wheel, the last one that carries them) turns an utterance into one 96-number
vector per 80 ms. A linear classifier over those vectors, trained by scripts/train_commands.py on the
"tune" half of scripts/make_corpus.py's synthetic voices, says which command it is, or none.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from coach.voice import RATE, NotInstalled

WEIGHTS = Path(__file__).with_name("data") / "commands.npz"
LENGTH = 1.6  # seconds the classifier sees: the longest utterance decided (1.3 s) with room round it
MEL_WINDOW = 76  # mel frames (10 ms each) per embedding, as the embedding model was built
MEL_STEP = 8
NONE = "none"  # the class of everything that is not a command


def _models() -> str:
    spec = importlib.util.find_spec("openwakeword")
    if spec is None or not spec.submodule_search_locations:
        raise NotInstalled("the command classifier's models are not installed (openwakeword 0.4.0)")
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "resources", "models")
    if not os.path.exists(os.path.join(folder, "embedding_model.onnx")):
        raise NotInstalled(f"the command classifier's models are missing from {folder}")
    return folder


def fixed_length(samples: np.ndarray) -> np.ndarray:
    """The utterance centred in LENGTH seconds of silence, or its middle LENGTH seconds."""
    size = int(LENGTH * RATE)
    if len(samples) >= size:
        start = (len(samples) - size) // 2
        return samples[start:start + size]
    out = np.zeros(size, np.float32)
    start = (size - len(samples)) // 2
    out[start:start + len(samples)] = samples
    return out


class Embedder:
    """16 kHz 16-bit PCM to speech-embedding vectors (one per MEL_STEP frames)."""

    def __init__(self) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise NotInstalled(f"the command classifier needs onnxruntime ({error})") from None
        folder = _models()
        options = onnxruntime.SessionOptions()
        # One thread each: an utterance is small, and the other core plays the coach's sound.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self.mel: Any = onnxruntime.InferenceSession(os.path.join(folder, "melspectrogram.onnx"), options,
                                                     providers=providers)
        self.embed: Any = onnxruntime.InferenceSession(os.path.join(folder, "embedding_model.onnx"), options,
                                                       providers=providers)

    def vectors(self, samples: np.ndarray) -> np.ndarray:
        """(windows, 96) for float samples on the int16 scale."""
        spec = self.mel.run(None, {"input": samples[None, :].astype(np.float32)})[0].squeeze()
        spec = spec / 10 + 2  # the scaling openWakeWord applies to match the original TensorFlow model
        windows = np.array([spec[i:i + MEL_WINDOW] for i in range(0, spec.shape[0] - MEL_WINDOW + 1, MEL_STEP)])
        result: np.ndarray = self.embed.run(None, {"input_1": windows[..., None].astype(np.float32)})[0]
        return result.reshape(len(windows), -1)

    def features(self, samples: np.ndarray) -> np.ndarray:
        """What the classifier reads of an utterance (float samples on the int16 scale), one flat vector:
        scripts/train_commands.py trains on exactly these."""
        return self.vectors(fixed_length(samples)).ravel()


class CommandClassifier:
    """Probabilities of each command, and of NONE, for one utterance."""

    def __init__(self, weights: Path | None = None) -> None:
        weights = weights or WEIGHTS
        self.embedder = Embedder()
        try:
            with np.load(weights) as saved:
                self.mean = saved["mean"]
                self.scale = saved["scale"]
                self.coef = saved["coef"]
                self.intercept = saved["intercept"]
                self.classes = [str(c) for c in saved["classes"]]
        except (OSError, KeyError, ValueError) as error:
            raise NotInstalled(f"the command classifier's weights cannot be read ({weights}: {error})") from None

    def features(self, pcm: bytes) -> np.ndarray:
        """The embedder's features of an utterance, before the classifier's scaling: a voice print
        (coach.enrol) keeps these, so that it outlives a change of weights."""
        return self.embedder.features(np.frombuffer(pcm, "<i2").astype(np.float32))

    def scaled(self, features: np.ndarray) -> np.ndarray:
        """Features as the classifier reads them."""
        result: np.ndarray = (features - self.mean) / self.scale
        return result

    def probabilities(self, pcm: bytes) -> dict[str, float]:
        return self.chances(self.scaled(self.features(pcm)))

    def chances(self, x: np.ndarray) -> dict[str, float]:
        """Probabilities of each class for scaled features."""
        logits = self.coef @ x + self.intercept
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes, p, strict=True)}
