"""The accuracy ceiling of Amuse's question side on the synthetic benchmark: perfect perception.

Trains each fusion (with the question encoder it uses) on the scene perception should report,
built from the ground truth (features.truth.scene_truth) instead of from pixels and log-mels: per
image column the performer, its class and whether it plays (one performer per column); per class
the heard activity, loudness, note onsets and pitch; voice-over and background. The pooled fusions
read these as flat per-frame branches. Whatever a fusion cannot reach here, no backbone can give it. The epoch is selected on val, test is reported. Scenes are planned without
rendering media (`amuse_cli.synth.generate.plan`), so large benchmarks cost seconds.

    python bench/ceiling.py                                # every fusion at 300 videos x 10 and x 33 questions
    python bench/ceiling.py --fusions grounded --sizes 1000:33 --out /tmp/c.json
Writes bench/results/ceiling.json. `words` is a richer pooled fusion (WordFusion, below) that tests
whether the pooled-and-summed design, rather than the data, is what bounds the score; `grounded`
is the suite's reasoning head over scene entities (models/reasoner.py).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amuse_cli.data.annotations import parse_record  # noqa: E402
from amuse_cli.data.taxonomy import ANSWER_IDS, ANSWERS  # noqa: E402
from amuse_cli.data.vocab import Vocab  # noqa: E402
from amuse_cli.atomic import write_atomic  # noqa: E402
from amuse_cli.features.truth import scene_truth  # noqa: E402
from amuse_cli.models.reasoner import GroundedReasoner  # noqa: E402
from amuse_cli.data.metrics import accuracy_cells  # noqa: E402
from amuse_cli.models.fusion import QuestionGatedFusion  # noqa: E402
from amuse_cli.models.question import QuestionEncoder  # noqa: E402
from amuse_cli.synth.generate import SynthOptions, plan  # noqa: E402
from torch import nn  # noqa: E402

OUT = REPO / "bench" / "results" / "ceiling.json"
FRAMES, WINDOW_S, MAX_TOKENS = 8, 1.0, 14   # as recipes/amuse.yaml: 8 frames, 1 s audio windows
COLUMNS = {"classic": 4, "stage": 6}        # classic: one performer per image column; stage: performer slots
LAYOUT = {"classic": "columns", "stage": "slots"}


def perfect_features(meta: dict, world: str) -> dict[str, np.ndarray]:
    """The scene perception should report (features.truth.scene_truth), plus the flat per-frame
    branches the pooled fusions read: visual = every column's facts and the clip's, audio = every
    class's (heard, loudness, onsets, pitch)."""
    scene = scene_truth(meta, FRAMES, COLUMNS[world], WINDOW_S, layout=LAYOUT[world])
    visual = np.concatenate([scene["cols"].transpose(1, 0, 2).reshape(FRAMES, -1), scene["glob"]], 1)
    audio = scene["classes"].transpose(1, 0, 2).reshape(FRAMES, -1)
    return {**scene, "visual": visual, "audio": audio}


def tensors(records: list, features: dict, vocab: Vocab) -> dict:
    return {**{k: torch.tensor(np.stack([features[r.video_id][k] for r in records]))
               for k in ("visual", "audio", "cols", "classes", "glob")},
            "question": torch.tensor([vocab.encode(r.tokens, MAX_TOKENS) for r in records]),
            "answer": torch.tensor([ANSWER_IDS[r.answer] for r in records]), "records": records}


def benchmark(videos: int, questions: int, seed: int, world: str, wording: str) -> dict:
    metas, files = plan(SynthOptions(out="unused", videos=videos, seconds=12.0, questions_per_video=questions,
                                     seed=seed, world=world, wording=wording))
    features = {m["video_id"]: perfect_features(m, world) for m in metas}
    records = {s: [parse_record(raw, f"{s}:{i}", s) for i, raw in enumerate(files[s])] for s in files}
    vocab = Vocab.build(records["train"])
    return {s: tensors(r, features, vocab) for s, r in records.items()} | {"vocab": vocab}


