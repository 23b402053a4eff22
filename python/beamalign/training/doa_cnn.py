# SPDX-License-Identifier: GPL-3.0-or-later
"""`beamalign train doa-cnn`: the data-driven DoA baseline on seed 003's scenario.

One source at an AoA uniform in [-60, 60] deg on an M = 4 ULA, K = 16 subcarrier
snapshots, SNR uniform in [0, 30] dB, the array's angle-dependent phase errors (profile
drawn from profile_seed, the array the benches simulate) at a weight rho uniform in
[0, 1]. MSE on the angle in degrees, Adam with cosine decay.
"""
import time

import numpy as np
import torch
from tqdm import tqdm

from ..doa import sample_covariance, simulate_snapshots
from ..doa.estimate import ARRAY_PROFILE_SEED, array_identity, array_profile
from ..models.doa_cnn import DoaCnn, covariance_features
from ..models.store import save_model
from .ddp import World


def training_batch(rng, profile, size, num_antennas, num_subcarriers, snr_range, rho_range):
    angles = rng.uniform(-60.0, 60.0, size)
    covariances = np.array([
        sample_covariance(simulate_snapshots(
            rng, theta, num_antennas, num_subcarriers, rng.uniform(*snr_range),
            profile.with_rho(rng.uniform(*rho_range))))
        for theta in angles])
    return (torch.from_numpy(covariance_features(covariances)),
            torch.as_tensor(angles, dtype=torch.float32))


def train(path, num_antennas=4, num_subcarriers=16, epochs=60, steps_per_epoch=50, batch=256,
          lr=1e-3, snr_range=(0.0, 30.0), rho_range=(0.0, 1.0), profile_seed=ARRAY_PROFILE_SEED,
          seed=0, quiet=False, calibration=None, world=World()):
    """Trains for one array: the profile drawn from profile_seed, or a chamber table; with
    a World of several processes, as DDP (see training.ddp)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = world.rng(seed)
    steps = world.local_steps(steps_per_epoch)
    profile = array_profile(num_antennas, num_subcarriers, profile_seed, calibration)
    net = DoaCnn(num_antennas)
    model = world.wrap(net)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr * world.lr_scale)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs * steps)
    start = time.process_time()
    history = []
    for _ in tqdm(range(epochs), desc="doa-cnn", disable=quiet or not world.leader):
        losses = []
        for _ in range(steps):
            features, angles = training_batch(rng, profile, batch, num_antennas,
                                              num_subcarriers, snr_range, rho_range)
            loss = torch.mean((model(features) - angles) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        history.append(world.mean(np.mean(losses)))
    if not world.leader:
        return path
    training = {
        "command": f"beamalign train doa-cnn --epochs {epochs} --steps {steps_per_epoch} "
                   f"--batch {batch} --seed {seed}"
                   + (f" --calibration {calibration}" if calibration else
                      f" --array-seed {profile_seed}") + world.command_options(),
        "parallel": world.record(batch, steps_per_epoch),
        "array": array_identity(profile_seed, calibration),
        "scenario": {"array": "ula", "num_antennas": num_antennas,
                     "num_subcarriers": num_subcarriers, "aoa_deg_uniform": [-60, 60],
                     "snr_db_uniform": list(snr_range), "rho_uniform": list(rho_range),
                     "impairment": "angle-dependent phase error",
                     "profile_seed": None if calibration else profile_seed},
        "optimiser": {"name": "adam", "lr": lr, "lr_decay": "cosine", "batch": batch,
                      "epochs": epochs, "steps_per_epoch": steps_per_epoch},
        "seed": seed, "torch": torch.__version__,
        "cpu_seconds": round(time.process_time() - start, 1),
        "train_mse_deg2_per_epoch": [round(v, 4) for v in history],
    }
    return save_model(path, net.state_dict(), net.architecture(), training)
