"""Real recorded instrument samples: a scene's notes rendered from a General MIDI soundfont.

Each sounding source is played on its own synthesizer channel (its General MIDI program, or the GM drum
kit for `drum` / `congas`) by TinySoundFont (the `tinysoundfont` wheel, MIT: no system package), at the
clip's sample rate, note on/off at sample-exact times, MIDI velocity from the note's velocity. Melodic
lines may carry expression through the pitch wheel (bend_events): vibrato (a ~5-6 Hz sine that starts
after the attack, on long notes of bowed and blown instruments) and slides into a new pitch (erhu,
suona). The default font is TimGM6mb.sf2 (6 MB, GPL-2.0, by Tim Brechbill), which the `pretty_midi`
wheel (MIT) ships; `--audio soundfont=FILE.sf2` takes any other GM font (FluidR3_GM,
MuseScore_General, ...). `tinysoundfont` is installed with `pip install --no-deps`: its one dependency,
PyAudio, only serves live playback, which amuse never uses, and needs system PortAudio.

GM programs (GM_PROGRAMS; numbers as printed in the GM table, 1-128): accordion 22 Accordion,
acoustic_guitar 26 Acoustic Guitar (steel), bagpipe 110 Bag pipe, banjo 106 Banjo, bassoon 71 Bassoon,
cello 43 Cello, clarinet 72 Clarinet, electric_bass 34 Electric Bass (finger), flute 74 Flute, piano 1
Acoustic Grand Piano, saxophone 66 Alto Sax, trumpet 57 Trumpet, tuba 59 Tuba, violin 41 Violin,
xylophone 14 Xylophone; approximations (GM has no such instrument): erhu 111 Fiddle, guzheng 108 Koto,
pipa 107 Shamisen, suona 112 Shanai, ukulele 25 Acoustic Guitar (nylon); drum and congas on the GM kit
(channel 10: kick 36, snare 38, hi-hats 42/46, crash 49, ride 51, toms 45/47/50; congas 62-64).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from amuse_cli.errors import AmuseError

# class -> (GM program number 1-128 as printed in the GM table, GM name, approximation note or "").
# GM has no erhu, guzheng, pipa, suona or ukulele: the nearest sound of the same family stands in.
GM_PROGRAMS = {
    "accordion": (22, "Accordion", ""),
    "acoustic_guitar": (26, "Acoustic Guitar (steel)", ""),
    "bagpipe": (110, "Bag pipe", ""),
    "banjo": (106, "Banjo", ""),
    "bassoon": (71, "Bassoon", ""),
    "cello": (43, "Cello", ""),
    "clarinet": (72, "Clarinet", ""),
    "electric_bass": (34, "Electric Bass (finger)", ""),
    "erhu": (111, "Fiddle", "approximation: a bowed two-string fiddle played by a Western fiddle, "
                            "with the erhu's slides and wide vibrato"),
    "flute": (74, "Flute", ""),
    "guzheng": (108, "Koto", "approximation: the Japanese koto, a zither of the same family"),
    "piano": (1, "Acoustic Grand Piano", ""),
    "pipa": (107, "Shamisen", "approximation: a plucked lute; the shamisen is the nearest GM lute"),
    "saxophone": (66, "Alto Sax", ""),
    "suona": (112, "Shanai", "approximation: the shehnai, a double-reed horn like the suona"),
    "trumpet": (57, "Trumpet", ""),
    "tuba": (59, "Tuba", ""),
    "ukulele": (25, "Acoustic Guitar (nylon)", "approximation: GM has no ukulele; a nylon-string guitar, "
                                                "played in the ukulele's high register"),
    "violin": (41, "Violin", ""),
    "xylophone": (14, "Xylophone", ""),
}
# Unpitched classes play on the GM percussion channel (10); their notes' pitches are GM key numbers
# (synth/rhythms.py): drum kick 36, snare 38, hi-hats 42/46, crash 49, ride 51, toms 45/47/50;
# congas 62 Mute Hi / 63 Open Hi / 64 Low Conga.
GM_DRUMS = {"drum": "GM drum kit (channel 10): kick 36, snare 38, hi-hats 42/46, crash 49, ride 51, toms 45/47/50",
            "congas": "GM drum kit (channel 10): congas 62-64"}
VELOCITY_MAX = 112            # scene velocity 1.0 (accent) -> MIDI 112, 0.55 -> 62
BEND_CENTRE, BEND_RANGE = 8192, 2.0     # pitch wheel at rest; +-2 semitones at its ends (the GM default)
VIBRATO_MIN_S = 0.25          # shorter notes get no vibrato
VIBRATO_DELAY_S, VIBRATO_RAMP_S = 0.12, 0.25   # a player's vibrato starts after the attack and grows
VIBRATO_UPDATE = 128          # samples between pitch-wheel updates (8 ms at 16 kHz, ~23 per cycle)
SLIDE_S = 0.08                # a slide reaches the note's pitch in 80 ms
# Other installed GM fonts, for users who want them by name (bench/shift.py uses a second font).
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/local/share/soundfonts")
INSTALL_HINT = ("install the renderer and the default font: `pip install --no-deps tinysoundfont==0.3.7` "
                "and `pip install pretty_midi` (make install does both), or give a font: --audio soundfont=FILE.sf2")


def packaged_soundfont() -> Path | None:
    """TimGM6mb.sf2 as the `pretty_midi` wheel ships it (None when pretty_midi is not installed)."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def installed_soundfonts() -> list[Path]:
    """GM fonts installed by the system's packages (e.g. Debian's fluid-soundfont-gm), FluidR3 first."""
    found = [p for d in SOUNDFONT_DIRS if Path(d).is_dir() for p in sorted(Path(d).glob("*.sf2"))]
    return sorted(found, key=lambda p: (not p.name.startswith("FluidR3"), p.name))


