# SPDX-License-Identifier: GPL-3.0-or-later
"""MoD-DNN (seed 003): frequency-diverse multi-task autoencoder, coarray spectrum and the
MoDL-SSR loop of a shared 1-D CNN calibrator and the SCG reconstruction.

- The autoencoder (eq. 8-9) has one encoder and P x Q decoders per subcarrier k: P
  subregions times Q levels of the impairment weight rho. Its activations are the
  identity: the decoders are per-subcarrier spatial filters that map impaired snapshots
  onto the ideal manifold. A linear map commutes with the unknown path gain and with the
  averaging over subcarriers, which a per-snapshot nonlinear map does not (prototype:
  a tanh autoencoder gave 1.2 deg RMSE, the linear one 0.2 deg, rho = 1, 20 dB).
- Eq. 10's gating (zero output outside the subregion) is a decision here (see ModDnn).
- MoDL-SSR (eq. 20) keeps the measured spectrum in the data term, eta_{i+1} =
  SCG(eta_hat, z_i) with z_i = C_w(eta_i, eta_hat), eta_0 = SCG(eta_hat). The calibrator
  also sees the grid position (the phase error, and so the correction, depends on the
  angle, which a convolution alone cannot see); it is residual, z = eta + CNN(...),
  and starts as the identity.
- The angle is the centroid of the output spectrum's peak within readout_deg (finer than
  the 0.1 deg grid; 2 deg takes in all of a sparse peak: on a validation draw the 80th
  percentile error fell from 0.309 deg at 1 deg to 0.307 deg, 0.278 -> 0.265 for rho > 0.75).

Inference uses the C++ SCG (coarray_solver.reconstruct) with the settings the Torch twin
(doa.torch_scg.TorchScg) was trained with; the two are tested equal.
"""
import numpy as np
import torch
from torch import nn

from ..arrays.geometry import DEFAULT_GRID_DEG
from ..fileio import FileFormatError
from .store import load_network

ARCHITECTURE = "mod-dnn"


def snapshot_scale(snapshots):
    """RMS amplitude of each (M, K) snapshot set, shape (..., 1, 1); never 0."""
    h = np.asarray(snapshots)
    scale = np.sqrt(np.mean(np.abs(h) ** 2, axis=(-2, -1), keepdims=True))
    return np.where(scale > 0, scale, 1.0)


def snapshot_features(snapshots, scale=None):
    """(..., M, K) complex -> (..., K, 2M) float32: real and imaginary parts per subcarrier,
    divided by scale (default: the set's own RMS amplitude, so the network sees no
    absolute level)."""
    h = np.asarray(snapshots, dtype=np.complex128)
    h = h / (snapshot_scale(h) if scale is None else scale)
    return np.concatenate([h.real, h.imag], axis=-2).swapaxes(-1, -2).astype(np.float32)


def features_to_snapshots(features):
    """(..., K, 2M) real -> (..., M, K) complex."""
    x = np.asarray(features, dtype=np.float64)
    m = x.shape[-1] // 2
    return (x[..., :m] + 1j * x[..., m:]).swapaxes(-1, -2)


class MultiTaskAutoencoder(nn.Module):
    """Per subcarrier k: c = C_k h~(k) + b_k, h~_t(k) = D_tk c + b_tk for each task t
    (eq. 8-9); ModDnn's tasks are (subregion, impairment level) pairs."""

    def __init__(self, num_antennas=4, num_subcarriers=16, num_tasks=4, code=None):
        super().__init__()
        width = 2 * num_antennas
        code = width if code is None else code
        self.m, self.k, self.tasks, self.code = num_antennas, num_subcarriers, num_tasks, code
        # Identity start: every decoder begins as the uncalibrated snapshot.
        eye = torch.eye(width, code)
        self.encoder_weight = nn.Parameter(eye.repeat(num_subcarriers, 1, 1))
        self.encoder_bias = nn.Parameter(torch.zeros(num_subcarriers, code))
        self.decoder_weight = nn.Parameter(eye.T.repeat(num_subcarriers, 1, num_tasks))
        self.decoder_bias = nn.Parameter(torch.zeros(num_subcarriers, num_tasks * width))

    def forward(self, features):
        """(B, K, 2M) -> (B, tasks, K, 2M)."""
        code = torch.einsum("bki,kic->bkc", features, self.encoder_weight) + self.encoder_bias
        out = torch.einsum("bkc,kco->bko", code, self.decoder_weight) + self.decoder_bias
        return out.reshape(features.shape[0], self.k, self.tasks, 2 * self.m).transpose(1, 2)


