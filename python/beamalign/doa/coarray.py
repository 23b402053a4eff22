# SPDX-License-Identifier: GPL-3.0-or-later
"""Coarray spatial spectrum and its sparse reconstruction (seed 003, Sec. 3.2 and 4.2).

The hot parts are C++ (beamalign_python.coarray_solver); scg_reference is the same
algorithm in plain NumPy, kept to test the C++ against and to measure its speed-up.
"""
import numpy as np

from ..arrays.geometry import DEFAULT_GRID_DEG
from ..beamalign_python import coarray_solver

__all__ = ["DEFAULT_GRID_DEG", "CoarraySpectrum", "sample_covariance", "half_power_beamwidth",
           "scg_reference"]


def sample_covariance(snapshots):
    """R = (1/K) sum_k h(k) h(k)^H for snapshots of shape (M, K)."""
    h = np.asarray(snapshots, dtype=np.complex128)
    if h.ndim != 2:
        raise ValueError(f"snapshots must be (M, K), got shape {h.shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError("snapshots hold NaN or Inf")
    return h @ h.conj().T / h.shape[1]


class CoarraySpectrum:
    """Coarray DBF spectrum and SCG reconstruction on a fixed grid (C++ kernels)."""

    def __init__(self, num_antennas=4, grid_deg=DEFAULT_GRID_DEG):
        self.grid_deg = np.asarray(grid_deg, dtype=np.float64)
        self.solver = coarray_solver(int(num_antennas), self.grid_deg.tolist())

    def dbf(self, covariance, remove_noise=True):
        """Coarray DBF spectrum; remove_noise takes out sigma^2 I (smallest eigenvalue)."""
        return self.solver.dbf(np.asarray(covariance, dtype=np.complex128), remove_noise)

    def scg(self, eta_i, z=None, lam=0.1, mu=0.1, eps=0.5, rounds=4, iterations=150):
        eta_i = np.asarray(eta_i, dtype=np.float64)
        z = eta_i if z is None else np.asarray(z, dtype=np.float64)
        return self.solver.reconstruct(eta_i, z, lam, mu, eps, rounds, iterations)

    def estimate_deg(self, spectrum):
        return float(self.grid_deg[int(np.argmax(spectrum))])


def half_power_beamwidth(spectrum, grid_deg):
    """Width (degrees) of the main peak where it stays at or above half its maximum."""
    spectrum = np.asarray(spectrum, dtype=np.float64)
    peak = int(np.argmax(spectrum))
    half = spectrum[peak] / 2
    left = peak
    while left > 0 and spectrum[left - 1] >= half:
        left -= 1
    right = peak
    while right < len(spectrum) - 1 and spectrum[right + 1] >= half:
        right += 1
    step = float(np.mean(np.diff(grid_deg)))
    return (right - left + 1) * step


def scg_reference(num_antennas, grid_deg, eta_i, z, lam=0.1, mu=0.1, eps=0.5, rounds=4,
                  iterations=150, power_iterations=50):
    """The reconstruction in plain NumPy, with explicit lags (no C++)."""
    s = np.sin(np.deg2rad(np.asarray(grid_deg, dtype=np.float64)))
    lags = np.arange(-(num_antennas - 1), num_antennas)
    weight = num_antennas - np.abs(lags)
    b_matrix = np.exp(1j * np.pi * lags[:, None] * s[None, :])

    def apply_p(x):
        return np.real(b_matrix.conj().T @ (weight * (b_matrix @ x)))

    v = np.ones(len(s)) / np.sqrt(len(s))
    for _ in range(power_iterations):
        pv = apply_p(v)
        norm = np.linalg.norm(pv)
        v = pv / norm
    step = 1.0 / (norm + lam)
    eta_i = np.asarray(eta_i, dtype=np.float64)
    scale = eta_i.max() if eta_i.max() > 0 else 1.0
    b = (eta_i + lam * np.asarray(z, dtype=np.float64)) / scale
    eta = np.maximum(b, 0.0) * step
    weights = np.ones(len(s))
    for _ in range(rounds):
        x, y, t = eta.copy(), eta.copy(), 1.0
        for _ in range(iterations):
            grad = apply_p(y) + lam * y - b
            x_new = np.maximum(y - step * (grad + mu * weights), 0.0)
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            y = x_new + (t - 1.0) / t_new * (x_new - x)
            x, t = x_new, t_new
        eta = x
        weights = 1.0 / (eta / max(eta.max(), 1e-30) + eps)
    return eta * scale
