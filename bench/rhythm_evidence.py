"""Which evidence can carry the rhythm label? Tempo candidates per segment and the labeller's path on several
onset envelopes, the pieces' true note onsets among them (issue 23's decisive experiment).

The labeller (features/rhythm.py) turns an onset envelope into one tempogram per 3 s segment and joins the
segments' candidates by one Viterbi path per clip. On the hard pieces without drums it labels few changes
right. Is the envelope (an energy flux, weak on legato notes) the limit? Each evidence below goes through the
same tempograms and the same path; the last one is no detector at all but every source's true note onsets:
  flux        the labeller's own: 4 groups of log-mel bands, positive flux, weighted by their share of it;
  pitch       pitch novelty: per semitone band (1024-point STFT), how far the band rises above its own maximum
              over the previous ~190 ms and the bands beside it: a new pitch fires even without an attack,
              a vibrato (~5 Hz) or a held or decaying note does not;
  flux+pitch  both, each tempogram weighted by its own periodicity (its peak);
  hpss        librosa's harmonic/percussive separation: the flux of the percussive part and the pitch novelty
              of the harmonic part, combined as flux+pitch;
  onsets      an oracle: impulses at every note's true onset, weighted by its velocity (no audio).
Reported per evidence: per segment, how often the tempogram's top peak is the true tempo (within 4 %), the
true tempo or an octave of it, and how often the true tempo is among the top 3 peaks; and the labels of the
path (bench/rhythm.figures: F1 with and without drums, false changes, note-rate changes, per family).
Also, for the hard pieces without drums, how much the melody's note count changes across a tempo change,
across a note-rate change at one tempo, and across a steady boundary: a labeller reading note rates alone
cannot tell the first two apart where they overlap.

Run: .venv/bin/python bench/rhythm_evidence.py [--generator hard|today] [--seeds 11,12,13] [--clips 240]
     [--workers 2] [--show N] [--out FILE]     (default out: bench/results/rhythm-evidence-<generator>.json)
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amuse_cli import config                                   # noqa: E402
from amuse_cli.atomic import write_atomic                      # noqa: E402
from amuse_cli.features import rhythm, truth                   # noqa: E402
from amuse_cli.synth import soundfont                          # noqa: E402
from bench import rhythm as bench                              # noqa: E402
from bench import rhythm_pieces                                # noqa: E402

SR, CLIP_S, SEGMENT_S = 16000, 30.0, 3.0
FPS = SR / rhythm.ONSET_HOP
EVIDENCE = ("flux", "pitch", "flux+pitch", "hpss", "onsets")
PITCH_FFT = 1024               # the labeller's frames: 64 ms, hop 16 ms
PITCH_RANGE = (36, 108)        # semitone bands, MIDI C2..C8 (bands finer than the FFT's bins are merged)
PITCH_MEMORY = 12              # frames (~190 ms, longer than a vibrato cycle) a band must rise above
HPSS_KERNEL = 17               # librosa's default median-filter length (frames and bins)


# --- evidence -------------------------------------------------------------------------------------------

_SEMITONES = {}


def semitone_bands(sr: int) -> np.ndarray:
    """[bands, bins] triangular semitone filters on the STFT's bins; rows that would be empty (low bands
    narrower than a bin) take the nearest bin, and repeated rows are kept once."""
    if sr not in _SEMITONES:
        freqs = np.fft.rfftfreq(PITCH_FFT, 1.0 / sr)
        midi = 69 + 12 * np.log2(np.maximum(freqs, 1e-3) / 440.0)
        centres = np.arange(PITCH_RANGE[0], PITCH_RANGE[1] + 1)
        w = np.clip(1.0 - np.abs(midi[None, :] - centres[:, None]), 0.0, None)
        for k, c in enumerate(centres):
            if not w[k].any():
                w[k, np.argmin(np.abs(midi - c))] = 1.0
        w = np.unique(w / w.sum(axis=1, keepdims=True), axis=0)
        _SEMITONES[sr] = w[np.argsort(np.argmax(w, axis=1))]
    return _SEMITONES[sr]


def power_spectrogram(audio: np.ndarray) -> np.ndarray:
    """[bins, frames] power, frames as the labeller's onset envelope (centred, hop ONSET_HOP)."""
    import librosa
    return np.abs(librosa.stft(audio, n_fft=PITCH_FFT, hop_length=rhythm.ONSET_HOP)) ** 2


