# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 001: learned probe beams on the UPA manifold + the MLP beam predictor.

The probe module turns channels into L probe RSRPs (eq. 5, map g: dBm clamped to
[-140, -40]); the predictor (Table II: 8-200-200-200-128, LeakyReLU(0.04) twice, ReLU)
maps them to logits over the UPA DFT codebook; softmax and cross entropy on the best
beam train both end to end.

Probe parameterisations (`probes`):
- "uv": per probe the beam-domain pair (u, v) (Sec. III-C, the paper's choice);
- "angle": per probe (phi, theta) with u = sin(phi) sin(theta), v = cos(theta);
- "cm": every element's phase free (constant modulus, the paper's reference [10]);
- "uniform": a fixed, evenly spread subset of the DFT codebook (baseline, not trained).
Phases can be quantised to B bits after training (`quantize`); during training a uniform
phase noise of `noise_steps` quantisation steps in width stands in for it (Sec. III-D).
"""
import math

import numpy as np
import torch
from torch import nn

from ..fileio import FileFormatError
from .choices import PROBE_PARAMETERISATIONS, RSRP_CEILING_DBM, RSRP_FLOOR_DBM
from .store import load_network

ARCHITECTURE = "probe-predictor"
PARAMETERISATIONS = PROBE_PARAMETERISATIONS


def uniform_probe_grid(num_h, num_v, probes):
    """Indices of `probes` DFT beams spread evenly over the (h, v) beam grid."""
    rows = max(1, int(round(math.sqrt(probes * num_v / num_h))))
    while probes % rows:
        rows -= 1
    cols = probes // rows
    h = (np.arange(cols) * num_h // cols + num_h // (2 * cols)).astype(int)
    v = (np.arange(rows) * num_v // rows + num_v // (2 * rows)).astype(int)
    return (h[:, None] * num_v + v[None, :]).ravel()


def dft_uv(num_h, num_v):
    """(u, v) of every beam of the UPA DFT codebook (index h * num_v + v)."""
    uh = -1.0 + (2.0 * np.arange(1, num_h + 1) - 1.0) / num_h
    uv = -1.0 + (2.0 * np.arange(1, num_v + 1) - 1.0) / num_v
    grid_u, grid_v = np.meshgrid(uh, uv, indexing="ij")
    return grid_u.ravel(), grid_v.ravel()


class ProbeBeams(nn.Module):
    """L unit-norm probe beams for a num_h x num_v UPA (index h * num_v + v)."""

    def __init__(self, num_h, num_v, probes, parameterisation):
        super().__init__()
        if parameterisation not in PARAMETERISATIONS:
            raise ValueError(f"probes must be one of {PARAMETERISATIONS}, got "
                             f"{parameterisation!r}")
        self.num_h, self.num_v, self.probes = num_h, num_v, probes
        self.parameterisation = parameterisation
        u, v = dft_uv(num_h, num_v)
        start = uniform_probe_grid(num_h, num_v, probes)
        u0, v0 = torch.tensor(u[start]), torch.tensor(v[start])
        self.register_buffer("n_h", torch.arange(num_h, dtype=torch.float64))
        self.register_buffer("n_v", torch.arange(num_v, dtype=torch.float64))
        # Learned probes start from the uniform ones (as the paper suggests in Sec. IV-C).
        if parameterisation == "uv":
            self.u = nn.Parameter(u0.clone())
            self.v = nn.Parameter(v0.clone())
        elif parameterisation == "angle":
            theta = torch.arccos(v0.clamp(-0.999, 0.999))
            self.phi = nn.Parameter(torch.arcsin((u0 / torch.sin(theta)).clamp(-0.999, 0.999)))
            self.theta = nn.Parameter(theta)
        elif parameterisation == "cm":
            self.phase = nn.Parameter(torch.angle(self._steering(u0, v0)))
        else:
            self.register_buffer("fixed_u", u0.clone())
            self.register_buffer("fixed_v", v0.clone())

    def _steering(self, u, v):
        phase = math.pi * (u[:, None, None] * self.n_h[None, :, None]
                           + v[:, None, None] * self.n_v[None, None, :])
        n = self.num_h * self.num_v
        return torch.exp(1j * phase).reshape(len(u), n) / math.sqrt(n)

    def weights(self):
        """(L, N) complex128 unit-norm probe weights."""
        if self.parameterisation == "uv":
            return self._steering(self.u, self.v)
        if self.parameterisation == "angle":
            return self._steering(torch.sin(self.phi) * torch.sin(self.theta),
                                  torch.cos(self.theta))
        if self.parameterisation == "cm":
            return torch.exp(1j * self.phase.to(torch.float64)) / math.sqrt(
                self.num_h * self.num_v)
        return self._steering(self.fixed_u, self.fixed_v)


def rsrp_dbm(power_mw):
    """Seed 001's map g: 10 log10 of the power in mW, clamped to [-140, -40] dBm."""
    return torch.clamp(10 * torch.log10(power_mw.clamp_min(1e-30)), RSRP_FLOOR_DBM,
                       RSRP_CEILING_DBM)


