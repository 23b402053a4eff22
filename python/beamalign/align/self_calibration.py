# SPDX-License-Identifier: GPL-3.0-or-later
"""Online self-calibration of element phase and position errors (seed 000, Alg. 2).

Each alignment already measures four final-layer beams per side and QSSR-Net's angle.
From a batch of alignments the calibrator fits per-element estimates (phase phi_n and
position d_n, both sides) so that the powers synthesised from the reconstructed
single-path channel (eq. 15) match the measured ones in the normalised sense of
eq. 16. QSSR-Net stays frozen; the aligner compensates its probes with the estimates
in force when it measured, and those (fixed) compensated beams are what the synthesis
uses, so the loss sees the residual error between truth and the new estimates.

Our departure from the paper, and why: Alg. 2 keeps each alignment's angle at
QSSR-Net's estimate. An uncompensated impaired array biases that estimate, and with
the biased angle the loss is no lower at the true impairments than at zero, so
gradient steps from zero do not head for the truth. We refine each alignment's angle
jointly with the calibration (QSSR-Net's estimate is the start point). Then an angle
shift is indistinguishable from a phase ramp over the elements and an angle scale
from a position ramp, so after every update the estimates are projected onto the
complement of {common offset, linear ramp}: the paper's own ambiguity, harmless to
the beams.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .. import channels
from ..arrays.geometry import ula_positions
from ..arrays.impairments import ElementImpairment
from .evaluate import evaluate_strategy, mean_power_db
from .measure import PathMeasurer, run_batch
from .strategies import CompensatedQSSRNet


def remove_ramp(values):
    """values minus their least-squares fit a + b*n (over the element index n)."""
    values = np.asarray(values, dtype=np.float64)
    n = np.arange(values.shape[-1], dtype=np.float64)
    basis = np.stack([np.ones_like(n), n], axis=1)
    coef, *_ = np.linalg.lstsq(basis, values.T, rcond=None)
    return values - (basis @ coef).T


def residual_phase_rms(estimate, truth, u=0.0):
    """RMS (radians) of the per-element phase error left at direction u after
    compensation, up to a common offset and linear phase ramp (the ambiguity)."""
    error = (truth.phase_rad + 2 * np.pi * truth.position_wl * u) - (
        estimate.phase_rad + 2 * np.pi * estimate.position_wl * u)
    wrapped = np.angle(np.exp(1j * error))
    # Unwrap around the circular mean before fitting the ramp.
    wrapped = np.angle(np.exp(1j * (wrapped - np.angle(np.mean(np.exp(1j * wrapped))))))
    return float(np.sqrt(np.mean(remove_ramp(wrapped) ** 2)))


@dataclass
class CalibrationStep:
    """What one update did: loss before/after, alignments used."""

    loss_before: float
    loss_after: float
    alignments: int


class _SideModel:
    """Trainable phase and position estimates of one array side."""

    def __init__(self, num_elements):
        self.num_elements = num_elements
        self.phase = torch.zeros(num_elements, dtype=torch.float64, requires_grad=True)
        self.position = torch.zeros(num_elements, dtype=torch.float64, requires_grad=True)
        self.positions = torch.as_tensor(ula_positions(num_elements))

    def estimate(self):
        return ElementImpairment(self.phase.detach().numpy().copy(),
                                 self.position.detach().numpy().copy())

    def project(self):
        with torch.no_grad():
            self.phase.copy_(torch.as_tensor(remove_ramp(self.phase.numpy())))
            self.position.copy_(torch.as_tensor(remove_ramp(self.position.numpy())))

    def synthesised(self, u, beams):
        """|b_i^H-matched gain|^2 of the reconstructed response at angles u (B,) for
        the fixed probed beams (B, K, N): eq. 15 reduced to one side."""
        phase = (2 * np.pi * u[:, None] * (self.positions + self.position)[None]
                 + self.phase[None])
        response = torch.polar(torch.ones_like(phase), phase)  # impaired a(u), unnormalised
        gains = torch.einsum("bn,bkn->bk", response.conj(), beams)
        return gains.abs() ** 2


def _normalised(powers):
    return powers / powers.amax(dim=1, keepdim=True).clamp_min(1e-300)


class SelfCalibrator:
    """Keeps Tx and Rx estimates and updates them from the alignments it is fed.

    update(alignment) takes an Alignment whose extras hold the final-layer beams and
    powers (as HierarchicalSearch records them), appends it to a window of the most
    recent `window` alignments, and makes `steps` descent steps on eq. 16 over the
    window, each alignment's angle refined alongside. The worst `trim` fraction of
    the window (quartets that missed the path, strong reflections) is left out of
    each step. estimates() gives ElementImpairments to compensate with.
    """

    def __init__(self, nt, nr, learning_rate=0.01, angle_learning_rate=1e-3, steps=10,
                 window=2048, trim=0.2, position_scale=0.1, refine_angles=True,
                 prior_weight=1.0, sigma_p=0.1 * np.pi, sigma_d=0.05):
        if not 0.0 <= trim < 1.0:
            raise ValueError(f"trim must be in [0, 1), got {trim}")
        if window < 1 or steps < 1:
            raise ValueError("window and steps must be at least 1")
        self.tx, self.rx = _SideModel(nt), _SideModel(nr)
        # refine_angles=False is Alg. 2 as written: angles stay at QSSR-Net's.
        if not refine_angles:
            angle_learning_rate = 0.0
        self.steps, self.window, self.trim = steps, window, trim
        self.prior_weight, self.sigma_p, self.sigma_d = prior_weight, sigma_p, sigma_d
        self.angle_learning_rate = angle_learning_rate
        # Positions (wavelengths) move a tenth as fast as phases (radians): 2 pi d u
        # spans about the same phase as phi for d ~ 0.05, phi ~ 0.3.
        self.optimiser = torch.optim.Adam([
            {"params": [self.tx.phase, self.rx.phase], "lr": learning_rate},
            {"params": [self.tx.position, self.rx.position], "lr": learning_rate * position_scale},
        ])
        self.updates = 0
        self._buffer = {"tx": None, "rx": None}

    def estimates(self):
        return self.tx.estimate(), self.rx.estimate()

    def _append(self, side, u, beams, powers):
        new = [torch.as_tensor(np.asarray(u, np.float64)),
               torch.as_tensor(beams, dtype=torch.complex128),
               torch.as_tensor(powers, dtype=torch.float64)]
        old = self._buffer[side]
        if old is not None:
            new = [torch.cat([o.detach(), n])[-self.window:] for o, n in zip(old, new)]
        new[0] = new[0].clone().requires_grad_(True)
        self._buffer[side] = new

    def _per_alignment_loss(self):
        total = 0.0
        for side, model in (("tx", self.tx), ("rx", self.rx)):
            u, beams, measured = self._buffer[side]
            synthesised = model.synthesised(u, beams)
            total = total + torch.sum((_normalised(measured) - _normalised(synthesised)) ** 2,
                                      dim=1)
        return total

    def _trimmed(self, losses):
        keep = max(1, int(round(len(losses) * (1.0 - self.trim))))
        return torch.topk(losses, keep, largest=False).values.mean()

    def _prior(self, data_loss):
        """Gaussian prior of the impairment model (MAP): keeps what the data cannot
        see at zero instead of letting noise move it. Weighted by the data loss itself,
        which tracks the measurement noise, so low SNR leans on the prior more."""
        total = 0.0
        for model in (self.tx, self.rx):
            total = total + (torch.mean(model.phase ** 2) / self.sigma_p ** 2
                             + torch.mean(model.position ** 2) / self.sigma_d ** 2)
        return self.prior_weight * data_loss.detach() * total

    def update(self, alignment):
        extras = alignment.extras
        self._append("tx", alignment.u_tx, extras["tx_final_beams"], extras["tx_final_powers"])
        self._append("rx", alignment.u_rx, extras["rx_final_beams"], extras["rx_final_powers"])
        angles = torch.optim.Adam([self._buffer["tx"][0], self._buffer["rx"][0]],
                                  lr=self.angle_learning_rate)
        before = None
        for _ in range(self.steps):
            self.optimiser.zero_grad()
            angles.zero_grad()
            data = self._trimmed(self._per_alignment_loss())
            loss = data + self._prior(data)
            if before is None:
                before = float(loss.detach())
            loss.backward()
            self.optimiser.step()
            angles.step()
        self.tx.project()
        self.rx.project()
        with torch.no_grad():
            after = float(self._trimmed(self._per_alignment_loss()))
        self.updates += 1
        return CalibrationStep(before, after, len(alignment.u_tx))


def calibrate_online(strategy, calibrator, draw_channels, snr_db, updates, batch=64,
                     dwell=64, rng=None, callback=None):
    """Alg. 2 against simulated channels: align a batch with the current compensation,
    update, repeat. draw_channels(n, rng) returns n impaired PathChannels;
    callback(update_index, step, alignment, channels) sees every update."""
    rng = np.random.default_rng(rng)
    for index in range(updates):
        chans = draw_channels(batch, rng)
        strategy.set_estimates(*calibrator.estimates())
        alignment = run_batch(strategy, PathMeasurer(chans, snr_db, dwell, rng=rng), batch)
        step = calibrator.update(alignment)
        if callback:
            callback(index, step, alignment, chans)
    strategy.set_estimates(*calibrator.estimates())
    return calibrator.estimates()


def impaired_channels(n, nt, nr, paths, tx_true, rx_true, rng):
    """n LoS-dominant channels on the impaired arrays."""
    return channels.saleh_valenzuela(n, nt, nr, paths, "los", rng=rng,
                                     tx_impairment=tx_true, rx_impairment=rx_true)


def self_calibrate(nt, nr, snr_db, updates, batch, paths, tx_true, rx_true, dwell=64,
                   rng=None, evaluate_every=0, evaluate_on=None, evaluate_first=True,
                   on_evaluate=None, on_update=None):
    """Runs Alg. 2 for `updates` updates; returns (strategy, calibrator, curve) where
    curve holds (update, power_db) on evaluate_on after update 1 (evaluate_first) and
    every evaluate_every updates. on_evaluate(update, step, power_db) follows each
    evaluation, on_update(step) every update."""
    strategy = CompensatedQSSRNet(nt, nr)
    calibrator = SelfCalibrator(nt, nr)
    curve = []

    def record(index, step, alignment, chans):
        if on_update:
            on_update(step)
        done = index + 1
        if evaluate_every and (done % evaluate_every == 0 or (evaluate_first and index == 0)):
            strategy.set_estimates(*calibrator.estimates())
            powers = evaluate_strategy(strategy, evaluate_on, snr_db, dwell, rng)[0]
            curve.append((done, mean_power_db(powers)[0]))
            if on_evaluate:
                on_evaluate(done, step, curve[-1][1])

    calibrate_online(strategy, calibrator,
                     lambda n, generator: impaired_channels(n, nt, nr, paths, tx_true, rx_true,
                                                            generator),
                     snr_db, updates, batch, dwell, rng, record)
    return strategy, calibrator, curve


@dataclass
class OnlineCalibrationRun:
    """What online_calibration_run() measured: held-out power before and after, and the
    estimated and true impairments of each side."""

    before_db: float
    after_db: float
    estimates: dict  # side -> ElementImpairment
    truth: dict  # side -> ElementImpairment


def online_calibration_run(nt, nr, snr_db, updates, batch, sigma_d, sigma_p, eval_trials,
                           seed, paths=3, report_every=0, on_report=None, on_update=None):
    """Alg. 2 on a simulated link with impairments drawn from seed: QSSR-Net's held-out
    power before calibration and after `updates` updates (`beamalign calibrate --online`).
    on_report(update, step, power_db) every report_every updates; on_update(step) each."""
    rng = np.random.default_rng(seed)
    tx_true = ElementImpairment.sample(nt, sigma_d, sigma_p, rng)
    rx_true = ElementImpairment.sample(nr, sigma_d, sigma_p, rng)
    held_out = impaired_channels(eval_trials, nt, nr, paths, tx_true, rx_true,
                                 np.random.default_rng(seed + 1))
    before = mean_power_db(evaluate_strategy(CompensatedQSSRNet(nt, nr), held_out, snr_db,
                                             rng=rng)[0])[0]
    strategy, calibrator, _ = self_calibrate(
        nt, nr, snr_db, updates, batch, paths, tx_true, rx_true, rng=rng,
        evaluate_every=report_every, evaluate_on=held_out, evaluate_first=False,
        on_evaluate=on_report, on_update=on_update)
    tx_est, rx_est = calibrator.estimates()
    after = mean_power_db(evaluate_strategy(strategy, held_out, snr_db, rng=rng)[0])[0]
    return OnlineCalibrationRun(before, after, {"tx": tx_est, "rx": rx_est},
                                {"tx": tx_true, "rx": rx_true})
