"""Benchmark the stage world's sound: CPU time to render one clip's audio (sampled instruments through
TinySoundFont with expression, the room, the mix) on one core, by number of sounding sources, beside
the synthetic timbres on the same scenes; whether the beat is audible (the suite's rhythm labeller,
features/rhythm.py, on both renderings: per-segment change labels against the truth, tempo within 8 %
up to an octave); and what the mixes hold (settings, expression marks, the anti-clipping gain).

Run: .venv/bin/python bench/sound.py [--videos 60] [--seed 0] [--seconds 12]   -> bench/results/sound.json
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amuse_cli.features import rhythm, truth                          # noqa: E402
from amuse_cli.synth import audio, soundfont                          # noqa: E402
from amuse_cli.synth.scene import Stream, video_rng                   # noqa: E402
from amuse_cli.synth.worlds import WORLDS                             # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "sound.json"


def _cpu(fn, *args) -> tuple[float, np.ndarray]:
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def _rhythm(meta: dict, mix: np.ndarray) -> tuple[float, float]:
    """(segments whose change label is right, segments whose tempo is right up to an octave)."""
    bounds, mask = rhythm.segment_bounds(meta["duration"], 3.0, int(meta["duration"] // 3.0))
    est = rhythm.estimate_bpm(mix, meta["sample_rate"], bounds, mask)
    true = truth.segment_bpm(meta, bounds, mask)
    labels = np.mean(rhythm.change_labels(est, mask, 0.25)[mask] == truth.change_labels(true, mask, 0.25)[mask])
    octave = np.log2(np.maximum(est[mask], 1e-6) / true[mask])
    return float(labels), float(np.mean(np.abs(octave - np.round(octave)) < np.log2(1.08)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args()
    font = soundfont.resolve(None)
    world = WORLDS["stage"]
    by_sources, synthetic, gains, marks = {}, [], [], Counter()
    beat = {"sampled": [], "synthetic": []}
    audio.render_audio(world.plan(args.seed, 0, args.seconds, 8, (320, 240), 16000),
                       np.random.default_rng(0), font)                       # warm: imports, font bytes
    for i in range(args.videos):
        meta = world.plan(args.seed, i, args.seconds, 8, (320, 240), 16000)
        heard = [s for s in meta["sources"] if s["sounding"]]
        cpu, mix = _cpu(audio.render_audio, meta, video_rng(args.seed, i, Stream.AUDIO), font)
        by_sources.setdefault(len(heard), []).append(cpu)
        cpu_synth, dry = _cpu(audio.render_audio, meta, video_rng(args.seed, i, Stream.AUDIO), None)
        synthetic.append(cpu_synth)
        beat["sampled"].append(_rhythm(meta, mix))
        beat["synthetic"].append(_rhythm(meta, dry))
        if np.isclose(np.abs(mix).max(), audio.PEAK):                         # the anti-clipping gain acted
            # its size: the mix's energy against the sources' (each at loudness_db while it plays)
            expected = sum(10 ** (s["loudness_db"] / 10) * sum(e - b for b, e in s["intervals"]) / args.seconds
                           for s in heard)
            gains.append(float(10 * np.log10(np.mean(mix.astype(np.float64) ** 2) / expected)))
        marks.update([f"setting:{meta['setting']}"] + [f"{k}:{s[k]}" for s in heard
                                                         for k in ("articulation", "dynamics")])
        marks.update(f"vibrato:{s['instrument']}" for s in heard if s.get("vibrato"))
    every = [t for ts in by_sources.values() for t in ts]
    out = {
        "command": f"bench/sound.py --videos {args.videos} --seed {args.seed} --seconds {args.seconds}",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "font": soundfont.describe(font),
        "clip_seconds": args.seconds, "videos": args.videos,
        "cpu_s_per_clip": {"mean": round(float(np.mean(every)), 4), "median": round(float(np.median(every)), 4),
                           "p95": round(float(np.percentile(every, 95)), 4), "max": round(float(np.max(every)), 4)},
        "cpu_s_per_clip_by_sounding_sources": {str(k): {"clips": len(v), "mean": round(float(np.mean(v)), 4),
                                                        "max": round(float(np.max(v)), 4)}
                                               for k, v in sorted(by_sources.items())},
        "synthetic_timbres_cpu_s_per_clip": round(float(np.mean(synthetic)), 4),
        "rhythm_labeller": {k: {"change_label_agreement": round(float(np.mean([a for a, _ in v])), 3),
                                "tempo_right_up_to_octave": round(float(np.mean([b for _, b in v])), 3)}
                            for k, v in beat.items()},
        "mixes_scaled_against_clipping": len(gains),
        "anti_clipping_gain_db_median": round(float(np.median(gains)), 1) if gains else None,
        "marks": dict(sorted(marks.items())),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    shown = ("cpu_s_per_clip", "cpu_s_per_clip_by_sounding_sources", "synthetic_timbres_cpu_s_per_clip",
             "rhythm_labeller", "mixes_scaled_against_clipping", "anti_clipping_gain_db_median")
    print(json.dumps({k: out[k] for k in shown}, indent=2))


if __name__ == "__main__":
    main()
