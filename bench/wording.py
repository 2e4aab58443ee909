"""What `--wording mixed` does to a synthetic set, from its question files alone (no media rendered):
questions per split and wording, distinct rephrasings asked, how many test words a vocabulary built
on train (as every run builds it) has never read, per wording, and that the blind majority-per-template
baseline does not move (a rephrased question counts under its template).

Run: .venv/bin/python bench/wording.py [--videos 300] [--seed 0] [--world stage]  -> bench/results/wording.json
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amuse_cli.data.annotations import parse_record          # noqa: E402
from amuse_cli.data.stats import wording_stats                # noqa: E402
from amuse_cli.data.vocab import Vocab                        # noqa: E402
from amuse_cli.data.wordings import KINDS                     # noqa: E402
from amuse_cli.synth.checks import blind_majority_accuracy    # noqa: E402
from amuse_cli.synth.generate import SynthOptions, plan       # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "wording.json"


def _records(files: dict) -> dict:
    return {s: [parse_record(raw, f"{s}:{i}", f"{s} record {i}") for i, raw in enumerate(recs)]
            for s, recs in files.items()}


def unknown_words(train, test) -> dict:
    """Per wording of the test questions: share with a word the train vocabulary lacks, and those words."""
    vocab = Vocab.build(train)
    by_kind = defaultdict(list)
    for r in test:
        by_kind[r.wording].append(vocab.unknown(r.tokens))
    return {k: {"questions": len(v), "with_unknown_word_pct": round(100.0 * sum(bool(u) for u in v) / len(v), 2),
                "unknown_words": sorted({w for u in v for w in u})}
            for k, v in sorted(by_kind.items(), key=lambda kv: KINDS.index(kv[0]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--world", default="stage")
    args = ap.parse_args()
    opts = dict(videos=args.videos, seed=args.seed, world=args.world)
    _, mixed = plan(SynthOptions(**opts, wording="mixed"))
    _, plain = plan(SynthOptions(**opts, wording="templates"))
    recs = _records(mixed)
    longest = Counter()
    for r in (r for rs in recs.values() for r in rs):
        longest[r.wording] = max(longest[r.wording], len(r.tokens))
    out = {
        "command": f"python bench/wording.py --videos {args.videos} --seed {args.seed} --world {args.world}",
        "options": opts,
        "wording": {s: wording_stats(rs) for s, rs in recs.items()},
        "distinct_rephrasings_asked": len({r.asked for rs in recs.values() for r in rs if r.wording != "template"}),
        "test_words_unknown_to_the_train_vocabulary": unknown_words(recs["train"], recs["test"]),
        "longest_question_tokens": dict(longest),
        "blind_majority_per_template_test_acc": {
            "mixed": round(blind_majority_accuracy(mixed["train"], mixed["test"]), 2),
            "templates": round(blind_majority_accuracy(plain["train"], plain["test"]), 2)},
        "same_questions_answers_and_splits_as_templates": all(
            [{**a, "question_content": None} for a in mixed[s]] == [{**b, "question_content": None} for b in plain[s]]
            for s in mixed),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
