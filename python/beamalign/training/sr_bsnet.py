# SPDX-License-Identifier: GPL-3.0-or-later
"""`beamalign train sr-bsnet`: the SR-BSNet baseline on the seed 000 training scenario.

Saleh-Valenzuela channels, L = 3, LoS-dominant, SNR uniform in [5, 30] dB, the 64-sample
pilot measurement model. Input: the measured 64-pair wide-beam map; target: the noise-
free finest-codebook map |W^H H F|^2, both normalised by their maxima; MSE loss.
"""
import time

import numpy as np
import torch
from tqdm import tqdm

from .. import channels, codebooks
from ..align import PathMeasurer, Probe
from ..models.sr_bsnet import SRBSNet
from ..models.store import save_model
from .ddp import World
from .record import training_record


def wide_probe(nt, nr, beam_norm="unit"):
    tx = codebooks.hierarchical_layer(nt, nt // 4, beam_norm)
    rx = codebooks.hierarchical_layer(nr, nr // 4, beam_norm)
    return Probe(tx=tx[None], rx=rx[None], side="both", grid=True)


def train(path, nt=64, nr=16, paths=3, epochs=150, steps_per_epoch=50, batch=100, lr=1e-3,
          dwell=64, snr_range=(5.0, 30.0), seed=0, quiet=False, world=World()):
    """Trains SR-BSNet; with a World of several processes, as DDP (see training.ddp)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = world.rng(seed)
    steps = world.local_steps(steps_per_epoch)
    net = SRBSNet()
    model = world.wrap(net)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr * world.lr_scale)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, step_size=10, gamma=0.95)
    wide = wide_probe(nt, nr)
    fine = Probe(tx=codebooks.dft_codebook(nt)[None], rx=codebooks.dft_codebook(nr)[None],
                 side="both", grid=True)
    start = time.time()
    history = []
    for _ in tqdm(range(epochs), desc="sr-bsnet", disable=quiet or not world.leader):
        losses = []
        for _ in range(steps):
            chans = channels.saleh_valenzuela(batch, nt, nr, paths, "los", rng=rng)
            measure = PathMeasurer(chans, rng.uniform(*snr_range, size=batch), dwell, rng=rng)
            target = np.abs(measure.gains(fine)) ** 2
            target = torch.as_tensor(target / target.max(axis=(1, 2), keepdims=True),
                                     dtype=torch.float32)
            loss = torch.mean((model(torch.as_tensor(measure(wide))) - target) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        schedule.step()
        history.append(world.mean(np.mean(losses)))
    if not world.leader:
        return path
    training = training_record(
        "sr-bsnet", nt, nr, paths, epochs, steps_per_epoch, batch, lr, dwell, snr_range, seed,
        time.time() - start, train_mse_per_epoch=[round(v, 6) for v in history],
        parallel=world.record(batch, steps_per_epoch))
    training["command"] += world.command_options()
    return save_model(path, net.state_dict(), net.architecture(), training)
