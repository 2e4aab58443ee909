"""`amuse train`: stage 1 (rhythm/source encoders, then frozen) and stage 2 (QA) in one run folder.

A `Trainer` runs in named phases: `preflight` (checks before any file is written), `open_run` (run
folder, seed, checkpoint to resume), `setup` (data, model, stage 1, optimiser, resume state), then
`fit`: per epoch `train_epoch`, `validate` and `finish_epoch` (console line, `save`, metrics row).

Checkpoints at every epoch end hold everything a resume needs (model, optimizer, scheduler, scaler,
RNG states, epoch, step, best val accuracy); data order depends on (seed, epoch) only, so on CPU in
deterministic mode a killed run resumed with `--resume auto` ends exactly like an uninterrupted one.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import torch
import yaml
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset

from amuse_cli import __version__, config, distributed, registry
from amuse_cli.atomic import atomic_path, write_atomic
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine import checkpoint, datasets, preflight, rundir, seeding, tensorboard
from amuse_cli.engine.batches import autocast, loader, pad_batch, peak_memory_gb, template_answer_ids, to_device
from amuse_cli.engine.evaluate import predict_dataset, val_cells
from amuse_cli.errors import AmuseError
from amuse_cli.progress import Progress, fmt_time

CPU_SLOW_S = 1800  # warn when the measured CPU estimate exceeds 30 minutes


class NonFiniteLoss(AmuseError):
    """The loss became NaN or infinite."""


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

    def restart(self) -> None:
        """A run started from scratch (no checkpoint) starts its log again."""
        if self.enabled and self.path.exists():
            self.path.unlink()

    def truncate(self, stage2_epochs: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        keep = [ln for ln in self.path.read_text().splitlines()
                if ln.strip() and (json.loads(ln).get("stage") == "stage1" or json.loads(ln)["epoch"] <= stage2_epochs)]
        write_atomic(self.path, "".join(ln + "\n" for ln in keep))

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


def dry_run(cfg: dict) -> None:
    """Recipe, device, precision, cache, annotation files, videos and model settings and weights
    checked, every problem listed at once (engine/preflight.py); nothing trained or written."""
    device = distributed.pick_device(cfg["train"]["device"])
    warn = cpu_warning(cfg, device)
    if warn:
        print(warn, file=sys.stderr, flush=True)
    tensorboard.check(cfg)
    preflight.training_inputs(cfg, device, test=True, model=True)


def train(cfg: dict, *, run_name: str | None = None, resume: str | None = None, overwrite: bool = False,
          progress: bool = True, argv: list[str] | None = None) -> Path:
    """Train per the resolved recipe; returns the run folder."""
    tensorboard.check(cfg)  # an optional package that is missing: said before anything starts
    ctx = distributed.setup(cfg["train"]["device"])
    try:
        trainer = Trainer(cfg, ctx, progress=progress, argv=argv or sys.argv)
        trainer.preflight()
        trainer.open_run(run_name, resume, overwrite)
        try:
            trainer.setup()
            trainer.fit()
        except BaseException:
            if ctx.main and not resume:
                rundir.remove_if_unfinished(trainer.run_dir)  # a new run that failed before its first checkpoint
            raise
        return trainer.run_dir
    finally:
        distributed.cleanup()


@dataclass
class EpochStats:
    """What one epoch's training pass measured."""
    t0: float = field(default_factory=time.time)
    seen: int = 0            # questions, padding excluded
    loss_sum: float = 0.0    # per-question loss summed, for the epoch's mean
    loss_avg: float = 0.0    # running mean over steps, for the progress line
    steps: int = 0
    elapsed: float = 0.0

    def add(self, value: float, n: int) -> None:
        self.seen += n
        self.loss_sum += value * n
        self.steps += 1
        self.loss_avg += (value - self.loss_avg) / self.steps