class WordFusion(nn.Module):
    """Each question word reads each branch (attention over time), gated per word; then a transformer
    over the words, so "louder: violin vs piano" can compare what the two words read."""

    def __init__(self, branches: dict[str, int], dim: int, frames: int, n_answers: int, heads: int = 4):
        super().__init__()
        self.proj = nn.ModuleDict({n: nn.Sequential(nn.LayerNorm(d), nn.Linear(d, dim)) for n, d in branches.items()})
        self.time = nn.Parameter(torch.zeros(1, frames, dim))
        self.read = nn.ModuleDict({n: nn.MultiheadAttention(dim, heads, batch_first=True) for n in branches})
        self.gate = nn.ModuleDict({n: nn.Linear(dim, dim) for n in branches})
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True, norm_first=True)
        self.mix = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, n_answers))

    def forward(self, feats, tokens, pad):
        x = tokens
        for n in self.proj:
            h = self.proj[n](feats[n]) + self.time[:, : feats[n].shape[1]]
            x = x + torch.sigmoid(self.gate[n](tokens)) * self.read[n](tokens, h, h, need_weights=False)[0]
        x = self.mix(x, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.head((x * keep).sum(1) / keep.sum(1).clamp(min=1.0))


def fit(data: dict, epochs: int, dim: int, seed: int, fusion_name: str = "gated") -> dict:
    torch.manual_seed(seed)
    question = QuestionEncoder(len(data["vocab"]), MAX_TOKENS, dim, 1)
    dims = {"visual": data["train"]["visual"].shape[-1], "audio": data["train"]["audio"].shape[-1]}
    if fusion_name == "grounded":
        fusion = GroundedReasoner(data["vocab"].words, MAX_TOKENS, FRAMES, len(ANSWERS), dim=dim)
        question = nn.Identity()
    else:
        fusion = (QuestionGatedFusion(dims, dim, dim, FRAMES, len(ANSWERS)) if fusion_name == "gated"
                  else WordFusion(dims, dim, FRAMES, len(ANSWERS)))
    params = [*question.parameters(), *fusion.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)

    def logits(d, idx):
        if fusion_name == "grounded":
            return fusion(d["question"][idx], d["cols"][idx], d["classes"][idx], d["glob"][idx])
        tokens, pad, q = question(d["question"][idx])
        feats = {"visual": d["visual"][idx], "audio": d["audio"][idx]}
        if fusion_name != "gated":
            return fusion(feats, tokens, pad)
        return fusion(feats, torch.ones(len(q), FRAMES, dtype=torch.bool), q)

    def cells(d):
        with torch.no_grad():
            pred = torch.cat([logits(d, torch.arange(i, min(i + 512, len(d["answer"])))).argmax(-1)
                              for i in range(0, len(d["answer"]), 512)])
        return accuracy_cells((r.group, r.qtype, bool(p == a)) for r, p, a in
                              zip(d["records"], pred.tolist(), d["answer"].tolist()))

    train, best = data["train"], None
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(train["answer"])).split(64):
            loss = F.cross_entropy(logits(train, idx), train["answer"][idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        val = cells(data["val"])["Avg"]["acc"]
        if best is None or val > best["val_acc"]:  # selected on val, never on test
            best = {"epoch": epoch, "val_acc": val, "test": cells(data["test"])}
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="300:10,300:33",
                    help="videos:questions-per-video pairs (the demo benchmark is 300:33; 1000:33, 3000:33 ...)")
    ap.add_argument("--epochs", type=int, default=None, help="default: about 120k question visits, 8..30")
    ap.add_argument("--dim", type=int, default=None, help="head width (default: as the recipes, 96 / grounded 64)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--world", default="stage", choices=sorted(COLUMNS), help="the synthetic world (amuse synth --world)")
    ap.add_argument("--wording", default="templates", help="amuse synth --wording (templates: the question side "
                    "at its simplest; mixed: rephrasings too)")
    ap.add_argument("--fusions", default="gated,words,grounded",
                    help="gated: amuse's fusion (models/fusion.py); words: WordFusion above; grounded: "
                         "models/reasoner.py")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    torch.set_num_threads(1)   # small ops: more threads only wait for each other on a shared machine
    torch.set_flush_denormal(True)  # tiny weights in denormal floats slowed one 300x10 run 25-fold
    rows = []
    for size in args.sizes.split(","):
        videos, questions = (int(v) for v in size.split(":"))
        data = benchmark(videos, questions, args.seed, args.world, args.wording)
        n = len(data["train"]["answer"])
        epochs = args.epochs or max(8, min(30, 120_000 // n))
        for fusion in args.fusions.split(","):
            start = time.time()
            dim = args.dim or (64 if fusion == "grounded" else 96)
            best = fit(data, epochs, dim, args.seed, fusion)
            test = best["test"]
            rows.append({"fusion": fusion, "dim": dim, "videos": videos, "questions_per_video": questions,
                         "train_questions": n, "test_questions": test["Avg"]["n"], "epochs": epochs,
                         "best_epoch": best["epoch"], "val_acc": best["val_acc"],
                         "test": {k: c["acc"] for k, c in test.items()}, "seconds": round(time.time() - start, 1)})
            print(f"{fusion}: {videos} videos x {questions} questions ({n} train): test Avg {test['Avg']['acc']:.2f} "
                  f"(A {test['A-Avg']['acc']:.2f}, V {test['V-Avg']['acc']:.2f}, AV {test['AV-Avg']['acc']:.2f}; "
                  f"epoch {best['epoch']}/{epochs} on val) in {rows[-1]['seconds']} s", flush=True)
    out = write_atomic(args.out, json.dumps({
        "what": "perfect-perception ceiling of each fusion (scene from the ground truth, epoch chosen on val, "
                "test reported)", "frames": FRAMES, "columns": COLUMNS[args.world], "seed": args.seed,
               "world": args.world, "wording": args.wording, "results": rows},
        indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
