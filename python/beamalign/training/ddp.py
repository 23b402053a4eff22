# SPDX-License-Identifier: GPL-3.0-or-later
"""Data-parallel training on CPUs: torch DistributedDataParallel over the gloo backend.

`beamalign train NAME --nproc N` starts N processes on this machine (as torchrun
would); with `--master HOST:PORT --nnodes M --node-rank R` the same command run on M
machines joins them into one world of M x N processes. Every process draws its own
examples from its own random stream (spawned from --seed) and takes --batch of them
per step; DDP averages the gradients, so a step sees a global batch of W x --batch and
an epoch has --steps / W steps: the same examples per epoch as one process, in W times
fewer optimiser steps. (Splitting --batch over the processes instead kept the step
count, and the per-step cost of the alignment descent, which is mostly Python, did not
shrink with the batch: two processes were slower than one.)
"""
import datetime
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from tqdm import tqdm

from ..scaleout import free_port, host_port

# How long processes wait for each other to join (seconds): other machines may start
# their command a little later.
JOIN_TIMEOUT_S = 300


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""
    rank: int = 0
    size: int = 1
    nnodes: int = 1

    @property
    def distributed(self):
        return self.size > 1

    @property
    def leader(self):
        """Rank 0: the one that reports progress and writes the weights."""
        return self.rank == 0

    def rng(self, seed):
        """This process's example stream: the one-process stream when alone."""
        if not self.distributed:
            return np.random.default_rng(seed)
        return np.random.default_rng(np.random.SeedSequence(seed).spawn(self.size)[self.rank])

    @property
    def lr_scale(self):
        """sqrt(W): W times the batch in W times fewer steps, for Adam (the square-root
        rule; the noise of a W times larger batch is sqrt(W) times smaller)."""
        return float(np.sqrt(self.size))

    def local_steps(self, steps):
        """Optimiser steps per epoch for each process: the examples per epoch of one."""
        return max(1, -(-steps // self.size))

    def mean(self, value):
        """The mean of a number over all processes (the value itself when alone)."""
        if not self.distributed:
            return float(value)
        total = torch.tensor([float(value)], dtype=torch.float64)
        dist.all_reduce(total)
        return float(total.item()) / self.size

    def wrap(self, module):
        """The module as DDP (its parameters broadcast from rank 0), or itself when alone."""
        if not self.distributed:
            return module
        return torch.nn.parallel.DistributedDataParallel(module)

    def batches(self, count, batch, generator):
        """This process's index batches of one pass over `count` examples: one shared
        shuffle (the same generator state on every process), cut into global batches of
        W x batch, each process taking its share of every one. Alone: the plain batches
        of `batch`. A last global batch too small to give every process an example is
        dropped, so every process takes the same number of steps (DDP needs it)."""
        order = torch.randperm(count, generator=generator)
        step = batch * self.size
        shares = []
        for start in range(0, count, step):
            chunk = order[start:start + step]
            if len(chunk) < self.size:
                break
            shares.append(torch.tensor_split(chunk, self.size)[self.rank])
        return shares

    def average_gradients(self, parameters):
        """The gradients of parameters trained outside a DDP forward (an adversary's),
        averaged over the processes as DDP does for the wrapped module."""
        if not self.distributed:
            return
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= self.size

    def record(self, batch, steps=None):
        """The sidecar's `parallel` entry (steps: optimiser steps per epoch alone, for
        loops that draw a set number of steps rather than pass over a data set)."""
        return {"world_size": self.size, "nnodes": self.nnodes,
                "global_batch": batch * self.size, "batch_per_process": batch,
                **({} if steps is None else {"steps_per_epoch": self.local_steps(steps)}),
                "lr_scale": round(self.lr_scale, 4),
                "backend": "gloo" if self.distributed else None}

    def command_options(self):
        """What the sidecar's command adds to say how the run was spread."""
        if not self.distributed:
            return ""
        return f" --nproc {self.size // self.nnodes}" + (
            f" --nnodes {self.nnodes}" if self.nnodes > 1 else "")


def parse_master(text):
    try:
        return host_port(text)
    except ValueError as err:
        raise ValueError(f"--master: {err}") from None


def _process(local_rank, train, path, nproc, master, nnodes, node_rank, arguments):
    host, port = master
    rank = node_rank * nproc + local_rank
    size = nnodes * nproc
    torch.set_num_threads(1)
    # tqdm's default lock holds a multiprocessing semaphore, which os._exit below would
    # leave behind (Python warned of "leaked semaphore objects" after every run); each
    # process draws only its own bar.
    tqdm.set_lock(threading.RLock())
    dist.init_process_group("gloo", init_method=f"tcp://{host}:{port}", rank=rank,
                            world_size=size,
                            timeout=datetime.timedelta(seconds=JOIN_TIMEOUT_S))
    try:
        train(path, world=World(rank, size, nnodes), **arguments)
        # Rank 0 still scores and writes the network: the others wait for it.
        dist.barrier()
    except BaseException:
        dist.destroy_process_group()
        raise
    # Done, weights written. Tearing down gloo's threads aborted a process in about one
    # run in eight ("terminate called without an active exception", after the weights
    # were written), so a finished process leaves without running destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def launch(train, path, nproc=1, master=None, nnodes=1, node_rank=0, **arguments):
    """train(path, world=..., **arguments) in nproc processes on this node; returns path."""
    if nnodes > 1 and master is None:
        raise ValueError("--nnodes above 1 needs --master HOST:PORT (node 0's address)")
    if not 0 <= node_rank < nnodes:
        raise ValueError(f"--node-rank {node_rank} is outside [0, {nnodes - 1}]")
    where = parse_master(master) if master else ("127.0.0.1", free_port())
    if nproc * nnodes == 1:
        return train(path, world=World(), **arguments)
    # gloo's own threads and Torch's: one core per process.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        mp.start_processes(_process, args=(train, path, nproc, where, nnodes, node_rank,
                                           arguments),
                           nprocs=nproc, join=True, start_method="spawn")
    except mp.ProcessRaisedException as err:
        # The child's traceback, reduced to its last line: what went wrong.
        raise RuntimeError(f"training process failed: {str(err).strip().splitlines()[-1]}") \
            from None
    except mp.ProcessExitedException as err:
        raise RuntimeError(f"training process {err.error_index} exited with status "
                           f"{err.exit_code}") from None
    return Path(path)