class SpectrumCalibrator(nn.Module):
    """The shared 1-D CNN C_w of eq. 30: kernel 32, channels 4, 8, 4, 1, BN + ReLU except
    the last layer. Input channels: the current spectrum, the measured (DBF) spectrum,
    both at peak 1, and the grid's sin(angle). Residual: z = eta + CNN(...)."""

    inputs = ("spectrum", "measured spectrum", "sin(grid angle)")

    def __init__(self, grid_deg=DEFAULT_GRID_DEG, kernel=32, channels=(4, 8, 4)):
        super().__init__()
        self.kernel, self.channels = kernel, tuple(channels)
        self.register_buffer("position", torch.as_tensor(
            np.sin(np.deg2rad(np.asarray(grid_deg, np.float64))), dtype=torch.float32))
        # Zero padding keeps the grid length (eq. 30's P(.)); an even kernel pads one more
        # bin on the right.
        same = ((kernel - 1) // 2, kernel // 2)
        layers, previous = [], len(self.inputs)
        for width in channels:
            layers += [nn.ConstantPad1d(same, 0.0), nn.Conv1d(previous, width, kernel),
                       nn.BatchNorm1d(width), nn.ReLU()]
            previous = width
        last = nn.Conv1d(previous, 1, kernel)
        nn.init.zeros_(last.weight)  # starts as the identity map
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, nn.ConstantPad1d(same, 0.0), last)

    def forward(self, spectrum, measured):
        """(B, L) current and measured spectra -> calibrated (B, L) at the current's
        peak-1 scale."""
        x = spectrum / spectrum.amax(dim=1, keepdim=True).clamp(min=1e-30)
        y = measured / measured.amax(dim=1, keepdim=True).clamp(min=1e-30)
        position = self.position.to(x.dtype).expand_as(x)
        correction = self.body(torch.stack([x, y, position], dim=1).float())[:, 0]
        return x + correction.to(x.dtype)


def peak_centroid(spectrum, grid_deg, half_width_deg=1.0):
    """Power-weighted mean angle within half_width_deg of each spectrum's peak: the read-out
    of MoD-DNN (finer than the grid, and differentiable for training). spectrum (B, L)
    tensor -> (B,) degrees."""
    grid = torch.as_tensor(np.asarray(grid_deg, np.float64), dtype=spectrum.dtype)
    peak = grid[spectrum.argmax(dim=1)]
    window = (torch.abs(grid[None, :] - peak[:, None]) <= half_width_deg + 1e-9)
    weights = spectrum.clamp(min=0.0) * window
    return (weights * grid).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-30)