def _renderer():
    try:
        import tinysoundfont
    except ImportError:
        raise AmuseError(f"rendering from a soundfont needs the `tinysoundfont` package; {INSTALL_HINT}") from None
    return tinysoundfont


def resolve(spec: str | None) -> Path:
    """The font of `soundfont[=FILE.sf2]` ($AMUSE_SOUNDFONT, else the packaged TimGM6mb); one-line errors."""
    _renderer()
    spec = spec or os.environ.get("AMUSE_SOUNDFONT")
    path = Path(spec) if spec else packaged_soundfont()
    if path is None:
        raise AmuseError(f"--audio soundfont: no GM soundfont found (pretty_midi ships TimGM6mb.sf2); {INSTALL_HINT}")
    if not path.is_file():
        raise AmuseError(f"--audio soundfont={path}: no such file; give an existing .sf2 file")
    return path.resolve()


def describe(path: str | Path) -> dict:
    """What the dataset card records: file, size, a content hash and the renderer's version."""
    from importlib.metadata import version
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"soundfont": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()[:16],
            "renderer_version": f"tinysoundfont {version('tinysoundfont')}"}


@lru_cache(maxsize=4)
def _font_bytes(path: str) -> bytes:
    """The font's bytes, read once per process (a synthesizer is made per source from memory)."""
    return Path(path).read_bytes()


def note_events(notes: list[dict], sr: int) -> list[tuple[int, int, int, int]]:
    """(sample, order, key, velocity) per note on (order 1) and off (order 0, velocity 0), sorted:
    an off sorts before an on at the same sample so a repeated key restarts cleanly."""
    events = []
    for n in notes:
        on = int(round(n["t"] * sr))
        off = max(on + 1, int(round((n["t"] + n["dur"]) * sr)))
        key = int(np.clip(n["pitch"], 0, 127))
        events.append((on, 1, key, int(np.clip(round(n["velocity"] * VELOCITY_MAX), 1, 127))))
        events.append((off, 0, key, 0))
    return sorted(events)


def bend_events(notes: list[dict], sr: int, depth: float, hz: float, slide: float = 0.0) -> list[tuple[int, int]]:
    """(sample, 14-bit pitch-bend value) of a melodic line's expression, note by note, centred at attacks:
    - vibrato: on notes of at least VIBRATO_MIN_S, a sine of `depth` semitones at `hz` that starts
      VIBRATO_DELAY_S after the attack and grows over VIBRATO_RAMP_S, as a player's vibrato does;
    - slide: a note reached by a step or leap starts up to `slide` semitones short of its pitch, on
      the side it comes from, and glides onto it over SLIDE_S (the erhu's and suona's portamento)."""
    if depth <= 0 and slide <= 0:
        return []
    attacks = sorted({int(round(n["t"] * sr)) for n in notes}) + [1 << 62]
    following = dict(zip(attacks, attacks[1:]))
    events, prev = [], None
    for n in notes:
        on = int(round(n["t"] * sr))
        off = min(int(round((n["t"] + n["dur"]) * sr)), following[on])     # legato: the next note's pitch
        k = np.arange(on, off, VIBRATO_UPDATE)
        age = (k - on) / sr
        bend = np.zeros(k.size)
        if depth > 0 and n["dur"] >= VIBRATO_MIN_S:
            since = np.maximum(age - VIBRATO_DELAY_S, 0.0)
            bend += depth * np.minimum(since / VIBRATO_RAMP_S, 1.0) * np.sin(2 * np.pi * hz * since)
        if slide > 0 and prev is not None and prev != n["pitch"]:
            gap = float(np.clip(prev - n["pitch"], -slide, slide))
            bend += gap * np.clip(1.0 - age / SLIDE_S, 0.0, 1.0)
        prev = n["pitch"]
        if not bend.any():
            events.append((on, BEND_CENTRE))
            continue
        values = np.clip(np.round(BEND_CENTRE + bend / BEND_RANGE * 8191), 0, 16383).astype(int)
        events += list(zip(k.tolist(), values.tolist())) + [(off, BEND_CENTRE)]
    return events


