# SPDX-License-Identifier: GPL-3.0-or-later
"""Subspace baselines and the bound (docs/algorithms.md, direction finding)."""
import numpy as np


def _noise_subspace(covariance, num_sources):
    r = np.asarray(covariance, dtype=np.complex128)
    m = r.shape[0]
    if not 1 <= num_sources < m:
        raise ValueError(f"num_sources must be in 1..{m - 1}, got {num_sources}")
    _, vectors = np.linalg.eigh(r)  # ascending eigenvalues
    return vectors[:, : m - num_sources]


def music_spectrum(covariance, grid_deg, num_sources=1):
    """P(theta) = 1 / ||E_n^H a(theta)||^2 on the grid."""
    e_n = _noise_subspace(covariance, num_sources)
    m = e_n.shape[0]
    a = np.exp(1j * np.pi * np.arange(m)[:, None] * np.sin(np.deg2rad(grid_deg))[None, :])
    return 1.0 / np.maximum(np.sum(np.abs(e_n.conj().T @ a) ** 2, axis=0), 1e-30)


def root_music(covariance, num_sources=1):
    """Angles (degrees) from the roots of a(z)^H E_n E_n^H a(z), a_m(z) = z^m.

    The polynomial's coefficients are the diagonal sums of C = E_n E_n^H; of its roots
    inside the unit circle, the num_sources closest to it give u = angle(z)/pi.
    """
    e_n = _noise_subspace(covariance, num_sources)
    m = e_n.shape[0]
    c = e_n @ e_n.conj().T
    # a^H C a = sum_k b_k z^k with b_k = sum over n - m = k of C[m, n]; times z^(M-1).
    coefficients = [np.trace(c, offset=k) for k in range(m - 1, -m, -1)]
    roots = np.roots(coefficients)
    inside = roots[np.abs(roots) < 1.0]
    closest = inside[np.argsort(1.0 - np.abs(inside))[:num_sources]]
    u = np.clip(np.angle(closest) / np.pi, -1.0, 1.0)
    return np.sort(np.degrees(np.arcsin(u)))


def crb_deg(theta_deg, num_antennas, snapshots, snr_db):
    """Single-source deterministic CRB of a half-wavelength ULA, as an RMSE in degrees.

    CRB(u) = 6 / (pi^2 T SNR N (N^2 - 1)); CRB(theta) = CRB(u) / cos^2(theta).
    """
    snr = 10.0 ** (snr_db / 10.0)
    n = num_antennas
    crb_u = 6.0 / (np.pi ** 2 * snapshots * snr * n * (n * n - 1))
    crb_theta = crb_u / np.cos(np.deg2rad(theta_deg)) ** 2
    return float(np.degrees(np.sqrt(crb_theta)))