def normalised(rsrp):
    """RSRP dBm -> [0, 1] for the network's input."""
    return (rsrp - RSRP_FLOOR_DBM) / (RSRP_CEILING_DBM - RSRP_FLOOR_DBM)


class ProbePredictor(nn.Module):
    ARCHITECTURE = ARCHITECTURE

    def __init__(self, num_h=16, num_v=8, probes=8, parameterisation="uv", hidden=200,
                 re_power_dbm=1.0, noise_dbm=-144.2):
        super().__init__()
        self.num_h, self.num_v, self.hidden = num_h, num_v, hidden
        self.re_power_dbm, self.noise_dbm = float(re_power_dbm), float(noise_dbm)
        self.probe = ProbeBeams(num_h, num_v, probes, parameterisation)
        beams = num_h * num_v
        self.predictor = nn.Sequential(
            nn.Linear(probes, hidden), nn.LeakyReLU(0.04), nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.04), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, beams))

    @property
    def probes(self):
        return self.probe.probes

    @property
    def beams(self):
        return self.num_h * self.num_v

    def architecture(self):
        return {"name": ARCHITECTURE, "num_h": self.num_h, "num_v": self.num_v,
                "probes": self.probes, "parameterisation": self.probe.parameterisation,
                "hidden": self.hidden, "re_power_dbm": self.re_power_dbm,
                "noise_dbm": self.noise_dbm, "codebook": "UPA DFT, index h * num_v + v",
                "input": "probe RSRPs in dBm, clamped to [-140, -40], scaled to [0, 1]",
                "output": "logits over the DFT codebook"}

    @classmethod
    def load(cls, path):
        def build(arch):
            net = cls(arch.integer("num_h", 1, 1024), arch.integer("num_v", 1, 1024),
                      arch.integer("probes", 1, 4096), "uv", arch.integer("hidden", 1, 8192),
                      arch.real("re_power_dbm", -100.0, 100.0),
                      arch.real("noise_dbm", -300.0, 100.0))
            parameterisation = arch.document.get("parameterisation")
            if parameterisation not in PARAMETERISATIONS:
                raise FileFormatError(f"{arch.where}: field 'parameterisation' must be one "
                                      f"of {PARAMETERISATIONS}, got {parameterisation!r}")
            net.probe = ProbeBeams(net.num_h, net.num_v, net.probes, parameterisation)
            return net
        return load_network(cls, path, build)

    def probe_rsrp(self, channels, weights=None, noise=True, generator=None):
        """Probe RSRPs in dBm (B, L) of channels (B, N) (h^H w convention), map g."""
        weights = self.probe.weights() if weights is None else weights
        amplitude = math.sqrt(10 ** (self.re_power_dbm / 10))
        z = amplitude * (channels.conj() @ weights.T)  # per resource element
        if noise:
            sigma = math.sqrt(10 ** (self.noise_dbm / 10) / 2)
            z = z + sigma * torch.complex(
                torch.randn(z.shape, generator=generator, dtype=torch.float64),
                torch.randn(z.shape, generator=generator, dtype=torch.float64))
        return rsrp_dbm(z.abs() ** 2)

    def probe_weight_array(self):
        """The probe weights as a NumPy (L, N) array."""
        with torch.no_grad():
            return self.probe.weights().numpy()

    def softmax_scores(self, rsrp):
        """Inference: NumPy RSRPs (B, L) dBm -> softmax scores (B, N) float64."""
        with torch.no_grad():
            return torch.softmax(self(torch.as_tensor(rsrp)), dim=1).double().numpy()

    def forward(self, rsrp):
        """Logits over the codebook from probe RSRPs in dBm (B, L)."""
        return self.predictor(normalised(rsrp).to(torch.float32))


def perturbed(weights, width):
    """weights with each element's phase moved by uniform noise in [-width/2, width/2]."""
    if width <= 0:
        return weights
    noise = (torch.rand(weights.shape, dtype=torch.float64) - 0.5) * width
    return weights * torch.exp(1j * noise)