def render_notes(instrument: str, notes: list[dict], n: int, sr: int, soundfont: str | Path, *,
                 vibrato: float = 0.0, vibrato_hz: float = 5.5, slide: float = 0.0) -> np.ndarray:
    """One source's notes as mono float32 [n] samples at sr, each note on and off at its exact sample;
    `vibrato` and `slide` (semitones) bend the pitch through the pitch wheel (bend_events)."""
    out = np.zeros(n, dtype=np.float32)
    if not notes:
        return out
    tsf = _renderer()
    synth = tsf.Synth(samplerate=sr)
    try:
        font = synth.sfload(_font_bytes(str(soundfont)))
    except Exception as e:          # the library raises its own exception types for a bad file
        raise AmuseError(f"{soundfont}: not a usable SoundFont ({e}); give a GM .sf2 file") from None
    drums = instrument in GM_DRUMS
    if drums:
        synth.program_select(0, font, 0, 0, True)   # the GM kit (TinySoundFont looks in bank 128)
    else:
        synth.program_select(0, font, 0, GM_PROGRAMS[instrument][0] - 1)
        synth.pitchbend_range(0, BEND_RANGE)
    # one timeline: note offs, then pitch bends, then note ons at the same sample
    timeline = [(s, 2 * o, k, v) for s, o, k, v in note_events(notes, sr)]
    timeline += [(s, 1, -1, v) for s, v in (bend_events(notes, sr, vibrato, vibrato_hz, slide) if not drums else [])]
    stereo = memoryview(bytearray(8 * n))          # float32 left/right, filled in place
    pos = 0
    for sample, order, key, value in sorted(timeline) + [(n, -1, -1, 0)]:
        sample = min(sample, n)
        if sample > pos:
            synth.generate_simple(sample - pos, buffer=stereo[8 * pos:8 * sample])
            pos = sample
        if order < 0:
            break
        if order == 1:
            synth.pitchbend(0, value)
        elif order == 2:
            synth.noteon(0, key, value)
        else:
            synth.noteoff(0, key)
    return np.frombuffer(stereo, dtype=np.float32).reshape(-1, 2).mean(axis=1).astype(np.float32)


def card_lines(info: dict) -> list[str]:
    """The dataset card's account of the audio: soundfont, the renderer, and the GM program of each class."""
    lines = [f"Audio: {info['renderer_version']} with the GM soundfont `{info['soundfont']}` "
             f"({info['bytes'] / 1e6:.1f} MB, sha256 {info['sha256']}...). Every class plays the General MIDI "
             f"sound below; those marked *approximation* have no GM program of their own. Sources play with "
             f"expression (velocity from metric accents and a dynamics curve, legato / normal / staccato note "
             f"lengths, vibrato and slides as pitch bend) and are heard in a room: reverberation per setting, "
             f"a quiet noise bed outdoors, further performers a little quieter and wetter (synth/room.py). "
             f"Licences: TinySoundFont and pretty_midi MIT, TimGM6mb GPL-2.0 (Tim Brechbill).", "",
             "| class | GM sound |", "|---|---|"]
    for name in sorted({**GM_PROGRAMS, **GM_DRUMS}):
        if name in GM_DRUMS:
            lines.append(f"| {name} | {GM_DRUMS[name]} |")
        else:
            prog, gm, note = GM_PROGRAMS[name]
            lines.append(f"| {name} | {prog} {gm}{' (*' + note + '*)' if note else ''} |")
    return lines + [""]