def pitch_novelty(power: np.ndarray, sr: int) -> np.ndarray:
    """[frames]: mean over semitone bands of the band's rise (dB, 80 dB range) above the maximum of itself and
    its two neighbours over the previous PITCH_MEMORY frames."""
    from scipy.ndimage import maximum_filter1d
    db = 10.0 * np.log10(np.maximum(semitone_bands(sr) @ power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    ref = maximum_filter1d(maximum_filter1d(db, 3, axis=0), PITCH_MEMORY, axis=1,
                           origin=(PITCH_MEMORY - 1) // 2, mode="nearest")        # trailing window, ending at t
    out = np.zeros(db.shape[1])
    out[1:] = np.maximum(db[:, 1:] - ref[:, :-1], 0.0).mean(axis=0)
    return out


def mel_flux(power: np.ndarray, sr: int) -> np.ndarray:
    """[frames]: the labeller's spectral flux (log-mel, 80 dB range, positive differences) of a power
    spectrogram."""
    db = 10.0 * np.log10(np.maximum(rhythm._mel_basis(sr) @ power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    return np.concatenate([[0.0], np.maximum(db[:, 1:] - db[:, :-1], 0.0).mean(axis=0)])


def note_onsets(meta: dict, frames: int) -> np.ndarray:
    """[frames]: every source's notes as impulses of their velocity, smoothed over ~1 frame (the oracle)."""
    from scipy.ndimage import gaussian_filter1d
    out = np.zeros(frames)
    for src in meta["sources"]:
        for n in src["notes"]:
            k = int(round(n["t"] * FPS))
            if k < frames:
                out[k] += n["velocity"]
    return gaussian_filter1d(out, 1.0)


def envelopes(audio: np.ndarray, meta: dict) -> dict[str, tuple[np.ndarray, str]]:
    """Evidence name -> ([bands, frames] envelopes, how their tempograms combine)."""
    import librosa
    flux = rhythm.onset_envelope(audio, SR, rhythm.ONSET_BANDS)
    frames = flux.shape[1]
    power = power_spectrogram(audio)[:, :frames]
    pitch = pitch_novelty(power, SR)
    harmonic, percussive = librosa.decompose.hpss(power, kernel_size=HPSS_KERNEL)
    return {"flux": (flux, "share"), "pitch": (pitch[None], "share"),
            "flux+pitch": (np.vstack([flux.mean(axis=0), pitch]), "periodicity"),
            "hpss": (np.vstack([mel_flux(percussive, SR), pitch_novelty(harmonic, SR)]), "periodicity"),
            "onsets": (note_onsets(meta, frames)[None], "share")}


def segment_curves(envs: np.ndarray, rule: str, bounds: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
    """Tempograms per segment: the labeller's (bands weighted by their share of the flux) or, for envelopes of
    different kinds whose levels do not compare, each band's tempogram weighted by its own peak."""
    if rule == "share":
        return rhythm.segment_curves(envs, FPS, bounds, valid)
    curves = []
    for i in valid:
        part = envs[:, int(round(bounds[i, 0] * FPS)):int(round(bounds[i, 1] * FPS))]
        grams = [rhythm.tempogram(e, FPS) for e in part]
        curves.append(sum(g * g.max() for g in grams) / len(grams))
    return curves


def top_peaks(curve: np.ndarray, k: int = 3) -> list[float]:
    """BPM of the k highest local maxima of a tempogram (edges count)."""
    c = np.concatenate([[-1.0], curve, [-1.0]])
    idx = np.flatnonzero((c[1:-1] > c[:-2]) & (c[1:-1] >= c[2:]) & (curve > 0))
    return [float(rhythm.TEMPO_GRID[i]) for i in idx[np.argsort(-curve[idx])][:k]]


# --- one clip -----------------------------------------------------------------------------------------

def run_clip(job) -> dict:
    meta, sf2, theta = job
    import torch
    torch.set_num_threads(1)
    audio = rhythm_pieces.render(meta, sf2, np.random.default_rng(meta["seed"]))
    bounds, mask = rhythm.segment_bounds(CLIP_S, SEGMENT_S, int(CLIP_S // SEGMENT_S))
    valid = np.flatnonzero(mask)
    true_bpm = truth.segment_bpm(meta, bounds, mask)
    melody = np.array([n["t"] for n in meta["sources"][0]["notes"]])
    rec = {"video_id": meta["video_id"], "kind": meta["kind"], "instrument": meta["instrument"],
           "family": meta["family"], "drums": meta["drums"], "true_bpm": [round(float(b), 2) for b in true_bpm],
           "true_labels": truth.change_labels(true_bpm, mask, theta).astype(int).tolist(),
           "constant": bench.constant_segments(meta, bounds).tolist(),
           "rate_change": rhythm_pieces.rate_change_segments(meta).tolist(),
           "melody_notes": [int(np.sum((melody >= a) & (melody < b))) for a, b in bounds],
           "est": {}, "peaks": {}}
    for name, (envs, rule) in envelopes(audio, meta).items():
        curves = segment_curves(envs, rule, bounds, valid)
        bpm = np.zeros(len(bounds))
        bpm[valid] = rhythm.split_tempo(envs, FPS, bounds, valid, rhythm.tempo_path(curves))
        rec["est"][name] = {"bpm": [round(float(b), 2) for b in bpm],
                            "labels": rhythm.change_labels(bpm, mask, theta).astype(int).tolist()}
        rec["peaks"][name] = [[round(b, 1) for b in top_peaks(c)] for c in curves]
    return rec


# --- figures ------------------------------------------------------------------------------------------

def candidates(recs: list[dict], name: str) -> dict:
    """Shares of segments whose top peak is the true tempo, the true tempo or an octave, and whose top 3 hold it."""
    def near(b, t, factors=(1.0,)):
        return any(abs(f * b - t) <= bench.TOLERANCE * t for f in factors)
    top1 = octave = top3 = n = 0
    for r in recs:
        for peaks, t in zip(r["peaks"][name], r["true_bpm"]):
            n += 1
            top1 += bool(peaks) and near(peaks[0], t)
            octave += bool(peaks) and near(peaks[0], t, (0.5, 1.0, 2.0))
            top3 += any(near(b, t) for b in peaks)
    return {"segments": n, "top1": round(top1 / max(n, 1), 3), "top1_octave": round(octave / max(n, 1), 3),
            "top3": round(top3 / max(n, 1), 3)}


def note_rate(recs: list[dict]) -> dict:
    """Quartiles of |log2| of the melody's note-count ratio between neighbouring segments, without drums."""
    groups = {"tempo_change": [], "note_rate_change": [], "steady": []}
    for r in recs:
        if r["drums"]:
            continue
        c = np.array(r["melody_notes"], float) + 0.5
        for i in range(1, len(c)):
            x = float(abs(np.log2(c[i] / c[i - 1])))
            key = ("tempo_change" if r["true_labels"][i] else "note_rate_change" if r["rate_change"][i]
                   else "steady" if r["constant"][i] else None)
            if key:
                groups[key].append(x)
    return {k: [round(float(q), 2) for q in np.percentile(v, [25, 50, 75])] if v else [] for k, v in groups.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", choices=("today", "hard"), default="hard")
    ap.add_argument("--seeds", default=None, help="comma-separated (default: the development seeds)")
    ap.add_argument("--clips", type=int, default=240, help="per seed")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--show", type=int, default=0, help="print the candidates of N legato clips without drums")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    seeds = ([int(s) for s in args.seeds.split(",")] if args.seeds else
             list(rhythm_pieces.DEV_SEEDS) if args.generator == "hard" else [1, 2, 3])
    out_path = args.out or str(ROOT / "bench" / "results" / f"rhythm-evidence-{args.generator}.json")
    sf2 = str(soundfont.resolve(None))
    theta = float(config.load(ROOT / "recipes/amuse.yaml")["features"]["rhythm_theta"])
    make = bench.pieces if args.generator == "today" else rhythm_pieces.pieces
    jobs = [(m, sf2, theta) for s in seeds for m in make(s, args.clips, theta)]
    start = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            recs = pool.map(run_clip, jobs, chunksize=1)
    else:
        recs = [run_clip(j) for j in jobs]
    groups = bench.groups(recs)
    results = {name: {"labels": {g: bench.figures(rs, name) for g, rs in groups.items()},
                      "candidates": {g: candidates(rs, name) for g, rs in groups.items()
                                     if g in ("all", "drums", "no_drums") or g.endswith("/no_drums")}}
               for name in EVIDENCE}
    out = {"command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "generator": args.generator,
           "seeds": seeds, "clips": len(recs), "theta": theta, "soundfont": soundfont.describe(sf2),
           "true_changes": int(sum(sum(r["true_labels"]) for r in recs)),
           "seconds": round(time.perf_counter() - start, 1), "results": results, "note_rate": note_rate(recs)}
    write_atomic(out_path, json.dumps(out, indent=1) + "\n")
    print(f"{args.generator} pieces, seeds {seeds}: {len(recs)} clips, {out['true_changes']} true changes -> {out_path}")
    print("| evidence | F1 drums | F1 no drums | P / R no drums | false changes no drums | note-rate changes | "
          "top peak = tempo (octave) no drums | tempo in top 3, no drums |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, res in results.items():
        lab, cand = res["labels"], res["candidates"]
        d, n = lab.get("drums", bench.figures([], name)), lab.get("no_drums", bench.figures([], name))
        c = cand.get("no_drums", {"top1": 0, "top1_octave": 0, "top3": 0})
        print(f"| {name} | {d['f1']:.3f} | {n['f1']:.3f} | {n['precision']:.2f} / {n['recall']:.2f} | "
              f"{100 * n['false_change_rate']:.1f} % | {100 * lab['all']['rate_change_false_rate']:.1f} % | "
              f"{c['top1']:.2f} ({c['top1_octave']:.2f}) | {c['top3']:.2f} |")
    for name, res in results.items():
        fam = "  ".join(f"{g.split(':')[1].split('/')[0]} {f['f1']:.2f}" for g, f in res["labels"].items()
                        if g.startswith("family:") and g.endswith("/no_drums"))
        print(f"{name}: F1 without drums by family: {fam}")
    if args.generator == "hard":
        print("melody note-count change |log2|, quartiles, no drums:", json.dumps(out["note_rate"]))
    shown = [r for r in recs if not r["drums"] and r["family"] in rhythm_pieces.LEGATO and r["kind"] == "boundary"
             and r["est"]["flux"]["labels"] != r["true_labels"]][:args.show]
    for r in shown:
        print(f"--- {r['video_id']} {r['instrument']}: true BPM | top 3 peaks per evidence ({', '.join(EVIDENCE)})")
        for i, t in enumerate(r["true_bpm"]):
            print(f"  {t:6.1f} | " + " | ".join(",".join(f"{b:.0f}" for b in r["peaks"][e][i]) for e in EVIDENCE))


if __name__ == "__main__":
    main()
