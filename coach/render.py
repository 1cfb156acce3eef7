"""A whole session as one WAV file: every speech and chime cue mixed in at its time in the plan."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.plan import RENDER_WAIT_SECONDS, Cue, Plan
from coach.sound import SAMPLE_RATE, Sound, write_wav

CUT_FADE = 0.01  # a sound cut short ends with this fade, not a click
SOUND_KINDS = ("speech", "chime")


@dataclass(frozen=True)
class RenderResult:
    path: Path
    seconds: float  # length of the file
    cues: int  # sound cues mixed in


def render(plan: Plan, sounds: Callable[[Cue], Sound | None], out: Path, timeline: Path | None = None,
           wait_seconds: float = RENDER_WAIT_SECONDS) -> RenderResult:
    """Write the session to `out` (and its timeline JSON to `timeline`); waits become silence.

    `sounds` gives each speech or chime cue its sound, or None for none. Raises OSError naming the folder
    when `out` or `timeline` cannot be written there; a failure leaves neither file half written.
    """
    for path in (out, timeline):
        if path is not None:
            _check_folder(path.parent)
    render_plan = plan.for_render(wait_seconds)
    session = np.zeros(round(render_plan.duration * SAMPLE_RATE), dtype=np.float32)
    mixed = 0
    for cue in render_plan.cues:
        if cue.kind in SOUND_KINDS:
            sound = sounds(cue)
            if sound is not None and _mix(session, sound, cue):
                mixed += 1
    np.clip(session, -1.0, 1.0, out=session)

    timeline_partial = None
    try:
        if timeline is not None:
            # Written first so an unwritable timeline fails before the long write of the sound.
            timeline_partial = timeline.with_name(timeline.name + ".partial")
            timeline_partial.write_text(json.dumps(render_plan.to_json(), indent=1) + "\n", encoding="utf-8")
        try:
            write_wav(out, session)
        except BaseException:
            out.with_name(out.name + ".partial").unlink(missing_ok=True)  # write_wav's temporary name
            raise
        if timeline is not None and timeline_partial is not None:
            timeline_partial.replace(timeline)
            timeline_partial = None
    finally:
        if timeline_partial is not None:
            timeline_partial.unlink(missing_ok=True)
    return RenderResult(out, len(session) / SAMPLE_RATE, mixed)


def _check_folder(folder: Path) -> None:
    # Checked before rendering, so a wrong path fails at once rather than after the mixing.
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(folder))
    if not os.access(folder, os.W_OK):
        raise PermissionError(errno.EACCES, "cannot write in the folder", str(folder))


def _mix(session: Sound, sound: Sound, cue: Cue) -> bool:
    """Add `sound` at the cue's time, cut to its dur; False when none of it lands in the session."""
    start = round(cue.t * SAMPLE_RATE)
    limit = len(sound) if cue.dur is None else min(len(sound), round(cue.dur * SAMPLE_RATE))
    count = min(limit, len(session) - start)
    if start < 0 or count <= 0:
        return False
    if count == len(sound):
        session[start : start + count] += sound
        return True
    fade = min(count, round(CUT_FADE * SAMPLE_RATE))
    body = count - fade
    session[start : start + body] += sound[:body]
    session[start + body : start + count] += sound[body:count] * np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return True