def region_edges(grid_deg, num_regions):
    """Angles bounding the P subregions of the grid (seed 003's floor(L p / P) split)."""
    grid = np.asarray(grid_deg, np.float64)
    cut = [grid[(len(grid) * p) // num_regions] for p in range(num_regions)]
    return np.array(cut + [grid[-1]])


class ModDnn(nn.Module):
    """The whole estimator; estimate() runs one M x K snapshot set.

    The autoencoder has P x Q decoders: subregion p of the grid, impairment level q of Q
    equal bins of rho in [0, 1] (the array's error profile is learnt, its strength is not
    known in advance). The decision (choose) keeps the decoder whose output looks most like
    one ideal steering vector.

    Spectra are reconstructed on the output grid widened by guard_deg on each side: on a
    grid that ends at 60 deg, SCG piles a source at 57 deg, whose beam runs past the end,
    onto the last atoms (prototype: 2-3 deg errors there). The output is cropped back.
    """

    ARCHITECTURE = ARCHITECTURE

    def __init__(self, num_antennas=4, num_subcarriers=16, num_regions=4, impairment_levels=8,
                 margin_deg=3.0, unrolled=2, lam=0.1, mu=0.1, eps=0.5, rounds=2,
                 iterations=60, grid_deg=DEFAULT_GRID_DEG, guard_deg=10.0, gate_deg=8.0,
                 readout_deg=2.0):
        super().__init__()
        self.grid_deg = np.asarray(grid_deg, np.float64)
        step = float(np.mean(np.diff(self.grid_deg)))
        guard = int(round(guard_deg / step))
        self.guard_deg = guard * step
        self.solver_grid_deg = np.round(np.concatenate([
            self.grid_deg[0] - step * np.arange(guard, 0, -1), self.grid_deg,
            self.grid_deg[-1] + step * np.arange(1, guard + 1)]), 10)
        self.output = slice(guard, guard + len(self.grid_deg))
        # Ideal steering vectors on the solver grid, (L, M), for the decision.
        self.steering = np.exp(1j * np.pi * np.arange(num_antennas)[None, :] *
                               np.sin(np.deg2rad(self.solver_grid_deg))[:, None])
        self.num_antennas, self.num_subcarriers = num_antennas, num_subcarriers
        self.num_regions, self.impairment_levels = num_regions, impairment_levels
        self.margin_deg, self.unrolled = float(margin_deg), unrolled
        self.gate_deg, self.readout_deg = float(gate_deg), float(readout_deg)
        self.scg_settings = {"lam": lam, "mu": mu, "eps": eps, "rounds": rounds,
                             "iterations": iterations}
        self.edges = region_edges(self.grid_deg, num_regions)
        self.autoencoder = MultiTaskAutoencoder(num_antennas, num_subcarriers,
                                                num_regions * impairment_levels)
        self.calibrator = SpectrumCalibrator(self.solver_grid_deg)

    def architecture(self):
        return {"name": ARCHITECTURE, "num_antennas": self.num_antennas,
                "num_subcarriers": self.num_subcarriers, "num_regions": self.num_regions,
                "impairment_levels": self.impairment_levels, "margin_deg": self.margin_deg,
                "unrolled": self.unrolled, "scg": self.scg_settings,
                "grid_deg": [float(self.grid_deg[0]), float(self.grid_deg[-1]),
                             len(self.grid_deg)],
                "guard_deg": self.guard_deg, "gate_deg": self.gate_deg,
                "readout_half_width_deg": self.readout_deg,
                "autoencoder": {"code": self.autoencoder.code, "activation": "identity",
                                "tasks": "subregion x impairment level"},
                "calibrator": {"kernel": self.calibrator.kernel,
                               "channels": list(self.calibrator.channels) + [1],
                               "inputs": list(self.calibrator.inputs)},
                "input": "M x K CFR snapshots", "output": "sparse spectrum on the grid"}

    def task_region(self, task):
        return task // self.impairment_levels

    def region_of(self, angle_deg):
        return int(np.clip(np.searchsorted(self.edges, angle_deg, side="right") - 1, 0,
                           self.num_regions - 1))

    def task_mask(self, thetas_deg, rhos):
        """(B, tasks) bool: which decoders train on each example."""
        lo, hi = self.edges[:-1] - self.margin_deg, self.edges[1:] + self.margin_deg
        in_region = (thetas_deg[:, None] >= lo[None, :]) & (thetas_deg[:, None] <= hi[None, :])
        level = np.minimum((np.asarray(rhos) * self.impairment_levels).astype(int),
                           self.impairment_levels - 1)
        in_level = level[:, None] == np.arange(self.impairment_levels)[None, :]
        return (in_region[:, :, None] & in_level[:, None, :]).reshape(len(thetas_deg), -1)

    # --- stage 1: the autoencoder and the decision -----------------------------------
    def calibrated_snapshots(self, snapshots):
        """(B, M, K) -> (B, tasks, M, K): each decoder's calibrated snapshot set."""
        with torch.no_grad():
            out = self.autoencoder(torch.from_numpy(snapshot_features(snapshots)))
        return features_to_snapshots(out.numpy())

    # --- stage 2: MoDL-SSR -----------------------------------------------------------
    def modl_torch(self, eta_hat, scg):
        """Differentiable MoDL-SSR on a batch (B, L) on the solver grid; scg is a TorchScg
        there with self.scg_settings. Returns the final spectrum (B, L)."""
        eta = scg(eta_hat)
        for _ in range(self.unrolled):
            eta = scg(eta_hat, self.calibrator(eta, eta_hat))
        return eta

    def read_out(self, spectra, tasks):
        """Angles (deg) of solver-grid spectra (B, L) tensor, each read within gate_deg of
        its chosen task's widened subregion (at low SNR, SCG can leave noise peaks at the
        far end of the grid), or anywhere if nothing is left there; clamped to the output
        grid."""
        region = np.array([self.task_region(int(t)) for t in np.atleast_1d(tasks)])
        reach = self.margin_deg + self.gate_deg
        lo, hi = self.edges[region] - reach, self.edges[region + 1] + reach
        window = torch.from_numpy((self.solver_grid_deg[None, :] >= lo[:, None]) &
                                  (self.solver_grid_deg[None, :] <= hi[:, None]))
        window = window | ~(spectra * window > 0).any(dim=1, keepdim=True)
        angles = peak_centroid(spectra * window.to(spectra.dtype), self.solver_grid_deg,
                               self.readout_deg)
        return angles.clamp(float(self.grid_deg[0]), float(self.grid_deg[-1]))

    @classmethod
    def load(cls, path):
        def build(arch):
            scg = arch.section("scg")
            grid = arch.document.get("grid_deg")
            if not (isinstance(grid, list) and len(grid) == 3 and
                    all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in grid)
                    and -90 <= grid[0] < grid[1] <= 90 and float(grid[2]).is_integer()
                    and 2 <= grid[2] <= 100000):
                raise FileFormatError(f"{arch.where}: field 'grid_deg' must be [start, stop, "
                                      "count] within -90..90 deg and 2..100000 points")
            settings = {"lam": scg.real("lam", 1e-9, 100.0, 0.1),
                        "mu": scg.real("mu", 1e-9, 100.0, 0.1),
                        "eps": scg.real("eps", 1e-9, 100.0, 0.5),
                        "rounds": scg.integer("rounds", 1, 64, 2),
                        "iterations": scg.integer("iterations", 1, 10000, 60)}
            return cls(arch.integer("num_antennas", 2, 64),
                       arch.integer("num_subcarriers", 1, 4096),
                       arch.integer("num_regions", 1, 64),
                       arch.integer("impairment_levels", 1, 64),
                       arch.real("margin_deg", 0.0, 90.0), arch.integer("unrolled", 0, 16),
                       grid_deg=np.round(np.linspace(grid[0], grid[1], int(grid[2])), 10),
                       guard_deg=arch.real("guard_deg", 0.0, 45.0),
                       gate_deg=arch.real("gate_deg", 0.0, 90.0, 8.0),
                       readout_deg=arch.real("readout_half_width_deg", 0.0, 45.0, 2.0),
                       **settings)

        return load_network(cls, path, build)