class Trainer:
    """One `amuse train` run; see the module docstring for the order of its phases."""

    def __init__(self, cfg: dict, ctx: distributed.Context, *, progress: bool, argv: list[str]):
        self.cfg, self.ctx, self.show_progress, self.argv = cfg, ctx, progress, argv

    @property
    def tc(self) -> dict:
        return self.cfg["train"]

    # --- before the run folder ----------------------------------------------------------------------

    def preflight(self) -> None:
        """Everything that can be checked is checked before the run folder: a bad cache, annotation
        file or missing video leaves nothing behind, and a resumed run's files stay untouched."""
        self.configure_torch()
        self.warn = cpu_warning(self.cfg, self.ctx.device)
        if self.warn and self.ctx.main:
            print(self.warn, file=sys.stderr, flush=True)
        inputs = preflight.training_inputs(self.cfg, self.ctx.device, every=False)   # --dry-run lists them all
        self.cache, self.train_recs, self.val_recs = inputs.cache, inputs.train, inputs.val
        self.val_split = inputs.val_split

    def configure_torch(self) -> None:
        if self.tc["deterministic"]:
            seeding.make_deterministic()
        if self.ctx.device.type == "cpu":
            torch.set_flush_denormal(True)  # tiny weights/gradients in denormal floats stall CPUs many-fold

    def open_run(self, run_name: str | None, resume: str | None, overwrite: bool) -> None:
        """The run folder, the seed and the checkpoint to resume (or None), decided by rank 0 for all ranks."""
        decided = self._decide_run(run_name, resume, overwrite) if self.ctx.main else None
        self.cfg, run, ckpt = distributed.broadcast(decided)
        self.run_dir, self.ckpt = Path(run), (Path(ckpt) if ckpt else None)

    def _decide_run(self, run_name, resume, overwrite) -> tuple[dict, str, str | None]:
        cfg, ckpt = self.cfg, None
        if resume:
            run, ckpt = rundir.find_resume(cfg, resume)
            saved = yaml.safe_load((run / "config.yaml").read_text()) if (run / "config.yaml").exists() else None
            if saved is not None:
                rundir.check_resumable(run, saved, cfg)
                cfg = {**cfg, "seed": saved["seed"]}  # a resumed run keeps the seed it drew
        else:
            run = rundir.create(cfg, run_name, overwrite)
        if cfg["seed"] is None:
            cfg = {**cfg, "seed": seeding.draw_seed()}
        return cfg, str(run), str(ckpt) if ckpt else None

    # --- setup: the order below is the order random numbers are drawn in, so keep it ----------------

    def setup(self) -> None:
        """Data, model, stage 1, optimiser and the resumed state: all the epoch loop needs."""
        seeding.seed_everything(self.cfg["seed"] + self.ctx.rank)
        self.setup_data()
        state = self.setup_model()
        self.write_run_files()
        if state is None:
            self.start_fresh()
        freeze_stage1(self.model)
        self.train_ds = datasets.with_scenes(self.train_ds, self.model, self.ctx.device)
        self.val_ds = datasets.with_scenes(self.val_ds, self.model, self.ctx.device)
        self.setup_optimiser()
        self.restore_progress(state)
        self.board = tensorboard.open_board(self.cfg, self.run_dir, self.ctx.main, self.step if state else None)
        self.net = DistributedDataParallel(self.model) if distributed.active() and self.trainable else self.model
        self.announce()

    def setup_data(self) -> None:
        """The vocabulary (a resumed run keeps its own), the metrics log and both datasets."""
        vocab_file = self.run_dir / "vocab.json"
        self.vocab = Vocab.load(vocab_file) if self.ckpt and vocab_file.exists() else Vocab.build(self.train_recs)
        self.log = MetricsLog(self.run_dir / "metrics.jsonl", self.ctx.main)
        self.train_ds = datasets.dataset(self.cfg, self.train_recs, self.cache, self.vocab)
        self.val_ds = datasets.dataset(self.cfg, self.val_recs, self.cache, self.vocab)

    def setup_model(self) -> dict | None:
        """The model, with the checkpoint's weights when resuming; returns that checkpoint (or None)."""
        spec = datasets.spec(self.cfg, self.cache.shapes, self.vocab)
        self.model = registry.create("model", self.cfg["model"], spec, where="model.name").to(self.ctx.device)
        state = checkpoint.load(self.ckpt) if self.ckpt else None
        if state is not None:
            checkpoint.restore(self.model, state, self.ckpt)
        return state

    def write_run_files(self) -> None:
        """Written once the recipe, data and checkpoint have all been accepted (rank 0)."""
        if not self.ctx.main:
            return
        rundir.describe(self.run_dir, self.cfg, self.argv)
        with atomic_path(self.run_dir / "vocab.json") as tmp:
            self.vocab.save(tmp)
        if self.val_split is not None:      # val carved from train (data.val: null): which videos
            write_atomic(self.run_dir / "val-split.json", json.dumps(self.val_split, indent=1) + "\n")
        print(f"run folder {self.run_dir}", flush=True)

    def start_fresh(self) -> None:
        """A run without a checkpoint: a new log, the answer prior counted, stage 1 trained."""
        self.log.restart()
        if hasattr(self.model, "fit_prior"):
            self.model.fit_prior(*template_answer_ids(self.train_recs))
        if getattr(self.model, "stage1", None) is not None and self.cfg["stage1"]["epochs"] > 0:
            run_stage1(self.model, self.train_ds, self.cfg, self.ctx, self.log)

    def setup_optimiser(self) -> None:
        """Loader, optimiser, schedule and grad scaler. A model with nothing to train (the prior) gets
        no optimiser and one epoch: the pass that scores and saves it."""
        tc = self.tc
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.trainable = bool(self.params) and getattr(self.model, "trainable", True)
        self.epochs = tc["epochs"] if self.trainable else 1
        self.train_loader = loader(self.train_ds, tc["batch_size"], tc["questions_per_video"], self.cfg["seed"],
                                   tc["num_workers"], self.ctx.rank, self.ctx.world)
        n_batches = len(self.train_loader)
        self.steps_per_epoch = n_batches if tc["max_batches"] is None else min(n_batches, tc["max_batches"])
        self.opt = self.sched = None
        if self.trainable:
            self.opt = registry.create("optim", self.cfg["optim"], self.params, where="optim.name")
            total = self.epochs * max(1, self.steps_per_epoch // tc["grad_accum"])
            self.sched = registry.create("sched", self.cfg["sched"], self.opt, total, where="sched.name")
        self.scaler = torch.amp.GradScaler(self.ctx.device.type, enabled=tc["precision"] == "fp16")

    def restore_progress(self, state: dict | None) -> None:
        """Epoch, step and best accuracy: from scratch, or from the checkpoint together with the optimiser,
        schedule, scaler and RNG states (and the log loses its rows past the checkpoint)."""
        self.start, self.step, self.best = 0, 0, {"acc": None, "epoch": None}
        if state is None:
            return
        if self.opt is not None:
            self.opt.load_state_dict(state["optimizer"])
            self.sched.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.start, self.step, self.best = state["epoch"], state["step"], state["best"]
        seeding.set_rng_state(state["rng"][min(self.ctx.rank, len(state["rng"]) - 1)])
        self.log.truncate(self.start)
        if self.ctx.main:
            print(f"resumed {self.ckpt}: epoch {self.start}/{self.epochs} done, step {self.step}, best val accuracy "
                  f"{self.best['acc']} (epoch {self.best['epoch']}); model, optimizer, scheduler, scaler and RNG "
                  f"states restored", flush=True)

    def announce(self) -> None:
        if self.ctx.main:
            tc = self.tc
            print(f"training {self.cfg['model']['name']}: {len(self.train_ds)} train / {len(self.val_ds)} val "
                  f"questions, {self.epochs} epochs x {self.steps_per_epoch} steps, global batch "
                  f"{tc['batch_size'] * self.ctx.world}, device {self.ctx.device}, {tc['precision']}", flush=True)

    # --- the epoch loop -----------------------------------------------------------------------------

    def fit(self) -> None:
        for epoch in range(self.start, self.epochs):
            stats = self.train_epoch(epoch)
            cells, improved = self.validate(epoch)
            self.finish_epoch(epoch, stats, cells, improved)
        self.board.close()
        self.check_ranks_agree()

    def train_epoch(self, epoch: int) -> EpochStats:
        """One pass over the training batches; none for a model with nothing to train."""
        self.train_loader.batch_sampler.set_epoch(epoch)
        stats = EpochStats()
        if self.trainable:
            self.net.train()
            freeze_stage1(self.model)  # net.train() just switched the frozen encoders back to training mode
            with Progress(f"epoch {epoch + 1}/{self.epochs}", self.steps_per_epoch, unit="steps", transient=True,
                          enabled=self.show_progress and self.ctx.main) as bar:
                for i, batch in enumerate(islice(self.train_loader, self.steps_per_epoch)):
                    value, n = self.train_step(epoch, i, batch)
                    stats.add(value, n)
                    self.board.batch(self.step, value)
                    rate = stats.seen / max(time.time() - stats.t0, 1e-9)
                    bar.advance(info=f"loss {value:.3f} (avg {stats.loss_avg:.3f}) {rate:.0f} samples/s")
                    if i == 1 and self.warn and self.ctx.main:
                        self.warn_if_slow(epoch, stats.t0)
        stats.elapsed = time.time() - stats.t0
        return stats

    def train_step(self, epoch: int, i: int, batch: dict) -> tuple[float, int]:
        """Forward and backward on batch i (an optimiser step every grad_accum batches and at the
        epoch's end); returns (loss averaged over ranks, questions in the batch)."""
        batch, n = pad_batch(to_device(batch, self.ctx.device), self.tc["batch_size"])
        with autocast(self.tc["precision"], self.ctx.device):
            loss = F.cross_entropy(self.net(batch)[:n].float(), batch["answer"][:n])
        value = distributed.mean(loss.item(), self.ctx.device)
        if not torch.isfinite(torch.tensor(value)):
            raise self.non_finite(value, epoch, i)
        self.scaler.scale(loss / self.tc["grad_accum"]).backward()
        if (i + 1) % self.tc["grad_accum"] == 0 or i + 1 == self.steps_per_epoch:
            self.optimiser_step()
        return value, n

    def optimiser_step(self) -> None:
        self.scaler.unscale_(self.opt)  # so that clipping sees the true gradients under fp16
        if self.tc["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(self.params, self.tc["grad_clip"])
        self.scaler.step(self.opt)
        self.scaler.update()
        self.opt.zero_grad(set_to_none=True)
        self.sched.step()
        self.step += 1

    def non_finite(self, value: float, epoch: int, i: int) -> NonFiniteLoss:
        last = self.run_dir / "last.pt"
        kept = f"last good checkpoint {last} kept" if last.exists() else "no checkpoint was written yet"
        return NonFiniteLoss(f"loss became {value} at epoch {epoch + 1} step {self.step + 1} (batch {i + 1}); "
                             f"{kept}; lower optim.lr, keep train.grad_clip, or use "
                             f"train.precision=fp32, then --resume {self.run_dir}")

    def warn_if_slow(self, epoch: int, t0: float) -> None:
        """A GPU recipe on a CPU: the time left, measured over the first two steps, when it is long."""
        per_step = (time.time() - t0) / 2
        eta = per_step * self.steps_per_epoch * (self.epochs - epoch)
        if eta > CPU_SLOW_S:
            print(f"warning: measured on this CPU: {per_step:.1f} s per step, about {fmt_time(eta)} "
                  f"for {self.epochs - epoch} epochs; recipes/amuse-tiny.yaml runs in minutes",
                  file=sys.stderr, flush=True)

    def validate(self, epoch: int) -> tuple[dict, bool]:
        """Accuracy per question-type column on val; (the cells, whether the average beat the best)."""
        cells = val_cells(predict_dataset(self.model, self.val_ds, self.cfg, self.ctx), self.val_recs)
        acc = cells["Avg"]["acc"]
        improved = self.best["acc"] is None or (acc is not None and acc > self.best["acc"])
        if improved:
            self.best = {"acc": acc, "epoch": epoch + 1}
        return cells, improved

    def finish_epoch(self, epoch: int, stats: EpochStats, cells: dict, improved: bool) -> None:
        """The console line, the checkpoints, then the metrics row (rank 0); every rank waits for them."""
        row = self.metrics_row(epoch, stats, cells)
        rngs = distributed.gather(seeding.rng_state())  # every rank's, so a resume continues each one
        if self.ctx.main:
            print(f"epoch {epoch + 1}/{self.epochs} train loss {row['train_loss']:.4f} val accuracy {row['val_acc']} "
                  f"(best {self.best['acc']} at epoch {self.best['epoch']}) {row['samples_per_s']} samples/s",
                  flush=True)
            self.save(epoch, rngs, cells, improved)
            self.log.write(**row)
            self.board.epoch(row)
        distributed.barrier()

    def metrics_row(self, epoch: int, stats: EpochStats, cells: dict) -> dict:
        return dict(stage="qa", epoch=epoch + 1, step=self.step,
                    train_loss=round(stats.loss_sum / max(stats.seen, 1), 6),
                    val_acc=cells["Avg"]["acc"], val={c: v["acc"] for c, v in cells.items()},
                    lr=self.opt.param_groups[0]["lr"] if self.opt else None,
                    samples_per_s=round(stats.seen * self.ctx.world / max(stats.elapsed, 1e-9), 2),
                    peak_mem_gb=round(peak_memory_gb(self.ctx.device), 3), time_s=round(stats.elapsed, 2))

    def save(self, epoch: int, rngs: list[dict], cells: dict, improved: bool) -> None:
        """last.pt (everything to resume), best.pt when val improved (weights), epoch_NNN.pt links."""
        run, done = self.run_dir, epoch + 1
        meta = {"epoch": done, "step": self.step, "seed": self.cfg["seed"],
                "config_hash": config.config_hash(self.cfg), "amuse_version": __version__}
        if improved:
            checkpoint.save({"model": self.model.state_dict(), "val": cells, **meta}, run / "best.pt")
        checkpoint.save({"model": self.model.state_dict(), "optimizer": self.opt.state_dict() if self.opt else None,
                         "scheduler": self.sched.state_dict() if self.sched else None,
                         "scaler": self.scaler.state_dict(), "rng": rngs, "best": self.best, **meta}, run / "last.pt")
        self.link_epoch(done)

    def link_epoch(self, done: int) -> None:
        """epoch_NNN.pt: a hard link to this epoch's last.pt; only the newest train.keep_last stay."""
        keep_last = self.tc["keep_last"]
        if not keep_last:
            return
        link = self.run_dir / f"epoch_{done:03d}.pt"
        link.unlink(missing_ok=True)
        os.link(self.run_dir / "last.pt", link)
        for old in sorted(self.run_dir.glob("epoch_*.pt"))[:-keep_last]:
            old.unlink()

    def check_ranks_agree(self) -> None:
        """Under torchrun, every process must end with the same weights (DDP keeps them in step)."""
        ctx = self.ctx
        if ctx.world == 1:
            return
        sums = distributed.gather(sum(p.detach().double().sum().item() for p in self.model.parameters()))
        if ctx.main:
            if max(sums) - min(sums) > 1e-6 * max(1.0, abs(sums[0])):
                raise AmuseError(f"the {ctx.world} processes ended with different weights (checksums {sums}); "
                                 f"report this with the run's env.txt")
            print(f"ranks agree: {ctx.world} processes, parameter checksum {sums[0]:.6f}", flush=True)
