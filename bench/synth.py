"""Benchmark `amuse synth`: videos per second (total and per core) for the default dataset, and the
issue's done-when checks on `--videos 150 --seconds 4 --seed 7`.

Run: .venv/bin/python bench/synth.py [--videos N]   -> bench/results/synth.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amuse_cli.data.wordings import released_template              # noqa: E402
from amuse_cli.synth.checks import blind_majority_accuracy          # noqa: E402
from amuse_cli.synth.generate import SPLITS, SynthOptions, generate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "synth.json"


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "README.md":           # the card holds the wall time
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _timed(opts: SynthOptions) -> dict:
    start = time.perf_counter()
    summary = generate(opts)
    wall = time.perf_counter() - start
    return {"videos": opts.videos, "workers": summary["workers"], "seconds": round(wall, 2),
            "videos_per_s": round(opts.videos / wall, 2),
            "videos_per_s_per_core": round(opts.videos / wall / summary["workers"], 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=SynthOptions().videos)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    out = {"machine": {"cpus": cores, "python": platform.python_version(), "platform": platform.platform()},
           "default": asdict(SynthOptions(videos=args.videos))}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out["all_cores"] = _timed(SynthOptions(out=str(tmp / "all"), videos=args.videos))
        out["one_core"] = _timed(SynthOptions(out=str(tmp / "one"), videos=max(args.videos // 5, 1), workers=1))
        size = sum(p.stat().st_size for p in (tmp / "all" / "videos").glob("*.mp4"))
        out["all_cores"]["mb_on_disk"] = round(size / 2 ** 20, 1)
        done = {}
        for run in ("a", "b"):
            generate(SynthOptions(out=str(tmp / run), videos=150, seconds=4, seed=7,
                                  workers=1 if run == "a" else cores))
        files = {s: json.loads((tmp / "a" / "json" / f"avqa-{s}.json").read_text()) for s in SPLITS}
        records = [r for s in SPLITS for r in files[s]]
        done["command"] = "amuse synth --out X --videos 150 --seconds 4 --seed 7"
        done["questions"] = len(records)
        done["templates"] = len({released_template(r["question_content"]) for r in records})
        done["types"] = len({r["type"] for r in records})
        done["blind_majority_per_template_test_acc"] = round(blind_majority_accuracy(files["train"], files["test"]), 2)
        done["identical_with_1_and_all_workers"] = _digest(tmp / "a") == _digest(tmp / "b")
        out["done_when"] = done
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
