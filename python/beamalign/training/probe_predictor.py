# SPDX-License-Identifier: GPL-3.0-or-later
"""`beamalign train probe-predictor`: seed 001's probes and predictor, end to end.

The site's in-sector users (predict.probe_system) are split into training and held-out
users (random or spatial blocks); each step draws fresh measurement noise, the
probe RSRPs go through map g unrounded (Sec. II-B: rounded at inference only), and
cross entropy on the exhaustive genie's beam trains probes and predictor together
(Adam, 200 epochs). With noise training, each probe element's phase is moved by uniform
noise `noise_width` quantisation steps of B = noise_bits wide (1.0: the rounding
error's own range, +-half a step) before every forward pass.
"""
import math
import time

import numpy as np
import torch
from tqdm import tqdm

from ..codebooks import quantize_phase
from ..models.probe_predictor import ProbePredictor, perturbed
from ..models.store import save_model
from ..predict import probe_system, sites
from ..predict.datasets import resolve
from .ddp import World

DEFAULT_DATASET = "munich-30ghz"


def evaluate(net, sc, rng, bits=0, quantize_rsrp=True):
    """Held-out scores: (scores (U, N), best (U,)) with B-bit probes, 1 dB RSRPs."""
    weights = net.probe_weight_array()
    rsrp = probe_system.rsrp_map(
        probe_system.measure(sc.channels, quantize_phase(weights, bits), sc.system, rng),
        1.0 if quantize_rsrp else 0.0)
    with torch.no_grad():
        scores = net(torch.as_tensor(rsrp)).numpy()
    return scores, sc.best


class _EndToEnd(torch.nn.Module):
    """Probes (phase-noised), their measured RSRPs and the predictor as one forward, the
    one DDP sees; noise draws come from `generator`."""

    def __init__(self, net, width, generator):
        super().__init__()
        self.net, self.width, self.generator = net, width, generator

    def forward(self, channels):
        weights = perturbed(self.net.probe.weights(), self.width)
        return self.net(self.net.probe_rsrp(channels, weights, generator=self.generator))


def train_model(sc_train, sc_test=None, parameterisation="uv", probes=8, noise_bits=0,
                noise_width=1.0, epochs=200, batch=256, lr=1e-3, seed=0, quiet=True,
                track_bits=0, world=World()):
    """Trains on sc_train; returns (net, top-3 of sc_test after each epoch). With a World
    of several processes, as DDP (training.ddp): one shared shuffle per epoch, each
    process its share of every global batch and its own noise draws."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    system = sc_train.system
    net = ProbePredictor(system.num_h, system.num_v, probes, parameterisation,
                         re_power_dbm=system.re_power_dbm,
                         noise_dbm=system.measurement_noise_dbm)
    noise_generator = generator
    if world.distributed:
        own_seed = int(world.rng(seed).integers(2**62))
        noise_generator = torch.Generator().manual_seed(own_seed)
        torch.manual_seed(own_seed)  # the phase noise of perturbed()
    width = noise_width * 2 * math.pi / 2 ** noise_bits if noise_bits > 0 else 0.0
    model = world.wrap(_EndToEnd(net, width, noise_generator))
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trainable, lr=lr * world.lr_scale)
    channels = torch.as_tensor(sc_train.channels)
    labels = torch.as_tensor(sc_train.best)
    curve = []
    for _ in tqdm(range(epochs), desc=f"probe-predictor {parameterisation}",
                  disable=quiet or not world.leader):
        for pick in world.batches(len(labels), batch, generator):
            loss = torch.nn.functional.cross_entropy(model(channels[pick]), labels[pick])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if sc_test is not None and world.leader:
            scores, best = evaluate(net, sc_test, rng, bits=track_bits)
            curve.append(probe_system.top_k_accuracy(scores, best, 3))
    net.eval()
    return net, curve


def train(path, dataset=None, seed=0, quiet=False, parameterisation="uv", probes=8,
          noise_bits=0, noise_width=1.0, epochs=200, batch=256, lr=1e-3, split="block",
          command=None, world=World()):
    """Trains on the training users of `dataset` (a site file, default the shipped
    munich trace) and writes the weights; the sidecar names the data set and its sha256."""
    dataset_path = resolve(dataset or DEFAULT_DATASET)
    site = sites.load_site(dataset_path)
    sc = probe_system.site_channels(site)
    train_users, test_users = sites.splits(site.subset(sc.users), split, seed=0)
    start, cpu_start = time.time(), time.process_time()
    net, curve = train_model(sc.subset(train_users), sc.subset(test_users), parameterisation,
                             probes, noise_bits, noise_width, epochs, batch, lr, seed, quiet,
                             world=world)
    if not world.leader:
        return path
    training = {
        "command": command or (
            f"beamalign train probe-predictor --dataset {dataset or DEFAULT_DATASET} "
            f"--probes {parameterisation} --num-probes {probes} --noise-bits {noise_bits} "
            f"--epochs {epochs} --batch {batch} --split {split} --seed {seed}"
            + world.command_options()),
        "parallel": world.record(batch),
        "dataset": {"file": dataset_path.name, "sha256": sites.dataset_sha256(dataset_path),
                    "scene": site.meta.get("scene"), "users": len(sc),
                    "train_users": len(train_users), "held_out_users": len(test_users),
                    "split": split, "split_seed": 0},
        "system": sc.system.describe(),
        "noise_training": {"bits": noise_bits, "width_steps": noise_width},
        "optimiser": {"name": "adam", "lr": lr, "batch": batch, "epochs": epochs},
        "seed": seed, "torch": torch.__version__,
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "wall_seconds": round(time.time() - start, 1),
        "held_out_top3_per_epoch": [round(a, 4) for a in curve],
    }
    return save_model(path, net.state_dict(), net.architecture(), training)
