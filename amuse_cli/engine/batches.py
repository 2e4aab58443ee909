"""Batches: samplers that group a video's questions, loaders, and moving/padding/autocasting a batch.

Training batches group `train.questions_per_video` questions of one video, so the model encodes
each video once per batch (its backbones dominate the cost); the grouping is reshuffled every
epoch from (seed, epoch) alone, sharded by rank like DistributedSampler, and reproducible on resume.
"""
from __future__ import annotations

import contextlib
import resource

import torch
from torch.utils.data import DataLoader, Sampler

from amuse_cli.data.taxonomy import ANSWER_IDS, TEMPLATE_IDS
from amuse_cli.engine import seeding
from amuse_cli.errors import ConfigError

SEED_STRIDE = 100_003  # a prime > any epoch count: (seed, epoch) pairs never share a data order

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


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


class GroupedBatchSampler(Sampler):
    """Batches of `per_video` questions per video, shuffled from (seed, epoch), the rank's share only."""

    def __init__(self, videos: list[int], batch_size: int, per_video: int, seed: int, rank: int = 0,
                 world: int = 1):
        self.videos, self.batch_size, self.per_video = videos, batch_size, max(1, per_video)
        self.seed, self.rank, self.world, self.epoch = seed, rank, world, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        """Rounds over the videos: each takes its next group; a batch holds `batch_size // per_video`
        distinct videos (a constant count keeps the encoders' input shapes few)."""
        g = torch.Generator().manual_seed(self.seed * SEED_STRIDE + self.epoch)
        order = torch.randperm(len(self.videos), generator=g).tolist()
        queues: dict[int, list[list[int]]] = {}
        for i in order:
            q = queues.setdefault(self.videos[i], [[]])
            if len(q[-1]) == self.per_video:
                q.append([])
            q[-1].append(i)
        per_batch = max(1, self.batch_size // self.per_video)
        batches = []
        while queues:
            vids = list(queues)
            vids = [vids[i] for i in torch.randperm(len(vids), generator=g).tolist()]
            for k in range(0, len(vids), per_batch):
                batches.append([i for v in vids[k:k + per_batch] for i in queues[v].pop(0)])
            queues = {v: q for v, q in queues.items() if q}
        batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        n = len(batches) // self.world if self.world > 1 else len(batches)  # equal steps on every rank
        return batches[self.rank::self.world][:n]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


def loader(ds: WithVideo, batch_size: int, per_video: int, seed: int, workers: int, rank: int = 0,
           world: int = 1) -> DataLoader:
    sampler = GroupedBatchSampler(ds.video, batch_size, per_video, seed, rank, world)
    return DataLoader(ds, batch_sampler=sampler, num_workers=workers, worker_init_fn=seeding.worker_init,
                      generator=torch.Generator().manual_seed(seed), persistent_workers=False)


def eval_loader(ds: WithVideo, batch_size: int, workers: int, rank: int = 0, world: int = 1) -> DataLoader:
    """Every question once, grouped by video (shared encodings), each rank a share of the batches."""
    order = sorted(range(len(ds)), key=lambda i: ds.video[i])
    batches = [order[k:k + batch_size] for k in range(0, len(order), batch_size)][rank::world]
    return DataLoader(ds, batch_sampler=batches, num_workers=workers, worker_init_fn=seeding.worker_init)


def template_answer_ids(records) -> tuple[torch.Tensor, torch.Tensor]:
    """(template index or -1, answer index) per record: what the answer prior counts."""
    return (torch.tensor([TEMPLATE_IDS.get(r.template, -1) for r in records]),
            torch.tensor([ANSWER_IDS[r.answer] for r in records]))
