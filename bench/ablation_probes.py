"""The decisive experiments beside the ablation table (bench/ablation.py): why an effect's sign differs
from the paper's Table 4. Three small tools, each writing or printing what it measured:

    python bench/ablation_probes.py branches --root DATA --cache CACHE      # what the branches' inputs hold
    python bench/ablation_probes.py knockout -C WORK RUN [RUN ...]            # adapters zeroed at test time
    python bench/ablation_probes.py random-streams OUT.pt [--like FILE]      # perception not pretrained
    python bench/ablation_probes.py stage1 -C WORK RUN [RUN ...]              # what the branches learnt

`branches`: a linear probe (logistic regression on standardised features; train split fitted, val and test
scored) from the question alone (template, slot fillers), then with the cached rhythm labels (per-segment
tempo class and bpm: the rhythm branch's input) or the cached source labels (per-segment instrument
presence: the source branch's input) added. A branch whose input adds nothing over the question cannot
help any model; one that adds much, but whose row does not hurt, is not used or is redundant.
`knockout`: copies each trained run with every adapter gate set to 0 (so the streams run as if the run had
no adapters), evaluates it on test and reports the change: what the trained model takes from its adapters.
`random-streams`: a perception file like `--like` whose visual and audio streams are re-initialised at
random (seeded) and so were never pretrained on the generator's truth; the performer detector and scene
heads are kept. Training the full and ablated gated rows on it (model.weights=OUT.pt) asks whether
adapters and the source branch matter once the streams do not already report the scene.
`stage1`: how well a trained run's stage-1 encoders predict their own targets per segment (R^2 of the
rhythm label and of the number of sources; correlation and R^2 of the per-class source levels) on its
train videos and on its test videos: a branch can only help if it delivers its labels on videos it did
not train on.
Writes bench/results/ablation-probes-<tool>.json (--out to change).
"""
from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli.atomic import write_atomic  # noqa: E402

RUN_FILES = ("config.yaml", "vocab.json", "command.txt", "env.txt", "git.txt", "metrics.jsonl")


def branches(root: Path, cache_folder: Path) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from amuse_cli import config
    from amuse_cli.data.annotations import load_annotations
    from amuse_cli.data.metrics import accuracy_cells
    from amuse_cli.data.taxonomy import INSTRUMENTS
    from amuse_cli.features.lookup import open_cache

    cfg = config.load(REPO / "recipes/amuse-tiny.yaml", [f"data.root={root}", f"features.cache={cache_folder}"])
    cache = open_cache(cfg)
    recs = {s: load_annotations(root / cfg["data"][s]) for s in ("train", "val", "test")}
    templates = sorted({r.template for v in recs.values() for r in v})
    fillers = sorted({x for v in recs.values() for r in v for x in r.values})

    def inputs(video_id: str) -> dict:
        a = cache.arrays(video_id)
        m = a["segment_mask"].astype(float)
        classes = a["source_classes"] * m[:, None]
        return {"rhythm": [a["rhythm"] * m, a["bpm"] * m],
                "source": [classes.reshape(-1), classes.max(0), a["sources"] * m]}

    videos = {r.video_id: inputs(r.video_id) for v in recs.values() for r in v}

    def row(r, extra: str | None) -> np.ndarray:
        q = np.zeros(len(templates) + 3 * len(fillers))
        q[templates.index(r.template)] = 1
        for i, x in enumerate(r.values[:3]):
            q[len(templates) + i * len(fillers) + fillers.index(x)] = 1
        parts = [q] + (videos[r.video_id][extra] if extra else [])
        if extra == "source":   # the named instruments' own levels: what a reader of the branch looks up
            level = videos[r.video_id]["source"][1]
            parts.append(np.array([level[INSTRUMENTS.index(x)] if x in INSTRUMENTS else -1.0
                                   for x in (list(r.values) + [None, None])[:2]]))
        return np.concatenate(parts)

    out = {}
    for extra in (None, "rhythm", "source"):
        x = {s: np.stack([row(r, extra) for r in recs[s]]) for s in recs}
        y = {s: np.array([r.answer for r in recs[s]]) for s in recs}
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(x["train"], y["train"])
        arm = {}
        for s in ("val", "test"):
            cells = accuracy_cells((r.group, r.qtype, ok) for r, ok in zip(recs[s], clf.predict(x[s]) == y[s]))
            arm[s] = round(cells["Avg"]["acc"], 2)
            arm[f"{s}_cells"] = {c: cell["acc"] for c, cell in cells.items()}
        out["question" + (f" + {extra} labels" if extra else "")] = arm
        print(f"{'question' + (' + ' + extra if extra else ''):20s} val {arm['val']:6.2f}  test {arm['test']:6.2f}")
    return {"what": "linear probe: answers from the question, alone or with a branch's cached input",
            "root": str(root), "questions": {s: len(v) for s, v in recs.items()}, "arms": out}


