"""Rhythm labels on real instrument recordings: amuse's labeller beside librosa's, on known tempo maps.

Two generators of pieces, rendered with a GM soundfont (amuse_cli/synth/soundfont.render_notes, the renderer
of `amuse synth --audio soundfont`; default TimGM6mb.sf2 from the pretty_midi wheel) and mixed by
bench/rhythm_pieces.render:
`--generator today` (the bench's own pieces, as before issue 23): one melodic instrument (every melodic class
in turn) with or without a drum part (GM kit or congas), one note value per clip, accented on the beat.
Tempo maps, 30 s each, in four kinds:
  constant   one tempo throughout;
  boundary   1-3 changes on 3 s segment boundaries;
  inside     1-2 changes inside a segment (that segment's true BPM is the time-weighted mean);
  rubato     a tempo that drifts smoothly by 4-9 % (sometimes with one change as well).
Changes are x1.3-2.1 up or down, a third of them near an octave (x1.84-2.1). Ground truth per 3 s
segment: the time-weighted mean tempo (features/truth.segment_bpm) and the paper's label on it
(|bpm_i - bpm_i-1| >= theta x mean, theta from recipes/amuse.yaml); maps whose truth sits within
10 % of theta are redrawn, so the truth is never a coin toss.
`--generator hard` (bench/rhythm_pieces.py): dotted rhythms, syncopation, ties, triplets, rests, half and
whole notes, chords, legato, swing, +-2 % rubato, a room, duets, and melodies whose note rate changes at a
constant tempo (reported on their own: `rate_change_false_rate`).

Reported per labeller, overall / with drums / without drums / per instrument family: per-segment BPM
error (plain and octave-tolerant: the closest of x0.5, x1, x2; median, and the share within 4 %),
change-label precision, recall and F1 over segments 2.., false changes on constant-tempo segments
(the tempo map is one constant over this segment and the previous one) and, for the hard pieces, on
segments whose note rate changes at a constant tempo.

Labellers: amuse (features/rhythm.estimate_bpm + change_labels), librosa.feature.tempo(aggregate=None)
median per segment, librosa.beat.beat_track per segment; `--also NAME=FILE.py` adds another
estimate_bpm (e.g. an older rhythm.py: `git show 1f01673:amuse_cli/features/rhythm.py > old.py`).
Development seeds: today's pieces 1, 2 and 3; hard pieces 11, 12 and 13 (rhythm_pieces.DEV_SEEDS). Issue 23's
reported runs (fresh seeds, run once after the last change to the labeller, TimGM6mb):
  --generator hard --seed 2301 --clips 240   -> bench/results/rhythm-hard.json
  --generator today --seed 300 --clips 240   -> bench/results/rhythm.json (and 301-303: rhythm-seedN.json)

Run: .venv/bin/python bench/rhythm.py [--generator today|hard] [--seed N] [--clips 240] [--soundfont FILE.sf2]
     [--workers 2] [--also NAME=FILE.py] [--clips-out FILE.json]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amuse_cli import config                                   # noqa: E402
from amuse_cli.atomic import write_atomic                      # noqa: E402
from amuse_cli.data.taxonomy import INSTRUMENTS                # noqa: E402
from amuse_cli.features import rhythm, truth                   # noqa: E402
from amuse_cli.synth import soundfont                          # noqa: E402
from bench import rhythm_pieces                                # noqa: E402
from amuse_cli.synth.scene import PENTATONIC                   # noqa: E402
from amuse_cli.synth.timbre import REGISTERS, TIMBRES, UNPITCHED, register_center   # noqa: E402

RESULTS = {"today": ROOT / "bench" / "results" / "rhythm.json",
           "hard": ROOT / "bench" / "results" / "rhythm-hard.json"}
SR = 16000
CLIP_S = 30.0
SEGMENT_S = 3.0
KINDS = {"constant": 0.3, "boundary": 0.4, "inside": 0.2, "rubato": 0.1}   # share of the clips
RATIO_BANDS = ((1.3, 1.6), (1.6, 1.84), (1.84, 2.1))                        # one drawn at random
BPM_START, BPM_LIMITS = (60.0, 170.0), (50.0, 210.0)
TRUTH_MARGIN = 0.10          # redraw maps with |dBPM| / (theta * mean) within 1 +- this
TOLERANCE = 0.04             # "within 4 %" (MIREX's tempo tolerance)
MELODIC = tuple(c for c in INSTRUMENTS if c not in UNPITCHED)
FAMILY = {c: TIMBRES[c][0] for c in MELODIC}         # plucked, bowed, blown, struck


# --- pieces --------------------------------------------------------------------------------------

def _ratio(rng) -> float:
    lo, hi = RATIO_BANDS[int(rng.integers(len(RATIO_BANDS)))]
    return float(rng.uniform(lo, hi))


def _step_map(rng, starts: list[float]) -> list[dict]:
    """Piecewise-constant tempo changing at the given times."""
    bpms = [float(rng.uniform(*BPM_START))]
    for _ in starts:
        r = _ratio(rng)
        up, down = bpms[-1] * r <= BPM_LIMITS[1], bpms[-1] / r >= BPM_LIMITS[0]
        go_up = up and (not down or rng.random() < 0.5)
        bpms.append(bpms[-1] * r if go_up else bpms[-1] / r)
    edges = [0.0] + starts + [CLIP_S]
    return [{"start": edges[k], "end": edges[k + 1], "bpm": round(bpms[k], 2)} for k in range(len(bpms))]


def tempo_map(rng, kind: str) -> tuple[list[dict], list[float]]:
    """(pieces {start, end, bpm}, beat times) of one clip; rubato maps come as 0.1 s pieces."""
    n_seg = int(CLIP_S // SEGMENT_S)
    if kind == "constant":
        pieces = _step_map(rng, [])
    elif kind == "boundary":
        k = int(rng.integers(1, 4))
        pieces = _step_map(rng, sorted(SEGMENT_S * rng.choice(np.arange(1, n_seg), size=k, replace=False)))
    elif kind == "inside":
        k = int(rng.integers(1, 3))
        segs = sorted(rng.choice(np.arange(1, n_seg - 1), size=k, replace=False))
        pieces = _step_map(rng, [round(float(SEGMENT_S * s + rng.uniform(0.6, 2.4)), 2) for s in segs])
    else:
        pieces = _step_map(rng, [SEGMENT_S * int(rng.integers(3, n_seg - 2))] if rng.random() < 0.5 else [])
    if kind != "rubato":
        beats = []
        for p in pieces:                     # the beat grid restarts at each change (a bar line)
            beats += list(np.arange(p["start"], p["end"] - 1e-6, 60.0 / p["bpm"]))
        return pieces, beats
    depth, period, phase = rng.uniform(0.04, 0.09), rng.uniform(6.0, 15.0), rng.uniform(0, 2 * math.pi)
    dt = 0.001
    t = np.arange(0.0, CLIP_S, dt)
    base = np.zeros_like(t)
    for p in pieces:
        base[(t >= p["start"]) & (t < p["end"])] = p["bpm"]
    bpm = base * (1 + depth * np.sin(2 * math.pi * t / period + phase))
    beat_phase = np.concatenate([[0.0], np.cumsum(bpm / 60.0 * dt)])[:-1]
    beats = [float(t[np.searchsorted(beat_phase, k)]) for k in range(int(beat_phase[-1]) + 1)]
    fine = [{"start": round(a, 3), "end": round(min(a + 0.1, CLIP_S), 3),
             "bpm": float(bpm[(t >= a) & (t < a + 0.1)].mean())} for a in np.arange(0.0, CLIP_S, 0.1)]
    return fine, beats


def _notes_melodic(rng, instrument: str, beats: list[float]) -> list[dict]:
    per_beat = float(rng.choice([0.5, 1.0, 2.0], p=[0.2, 0.5, 0.3]))
    register = str(rng.choice(REGISTERS[instrument]))
    degree, notes = int(rng.integers(len(PENTATONIC))), []
    ends = beats[1:] + [CLIP_S]
    for b, (t0, t1) in enumerate(zip(beats, ends)):
        if per_beat < 1 and b % 2:
            continue
        span = (ends[min(b + 1, len(ends) - 1)] if per_beat < 1 else t1) - t0
        k_n = int(per_beat) if per_beat >= 1 else 1
        for k in range(k_n):
            degree = int(np.clip(degree + rng.integers(-1, 2), 0, len(PENTATONIC) - 1))
            vel = (1.0 if k == 0 else 0.6) * float(rng.uniform(0.85, 1.0))
            notes.append({"t": round(t0 + k * span / k_n, 4), "dur": round(0.95 * span / k_n, 4),
                          "pitch": register_center(register) + PENTATONIC[degree], "velocity": vel})
    return notes


def _notes_drums(rng, kit: str, beats: list[float]) -> list[dict]:
    notes, hats = [], kit == "drum" and rng.random() < 0.5
    ends = beats[1:] + [CLIP_S]
    for b, (t0, t1) in enumerate(zip(beats, ends)):
        if kit == "drum":
            notes.append({"t": round(t0, 4), "dur": 0.1, "pitch": 36 if b % 2 == 0 else 38, "velocity": 1.0})
            if hats:
                notes += [{"t": round(t0 + h * (t1 - t0) / 2, 4), "dur": 0.05, "pitch": 42, "velocity": 0.5}
                          for h in (0, 1)]
        else:
            notes.append({"t": round(t0, 4), "dur": 0.1, "pitch": 63 if b % 2 == 0 else 64, "velocity": 1.0})
            notes.append({"t": round((t0 + t1) / 2, 4), "dur": 0.1, "pitch": 62, "velocity": 0.6})
    return notes


def pieces(seed: int, clips: int, theta: float) -> list[dict]:
    """Every clip's meta (the shape rhythm_pieces.render takes) plus the bench's own fields."""
    rng = np.random.default_rng([seed, 14])
    counts = {k: int(round(share * clips)) for k, share in KINDS.items()}
    counts["boundary"] += clips - sum(counts.values())
    kinds = rng.permutation([k for k, n in counts.items() for _ in range(n)])
    bounds, mask = rhythm.segment_bounds(CLIP_S, SEGMENT_S, int(CLIP_S // SEGMENT_S))
    offset = int(rng.integers(len(MELODIC)))
    out = []
    for i, kind in enumerate(kinds):
        r = np.random.default_rng([seed, 14, i])
        while True:
            tempo, beats = tempo_map(r, str(kind))
            bpm = truth.segment_bpm({"tempo": tempo}, bounds, mask)
            diff = np.abs(np.diff(bpm)) / (theta * bpm.mean())
            if not np.any(np.abs(diff - 1) < TRUTH_MARGIN):
                break
        instrument = MELODIC[(i + offset) % len(MELODIC)]
        drums = None if (i // len(MELODIC)) % 2 == 0 else ("drum" if r.random() < 0.7 else "congas")
        sources = [{"instrument": instrument, "sounding": True, "intervals": [[0.0, CLIP_S]],
                    "loudness_db": float(r.uniform(-20, -14)), "notes": _notes_melodic(r, instrument, beats)}]
        if drums:
            sources.append({"instrument": drums, "sounding": True, "intervals": [[0.0, CLIP_S]],
                            "loudness_db": float(r.uniform(-22, -16)), "notes": _notes_drums(r, drums, beats)})
        changes = [p["start"] for p in tempo[1:]] if kind != "rubato" else []
        out.append({"video_id": f"{i:04d}", "duration": CLIP_S, "sample_rate": SR, "kind": str(kind),
                    "instrument": instrument, "family": FAMILY[instrument], "drums": drums,
                    "sources": sources, "voiceover": {"present": False, "intervals": []},
                    "tempo": tempo, "changes": changes, "seed": [seed, i]})
    return out


# --- labellers -----------------------------------------------------------------------------------

def librosa_tempo(audio, sr, bounds, mask):
    """librosa.feature.tempo(aggregate=None) over the clip; the median of each segment's frames."""
    import librosa
    hop = 512
    env = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=hop)
    tempi = librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=hop, aggregate=None)
    times = librosa.frames_to_time(np.arange(len(tempi)), sr=sr, hop_length=hop)
    out = np.zeros(len(bounds), np.float32)
    for i in np.flatnonzero(mask):
        sel = (times >= bounds[i, 0]) & (times < bounds[i, 1])
        out[i] = float(np.median(tempi[sel])) if sel.any() else 0.0
    return out


