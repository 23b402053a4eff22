# SPDX-License-Identifier: GPL-3.0-or-later
"""The SCG reconstruction as a Torch function, so a calibrator in front of it trains end
to end (MoDL-SSR, seed 003 Sec. 4): the same accelerated proximal-gradient iterations as
the C++ coarray_solver.reconstruct, unrolled, batched and differentiable.

P x = B diag(w) B^T x with B the grid's L x 2M cos/sin lag basis, never the L x L P.
"""
import numpy as np
import torch

from ..beamalign_python import coarray_solver


class TorchScg(torch.nn.Module):
    """eta = argmin 1/2 eta^T P eta - eta_i^T eta + lam/2 ||eta - z||^2 + mu s(eta), eta >= 0,
    by `rounds` reweighted-l1 rounds of `iterations` FISTA steps (as the C++ solver)."""

    def __init__(self, num_antennas, grid_deg, lam=0.1, mu=0.1, eps=0.5, rounds=4,
                 iterations=150, dtype=torch.float64):
        super().__init__()
        grid = np.asarray(grid_deg, dtype=np.float64)
        k = np.arange(num_antennas)
        phase = np.pi * np.outer(np.sin(np.deg2rad(grid)), k)  # (L, M)
        basis = np.concatenate([np.cos(phase), np.sin(phase)], axis=1)
        weight = np.where(k == 0, num_antennas, 2.0 * (num_antennas - k))
        self.register_buffer("basis", torch.as_tensor(basis, dtype=dtype))
        self.register_buffer("lag_weight", torch.as_tensor(np.concatenate([weight, weight]),
                                                           dtype=dtype))
        # The C++ solver's power-iteration bound sets the step, so both agree exactly.
        self.p_norm = float(coarray_solver(int(num_antennas), grid.tolist()).p_norm)
        self.lam, self.mu, self.eps = lam, mu, eps
        self.rounds, self.iterations = rounds, iterations

    def apply_p(self, x):
        """P x for a batch x (B, L)."""
        return ((x @ self.basis) * self.lag_weight) @ self.basis.T

    def forward(self, eta_i, z=None):
        """eta_i, z: (B, L) or (L,); returns the reconstruction with the same shape."""
        single = eta_i.dim() == 1
        eta_i = eta_i[None] if single else eta_i
        z = eta_i if z is None else (z[None] if single else z)
        peak = eta_i.amax(dim=1, keepdim=True)
        scale = torch.where(peak > 0, peak, torch.ones_like(peak))
        b = (eta_i + self.lam * z) / scale
        step = 1.0 / (self.p_norm + self.lam)
        eta = b.clamp(min=0.0) * step
        weights = torch.ones_like(eta)
        for _ in range(self.rounds):
            x, y, t = eta, eta, 1.0
            for _ in range(self.iterations):
                gradient = self.apply_p(y) + self.lam * y - b
                x_new = (y - step * (gradient + self.mu * weights)).clamp(min=0.0)
                t_new = 0.5 * (1.0 + (1.0 + 4.0 * t * t) ** 0.5)
                y = x_new + ((t - 1.0) / t_new) * (x_new - x)
                x, t = x_new, t_new
            eta = x
            top = eta.amax(dim=1, keepdim=True).clamp(min=1e-30)
            weights = 1.0 / (eta / top + self.eps)
        out = eta * scale
        return out[0] if single else out
