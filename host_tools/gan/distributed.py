"""Single-process or torchrun (PyTorch DDP) execution, read from the environment torchrun sets
(host training layer; imports torch).

`torchrun --nproc_per_node=N ...` sets WORLD_SIZE, RANK and LOCAL_RANK: then a process group is
started (NCCL on GPUs, gloo on CPU), each process takes the GPU of its LOCAL_RANK, and only rank 0
writes files. Without those variables the run is a plain single process on the first GPU or the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distribution:
    world_size: int
    rank: int
    device: torch.device
    distributed: bool

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    def any_rank(self, flag: bool) -> bool:
        """True on every rank if `flag` is true on any (so all ranks stop at the same step)."""
        if not self.distributed:
            return flag
        tensor = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def start_distribution() -> Distribution:
    if "WORLD_SIZE" not in os.environ:
        device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        return Distribution(1, 0, device, False)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device(f"cuda:{local_rank}")
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Distribution(dist.get_world_size(), dist.get_rank(), device, True)
