"""Same command, rank from the environment: torchrun sets RANK, WORLD_SIZE and LOCAL_RANK."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from amuse_cli.errors import ConfigError


@dataclass(frozen=True)
class Context:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def pick_device(pref: str, local_rank: int = 0) -> torch.device:
    if pref == "cpu" or (pref == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA GPU is visible; use train.device=auto or cpu")
    if pref not in ("auto", "cuda"):
        raise ConfigError(f"train.device={pref!r}; use auto, cpu or cuda")
    return torch.device("cuda", local_rank)


def rank_world() -> tuple[int, int]:
    """(rank, world size) as torchrun set them; (0, 1) in a plain run. Readable before setup()."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def setup(device_pref: str = "auto") -> Context:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on GPUs)."""
    rank, world = rank_world()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_pref, local)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(rank, world, local, device)


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def mean(value: float, device) -> float:
    """Average of a number over ranks (the number itself when alone)."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.item() / dist.get_world_size()


def broadcast(obj):
    """Rank 0's picklable object on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj) -> list:
    """Every rank's object, in rank order (on every rank)."""
    if not active():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if active():
        dist.barrier()


def cleanup() -> None:
    if active():
        dist.destroy_process_group()