def librosa_beat_track(audio, sr, bounds, mask):
    """librosa.beat.beat_track on each segment alone."""
    import librosa
    out = np.zeros(len(bounds), np.float32)
    for i in np.flatnonzero(mask):
        seg = audio[int(bounds[i, 0] * sr):int(bounds[i, 1] * sr)]
        tempo, _ = librosa.beat.beat_track(y=seg, sr=sr)
        out[i] = float(np.atleast_1d(tempo)[0])
    return out


def _load_estimator(path: str):
    spec = importlib.util.spec_from_file_location(f"bench_rhythm_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.estimate_bpm


LABELLERS = {"amuse": rhythm.estimate_bpm, "librosa_tempo_median": librosa_tempo,
             "librosa_beat_track": librosa_beat_track}


# --- one clip --------------------------------------------------------------------------------------

def run_clip(job) -> dict:
    meta, sf2, extra, theta, only = job
    import torch
    torch.set_num_threads(1)
    labellers = {**{n: f for n, f in LABELLERS.items() if only is None or n in only},
                 **{name: _load_estimator(path) for name, path in extra}}
    audio = rhythm_pieces.render(meta, sf2, np.random.default_rng(meta["seed"]))
    bounds, mask = rhythm.segment_bounds(CLIP_S, SEGMENT_S, int(CLIP_S // SEGMENT_S))
    true_bpm = truth.segment_bpm(meta, bounds, mask)
    rec = {"video_id": meta["video_id"], "kind": meta["kind"], "instrument": meta["instrument"],
           "family": meta["family"], "drums": meta["drums"], "true_bpm": [round(float(b), 2) for b in true_bpm],
           "true_labels": truth.change_labels(true_bpm, mask, theta).astype(int).tolist(),
           "constant": constant_segments(meta, bounds).tolist(),
           "rate_change": rhythm_pieces.rate_change_segments(meta).tolist(), "est": {}, "seconds": {}}
    for key in ("densities", "meter", "swing", "duet", "room"):
        if key in meta:
            rec[key] = meta[key]
    for name, fn in labellers.items():
        start = time.perf_counter()
        bpm = fn(audio, SR, bounds, mask)
        rec["seconds"][name] = round(time.perf_counter() - start, 3)
        rec["est"][name] = {"bpm": [round(float(b), 2) for b in bpm],
                            "labels": rhythm.change_labels(bpm, mask, theta).astype(int).tolist()}
    return rec


def constant_segments(meta: dict, bounds: np.ndarray) -> np.ndarray:
    """Segment i (>= 1) lies, with segment i-1, inside one constant piece of a non-rubato map (the hard
    pieces: of the written tempo, under their +-2 % rubato)."""
    out = np.zeros(len(bounds), bool)
    if meta["kind"] == "rubato":
        return out
    for i in range(1, len(bounds)):
        t0, t1 = bounds[i - 1, 0], bounds[i, 1]
        out[i] = not any(t0 < c < t1 for c in meta["changes"])
    return out


# --- figures ---------------------------------------------------------------------------------------

def octave_error(est: float, true: float) -> float:
    return min(abs(f * est - true) / true for f in (0.5, 1.0, 2.0))


def figures(recs: list[dict], name: str) -> dict:
    tp = fp = fn = false_const = n_const = false_rate = n_rate = 0
    plain, octave = [], []
    for r in recs:
        est = r["est"][name]
        for i, (t, p) in enumerate(zip(r["true_labels"], est["labels"])):
            if i == 0:
                continue
            tp, fp, fn = tp + (t and p), fp + (p and not t), fn + (t and not p)
            if r["constant"][i]:
                n_const += 1
                false_const += p
                if r["rate_change"][i]:
                    n_rate += 1
                    false_rate += p
        for e, t in zip(est["bpm"], r["true_bpm"]):
            plain.append(abs(e - t) / t)
            octave.append(octave_error(e, t))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    plain, octave = plain or [0.0], octave or [0.0]
    return {"clips": len(recs), "segments": len(plain), "true_changes": tp + fn,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "false_changes_constant": int(false_const), "constant_segments": int(n_const),
            "false_change_rate": round(false_const / n_const, 4) if n_const else 0.0,
            "rate_changes_labelled": int(false_rate), "rate_change_segments": int(n_rate),
            "rate_change_false_rate": round(false_rate / n_rate, 4) if n_rate else 0.0,
            "bpm_error_median": round(float(np.median(plain)), 4),
            "bpm_error_octave_median": round(float(np.median(octave)), 4),
            "within_4pct": round(float(np.mean(np.array(plain) <= TOLERANCE)), 4),
            "within_4pct_octave": round(float(np.mean(np.array(octave) <= TOLERANCE)), 4)}


def groups(recs: list[dict]) -> dict[str, list[dict]]:
    out = {"all": recs, "drums": [r for r in recs if r["drums"]], "no_drums": [r for r in recs if not r["drums"]]}
    for fam in sorted({r["family"] for r in recs}):
        out[f"family:{fam}"] = [r for r in recs if r["family"] == fam]
        out[f"family:{fam}/no_drums"] = [r for r in recs if r["family"] == fam and not r["drums"]]
    for kind in sorted({r["kind"] for r in recs}):
        out[f"kind:{kind}"] = [r for r in recs if r["kind"] == kind]
        out[f"kind:{kind}/no_drums"] = [r for r in recs if r["kind"] == kind and not r["drums"]]
    for flag in ("swing", "duet", "room"):
        if any(flag in r for r in recs):
            out[f"{flag}"] = [r for r in recs if r.get(flag)]
    return {k: v for k, v in out.items() if v}


_NONE = {"f1": 0.0, "false_change_rate": 1.0, "rate_change_false_rate": 1.0}
GOALS = {
    "today": {"f1_drums>=0.92": lambda f: f.get("drums", _NONE)["f1"] >= 0.92,
              "f1_no_drums>=0.80": lambda f: f.get("no_drums", _NONE)["f1"] >= 0.80,
              "false_change_rate_no_drums<=0.05": lambda f: f.get("no_drums", _NONE)["false_change_rate"] <= 0.05,
              "bpm_error_octave_median<=0.03": lambda f: f["all"]["bpm_error_octave_median"] <= 0.03},
    # issue 23's figures
    "hard": {"f1_drums>=0.90": lambda f: f.get("drums", _NONE)["f1"] >= 0.90,
             "f1_no_drums>=0.80": lambda f: f.get("no_drums", _NONE)["f1"] >= 0.80,
             "false_change_rate_no_drums<=0.05": lambda f: f.get("no_drums", _NONE)["false_change_rate"] <= 0.05,
             "rate_change_false_rate<=0.10": lambda f: f["all"]["rate_change_false_rate"] <= 0.10},
}


def table(results: dict) -> str:
    head = ("| labeller | F1 drums | F1 no drums | P / R no drums | false changes no drums | "
            "note-rate changes labelled | BPM err median | octave-tol. median | within 4 % (octave) |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    empty = figures([], "-")
    for name, f in results.items():
        d, n, a = f.get("drums", empty), f.get("no_drums", empty), f["all"]
        rate = (f"{a['rate_changes_labelled']} of {a['rate_change_segments']} ({100 * a['rate_change_false_rate']:.1f} %)"
                if a["rate_change_segments"] else "-")
        lines.append(f"| {name} | {d['f1']:.3f} | {n['f1']:.3f} | {n['precision']:.2f} / {n['recall']:.2f} | "
                     f"{n['false_changes_constant']} of {n['constant_segments']} ({100 * n['false_change_rate']:.1f} %) | "
                     f"{rate} | {100 * a['bpm_error_median']:.1f} % | {100 * a['bpm_error_octave_median']:.1f} % | "
                     f"{100 * a['within_4pct_octave']:.0f} % |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", choices=("today", "hard"), default="today",
                    help="today: the bench's own pieces; hard: bench/rhythm_pieces.py")
    ap.add_argument("--seed", type=int, default=None,
                    help="default: the reported run (today 300, hard 2301); development used today 1-3, hard 11-13")
    ap.add_argument("--clips", type=int, default=240)
    ap.add_argument("--soundfont", default=None, help="GM .sf2 (default: TimGM6mb from pretty_midi)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--also", action="append", default=[], metavar="NAME=FILE.py",
                    help="another estimate_bpm to compare (a rhythm.py file)")
    ap.add_argument("--only", default=None, help="comma-separated labellers to run (default: all)")
    ap.add_argument("--out", default=None, help="default: bench/results/rhythm.json (today), rhythm-hard.json (hard)")
    ap.add_argument("--clips-out", default=None, help="also write every clip's estimates here (JSON)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else {"today": 300, "hard": 2301}[args.generator]
    out_path = args.out or str(RESULTS[args.generator])
    sf2 = str(soundfont.resolve(args.soundfont))
    theta = float(config.load(ROOT / "recipes/amuse.yaml")["features"]["rhythm_theta"])
    extra = [tuple(a.split("=", 1)) for a in args.also]
    only = set(args.only.split(",")) if args.only else None
    make = pieces if args.generator == "today" else rhythm_pieces.pieces
    metas = make(seed, args.clips, theta)
    jobs = [(m, sf2, extra, theta, only) for m in metas]
    start = time.perf_counter()
    if args.workers > 1:
        # numba writes librosa's cached beat-tracker kernels non-atomically: workers compiling at once
        # can leave a mismatched pair that segfaults later (numba#10128). Compile once, here, first.
        librosa_beat_track(np.zeros(SR, np.float32), SR, np.array([[0.0, 1.0]]), np.array([True]))
        with mp.get_context("spawn").Pool(args.workers) as pool:
            recs = pool.map(run_clip, jobs, chunksize=1)
    else:
        recs = [run_clip(j) for j in jobs]
    names = list(recs[0]["est"])
    results = {name: {g: figures(rs, name) for g, rs in groups(recs).items()} for name in names}
    out = {
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "generator": args.generator, "seed": seed, "clips": len(recs), "clip_seconds": CLIP_S,
        "segment_seconds": SEGMENT_S, "theta": theta, "soundfont": soundfont.describe(sf2),
        "kinds": {k: sum(r["kind"] == k for r in recs) for k in sorted({r["kind"] for r in recs})},
        "true_changes": int(sum(sum(r["true_labels"]) for r in recs)),
        "seconds": round(time.perf_counter() - start, 1),
        "labeller_seconds": {n: round(sum(r["seconds"][n] for r in recs), 1) for n in names},
        "results": results,
        "goals": {name: {g: bool(check(results[name])) for g, check in GOALS[args.generator].items()}
                  for name in names},
    }
    write_atomic(out_path, json.dumps(out, indent=1) + "\n")
    if args.clips_out:
        write_atomic(args.clips_out, json.dumps(recs) + "\n")
    print(f"{args.generator} pieces: {len(recs)} clips, {out['true_changes']} true changes, theta {theta}, "
          f"seed {seed}, {out['seconds']} s -> {out_path}")
    print(table({n: results[n] for n in names}))
    for name in names:
        fam = "  ".join(f"{g.split(':')[1]} F1 {f['f1']:.2f} oct {100 * f['bpm_error_octave_median']:.1f}%"
                        for g, f in results[name].items() if g.startswith("family:") and "/" not in g)
        print(f"{name}: {fam}")
    print(json.dumps(out["goals"]))


if __name__ == "__main__":
    main()
