# SPDX-License-Identifier: GPL-3.0-or-later
"""`beamalign train qssr-net`: joint training of the Tx and Rx networks (seed 000 III-C).

Scenario (docs/algorithms.md, beam alignment): Saleh-Valenzuela channels, L = 3, alpha_1 ~ CN(0,1),
the others CN(0, 0.01), SNR uniform in [5, 30] dB per trial, the 64-sample pilot
measurement model of SPEC section 4. Loss = -|a(Nr, u_rx)^H H a(Nt, u_tx)|^2. Adam, lr
x0.95 every 10 epochs. The descent itself is QSSR's (the same generator the benchmarks
and the flowgraph run), driven here by a Torch measurer so that the Rx measurements
stay differentiable in the Tx estimate.
"""
import math
import time

import numpy as np
import torch
from tqdm import tqdm

from .. import channels
from ..align.measure import complex_noise, drive
from ..align.strategies import QSSR, single_antenna
from ..models.qssr_net import QSSRNet
from ..models.store import save_model
from .ddp import World
from .record import training_record


def _steering(num_elements, u):
    n = torch.arange(num_elements, dtype=torch.float64)
    return torch.exp(1j * math.pi * u.to(torch.float64)[..., None] * n) / math.sqrt(num_elements)


class TorchMeasurer:
    """The pilot measurement model in Torch; Rx probes use the differentiable f_torch."""

    def __init__(self, chans, snr_db, dwell, rng):
        self.gains = torch.as_tensor(chans.gains)
        self.a_tx = torch.as_tensor(chans.tx_responses())
        self.a_rx = torch.as_tensor(chans.rx_responses())
        self.noise_variance = torch.as_tensor(10.0 ** (-snr_db / 10.0) / dwell)
        self.rng = rng
        self.f_torch = None
        self.powers = []  # the Torch powers of every probe, in order

    def __call__(self, probe):
        batch = self.gains.shape[0]
        rx = torch.as_tensor(np.broadcast_to(probe.rx, (batch,) + probe.rx.shape[1:]).copy())
        if probe.side == "rx":
            tx = self.f_torch[:, None, :].expand(-1, rx.shape[1], -1)
        else:
            tx = torch.as_tensor(np.broadcast_to(probe.tx, (batch,) + probe.tx.shape[1:]).copy())
        at_f = torch.einsum("bln,bkn->blk", self.a_tx.conj(), tx)
        wh_ar = torch.einsum("bln,bkn->blk", self.a_rx, rx.conj())
        gain = torch.sum(self.gains[:, :, None] * wh_ar * at_f, dim=1)
        w_energy = torch.sum(rx.abs() ** 2, dim=-1)
        variance = (self.noise_variance[:, None] * w_energy).detach().numpy()
        powers = (gain + torch.as_tensor(complex_noise(self.rng, variance))).abs() ** 2
        self.powers.append(powers)
        return powers.detach().numpy()


def forward(net, strategy, chans, snr_db, dwell, rng):
    """One differentiable alignment of a batch; returns (u_tx, u_rx) tensors."""
    batch = len(chans)
    measure = TorchMeasurer(chans, snr_db, dwell, rng)
    tx_descent = drive(strategy._descend("tx", strategy.tx_layers,
                                         single_antenna(strategy.nr, batch), batch), measure)
    tx_dirs = np.stack([d for d, _ in tx_descent.history], axis=1)
    u_tx = net.tx(tx_dirs, torch.stack(measure.powers, dim=1))
    measure.f_torch = _steering(strategy.nt, u_tx)
    measure.powers = []
    f_now = measure.f_torch.detach().numpy()
    rx_descent = drive(strategy._descend("rx", strategy.rx_layers, f_now, batch), measure)
    rx_dirs = np.stack([d for d, _ in rx_descent.history], axis=1)
    u_rx = net.rx(rx_dirs, torch.stack(measure.powers, dim=1))
    return u_tx, u_rx


def achieved_power(chans, u_tx, u_rx):
    """|a(Nr, u_rx)^H H a(Nt, u_tx)|^2 from the paths, differentiable in the angles."""
    a_t = torch.as_tensor(chans.tx_responses())
    a_r = torch.as_tensor(chans.rx_responses())
    f = _steering(chans.nt, u_tx)
    w = _steering(chans.nr, u_rx)
    g = torch.as_tensor(chans.gains)
    return torch.sum(g * torch.einsum("bln,bn->bl", a_r, w.conj())
                     * torch.einsum("bln,bn->bl", a_t.conj(), f), dim=1).abs() ** 2


class Alignment(torch.nn.Module):
    """One differentiable alignment of a batch as a module, so DDP can wrap it."""

    def __init__(self, net, strategy, dwell):
        super().__init__()
        self.net = net
        self.strategy = strategy
        self.dwell = dwell

    def forward(self, chans, snr_db, rng):
        return forward(self.net, self.strategy, chans, snr_db, self.dwell, rng)


# Held-out channels every run is scored on, whatever its --seed: 2000 links at 20 dB.
VALIDATION_SEED = 20260
VALIDATION_LINKS = 2000
VALIDATION_SNR_DB = 20.0


def validation_power_db(net, nt, nr, paths, dwell):
    """Mean achieved power (dB) of the network's alignments on the held-out channels."""
    rng = np.random.default_rng(VALIDATION_SEED)
    chans = channels.saleh_valenzuela(VALIDATION_LINKS, nt, nr, paths, "los", rng=rng)
    with torch.no_grad():
        u_tx, u_rx = forward(net, QSSR(nt, nr), chans, np.full(len(chans), VALIDATION_SNR_DB),
                             dwell, rng)
        return float(10 * np.log10(achieved_power(chans, u_tx, u_rx).mean().item()))


def train(path, nt=64, nr=16, paths=3, epochs=150, steps_per_epoch=50, batch=100,
          lr=1e-3, dwell=64, snr_range=(5.0, 30.0), seed=0, quiet=False, world=World()):
    """Trains QSSR-Net; with a World of several processes, as DDP (see training.ddp)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = world.rng(seed)
    steps = world.local_steps(steps_per_epoch)
    net = QSSRNet()
    model = world.wrap(Alignment(net, QSSR(nt, nr), dwell))
    optimiser = torch.optim.Adam(net.parameters(), lr=lr * world.lr_scale)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, step_size=10, gamma=0.95)
    start = time.time()
    history = []
    bar = tqdm(range(epochs), desc="qssr-net", disable=quiet or not world.leader)
    for epoch in bar:
        losses = []
        for _ in range(steps):
            chans = channels.saleh_valenzuela(batch, nt, nr, paths, "los", rng=rng)
            snr = rng.uniform(*snr_range, size=batch)
            u_tx, u_rx = model(chans, snr, rng)
            loss = -achieved_power(chans, u_tx, u_rx).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(-loss.item())
        schedule.step()
        history.append(world.mean(np.mean(losses)))
        bar.set_postfix(power_db=f"{10 * np.log10(history[-1]):.2f}")
    if not world.leader:
        return path
    training = training_record(
        "qssr-net", nt, nr, paths, epochs, steps_per_epoch, batch, lr, dwell, snr_range, seed,
        time.time() - start,
        train_power_db_per_epoch=[round(10 * np.log10(p), 3) for p in history],
        validation={"power_db": round(validation_power_db(net, nt, nr, paths, dwell), 3),
                    "links": VALIDATION_LINKS, "snr_db": VALIDATION_SNR_DB,
                    "seed": VALIDATION_SEED},
        parallel=world.record(batch, steps_per_epoch))
    training["command"] += world.command_options()
    return save_model(path, net.state_dict(), net.architecture(), training)