def knockout(work: Path, runs: list[Path]) -> dict:
    import torch
    out = {}
    for run in runs:
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            copy = Path(tmp) / run.name
            copy.mkdir()
            for name in RUN_FILES:
                if (run / name).is_file():
                    shutil.copy(run / name, copy / name)
            ckpt = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
            gates = {k: float(v.abs().max()) for k, v in ckpt["model"].items() if k.endswith(".gate")}
            if not gates:
                raise SystemExit(f"{run}: no adapter gates in best.pt (trained with model.adapters=none?)")
            for k in gates:
                ckpt["model"][k].zero_()
            torch.save(ckpt, copy / "best.pt")
            subprocess.run([sys.executable, "-m", "amuse_cli", "eval", str(copy), "--split", "test"],
                           cwd=work, check=True, stdout=subprocess.DEVNULL)
            zeroed = json.loads((copy / "metrics-test.json").read_text())["cells"]
        trained = json.loads((run / "metrics-test.json").read_text())["cells"]
        out[run.name] = {"largest_gate": round(max(gates.values()), 4), "gates": {k: round(v, 4) for k, v in gates.items()},
                         "test": trained["Avg"]["acc"], "test_gates_zeroed": zeroed["Avg"]["acc"],
                         "change": round(zeroed["Avg"]["acc"] - trained["Avg"]["acc"], 2),
                         "groups_zeroed": {g: zeroed[g]["acc"] for g in ("A-Avg", "V-Avg", "AV-Avg")}}
        print(f"{run.name}: test {trained['Avg']['acc']:.2f} -> {zeroed['Avg']['acc']:.2f} with every gate at 0 "
              f"(largest trained |gate| {max(gates.values()):.3f})")
    changes = [r["change"] for r in out.values()]
    return {"what": "trained runs evaluated on test with every adapter gate set to 0", "runs": out,
            "mean_change": round(float(np.mean(changes)), 2)}


