"""Real recorded instrument samples: a scene's notes rendered through FluidSynth with a GM soundfont.

`amuse synth --audio soundfont[=FILE.sf2]`. Each sounding source becomes a one-channel Standard
MIDI File (its General MIDI program, or the GM drum channel for `drum` / `congas`), rendered by the
`fluidsynth` command line at the clip's sample rate, scaled to the source's `loudness_db` and mixed
exactly as the synthetic renderer mixes (audio.py: room tone, voice-over, one gain against clipping).
Needs the `fluidsynth` program and a GM soundfont (Debian: `apt-get install fluidsynth
fluid-soundfont-gm`, or the 6 MB `timgm6mb-soundfont`); the default synthetic audio needs neither.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from amuse_cli.errors import AmuseError

# class -> (GM program number 1-128 as printed in the GM table, GM name, approximation note or "").
# GM has no erhu, guzheng, pipa, suona or ukulele: the nearest sound of the same family stands in.
GM_PROGRAMS = {
    "accordion": (22, "Accordion", ""),
    "acoustic_guitar": (25, "Acoustic Guitar (nylon)", ""),
    "bagpipe": (110, "Bag pipe", ""),
    "banjo": (106, "Banjo", ""),
    "bassoon": (71, "Bassoon", ""),
    "cello": (43, "Cello", ""),
    "clarinet": (72, "Clarinet", ""),
    "electric_bass": (34, "Electric Bass (finger)", ""),
    "erhu": (111, "Fiddle", "approximation: a bowed two-string fiddle played by a Western fiddle"),
    "flute": (74, "Flute", ""),
    "guzheng": (108, "Koto", "approximation: the Japanese koto, a zither of the same family"),
    "piano": (1, "Acoustic Grand Piano", ""),
    "pipa": (107, "Shamisen", "approximation: a plucked lute; the shamisen is the nearest GM lute"),
    "saxophone": (66, "Alto Sax", ""),
    "suona": (112, "Shanai", "approximation: the shehnai, a double-reed horn like the suona"),
    "trumpet": (57, "Trumpet", ""),
    "tuba": (59, "Tuba", ""),
    "ukulele": (25, "Acoustic Guitar (nylon)", "approximation: GM has no ukulele; a nylon guitar"),
    "violin": (41, "Violin", ""),
    "xylophone": (14, "Xylophone", ""),
}
# Unpitched classes play on the GM percussion channel (10); the scene's pitches are GM key numbers:
# drum 36 Bass Drum 1 / 38 Acoustic Snare, congas 62 Mute Hi / 63 Open Hi / 64 Low Conga.
GM_DRUMS = {"drum": "GM drum kit (channel 10): kick 36, snare 38",
            "congas": "GM drum kit (channel 10): congas 62-64"}
DRUM_CHANNEL = 9              # channel 10 counted from 1
TICKS_PER_BEAT = 480
MIDI_TEMPO_US = 500_000       # 120 BPM: one tick = 1/960 s (note times are seconds, not beats)
TAIL_S = 1.5                  # rendered past the clip end so release tails are not cut short
VELOCITY_MAX = 112            # scene velocity 1.0 (accent) -> MIDI 112, 0.55 -> 62
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/local/share/soundfonts")
SOUNDFONT_PREFERENCE = ("FluidR3_GM.sf2", "default-GM.sf2", "TimGM6mb.sf2")
INSTALL_HINT = ("install FluidSynth and a GM soundfont (Debian/Ubuntu: `apt-get install fluidsynth "
                "fluid-soundfont-gm`), or give one: --audio soundfont=FILE.sf2")


def fluidsynth_path() -> str | None:
    return shutil.which("fluidsynth")


def find_soundfont() -> Path | None:
    """$AMUSE_SOUNDFONT, else the first installed GM soundfont (FluidR3 preferred)."""
    env = os.environ.get("AMUSE_SOUNDFONT")
    if env:
        return Path(env)
    for folder in SOUNDFONT_DIRS:
        for name in SOUNDFONT_PREFERENCE:
            if (Path(folder) / name).is_file():
                return Path(folder) / name
    for folder in SOUNDFONT_DIRS:
        found = sorted(Path(folder).glob("*.sf2")) if Path(folder).is_dir() else []
        if found:
            return found[0]
    return None


def resolve(spec: str | None) -> Path:
    """The soundfont file of `soundfont[=FILE.sf2]`; fails in one line, saying what to install."""
    if fluidsynth_path() is None:
        raise AmuseError(f"--audio soundfont needs the `fluidsynth` program, not found on PATH; {INSTALL_HINT}")
    path = Path(spec) if spec else find_soundfont()
    if path is None:
        raise AmuseError(f"--audio soundfont: no GM soundfont found in {', '.join(SOUNDFONT_DIRS)}; {INSTALL_HINT}")
    if not path.is_file():
        raise AmuseError(f"--audio soundfont={path}: no such file; {INSTALL_HINT}")
    return path.resolve()


def describe(path: str | Path) -> dict:
    """What the dataset card records: file, size, a content hash and the FluidSynth version."""
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    version = subprocess.run([fluidsynth_path() or "fluidsynth", "--version"], capture_output=True,
                             text=True).stdout.splitlines()
    return {"soundfont": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()[:16],
            "fluidsynth": version[0].strip() if version else "unknown"}


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_bytes(instrument: str, notes: list[dict], end_s: float) -> bytes:
    """A format-0 Standard MIDI File of one source's notes (times in seconds, 960 ticks per second)."""
    per_s = TICKS_PER_BEAT * 1e6 / MIDI_TEMPO_US
    drums = instrument in GM_DRUMS
    ch = DRUM_CHANNEL if drums else 0
    events = []       # (tick, order, bytes): note-offs sort before note-ons at the same tick
    for n in notes:
        on = int(round(n["t"] * per_s))
        off = max(on + 1, int(round((n["t"] + n["dur"]) * per_s)))
        vel = int(np.clip(round(n["velocity"] * VELOCITY_MAX), 1, 127))
        key = int(np.clip(n["pitch"], 0, 127))
        events.append((on, 1, bytes([0x90 | ch, key, vel])))
        events.append((off, 0, bytes([0x80 | ch, key, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray(b"\x00\xFF\x51\x03" + MIDI_TEMPO_US.to_bytes(3, "big"))
    if not drums:
        track += b"\x00" + bytes([0xC0 | ch, GM_PROGRAMS[instrument][0] - 1])
    track += b"\x00" + bytes([0xB0 | ch, 91, 40])      # a little reverb, as a recording room has
    last = 0
    for tick, _, data in events:
        track += _varlen(tick - last) + data
        last = tick
    end = max(last, int(round(end_s * per_s)))
    track += _varlen(end - last) + b"\xFF\x2F\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
            + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """16-bit PCM wav -> mono float32 in [-1, 1] and its rate."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise AmuseError(f"{path}: expected 16-bit PCM from fluidsynth, got {8 * width}-bit")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, channels).mean(axis=1), rate


def render_notes(instrument: str, notes: list[dict], n: int, sr: int, soundfont: str | Path) -> np.ndarray:
    """One source's notes as float32 [n] samples at sr, through `fluidsynth -ni -F out.wav`."""
    if not notes:
        return np.zeros(n, dtype=np.float32)
    exe = fluidsynth_path()
    if exe is None:
        raise AmuseError(f"the `fluidsynth` program is not on PATH; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="amuse-fs-") as tmp:
        mid, out = Path(tmp) / "src.mid", Path(tmp) / "src.wav"
        mid.write_bytes(midi_bytes(instrument, notes, n / sr + TAIL_S))
        cmd = [exe, "-ni", "-q", "-g", "0.6", "-r", str(sr), "-O", "s16", "-T", "wav", "-F", str(out),
               str(soundfont), str(mid)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not out.is_file():
            raise AmuseError(f"fluidsynth failed (exit {done.returncode}) on {soundfont}: "
                             f"{(done.stderr or done.stdout).strip()[-300:]}")
        audio, rate = read_wav(out)
    if rate != sr:
        raise AmuseError(f"fluidsynth wrote {rate} Hz instead of {sr} Hz; a FluidSynth >= 2 is needed")
    audio = audio[:n]
    return np.pad(audio, (0, n - len(audio))).astype(np.float32)


def card_lines(info: dict) -> list[str]:
    """The dataset card's account of the audio: soundfont, FluidSynth, and the GM program of each class."""
    version = info["fluidsynth"].replace("FluidSynth runtime version", "").strip()
    lines = [f"Audio: FluidSynth {version} with the GM soundfont `{info['soundfont']}` "
             f"({info['bytes'] / 1e6:.1f} MB, sha256 {info['sha256']}...). Every class plays the General MIDI "
             f"sound below; those marked *approximation* have no GM program of their own.", "",
             "| class | GM sound |", "|---|---|"]
    for name in sorted({**GM_PROGRAMS, **GM_DRUMS}):
        if name in GM_DRUMS:
            lines.append(f"| {name} | {GM_DRUMS[name]} |")
        else:
            prog, gm, note = GM_PROGRAMS[name]
            lines.append(f"| {name} | {prog} {gm}{' (*' + note + '*)' if note else ''} |")
    return lines + [""]
