"""The `unknot` command."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from coach import __version__
from coach.engines import ENGINES
from coach.library import Entry, Library, load_library, read_folder, user_routines_dir
from coach.model import Routine
from coach.plan import Plan, SilentDurations, clock, compile_plan
from coach.quiet import filter_stderr
from coach.quiet import notice as quiet_notice
from coach.routines import ID_PATTERN, NOT_ROUTINES, RoutineError, load_file, schema
from coach.safety import load_red_flags

if TYPE_CHECKING:  # numpy and the audio stack load only for the commands that make sound
    from coach.audio import SoundOutput
    from coach.enrol import Enrolment, VoicePrint
    from coach.history import History, Record
    from coach.microphone import VoiceControl
    from coach.progress import RoutineChange
    from coach.speech import Speech, SpeechSettings
    from coach.terminal import TerminalRun
    from coach.voice import Listener, Recognizer, RecognizerProcess

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
PROGRESS_AFTER = 0.5  # seconds of preparing speech before a progress bar appears

DESCRIPTION = """\
Unknot: a voice-guided relaxation and stretch coach for back spasms and back pain.
`unknot` alone on a terminal (or `unknot app`) opens the app; the commands below work without it.

Unknot is not medical advice. If pain is severe, lasts more than two weeks, spreads down a leg,
or comes with numbness, weakness or loss of bladder or bowel control, see a doctor:
`unknot safety` lists when."""


class UsageError(Exception):
    pass


def pain_rating(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 10:
        raise argparse.ArgumentTypeError(f"pain is a whole number from 0 to 10, not {text!r}")
    return int(text)


class CommandError(Exception):
    """A problem the command cannot get past (exit 1); the message is one line."""


def _speech_settings(args: argparse.Namespace) -> SpeechSettings:
    from coach.speech import SpeechSettings

    if args.tts not in ENGINES:
        raise UsageError(f"unknown speech engine '{args.tts}'; available: {', '.join(ENGINES)}")
    if not 0.0 <= args.volume <= 1.0:
        raise UsageError(f"--volume takes a number from 0 to 1, not {args.volume:g}")
    return SpeechSettings(
        engine=args.tts,
        voice=args.speaker,
        rate=args.rate,
        volume=args.volume,
        piper_model=Path(args.piper_model) if args.piper_model else None,
    )


def _progress(label: str) -> Callable[[int, int], None]:
    """A progress bar on stderr, shown only once the work has taken more than half a second."""
    started = time.monotonic()
    shown = False

    def report(done: int, total: int) -> None:
        nonlocal shown
        if not sys.stderr.isatty() or (not shown and time.monotonic() - started < PROGRESS_AFTER):
            return
        shown = True
        width = 30
        filled = round(width * done / max(1, total))
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def _spoken(args: argparse.Namespace, speak: bool = True, meanwhile: Callable[[], None] | None = None
            ) -> tuple[Routine, Speech, Plan, list[str]]:
    """What plan, run and render share: the routine, its speech ready, its plan, and any notices.
    `meanwhile` starts once the routine is known to be good, before speech is prepared."""
    _speech_settings(args)  # a bad option is a usage error before any work
    routine = _resolve(args.routine, args)
    filter_stderr()
    if meanwhile is not None:
        meanwhile()
    notices: list[str] = []
    speech, plan = _prepare_speech(args, routine, notices, speak)
    return routine, speech, plan, notices


def _prepare_speech(args: argparse.Namespace, routine: Routine, notices: list[str], speak: bool = True
                    ) -> tuple[Speech, Plan]:
    from coach.live import prepare

    return prepare(routine, _speech_settings(args), notices, speak, _progress("preparing speech"))


def _library(args: argparse.Namespace) -> Library:
    return load_library(extra=[Path(p) for p in args.routines or ()])


def _resolve(target: str, args: argparse.Namespace) -> Routine:
    """A routine by file path or by id. Raises RoutineError or UsageError."""
    path = Path(target)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise UsageError(f"no such file: {target}")
        return load_file(path)
    library = _library(args)
    entry = library.find(target)
    if entry is None:
        import difflib

        near = difflib.get_close_matches(target, [e.id for e in library.entries], n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise UsageError(f"no routine with the id '{target}'{hint}; `unknot list` shows them all")
    if entry.routine is None or entry.problems:
        raise RoutineError(list(entry.problems))
    return entry.routine


def _source_label(entry: Entry) -> str:
    label = entry.source
    if entry.replaces is not None:
        label += f" (replaces {entry.replaces.source} {entry.replaces.path.name})"
    return label


# -- commands -------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    library = _library(args)
    plans = {
        e.path: compile_plan(e.routine, SilentDurations()) for e in library.entries if e.routine is not None
    }
    if args.json:
        rows = []
        for e in library.entries:
            plan = plans.get(e.path)
            r = e.routine
            rows.append(
                {
                    "id": e.id,
                    "title": r.title if r else None,
                    "summary": r.summary if r else None,
                    "tags": list(r.tags) if r else [],
                    "position": r.position if r else None,
                    "duration": round(plan.duration, 1) if plan else None,
                    "waits": plan.has_waits if plan else False,
                    "source": e.source,
                    "path": str(e.path),
                    "replaces": str(e.replaces.path) if e.replaces else None,
                    "error": "\n".join(str(p) for p in e.problems) if e.problems else None,
                }
            )
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    valid = [e for e in library.entries if e.valid]
    invalid = [e for e in library.entries if not e.valid]
    if not valid and not invalid:
        print("No routines found.")
        return EXIT_OK
    table = [("ID", "TITLE", "LENGTH", "POSITION", "SOURCE")]
    for e in valid:
        assert e.routine is not None
        plan = plans[e.path]
        length = clock(plan.duration) + ("+" if plan.has_waits else "")
        table.append((e.id, e.routine.title, length, e.routine.position, _source_label(e)))
    widths = [min(40, max(len(row[i]) for row in table)) for i in range(4)]
    for row in table:
        cells = [row[i][: widths[i]].ljust(widths[i]) for i in range(4)]
        print("  ".join([*cells, row[4]]).rstrip())
    if any(plans[e.path].has_waits for e in valid):
        print("\n+ waits for you to say or press next, so it may take longer.")
    if invalid:
        print(f"\n{len(invalid)} routine file(s) cannot be used:")
        for e in invalid:
            print(f"  {e.id} ({e.source})")
            for problem in e.problems:
                print(f"    {problem}")
    return EXIT_OK


def _describe_step(step: object, indent: str) -> list[str]:
    from coach import model as m

    lines: list[str] = []
    name = getattr(step, "name", None)
    label = f"{indent}- {type(step).__name__.lower()}" + (f" «{name}»" if name else "")
    if isinstance(step, m.Say | m.Wait):
        lines.append(f"{label}: {step.text}")
    elif isinstance(step, m.Pause):
        lines.append(f"{label}: {step.seconds:g} s")
    elif isinstance(step, m.Chime):
        lines.append(f"{label}: {step.sound}")
    elif isinstance(step, m.Breathe):
        b = step.breath
        lines.append(
            f"{label}: {step.cycles} × (in {b.inhale:g} s, hold {b.hold:g} s, out {b.exhale:g} s, "
            f"rest {b.rest:g} s){', counted' if step.count else ''}"
        )
    elif isinstance(step, m.Hold):
        lines.append(f"{label}: " + (f"{step.seconds:g} s" if step.seconds else f"{step.breaths} breaths"))
    elif isinstance(step, m.Stretch):
        hold = step.hold
        held = f"{hold.seconds:g} s" if hold.seconds else f"{hold.breaths} breaths"
        sides = f" on {', '.join(step.sides)}" if step.sides else ""
        lines.append(f"{label}{sides}, hold {held}: {(step.say or '').format(side='{side}')}")
    elif isinstance(step, m.Imagery):
        lines.append(f"{label}: {len(step.lines)} lines, {step.breaths_per_line} breath(s) each")
        lines += [f"{indent}    “{line}”" for line in step.lines]
    elif isinstance(step, m.Timer):
        lines.append(f"{label}: {clock(step.seconds)}" + (f", reminders every {clock(step.remind_every)}"
                                                         if step.remind_every else ""))
    elif isinstance(step, m.Repeat):
        lines.append(f"{label}: {step.times} times")
        for inner in step.steps:
            lines += _describe_step(inner, indent + "    ")
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    routine = _resolve(args.routine, args)
    plan = compile_plan(routine, SilentDurations())
    print(f"{routine.title}  [{routine.id}]")
    if routine.path:
        print(f"file: {routine.path}")
    print(f"position: {routine.position}   length: about {clock(plan.duration)}"
          + ("  (plus waits for you)" if plan.has_waits else ""))
    if routine.tags:
        print(f"tags: {', '.join(routine.tags)}")
    if routine.summary:
        print(f"\n{routine.summary}")
    if routine.safety:
        print(f"\nSafety: {routine.safety}")
    print("\nSteps:")
    for step in routine.steps:
        print("\n".join(_describe_step(step, "  ")))
    print("\nTimeline:")
    for s in plan.steps:
        wait = "  then waits for next" if s.waits else ""
        print(f"  {clock(s.t):>7}  {clock(s.dur):>6}  {s.type:<8} {s.name}{wait}")
    print(f"  {clock(plan.duration):>7}  end")
    print("\nNot medical advice: `unknot safety` lists when to see a doctor.")
    return EXIT_OK


def _print_plan(plan: Plan) -> None:
    for cue in plan.cues:
        dur = "open" if cue.dur is None else f"{cue.dur:6.2f}"
        what = {
            "step": f"== {cue.type}: {cue.name}",
            "speech": f"say   “{cue.text}”",
            "chime": f"chime {cue.sound}",
            "phase": f"      {cue.phase}",
            "wait": "wait for next",
        }[cue.kind]
        print(f"{cue.t:9.2f}  {dur:>6}  {what}")
    print(f"{plan.duration:9.2f}  end")


def cmd_plan(args: argparse.Namespace) -> int:
    _, speech, plan, notices = _spoken(args)
    speech.close()
    for notice in notices:
        quiet_notice(f"unknot: {notice}")
    if args.json:
        print(json.dumps(plan.to_json(), indent=1, ensure_ascii=False))
    else:
        _print_plan(plan)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    files = 0
    bad = 0
    for target in args.paths:
        path = Path(target)
        if path.is_dir():
            entries = read_folder(path, str(path))
            for special in sorted(path.rglob("red-flags.yaml")):
                files += 1
                try:
                    load_red_flags(special)
                except ValueError as error:
                    bad += 1
                    print(error)
        elif path.is_file() and path.name in NOT_ROUTINES:
            files += 1
            try:
                load_red_flags(path)
            except ValueError as error:
                bad += 1
                print(error)
            continue
        elif path.is_file():
            try:
                routine = load_file(path)
                entries = [Entry(routine.id, path, str(path), routine)]
            except RoutineError as error:
                entries = [Entry(path.stem, path, str(path), None, tuple(error.problems))]
        else:
            raise UsageError(f"no such file or folder: {target}")
        for entry in entries:
            files += 1
            if entry.problems:
                bad += 1
                for problem in entry.problems:
                    print(problem)
            elif args.verbose:
                print(f"{entry.path}: ok")
    if not files:
        print("no routine files (*.yaml, *.yml) found", file=sys.stderr)
        return EXIT_USAGE
    summary = f"{files} file(s) checked, {bad} with problems" if bad else f"{files} file(s) checked, all valid"
    print(summary, file=sys.stderr)
    return EXIT_PROBLEM if bad else EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from coach.starter import write_starter

    routine_id: str = args.id
    if not ID_PATTERN.fullmatch(routine_id) or len(routine_id) > 64:
        raise UsageError(f"'{routine_id}' is not a plain id: use lowercase letters, digits and dashes, like my-stretch")
    folder = Path(args.dir) if args.dir else user_routines_dir()
    try:
        path = write_starter(routine_id, folder)
    except FileExistsError:
        print(f"{folder / f'{routine_id}.yaml'} already exists; edit it, or choose another id", file=sys.stderr)
        return EXIT_PROBLEM
    print(path)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from coach.audio import open_output

    # The sound device can take a second to start: it opens while the rest loads and speech is
    # prepared, off the path to the first sound. A bad routine found meanwhile just leaves it unused.
    filter_stderr()  # before the device thread silences fd 2 for a moment, so neither undoes the other
    opened: list[tuple[SoundOutput, str | None]] = []
    opener = threading.Thread(target=lambda: opened.append(open_output()), daemon=True)
    opener.start()

    from coach.history import open_history
    from coach.live import CueSounds, Recorder
    from coach.session import Event, Player
    from coach.terminal import TerminalRun

    kept: list[tuple[History | None, str | None]] = []
    keeper = threading.Thread(target=lambda: kept.append(open_history()), daemon=True)
    # Badly written words are a usage error before anything else happens. The decoder runs in a worker
    # (this process plays sound), which starts while speech is prepared; a word it cannot know is a
    # usage error once speech is ready.
    decoder = None
    if args.voice:
        from coach.enrol import voice_print_path
        from coach.voice import RecognizerProcess

        words = _words(args)
        own = voice_print_path() if _voice_print(args, words) is not None else None  # the worker reads it
        decoder = RecognizerProcess(words, lazy=True, voice_print=own)
    routine, speech, plan, notices = _spoken(args, speak=not args.no_voice, meanwhile=keeper.start)
    listener, missing = _ready(lambda: decoder) if decoder is not None else (None, None)
    if missing:
        notices.append(f"no voice commands: {missing}; carrying on with keys")
    with speech:
        opener.join()
        keeper.join()
        output, problem = opened[0]
        if problem:
            notices.append(problem)
        history, problem = kept[0]
        if problem:
            notices.append(problem)
        for notice in notices:
            quiet_notice(f"unknot: {notice}")
        print(f"{routine.title}: about {clock(plan.duration)}" + (" plus waits" if plan.has_waits else ""))
        front = TerminalRun(plan)
        recorder = Recorder(history, lambda message: quiet_notice(f"unknot: {message}"))
        recorder.begin(routine, plan, args.pain)

        def emit(event: Event) -> None:
            front.on_event(event)
            recorder.on_event(event)

        player = Player(plan, output, CueSounds(speech, speak=not args.no_voice), emit)
        voice = None
        if listener is not None:
            voice, problem = _voice_control(args, listener, front, output)
            if problem:
                quiet_notice(f"unknot: {problem}")
        try:
            result = front.run(player, voice=voice)
        finally:
            if voice is not None:
                voice.close()
            output.close()
            if history is not None:
                history.close()
    print(f"{'Stopped' if result.stopped else 'Finished'} after {clock(result.at)}.")
    return EXIT_OK


def _words(args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    """The command words; badly written ones are a usage error."""
    from coach.voice import VoiceError, parse_words

    try:
        return parse_words(args.words or ())
    except VoiceError as error:
        raise UsageError(str(error)) from None


def _voice_print(args: argparse.Namespace, words: dict[str, tuple[str, ...]]) -> VoicePrint | None:
    """The saved voice print to listen with, unless --no-voice-print; a notice when it cannot be used."""
    from coach.enrol import saved_print

    if args.no_voice_print:
        return None
    voice_print, problem = saved_print(words)
    if problem:
        quiet_notice(f"unknot: {problem}")
    return voice_print


def _ready(make: Callable[[], Recognizer | RecognizerProcess]) -> tuple[Listener | None, str | None]:
    """A listener on the recognizer `make` gives, once it can decode; or None and why when the
    recognizer is not installed. A word it cannot know is a usage error."""
    from coach.voice import Listener, NotInstalled, VoiceError

    try:
        recognizer = make()
        recognizer.check()
    except NotInstalled as error:
        return None, str(error)
    except VoiceError as error:
        raise UsageError(str(error)) from None
    return Listener(recognizer), None


def _voice_control(args: argparse.Namespace, listener: Listener, front: TerminalRun, output: SoundOutput
                   ) -> tuple[VoiceControl | None, str | None]:
    """Voice control for a session, or None and the one-line reason: the session goes on with keys."""
    from coach.microphone import Microphone, VoiceControl, echo_for
    from coach.voice import VoiceError

    echo = echo_for(output) if args.stop_over_speech else None
    control = VoiceControl(listener, Microphone(args.mic), front.on_heard, output.sounding_until, echo)
    try:
        control.start()
    except (VoiceError, ImportError, OSError) as error:
        return None, f"no voice commands: {error}; carrying on with keys"
    return control, None


def cmd_listen(args: argparse.Namespace) -> int:
    from coach.voice import Recognizer, VoiceError, listen_file

    def recognizer() -> Recognizer:
        words = _words(args)
        return Recognizer(words, _voice_print(args, words))

    listener, missing = _ready(recognizer)
    if listener is None:
        raise CommandError(str(missing))
    if args.file:
        code = EXIT_OK
        for name in args.file:
            try:
                heard = listen_file(listener, Path(name))
            except VoiceError as error:
                print(f"unknot listen: {error}", file=sys.stderr)
                code = EXIT_PROBLEM
                continue
            for item in heard:
                print(f"{name}\t{item.start:.2f}\t{item.command}", flush=True)
        return code
    return _listen_live(args, listener)


def _listen_live(args: argparse.Namespace, listener: Listener) -> int:
    from coach.microphone import Microphone
    from coach.voice import VoiceError

    filter_stderr()
    try:
        with Microphone(args.mic) as microphone:
            stream = microphone.stream
            assert stream is not None
            likeness = getattr(listener.recognizer, "likeness", None)
            own = f", with your voice print of {likeness.made}" if likeness is not None else ""
            quiet_notice(f"unknot: listening on {microphone.name} for: "
                         + ", ".join(sorted(listener.recognizer.command_of)) + f"{own} (Ctrl-C to stop)")
            started = time.monotonic()
            while (block := stream.read_block()) is not None:
                for heard in listener.feed(block[0]):
                    print(f"{clock(block[1] - started)}\t{heard.command}\t({heard.word})", flush=True)
    except VoiceError as error:
        print(f"unknot listen: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:  # the way to stop listening
        pass
    return EXIT_OK


def cmd_enrol(args: argparse.Namespace) -> int:
    from coach.enrol import saved, voice_print_path
    from coach.voice import NotInstalled, Recognizer, VoiceError

    path = voice_print_path()
    if args.forget:
        if not path.exists():
            print("There is no voice print to forget.")
            return EXIT_OK
        path.unlink()
        print(f"Forgot your voice print ({path}).")
        return EXIT_OK
    if args.show:
        try:
            shown = saved()
        except VoiceError as error:
            raise CommandError(str(error)) from None
        if shown is None:
            print("There is no voice print: `unknot enrol` makes one.")
            return EXIT_OK
        print(f"{path}: made {shown.made}, of {len(shown.labels)} recordings of the command words")
        return EXIT_OK
    from coach.enrol import Enrolment

    try:
        enrolment = Enrolment(Recognizer(), in_order=bool(args.file))
    except (NotInstalled, VoiceError) as error:
        raise CommandError(str(error)) from None
    if args.file:
        _enrol_files(enrolment, [Path(name) for name in args.file])
    else:
        _enrol_live(args, enrolment)
    try:
        voice_print = enrolment.voice_print()
    except VoiceError as error:
        raise CommandError(f"{error}; nothing was saved") from None
    try:
        voice_print.save(path)
    except OSError as error:
        raise CommandError(f"the voice print cannot be saved to {path}: {error.strerror or error}") from None
    words = len(enrolment.taken)
    print(f"Saved your voice print to {path}. Before it, {enrolment.heard_right} of your {words} command words"
          " were heard right; `unknot listen`, `unknot run --voice` and the app now listen with it.")
    return EXIT_OK


def _enrol_files(enrolment: Enrolment, paths: list[Path]) -> None:
    """Every utterance of the files in turn is the recording for the next prompt."""
    from coach.voice import Listener, VoiceError, listen_file

    listener = Listener(enrolment, answers=True)
    for path in paths:
        passed = len(enrolment.passed)
        try:
            listen_file(listener, path)
        except VoiceError as error:
            raise CommandError(str(error)) from None
        for prompt, problem in enrolment.passed[passed:]:
            quiet_notice(f'unknot enrol: {path}: the answer to "{prompt.text}" is not used: {problem.split(":")[0]}')
    if enrolment.left_out:
        quiet_notice(f"unknot enrol: {enrolment.left_out} utterances after the last prompt's were left out")
    if enrolment.prompt is not None:
        raise CommandError(f"the files hold {len(enrolment.taken) + len(enrolment.passed)} of the"
                           f" {len(enrolment.prompts)} answers;"
                           f' the next one is "{enrolment.prompt.text}" (the prompts, in order, are the'
                           " command words twice over: see the README)")


def _enrol_live(args: argparse.Namespace, enrolment: Enrolment) -> None:
    from coach.audio import open_output
    from coach.enrol import prompt_speech, speaker, take_recordings
    from coach.microphone import DEAF_TAIL, Microphone
    from coach.voice import VoiceError

    filter_stderr()
    speech, problem = prompt_speech(_speech_settings(args), enrolment.recognizer.words, _progress("preparing speech"))
    if problem:
        quiet_notice(f"unknot: {problem}; read the prompts here")
    output, problem = open_output()
    if problem:
        quiet_notice(f"unknot: {problem}; read the prompts here")

    def show(text: str) -> None:
        print(f"[{len(enrolment.taken) + 1}/{len(enrolment.prompts)}] {text}", flush=True)

    print("Unknot learns your voice: say each word as you would in a session, once it has asked.", flush=True)
    try:
        with speech, Microphone(args.mic) as microphone:
            assert microphone.stream is not None
            take_recordings(enrolment, microphone.stream, speaker(speech, output), show, DEAF_TAIL)
    except VoiceError as error:
        raise CommandError(f"{error}; nothing was saved") from None
    except KeyboardInterrupt:
        raise CommandError("stopped; nothing was saved") from None
    finally:
        output.close()


def cmd_render(args: argparse.Namespace) -> int:
    from coach.live import CueSounds
    from coach.render import render

    started = time.perf_counter()
    _, speech, plan, notices = _spoken(args)
    for notice in notices:
        quiet_notice(f"unknot: {notice}")
    with speech:
        out = Path(args.output)
        try:
            result = render(plan, CueSounds(speech), out, Path(args.timeline) if args.timeline else None)
        except OSError as error:
            raise UsageError(f"cannot write {error.filename or out}: {error.strerror or error}") from None
    took = time.perf_counter() - started
    print(f"wrote {result.path} ({clock(result.seconds)}, {result.cues} sounds) in {took:.1f} s"
          + (f" and its timeline {args.timeline}" if args.timeline else ""))
    return EXIT_OK


def cmd_voices(args: argparse.Namespace) -> int:
    from coach.speech import Speech, SpeechError

    settings = _speech_settings(args)
    with Speech(settings) as speech:
        try:
            voices = speech.voices()
        except SpeechError as error:
            raise UsageError(str(error)) from None
    if not voices:
        print(f"the {settings.engine} engine has no voices to choose")
        return EXIT_OK
    width = min(30, max(len(v.id) for v in voices))
    for voice in voices:
        extra = ", ".join(voice.languages) + (f", {voice.gender}" if voice.gender else "")
        print(f"{voice.id:<{width}}  {voice.name}" + (f"  ({extra})" if extra else ""))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from coach.doctor import report, run_checks

    checks = run_checks()
    print(report(checks))
    return EXIT_OK if all(c.ok for c in checks) else EXIT_PROBLEM


def cmd_safety(args: argparse.Namespace) -> int:
    print(load_red_flags().as_text())
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(schema(), indent=2))
    return EXIT_OK


# -- history --------------------------------------------------------------------------------------

SESSION_FIELDS = (
    "id", "routine", "title", "started", "ended", "outcome", "step", "steps", "seconds", "pain_before", "pain_after"
)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, to the second: 2025-03-01T09:30:00Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _session_fields(record: Record) -> dict[str, object]:
    return {
        "id": record.id,
        "routine": record.routine,
        "title": record.title,
        "started": _iso(record.started),
        "ended": _iso(record.ended),
        "outcome": record.outcome,
        "step": record.step,
        "steps": record.steps,
        "seconds": round(record.seconds, 3),
        "pain_before": record.pain_before,
        "pain_after": record.pain_after,
    }


def _write_csv(records: Sequence[Record], out: TextIO) -> None:
    """RFC 4180: a header, then one row per session; CRLF line ends; an empty field for no value."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SESSION_FIELDS)
    for record in records:
        writer.writerow(["" if value is None else value for value in _session_fields(record).values()])


