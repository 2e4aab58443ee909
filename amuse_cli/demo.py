"""`make demo`: the whole loop on the built-in synthetic benchmark, on CPU.

synth -> extract-features -> train + eval amuse-grounded (the suite's variant, on the shipped
pretrained perception) -> report. The paper's gated amuse-tiny on the same perception takes about
20 minutes on 2 cores, past the demo's budget: `python bench/baselines.py` runs it beside the baselines.
"""
from __future__ import annotations

import subprocess
import sys

RUNS = ("checkpoints/amuse-grounded/demo",)
STEPS = (
    ("synth", ["synth"]),
    ("extract-features", ["extract-features", "recipes/amuse-tiny.yaml"]),
    ("train amuse-grounded", ["train", "recipes/amuse-grounded.yaml", "--run-name", "demo", "--overwrite"]),
    ("eval amuse-grounded", ["eval", RUNS[0], "--split", "test"]),
    ("report", ["report", *RUNS, "--split", "test"]),
)


def main() -> int:
    for name, args in STEPS:
        print(f"\n== amuse {' '.join(args)}", flush=True)
        rc = subprocess.call([sys.executable, "-m", "amuse_cli", *args])
        if rc != 0:
            print(f"\nmake demo stopped at '{name}' (exit {rc}); the steps after it did not run.")
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
