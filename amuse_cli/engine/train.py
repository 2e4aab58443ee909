"""`amuse train`: stage 1 (rhythm/source encoders, then frozen) and stage 2 (QA) in one run folder.

Checkpoints at every epoch end hold everything a resume needs (model, optimizer, scheduler, scaler,
RNG states, epoch, step, best val accuracy); data order depends on (seed, epoch) only, so on CPU in
deterministic mode a killed run resumed with `--resume auto` ends exactly like an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

import torch
import yaml
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset

from amuse_cli import __version__, config, registry
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine import checkpoint, data, distributed, rundir, seeding
from amuse_cli.engine.evaluate import predict_dataset, val_cells
from amuse_cli.engine.progress import EpochProgress, fmt_time
from amuse_cli.errors import AmuseError, ConfigError

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
CPU_SLOW_S = 1800  # warn when the measured CPU estimate exceeds 30 minutes


class NonFiniteLoss(AmuseError):
    """The loss became NaN or infinite."""


def autocast(precision: str, device: torch.device):
    if precision not in PRECISIONS:
        raise ConfigError(f"train.precision={precision!r}; use fp32, bf16 or fp16")
    if PRECISIONS[precision] is None:
        return contextlib.nullcontext()
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("this GPU has no bf16; set train.precision=fp16 or train.precision=fp32")
    return torch.autocast(device.type, dtype=PRECISIONS[precision])


def peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def pad_batch(batch: dict, size: int) -> tuple[dict, int]:
    """Repeat the last question up to `size` rows; returns (batch, real rows). A constant batch size
    matters on CPU, where kernels are set up per input shape (seconds each) and kept in memory."""
    n = len(batch["answer"])
    if n >= size:
        return batch, n
    return {k: torch.cat([v, v[-1:].expand(size - n, *v.shape[1:])]) for k, v in batch.items()}, n


def cpu_warning(cfg: dict, device: torch.device) -> str | None:
    """The GPU recipe on a CPU: say so before anything is loaded."""
    m = cfg["model"]
    if device.type != "cpu" or m.get("size") == "tiny" or m.get("backbone") == "tiny" or m["name"] == "prior":
        return None
    return (f"warning: no GPU: model '{m['name']}' at size {m.get('size', 'base')} is a GPU recipe; on this CPU "
            f"it takes hours to days (a measured estimate follows the first steps); for a CPU run use "
            f"recipes/amuse-tiny.yaml")


class MetricsLog:
    """metrics.jsonl: one object per epoch (rank 0 writes); a resume drops lines past its checkpoint."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled

    def truncate(self, stage2_epochs: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        keep = [ln for ln in self.path.read_text().splitlines()
                if ln.strip() and (json.loads(ln).get("stage") == "stage1" or json.loads(ln)["epoch"] <= stage2_epochs)]
        rundir.write_text(self.path, "".join(ln + "\n" for ln in keep))

    def write(self, **row) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")


def run_stage1(model, train_ds, cfg: dict, ctx, log: MetricsLog) -> None:
    """Pre-train the rhythm/source encoders on one question per video (labels belong to videos)."""
    enc = model.stage1
    s1, seed = cfg["stage1"], cfg["seed"]
    first: dict[int, int] = {}
    for i, v in enumerate(train_ds.video):
        first.setdefault(v, i)
    dl = DataLoader(Subset(train_ds, list(first.values())), batch_size=s1["batch_size"], shuffle=True,
                    num_workers=cfg["train"]["num_workers"], worker_init_fn=seeding.worker_init,
                    generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(enc.parameters(), lr=s1["lr"])
    enc.train()
    for epoch in range(s1["epochs"]):
        total, n = 0.0, 0
        for batch in dl:
            loss = enc.loss(to_device(batch, ctx.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(batch["index"]), n + len(batch["index"])
        log.write(stage="stage1", epoch=epoch + 1, loss=round(total / max(n, 1), 6))
        if ctx.main:
            print(f"stage 1 (rhythm/source encoders) epoch {epoch + 1}/{s1['epochs']} loss {total / max(n, 1):.4f}",
                  flush=True)


def freeze_stage1(model) -> None:
    if getattr(model, "stage1", None) is not None:
        model.stage1.eval()
        for p in model.stage1.parameters():
            p.requires_grad = False


def _resolve_run(cfg, run_name, resume, overwrite, ctx):
    """(cfg with its seed, run folder, checkpoint to resume or None) agreed on by every rank."""
    ckpt = None
    if ctx.main:
        if resume:
            run, ckpt = rundir.find_resume(cfg, resume)
            saved = yaml.safe_load((run / "config.yaml").read_text()) if (run / "config.yaml").exists() else None
            if saved is not None:
                rundir.check_resumable(run, saved, cfg)
                cfg = {**cfg, "seed": saved["seed"]}
        else:
            run = rundir.create(cfg, run_name, overwrite)
        if cfg["seed"] is None:
            cfg = {**cfg, "seed": seeding.draw_seed()}
        res = (cfg, str(run), str(ckpt) if ckpt else None)
    else:
        res = None
    cfg, run, ckpt = distributed.broadcast(res)
    return cfg, Path(run), (Path(ckpt) if ckpt else None)


def check_source_labels(cfg: dict) -> None:
    """The source branch learns from the cache's source labels: none to learn from is an error."""
    if cfg["features"]["source_method"] == "none" and (cfg["model"] or {}).get("source"):
        raise AmuseError("features.source_method=none gives no source labels, which the source branch "
                         "(model.source=true) learns from; set model.source=false, or label sources with "
                         "features.source_method=tagger features.tagger_weights=<Cnn14_16k .pth>")


def dry_run(cfg: dict) -> None:
    """Recipe, device, precision, cache, annotation files and model settings checked; nothing trained or written."""
    device = distributed.pick_device(cfg["train"]["device"])
    autocast(cfg["train"]["precision"], device)
    warn = cpu_warning(cfg, device)
    if warn:
        print(warn, file=sys.stderr, flush=True)
    check_source_labels(cfg)
    from amuse_cli.data.dataset import open_cache
    cache = open_cache(cfg)
    train_recs = data.load_split(cfg, "train")
    for split, recs in (("train", train_recs), ("val", data.load_split(cfg, "val")),
                        ("test", data.load_split(cfg, "test"))):
        data.check_videos(cfg, cache, recs, split)
    # the model too: settings that only its builder can judge (e.g. a missing weights file)
    registry.create("model", cfg["model"], data.spec(cfg, cache, Vocab.build(train_recs)), where="model.name")


def train(cfg: dict, *, run_name: str | None = None, resume: str | None = None, overwrite: bool = False,
          progress: bool = True, argv: list[str] | None = None) -> Path:
    """Train per the resolved recipe; returns the run folder."""
    ctx = distributed.setup(cfg["train"]["device"])
    try:
        return _train(cfg, ctx, run_name, resume, overwrite, progress, argv or sys.argv)
    finally:
        distributed.cleanup()


def _train(cfg, ctx, run_name, resume, overwrite, progress, argv) -> Path:
    tc = cfg["train"]
    autocast(tc["precision"], ctx.device)  # fail early on an unusable precision
    if tc["deterministic"]:
        seeding.make_deterministic()
    if ctx.device.type == "cpu":
        torch.set_flush_denormal(True)  # tiny weights/gradients in denormal floats stall CPUs many-fold
    warn = cpu_warning(cfg, ctx.device)
    if warn and ctx.main:
        print(warn, file=sys.stderr, flush=True)
    from amuse_cli.data.dataset import open_cache
    # Everything that can be checked is checked before the run folder: a bad cache, annotation
    # file or missing video leaves nothing behind, and a resumed run's files stay untouched.
    check_source_labels(cfg)
    cache = open_cache(cfg)
    train_recs, val_recs = data.load_split(cfg, "train"), data.load_split(cfg, "val")
    for split, recs in (("train", train_recs), ("val", val_recs)):
        data.check_videos(cfg, cache, recs, split)
    cfg, run, ckpt = _resolve_run(cfg, run_name, resume, overwrite, ctx)
    try:
        return _train_in(cfg, ctx, cache, run, ckpt, train_recs, val_recs, progress, argv, warn)
    except BaseException:
        if ctx.main and not resume:
            rundir.remove_if_unfinished(run)     # a new run that failed before its first checkpoint
        raise


def _train_in(cfg, ctx, cache, run, ckpt, train_recs, val_recs, progress, argv, warn) -> Path:
    tc = cfg["train"]
    seed = cfg["seed"]
    seeding.seed_everything(seed + ctx.rank)
    vocab = Vocab.load(run / "vocab.json") if ckpt and (run / "vocab.json").exists() else Vocab.build(train_recs)
    log = MetricsLog(run / "metrics.jsonl", ctx.main)
    train_ds, val_ds = data.dataset(cfg, train_recs, cache, vocab), data.dataset(cfg, val_recs, cache, vocab)
    model = registry.create("model", cfg["model"], data.spec(cfg, cache, vocab), where="model.name").to(ctx.device)
    state = checkpoint.load(ckpt) if ckpt else None
    if state is not None:
        checkpoint.restore(model, state, ckpt)
    if ctx.main:                 # written once the recipe, data and checkpoint have all been accepted
        rundir.describe(run, cfg, argv)
        tmp = run / ".vocab.json.tmp"
        vocab.save(tmp)
        os.replace(tmp, run / "vocab.json")
        print(f"run folder {run}", flush=True)
    if state is None:
        if log.enabled and log.path.exists():  # a run restarted from scratch starts its log again
            log.path.unlink()
        if hasattr(model, "fit_prior"):
            model.fit_prior(*data.template_answer_ids(train_recs))
        if getattr(model, "stage1", None) is not None and cfg["stage1"]["epochs"] > 0:
            run_stage1(model, train_ds, cfg, ctx, log)
    freeze_stage1(model)
    train_ds, val_ds = data.with_scenes(train_ds, model, ctx.device), data.with_scenes(val_ds, model, ctx.device)
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = bool(params) and getattr(model, "trainable", True)
    epochs = tc["epochs"] if trainable else 1  # the prior needs one pass to be scored and saved
    dl = data.loader(train_ds, tc["batch_size"], tc["questions_per_video"], seed, tc["num_workers"],
                     ctx.rank, ctx.world)
    steps_per_epoch = len(dl) if tc["max_batches"] is None else min(len(dl), tc["max_batches"])
    opt = sched = None
    if trainable:
        opt = registry.create("optim", cfg["optim"], params, where="optim.name")
        total = epochs * max(1, steps_per_epoch // tc["grad_accum"])
        sched = registry.create("sched", cfg["sched"], opt, total, where="sched.name")
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=tc["precision"] == "fp16")
    start, step, best = 0, 0, {"acc": None, "epoch": None}
    if state is not None:
        if opt is not None:
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start, step, best = state["epoch"], state["step"], state["best"]
        seeding.set_rng_state(state["rng"][min(ctx.rank, len(state["rng"]) - 1)])
        log.truncate(start)
        if ctx.main:
            print(f"resumed {ckpt}: epoch {start}/{epochs} done, step {step}, best val accuracy "
                  f"{best['acc']} (epoch {best['epoch']}); model, optimizer, scheduler, scaler and RNG "
                  f"states restored", flush=True)
    net = DistributedDataParallel(model) if distributed.active() and trainable else model
    if ctx.main:
        print(f"training {cfg['model']['name']}: {len(train_ds)} train / {len(val_ds)} val questions, "
              f"{epochs} epochs x {steps_per_epoch} steps, global batch {tc['batch_size'] * ctx.world}, "
              f"device {ctx.device}, {tc['precision']}", flush=True)
    bar = EpochProgress(progress and ctx.main, tc["log_every"], epochs)
    for epoch in range(start, epochs):
        dl.batch_sampler.set_epoch(epoch)
        t0, seen, loss_sum = time.time(), 0, 0.0
        if trainable:
            net.train()
            freeze_stage1(model)
            bar.start(epoch, steps_per_epoch)
            for i, batch in enumerate(dl):
                if i >= steps_per_epoch:
                    break
                batch, n = pad_batch(to_device(batch, ctx.device), tc["batch_size"])
                with autocast(tc["precision"], ctx.device):
                    loss = F.cross_entropy(net(batch)[:n].float(), batch["answer"][:n])
                value = distributed.mean(loss.item(), ctx.device)
                if not torch.isfinite(torch.tensor(value)):
                    bar.stop()
                    kept = f"last good checkpoint {run / 'last.pt'} kept" if (run / "last.pt").exists() \
                        else "no checkpoint was written yet"
                    raise NonFiniteLoss(f"loss became {value} at epoch {epoch + 1} step {step + 1} (batch {i + 1}); "
                                        f"{kept}; lower optim.lr, keep train.grad_clip, or use "
                                        f"train.precision=fp32, then --resume {run}")
                scaler.scale(loss / tc["grad_accum"]).backward()
                if (i + 1) % tc["grad_accum"] == 0 or i + 1 == steps_per_epoch:
                    scaler.unscale_(opt)
                    if tc["grad_clip"]:
                        torch.nn.utils.clip_grad_norm_(params, tc["grad_clip"])
                    scaler.step(opt)
                    scaler.update()
                    opt.zero_grad(set_to_none=True)
                    sched.step()
                    step += 1
                seen += n
                loss_sum += value * n
                bar.update(i + 1, value, seen)
                if warn and i == 1 and ctx.main:
                    per_step = (time.time() - t0) / 2
                    eta = per_step * steps_per_epoch * (epochs - epoch)
                    if eta > CPU_SLOW_S:
                        print(f"warning: measured on this CPU: {per_step:.1f} s per step, about {fmt_time(eta)} "
                              f"for {epochs - epoch} epochs; recipes/amuse-tiny.yaml runs in minutes",
                              file=sys.stderr, flush=True)
            bar.stop()
        elapsed = time.time() - t0
        cells = val_cells(predict_dataset(model, val_ds, cfg, ctx), val_recs)
        acc = cells["Avg"]["acc"]
        improved = best["acc"] is None or (acc is not None and acc > best["acc"])
        if improved:
            best = {"acc": acc, "epoch": epoch + 1}
        row = dict(stage="qa", epoch=epoch + 1, step=step, train_loss=round(loss_sum / max(seen, 1), 6),
                   val_acc=acc, val={c: v["acc"] for c, v in cells.items()},
                   lr=opt.param_groups[0]["lr"] if opt else None,
                   samples_per_s=round(seen * ctx.world / max(elapsed, 1e-9), 2),
                   peak_mem_gb=round(peak_memory_gb(ctx.device), 3), time_s=round(elapsed, 2))
        rngs = distributed.gather(seeding.rng_state())
        if ctx.main:
            print(f"epoch {epoch + 1}/{epochs} train loss {row['train_loss']:.4f} val accuracy {acc} "
                  f"(best {best['acc']} at epoch {best['epoch']}) {row['samples_per_s']} samples/s", flush=True)
            save_epoch(run, model, opt, sched, scaler, rngs, epoch + 1, step, best, cfg, improved, cells,
                       tc["keep_last"])
            log.write(**row)
        distributed.barrier()
    check_ranks_agree(model, ctx)
    return run


def check_ranks_agree(model, ctx) -> None:
    """Under torchrun, every process must end with the same weights (DDP keeps them in step)."""
    if ctx.world == 1:
        return
    sums = distributed.gather(sum(p.detach().double().sum().item() for p in model.parameters()))
    if ctx.main:
        if max(sums) - min(sums) > 1e-6 * max(1.0, abs(sums[0])):
            raise AmuseError(f"the {ctx.world} processes ended with different weights (checksums {sums}); "
                             f"report this with the run's env.txt")
        print(f"ranks agree: {ctx.world} processes, parameter checksum {sums[0]:.6f}", flush=True)


def save_epoch(run: Path, model, opt, sched, scaler, rngs, epoch, step, best, cfg, improved, cells, keep_last):
    """last.pt (everything to resume), best.pt when val improved (weights), epoch_NNN.pt links."""
    meta = {"epoch": epoch, "step": step, "seed": cfg["seed"], "config_hash": config.config_hash(cfg),
            "amuse_version": __version__}
    if improved:
        checkpoint.save({"model": model.state_dict(), "val": cells, **meta}, run / "best.pt")
    checkpoint.save({"model": model.state_dict(), "optimizer": opt.state_dict() if opt else None,
                     "scheduler": sched.state_dict() if sched else None, "scaler": scaler.state_dict(),
                     "rng": rngs, "best": best, **meta}, run / "last.pt")
    if keep_last:
        link = run / f"epoch_{epoch:03d}.pt"
        link.unlink(missing_ok=True)
        os.link(run / "last.pt", link)
        for old in sorted(run.glob("epoch_*.pt"))[:-keep_last]:
            old.unlink()