def _read_records() -> list[Record]:
    """Every session, newest first; none if nothing was ever recorded (reading never creates the database)."""
    from coach.history import History, HistoryError, history_path

    if not history_path().exists():
        return []
    try:
        with History() as history:
            return history.sessions()
    except HistoryError as error:
        raise CommandError(str(error)) from None


def _pain_text(before: int | None, after: int | None) -> str:
    if before is None and after is None:
        return ""
    return f"{'–' if before is None else before} → {'–' if after is None else after}"


def _change_text(change: RoutineChange) -> str:
    text = f"{change.title}: {_plural(change.sessions, 'session')}, "
    if change.average_change is None:
        return text + "no pain ratings before and after yet"
    average = round(change.average_change, 1)
    if average == 0:
        return text + f"pain unchanged on average ({change.rated} rated)"
    return text + f"pain {abs(average):.1f} {'lower' if average < 0 else 'higher'} on average ({change.rated} rated)"


def _print_history(records: Sequence[Record], history: History | None, now: datetime) -> None:
    from coach.history import HistoryError
    from coach.progress import doctor_reasons, summarize

    if not records:
        print("No sessions recorded yet: each routine you run from the app or with `unknot run` appears here.")
        return
    rows = [("WHEN", "ROUTINE", "OUTCOME", "MINUTES", "PAIN")]
    for r in records:
        rows.append((r.started.astimezone().strftime("%Y-%m-%d %H:%M"), r.title, r.outcome, f"{r.seconds / 60:.1f}",
                     _pain_text(r.pain_before, r.pain_after)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    widths[1] = min(widths[1], 40)
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1][: widths[1]].ljust(widths[1]), row[2].ljust(widths[2]),
                 row[3].rjust(widths[3]), row[4]]
        print("  ".join(cells).rstrip())
    summary = summarize(records, now)
    print(f"\nStreak: {_plural(summary.streak, 'day')} in a row")
    minutes = round(summary.minutes_this_week)
    print(f"This week: {_plural(minutes, 'minute')}")
    print()
    for change in summary.per_routine:
        print(_change_text(change))
    for reason in doctor_reasons(records, now):
        print()
        print(textwrap.fill(reason.message.replace("unknot safety", "unknot\0safety"), 88).replace("\0", " "))
        if history is not None:
            with contextlib.suppress(HistoryError):  # it has been said; at worst the app says it once more
                history.mark_notice(reason.key, now)