def stage1(work: Path, runs: list[Path]) -> dict:
    import os
    import torch
    from torch.utils.data import default_collate
    from amuse_cli.data.annotations import load_annotations
    from amuse_cli.engine import datasets
    from amuse_cli.engine.evaluate import build_model, load_checkpointed_run
    from amuse_cli.features.lookup import open_cache
    os.chdir(work)                          # the runs' configs name data and cache relative to it

    def r2(pred, target) -> float:
        return round(1 - float(((pred - target) ** 2).mean() / target.var().clamp(min=1e-9)), 3)

    out = {}
    for run in runs:
        cfg, vocab, state, ckpt = load_checkpointed_run(run)
        cache = open_cache(cfg)
        model = build_model(cfg, datasets.spec(cfg, cache.shapes, vocab), state, "cpu", ckpt)
        if model.stage1 is None:
            raise SystemExit(f"{run}: trained without rhythm and source branches")
        out[run.name] = {}
        for split in ("train", "test"):
            per_video = {r.video_id: r for r in load_annotations(Path(cfg["data"]["root"]) / cfg["data"][split])}
            items = datasets.AVQADataset(list(per_video.values()), cache, vocab)   # one item per video
            got = collections.defaultdict(lambda: collections.defaultdict(list))
            with torch.no_grad():
                for i in range(0, len(items), 16):
                    batch = default_collate([items[j] for j in range(i, min(i + 16, len(items)))])
                    valid, outputs = model.stage1.segment_outputs(batch)
                    for name, enc in model.stage1.encoders.items():
                        pred = outputs[name]
                        got[name]["pred"].append(pred[:, 0])
                        got[name]["target"].append(batch["sources" if enc.kind == "source" else "rhythm"][valid].float())
                        if enc.kind == "source":
                            got[name]["levels"].append(pred[:, 1:].sigmoid().flatten())
                            got[name]["level_targets"].append(batch["source_classes"][valid].float().flatten())
            cells = {}
            for name, g in got.items():
                cell = {"r2": r2(torch.cat(g["pred"]), torch.cat(g["target"]))}
                if g["levels"]:
                    lv, lt = torch.cat(g["levels"]), torch.cat(g["level_targets"])
                    cell.update(class_level_corr=round(float(torch.corrcoef(torch.stack([lv, lt]))[0, 1]), 3),
                                class_level_r2=r2(lv, lt))
                cells[name] = cell
            out[run.name][split] = {"videos": len(items), **cells}
            print(f"{run.name} {split}: " + "; ".join(f"{n} " + " ".join(f"{k} {v}" for k, v in c.items())
                                                      for n, c in cells.items()))
    return {"what": "stage-1 encoders against their own per-segment targets, train and test videos "
                    "(r2: rhythm label / number of sources; class_level_*: per-class source levels)", "runs": out}


def random_streams(out_file: Path, like: Path, seed: int) -> dict:
    import torch
    from amuse_cli.models.swin import SwinStream, build_swin
    state = torch.load(like, map_location="cpu", weights_only=False)
    torch.manual_seed(seed)
    for name, size in (("visual", state["config"]["image_size"]), ("audio", state["config"]["audio_size"])):
        fresh = SwinStream(build_swin(state["config"]["backbone"], "none"), size, False).state_dict()
        if fresh.keys() != state[name].keys():
            raise SystemExit(f"{like}: its {name} stream does not fit this version's model; make it again")
        state[name] = fresh
    state["note"] = f"streams re-initialised at random (seed {seed}) by bench/ablation_probes.py; the rest as {like.name}"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out_file)
    print(f"wrote {out_file}")
    return {"what": "perception file with random streams", "file": str(out_file), "like": str(like), "seed": seed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="tool", required=True)
    b = sub.add_parser("branches")
    b.add_argument("--root", type=Path, required=True, help="the benchmark folder (json/, meta/)")
    b.add_argument("--cache", type=Path, required=True, help="features.cache holding its amuse-tiny cache")
    k = sub.add_parser("knockout")
    k.add_argument("-C", "--work", type=Path, default=Path("."), help="folder the runs' relative paths start from")
    k.add_argument("runs", nargs="+", type=Path)
    r = sub.add_parser("random-streams")
    r.add_argument("out_file", type=Path)
    r.add_argument("--like", type=Path, default=REPO / "checkpoints/pretrained/perception-stage.pt")
    r.add_argument("--seed", type=int, default=0)
    s1 = sub.add_parser("stage1")
    s1.add_argument("-C", "--work", type=Path, default=Path("."), help="folder the runs' relative paths start from")
    s1.add_argument("runs", nargs="+", type=Path)
    for p in (b, k, r, s1):
        p.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = (args.out or REPO / "bench" / "results" / f"ablation-probes-{args.tool}.json").resolve()
    if args.tool == "branches":
        result = branches(args.root.resolve(), args.cache.resolve())
    elif args.tool == "knockout":
        result = knockout(args.work.resolve(), [run.resolve() for run in args.runs])
    elif args.tool == "stage1":
        result = stage1(args.work.resolve(), [run.resolve() for run in args.runs])
    else:
        result = random_streams(args.out_file, args.like, args.seed)
    write_atomic(out, json.dumps({"command": "python bench/ablation_probes.py " + " ".join(sys.argv[1:]), **result},
                                 indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
