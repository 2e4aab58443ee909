"""How well a question encoder tells what an unseen rephrasing asks: the question side alone.

Each encoder variant (word ids; word ids with word dropout; pieces with and without word vectors and
dropouts, models/pieces.py) is trained to name the template of a question (33 classes) from its words,
on the train split of a `--wording mixed` synthetic set (templates and seen rephrasings), then read the
test questions: accuracy per wording (template / seen / unseen) and, per unseen rephrasing, how often
its template is recognised and what it is taken for. The template fixes what the reasoner must compute
(the relation, the slots to read), so a rephrasing whose template no encoder recovers cannot be
answered from its words however good the rest of the model is: this is the decisive table for the
gap between unseen rephrasings and template questions.

Run: .venv/bin/python bench/pieces.py --data /tmp/q22/classic-mixed  -> bench/results/pieces.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amuse_cli.atomic import write_atomic                     # noqa: E402
from amuse_cli.data.annotations import load_annotations       # noqa: E402
from amuse_cli.data.taxonomy import TEMPLATE_IDS               # noqa: E402
from amuse_cli.data.vocab import Vocab, word_pieces           # noqa: E402
from amuse_cli.data.wordings import KINDS, UNSEEN             # noqa: E402
from amuse_cli.models.pieces import PIECE_DROPOUT, TOKEN_DROPOUT, WORD_DROPOUT, PieceEmbedding  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "pieces.json"
MAX_TOKENS = 14
# name: (word vectors, pieces, word dropout, piece dropout, token dropout)
VARIANTS = {
    "words": (True, False, 0.0, 0.0, 0.0),
    "words+dropout": (True, False, WORD_DROPOUT, 0.0, 0.0),
    "pieces": (True, True, 0.0, 0.0, 0.0),
    "pieces+dropout": (True, True, WORD_DROPOUT, PIECE_DROPOUT, TOKEN_DROPOUT),
    "pieces-only": (False, True, 0.0, PIECE_DROPOUT, 0.0),
    "words+dropout0.5": (True, False, 0.5, 0.0, 0.0),
    "pieces+dropout0.5": (True, True, 0.5, PIECE_DROPOUT, 0.0),
    "pieces+dropout+token0.1": (True, True, WORD_DROPOUT, PIECE_DROPOUT, 0.1),
}
SETTINGS = ("word_vectors", "pieces", "word_dropout", "piece_dropout", "token_dropout")


class TemplateReader(nn.Module):
    """The reasoner's question path (token vectors, positions, a small transformer, mean pool) + a
    linear map to the 33 templates."""

    def __init__(self, vocab: Vocab, words: bool, pieces: bool, word_dropout: float, piece_dropout: float,
                 token_dropout: float, dim: int = 64, layers: int = 2):
        super().__init__()
        self.use_pieces = pieces
        self.tokens = PieceEmbedding(len(vocab.words), len(vocab.pieces), dim, word_dropout, piece_dropout,
                                     words=words, token_dropout=token_dropout)
        self.pos = nn.Parameter(torch.zeros(1, MAX_TOKENS, dim))
        layer = nn.TransformerEncoderLayer(dim, 4, dim * 2, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, len(TEMPLATE_IDS)))

    def forward(self, ids, pieces):
        pad = ids == 0
        if not self.use_pieces:
            pieces = torch.zeros_like(pieces)
        x = self.tokens(ids, pieces)[0] + self.pos[:, : ids.shape[1]]
        h = self.encoder(x, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.out((h * keep).sum(1) / keep.sum(1).clamp(min=1))


def tensors(records, vocab):
    ids = torch.tensor([vocab.encode(r.tokens, MAX_TOKENS) for r in records])
    pieces = torch.tensor([vocab.encode_pieces(r.tokens, MAX_TOKENS) for r in records])
    return ids, pieces, torch.tensor([TEMPLATE_IDS[r.template] for r in records])


def train_and_read(name, train, test, vocab, seed, epochs, batch):
    torch.manual_seed(seed)
    model = TemplateReader(vocab, *VARIANTS[name])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    ids, pieces, y = tensors(train, vocab)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(y), generator=g).split(batch):
            loss = nn.functional.cross_entropy(model(ids[idx], pieces[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    tids, tpieces, ty = tensors(test, vocab)
    with torch.no_grad():
        pred = model(tids, tpieces).argmax(-1)
    return pred.tolist(), ty.tolist()


def nearest_known(word: str, vocab: Vocab) -> dict:
    """The train word sharing most pieces with `word` (Jaccard over piece sets): what pieces can tell."""
    def share(w):
        a, b = set(word_pieces(word)), set(word_pieces(w))
        return len(a & b) / len(a | b)
    best = max(vocab.words[2:], key=lambda w: (share(w), w))
    return {"word": best, "shared_pieces": round(share(best), 2)}


def summarise(test, runs, vocab):
    """Accuracy per wording (mean over seeds) and per unseen rephrasing (pooled over seeds)."""
    per_kind = defaultdict(list)
    for preds, truth in runs:
        hits = defaultdict(lambda: [0, 0])
        for r, p, t in zip(test, preds, truth):
            hits[r.wording][0] += p == t
            hits[r.wording][1] += 1
        for k, (c, n) in hits.items():
            per_kind[k].append(100.0 * c / n)
    kinds = {k: round(sum(v) / len(v), 2) for k, v in sorted(per_kind.items(), key=lambda kv: KINDS.index(kv[0]))}
    names = {i: t for t, i in TEMPLATE_IDS.items()}
    rephrasings = defaultdict(lambda: {"n": 0, "right": 0, "taken_for": Counter()})
    for preds, truth in runs:
        for r, p, t in zip(test, preds, truth):
            if r.wording != UNSEEN:
                continue
            row = rephrasings[r.asked]
            row["template"], row["n"], row["right"] = t, row["n"] + 1, row["right"] + (p == t)
            row["new"] = [w for w in r.tokens if w not in vocab.index]
            if p != t:
                row["taken_for"][p] += 1
    table = []
    for asked, row in sorted(rephrasings.items(), key=lambda kv: (kv[1]["template"], kv[0])):
        wrong = row["taken_for"].most_common(1)
        table.append({"template": row["template"], "asked": asked,
                      "recognised_pct": round(100.0 * row["right"] / row["n"], 1), "questions": row["n"] // len(runs),
                      "new_words": {w: nearest_known(w, vocab) for w in dict.fromkeys(row["new"])},
                      "mostly_taken_for": f"{wrong[0][0]}: {names[wrong[0][0]]}" if wrong else None})
    return kinds, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a synthetic set made with --wording mixed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(args.data)
    train = load_annotations(root / "json" / "avqa-train.json")
    test = load_annotations(root / "json" / "avqa-test.json")
    vocab = Vocab.build(train)
    out = {"command": f"python bench/pieces.py --data {args.data} --seeds {args.seeds} --epochs {args.epochs}",
           "data": str(root), "train_questions": len(train), "test_questions": dict(Counter(r.wording for r in test)),
           "variants": {}}
    for name in args.variants.split(","):
        t0 = time.time()
        runs = [train_and_read(name, train, test, vocab, seed, args.epochs, 64) for seed in range(args.seeds)]
        kinds, table = summarise(test, runs, vocab)
        out["variants"][name] = {"settings": dict(zip(SETTINGS, VARIANTS[name])),
                                 "template_recognised_pct": kinds, "unseen_rephrasings": table}
        print(f"{name:16s} " + "  ".join(f"{k} {v:6.2f}" for k, v in kinds.items()) + f"  ({time.time() - t0:.0f} s)",
              flush=True)
    write_atomic(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