def _forget(history: History, yes: bool) -> int:
    count = history.count()
    if count == 0:
        history.forget()  # also forgets which notices were shown
        print("The history is already empty.")
        return EXIT_OK
    if not yes:
        which = "the only session" if count == 1 else f"all {count} sessions"
        print(f"Delete {which} from the history? This cannot be undone. Type yes to confirm: ",
              end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        if not answer.endswith("\n"):
            print(file=sys.stderr)  # end the question's line when input ended without one
        if answer.strip() != "yes":
            print("Nothing deleted.")
            return EXIT_PROBLEM
    deleted = history.forget()
    print(f"Deleted {_plural(deleted, 'session')}.")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from coach.history import History, HistoryError, history_path
    from coach.progress import doctor_reasons, summarize

    if args.yes and not args.forget:
        raise UsageError("--yes goes with --forget")
    now = datetime.now(UTC)
    try:
        if args.forget:
            if not history_path().exists():
                print("The history is already empty.")
                return EXIT_OK
            with History() as history:
                return _forget(history, args.yes)
        if args.csv or args.json:
            records = _read_records()
        elif history_path().exists():
            with History() as history:
                _print_history(history.sessions(), history, now)
            return EXIT_OK
        else:
            _print_history([], None, now)
            return EXIT_OK
    except HistoryError as error:
        raise CommandError(str(error)) from None
    if args.csv:
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(newline="")  # the rows end in CRLF already
        _write_csv(records, sys.stdout)
        return EXIT_OK
    summary = summarize(records, now)
    document = {
        "sessions": [_session_fields(r) for r in records],
        "streak": summary.streak,
        "minutes_this_week": round(summary.minutes_this_week, 2),
        "routines": [
            {
                "routine": c.routine,
                "title": c.title,
                "sessions": c.sessions,
                "rated": c.rated,
                "average_change": None if c.average_change is None else round(c.average_change, 3),
            }
            for c in summary.per_routine
        ],
        "doctor": [{"key": d.key, "message": d.message} for d in doctor_reasons(records, now)],
    }
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    import shutil

    folder = Path(args.dir)
    csv_path, routines_copy = folder / "history.csv", folder / "routines"
    source = user_routines_dir()
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{folder} is not a folder")
    for path in (csv_path, routines_copy):
        if path.exists() or path.is_symlink():
            raise CommandError(f"{path} already exists; nothing written (export into a new or empty folder)")
    if folder.resolve().is_relative_to(source.resolve()):
        raise CommandError(f"{folder} is inside your routines folder {source}; choose a folder outside it")
    records = _read_records()  # a damaged history stops the export before anything is written
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with csv_path.open("x", encoding="utf-8", newline="") as handle:
            _write_csv(records, handle)
        if source.is_dir():
            shutil.copytree(source, routines_copy, ignore_dangling_symlinks=True)
        else:
            routines_copy.mkdir()
    except shutil.Error as error:  # some files could not be copied: name the first
        src, _, why = error.args[0][0]
        raise CommandError(f"cannot copy {src}: {why}") from None
    except OSError as error:
        raise CommandError(f"cannot write {error.filename or folder}: {error.strerror or error}") from None
    copied = sum(1 for p in routines_copy.rglob("*") if p.is_file())
    print(f"wrote {csv_path} ({_plural(len(records), 'session')})")
    print(f"wrote {routines_copy} ({_plural(copied, 'file')} from {source})")
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unknot", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"unknot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    library = argparse.ArgumentParser(add_help=False)
    library.add_argument(
        "--routines", metavar="DIR", action="append",
        help="also read routines from DIR (may be given more than once; replaces routines with the same id)",
    )

    def command(name: str, help: str, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=list(parents))

    p = command("list", "list the routines: id, title, length, position and where each comes from", [library])
    p.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    p.set_defaults(func=cmd_list)

    p = command("show", "show a routine's steps and a readable timeline", [library])
    p.add_argument("routine", metavar="ID|FILE", help="a routine id from `unknot list`, or a routine file")
    p.set_defaults(func=cmd_show)

    speech = argparse.ArgumentParser(add_help=False)
    speech.add_argument("--tts", metavar="ENGINE", default="pyttsx3",
                        help=f"speech engine: {', '.join(ENGINES)} (default: pyttsx3)")
    speech.add_argument("--speaker", metavar="VOICE", help="the engine's voice (see `unknot voices`)")
    speech.add_argument("--rate", metavar="WPM", type=int, default=150, help="words per minute (default: 150)")
    speech.add_argument("--volume", metavar="V", type=float, default=1.0, help="0 to 1 (default: 1)")
    speech.add_argument("--piper-model", metavar="FILE", help="a piper voice (.onnx), for --tts piper")

    p = command("plan", "print a routine's compiled plan: every cue with its time", [library, speech])
    p.add_argument("routine", metavar="ID|FILE", help="a routine id from `unknot list`, or a routine file")
    p.add_argument("--json", action="store_true", help='print {"routine", "duration", "cues"} as JSON')
    p.set_defaults(func=cmd_plan)

    microphone = argparse.ArgumentParser(add_help=False)
    microphone.add_argument("--mic", metavar="NAME", help="the microphone whose name contains NAME (default: the "
                            "system's default input)")
    listening = argparse.ArgumentParser(add_help=False, parents=[microphone])
    listening.add_argument("--words", metavar="COMMAND=WORD[,WORD...]", action="append",
                           help="the words for a command, e.g. next=next,skip (may be given more than once)")
    listening.add_argument("--no-voice-print", action="store_true",
                           help="hear commands without your voice print (see `unknot enrol`)")

    p = command("run", "a spoken session in the terminal: space pause, n next, b back, r repeat, q stop",
                [library, speech, listening])
    p.add_argument("routine", metavar="ID|FILE", help="a routine id from `unknot list`, or a routine file")
    p.add_argument("--no-voice", action="store_true", help="do not speak: show the words, keep the chimes")
    p.add_argument("--pain", metavar="N", type=pain_rating,
                   help="how bad the pain is before you start, 0 to 10, kept in the history")
    p.add_argument("--voice", action="store_true",
                   help='listen for spoken commands: "next", "back", "pause", "resume", "stop", "repeat"')
    p.add_argument("--stop-over-speech", action="store_true",
                   help='with --voice, also obey "stop" said while the coach speaks (an echo canceller takes the'
                        " coach's sound out; best with headphones or a quiet room, see the README)")
    p.set_defaults(func=cmd_run)

    p = command("render", "the whole session as one WAV file, with its timeline as JSON", [library, speech])
    p.add_argument("routine", metavar="ID|FILE", help="a routine id from `unknot list`, or a routine file")
    p.add_argument("-o", "--output", metavar="OUT.wav", required=True, help="the WAV file to write")
    p.add_argument("--timeline", metavar="OUT.json", help="also write the plan, as `unknot plan --json` prints it")
    p.set_defaults(func=cmd_render)

    p = command("listen", "print voice commands as they are heard, or those found in WAV files", [listening])
    p.add_argument("--file", metavar="WAV", nargs="+",
                   help="16-bit PCM WAV files: print FILE<TAB>SECONDS<TAB>COMMAND for each command found")
    p.set_defaults(func=cmd_listen)

    p = command("enrol", "teach the voice commands your voice: say each command word twice",
                [speech, microphone])
    form = p.add_mutually_exclusive_group()
    form.add_argument("--file", metavar="WAV", nargs="+",
                      help="enrol from recordings instead: the prompts' answers in order, one utterance each")
    form.add_argument("--show", action="store_true", help="say whether there is a voice print, and when it was made")
    form.add_argument("--forget", action="store_true", help="delete the voice print: commands are heard without it")
    p.set_defaults(func=cmd_enrol)

    p = command("voices", "list the speech engine's voices", [speech])
    p.set_defaults(func=cmd_voices)

    p = command("validate", "check routine files; exit 0 if all are valid, 1 if any is not, 2 on bad usage")
    p.add_argument("paths", metavar="PATH", nargs="+", help="routine files, or folders to search")
    p.add_argument("-v", "--verbose", action="store_true", help="also name each valid file")
    p.set_defaults(func=cmd_validate)

    p = command("new", "write a commented starter routine into your routines folder and print its path")
    p.add_argument("id", metavar="ID", help="the new routine's id: lowercase letters, digits and dashes")
    p.add_argument("--dir", metavar="DIR", help=f"write it here instead of {user_routines_dir()}")
    p.set_defaults(func=cmd_new)

    p = command("doctor", "check speech, sound output, microphone and recognizer, with a fix for each problem")
    p.set_defaults(func=cmd_doctor)

    p = command("safety", "when to see a doctor")
    p.set_defaults(func=cmd_safety)

    p = command("history", "your sessions, the streak, minutes this week and each routine's effect on pain")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="print every session as CSV (times in ISO 8601, UTC)")
    form.add_argument("--json", action="store_true",
                      help='print {"sessions", "streak", "minutes_this_week", "routines", "doctor"} as JSON')
    form.add_argument("--forget", action="store_true", help="delete the whole history, after you type yes")
    p.add_argument("--yes", action="store_true", help="with --forget: delete without asking")
    p.set_defaults(func=cmd_history)

    p = command("export", "copy your data into a folder: DIR/history.csv and your routines in DIR/routines/")
    p.add_argument("dir", metavar="DIR", help="the folder to write into (made if missing); nothing is overwritten")
    p.set_defaults(func=cmd_export)

    p = command("schema", "print the JSON Schema of routine files, for editors")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    # Past fd 2: `unknot run` silences it for a moment while its sound device opens on another thread,
    # and an error raised meanwhile was lost (exit 2 and nothing said, once in CI).
    try:
        code: int = args.func(args)
    except UsageError as error:
        quiet_notice(f"unknot {args.command}: {error}")
        return EXIT_USAGE
    except CommandError as error:
        quiet_notice(f"unknot {args.command}: {error}")
        return EXIT_PROBLEM
    except RoutineError as error:
        for problem in error.problems:
            quiet_notice(str(problem))
        return EXIT_PROBLEM
    except ValueError as error:  # a damaged content file
        quiet_notice(f"unknot {args.command}: {error}")
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away, e.g. `unknot list | head`
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
