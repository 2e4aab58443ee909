"""Training throughput and peak memory of the Amuse recipes on tensors of the cache's shapes.

Writes bench/results/train.json: samples/s and peak memory for recipes/amuse.yaml and
recipes/amuse-tiny.yaml on CPU (fp32 for the tiny recipe, as it runs; the GPU recipe in fp32 too,
CPUs have no fast bf16) and, where CUDA is present, in bf16 on the GPU, also with a frozen
backbone (weights from a file: what `model.weights=DEFAULT` trains). No data or cache needed.

    python bench/train.py                 # everything this machine can run
    python bench/train.py --steps 5 --only amuse-tiny
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results" / "train.json"


def measure(recipe: str, device: str, precision: str, steps: int, overrides: list[str]) -> dict:
    """Run in this process: build the model, time `steps` optimizer steps after 2 warm-up steps."""
    import resource

    import torch
    from torch.nn import functional as F

    from amuse_cli import config, registry
    from amuse_cli.data.taxonomy import ANSWERS, TEMPLATE_IDS
    from amuse_cli.engine.batches import autocast
    from amuse_cli.features.settings import array_shapes, extraction_settings
    from amuse_cli.models import ModelSpec

    cfg = config.load(REPO / "recipes" / f"{recipe}.yaml", overrides)
    shapes = array_shapes(extraction_settings(cfg))
    spec = ModelSpec(shapes, 100, cfg["data"]["max_tokens"], len(ANSWERS), len(TEMPLATE_IDS))
    dev = torch.device(device)
    torch.manual_seed(0)
    model = registry.create("model", cfg["model"], spec).to(dev)
    for p in (model.stage1.parameters() if model.stage1 is not None else []):
        p.requires_grad = False  # stage 2: the rhythm/source encoders are frozen
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    b, qpv = cfg["train"]["batch_size"], cfg["train"]["questions_per_video"]
    v = -(-b // qpv)

    def rand(shape, dtype=torch.float32, high=None):
        return (torch.randint(0, high, shape, dtype=dtype) if high else torch.randn(shape)).to(dev)
    video = torch.arange(b, device=dev) // qpv
    batch = {"frames": rand([v, *shapes["frames"]], torch.uint8, 255)[video],
             "logmel": rand([v, *shapes["logmel"]])[video],
             "frame_mask": torch.ones(b, shapes["frames"][0], dtype=torch.bool, device=dev),
             "segment_mask": torch.ones(b, shapes["rhythm"][0], dtype=torch.bool, device=dev),
             "question": rand([b, cfg["data"]["max_tokens"]], torch.int64, 100),
             "answer": rand([b], torch.int64, len(ANSWERS)), "video": video}
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    for i in range(steps + 2):
        if i == 2:
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
        with autocast(precision, dev):
            loss = F.cross_entropy(model(batch).float(), batch["answer"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    dt = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated(dev) if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 1e9
    return {"recipe": recipe, "overrides": overrides, "device": device,
            "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
            "threads": torch.get_num_threads(), "precision": precision, "batch_size": b, "questions_per_video": qpv,
            "trainable_params": sum(p.numel() for p in params), "steps": steps,
            "samples_per_s": round(b * steps / dt, 2), "peak_mem_gb": round(peak, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default: 10 on GPU, 3 on CPU)")
    ap.add_argument("--only", default=None, help="amuse or amuse-tiny")
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"], help="only this device's rows")
    ap.add_argument("--out", default=str(OUT), help="JSON file to write")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # one measurement per process: peak RSS belongs to it alone
        print(json.dumps(measure(**json.loads(args.child))))
        return 0
    import torch
    # the GPU recipe at its batch of 16 needs more than a small machine's RAM on CPU: batch 4 there
    cases = [("amuse-tiny", "cpu", "fp32", []), ("amuse", "cpu", "fp32", ["train.batch_size=4"])]
    frozen = Path(tempfile.mkdtemp()) / "swin_v2_t-random.pt"
    if torch.cuda.is_available():
        from amuse_cli.models.swin import build_swin
        torch.save(build_swin("swin_v2_t").state_dict(), frozen)
        # the recipe's batch of 16, then 64: what a GPU user raises it to when memory allows
        cases = [("amuse", "cuda", "bf16", []), ("amuse", "cuda", "bf16", [f"model.weights={frozen}"]),
                 ("amuse", "cuda", "bf16", ["train.batch_size=64"]),
                 ("amuse", "cuda", "bf16", ["train.batch_size=64", f"model.weights={frozen}"]),
                 ("amuse-tiny", "cuda", "bf16", []), *cases]
    results = []
    for recipe, device, precision, overrides in cases:
        if (args.only and recipe != args.only) or (args.device and device != args.device):
            continue
        steps = args.steps or (10 if device == "cuda" or recipe == "amuse-tiny" else 2)
        spec = json.dumps(dict(recipe=recipe, device=device, precision=precision, steps=steps, overrides=overrides))
        proc = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{recipe} {device}: failed (exit {proc.returncode}; -9: out of memory)\n{proc.stderr[-2000:]}",
                  file=sys.stderr)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{recipe:<11} {device} {precision} {'frozen backbone ' if any('weights' in o for o in overrides) else ''}batch {r['batch_size']}: "
              f"{r['samples_per_s']} samples/s, peak {r['peak_mem_gb']} GB", flush=True)
    if not torch.cuda.is_available():
        print("no CUDA device: GPU rows skipped")
    host = {"cpus": os.cpu_count(), "torch": torch.__version__, "platform": platform.platform(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    from amuse_cli.atomic import write_atomic
    out = write_atomic(args.out, json.dumps({"host": host, "results": results}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
