"""Does a synthetic set give its answers away in the picture? Three probes on any `amuse synth` folder.

Each probe is a linear classifier (scikit-learn logistic regression) trained on the set's train videos and
scored on its test videos (the set's own split, by video), on crops around each on-screen performer,
decoded back from the mp4 files (compression included) at the performer's box in that frame:

- one frame:     a 16x24 (w x h) thumbnail of ONE frame -> seen playing at that moment, or not.
                 Balanced accuracy; 0.5 is chance. A world where one frame shows who plays scores ~1.
- several frames: the same crop at MOTION_FRAMES consecutive frames, as a fixed motion feature (the
                 thumbnail's mean and its mean absolute change from frame to frame) -> playing throughout
                 those frames, or silent throughout. High means the information is there, in motion.
- colour:        the mean RGB of a performer's crop (one frame) -> its instrument class (22-way).
                 Accuracy beside the majority class's share.

    python bench/probe.py data/synth                  # -> bench/results/probe.json
    python bench/probe.py data/synth-classic --out bench/results/probe-classic.json
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli.atomic import write_atomic  # noqa: E402

THUMB = (24, 16)              # thumbnail rows x columns
MOTION_FRAMES = 4             # consecutive frames the several-frame probe sees
FRAMES_PER_VIDEO = 8          # moments sampled per video for the one-frame and colour probes
CLASSIC_SLOT_W, CLASSIC_TOP = 0.23, 0.2      # the classic world's fixed performer boxes (synth/video.py)


def performer_boxes(meta: dict, times: np.ndarray) -> list[tuple[dict, np.ndarray]]:
    """(source, boxes [len(times), 4] in 0..1 screen units) of every on-screen performer."""
    visible = [s for s in meta["sources"] if s["visible"]]
    if "camera" in meta:
        from amuse_cli.synth.staging import screen_boxes
        return list(zip(visible, screen_boxes(meta, times)))
    out = []
    for s in visible:
        box = np.array([s["x"] - CLASSIC_SLOT_W / 2, CLASSIC_TOP, s["x"] + CLASSIC_SLOT_W / 2, 0.99])
        out.append((s, np.repeat(box[None], len(times), axis=0)))
    return out


def all_frames(path: Path) -> np.ndarray:
    import av
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def crop(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The box's pixels resized to THUMB by area averaging, float32 [rows, cols, 3] in 0..1."""
    import torch
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = (np.clip(box, 0, 1) * [w, h, w, h]).round().astype(int)
    x1, y1 = max(x1, x0 + 2), max(y1, y0 + 2)
    patch = torch.from_numpy(frame[y0:y1, x0:x1].astype(np.float32) / 255).permute(2, 0, 1)[None]
    return torch.nn.functional.adaptive_avg_pool2d(patch, THUMB)[0].permute(1, 2, 0).numpy()


def playing_at(src: dict, t: float) -> bool:
    return any(s <= t < e for s, e in src.get("seen_playing", src["intervals"]))


def samples(folder: Path, meta: dict) -> dict[str, list]:
    """Probe rows of one video: one-frame, several-frame and colour samples."""
    frames = all_frames(folder / "videos" / f"{meta['video_id']}.mp4")
    times = np.arange(len(frames)) / meta["fps"]
    rows = {"one": [], "motion": [], "colour": []}
    starts = np.linspace(0, len(frames) - MOTION_FRAMES, FRAMES_PER_VIDEO).round().astype(int)
    for src, boxes in performer_boxes(meta, times):
        for f in starts:
            thumb = crop(frames[f], boxes[f])
            rows["one"].append((thumb.ravel(), playing_at(src, times[f])))
            rows["colour"].append((thumb.reshape(-1, 3).mean(0), src["instrument"]))
            window = range(f, f + MOTION_FRAMES)
            states = {playing_at(src, times[k]) for k in window}
            if len(states) == 1:
                seq = np.stack([crop(frames[k], boxes[k]) for k in window])
                feature = np.concatenate([seq.mean(0).ravel(), np.abs(np.diff(seq, axis=0)).mean(0).ravel()])
                rows["motion"].append((feature, states.pop()))
    return rows


def fit_score(train, test, balanced: bool) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    xtr, ytr = np.array([x for x, _ in train]), [y for _, y in train]
    xte, yte = np.array([x for x, _ in test]), [y for _, y in test]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    model.fit(xtr, ytr)
    pred = model.predict(xte)
    score = balanced_accuracy_score(yte, pred) if balanced else accuracy_score(yte, pred)
    majority = Counter(ytr).most_common(1)[0][0]
    return {"score": round(float(score), 4), "train": len(train), "test": len(test),
            "majority_share": round(float(np.mean([y == majority for y in yte])), 4),
            "labels_test": dict(Counter(map(str, yte)).most_common())}


def probe(folder: Path) -> dict:
    metas = [json.loads(p.read_text()) for p in sorted((folder / "meta").glob("*.json"))]
    parts = {"train": {"one": [], "motion": [], "colour": []}, "test": {"one": [], "motion": [], "colour": []}}
    for meta in metas:
        split = "train" if meta.get("split") in ("train", "val") else "test"
        for key, rows in samples(folder, meta).items():
            parts[split][key].extend(rows)
    return {
        "one_frame_playing": fit_score(parts["train"]["one"], parts["test"]["one"], balanced=True),
        "several_frames_playing": fit_score(parts["train"]["motion"], parts["test"]["motion"], balanced=True),
        "colour_class": fit_score(parts["train"]["colour"], parts["test"]["colour"], balanced=False),
        "generator": metas[0].get("generator"), "world": metas[0].get("world", "classic"),
        "videos": len(metas),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a folder written by `amuse synth`")
    ap.add_argument("--out", type=Path, default=REPO / "bench/results/probe.json")
    args = ap.parse_args()
    start = time.time()
    result = {"folder": str(args.folder), **probe(args.folder), "seconds": round(time.time() - start, 1),
              "python": platform.python_version(),
              "command": "python bench/probe.py " + " ".join(sys.argv[1:])}
    write_atomic(args.out, json.dumps(result, indent=2) + "\n")
    for key in ("one_frame_playing", "several_frames_playing", "colour_class"):
        r = result[key]
        print(f"{key:24s} {r['score']:.3f}  (test {r['test']}, majority share {r['majority_share']:.3f})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
