# SPDX-License-Identifier: GPL-3.0-or-later
"""Beam design of seed 004 (docs/algorithms.md, beam design): group-wise narrow beams by
Gerchberg-Saxton, the integrated sidelobe level (ISL) and the statistical resolution
limit (SRL) of a group of antennas.

Positions p are integers in half-wavelength units; a_n(u) = exp(j pi p_n u).
"""
import numpy as np
from scipy.optimize import brentq

from ..codebooks import quantize_phase


def _steering(positions, u):
    return np.exp(1j * np.pi * np.outer(np.atleast_1d(u), positions))  # (len(u), N)


def pattern(weights, positions, u):
    """Array factor |a(u)^H w|^2 on the directions u."""
    return np.abs(_steering(positions, u).conj() @ np.asarray(weights)) ** 2


def chirp_beam(num_elements, u1, u2):
    """Constant-modulus chirp sweeping [u1, u2]: the Gerchberg-Saxton starting point."""
    n = np.arange(num_elements)
    span = max(num_elements - 1, 1)
    return np.exp(1j * np.pi * (u1 * n + (u2 - u1) * n ** 2 / (2 * span))) / np.sqrt(num_elements)


def gs_narrow_beam(positions, u1, u2, iterations=300, bits=0):
    """Constant-modulus beam covering [u1, u2] (Gerchberg-Saxton).

    Grid u_k = -1 + 2k/K with K = 8 (max p + 1); target magnitude sqrt(2/(u2 - u1)) in the
    band and 0 outside, with a free transition band of 1/N on each side. Each iteration
    imposes the target magnitude on the cared bins, projects back to constant modulus
    (B-bit phases when bits > 0) and keeps the iterate with the best minimum in-band gain.
    Returns the unit-norm weights.
    """
    positions = np.asarray(positions)
    n = len(positions)
    k = 8 * (int(positions.max()) + 1)
    grid = -1.0 + 2.0 * np.arange(k) / k
    a = _steering(positions, grid).T  # (N, K): columns a(u_k)
    in_band = (grid >= u1) & (grid <= u2)
    free = ((grid >= u1 - 1.0 / n) & (grid < u1)) | ((grid > u2) & (grid <= u2 + 1.0 / n))
    cared = ~free
    target = np.where(in_band, np.sqrt(2.0 / (u2 - u1)), 0.0)

    def project(v):
        v = np.exp(1j * np.angle(v)) / np.sqrt(n)
        return quantize_phase(v, bits) if bits > 0 else v

    v = project(chirp_beam(n, u1, u2))
    best, best_gain = v, -np.inf
    for _ in range(iterations):
        g = a.conj().T @ v  # pattern samples a(u_k)^H v
        t = np.where(cared, target * np.exp(1j * np.angle(g)), g)
        v = project(a @ t / k)
        gain = np.min(np.abs(a[:, in_band].conj().T @ v) ** 2)
        if gain > best_gain:
            best, best_gain = v, gain
    return best


def isl(weights, positions, u0, resolution=20000):
    """Integrated sidelobe level: (total - main-lobe energy) / main-lobe energy.

    For integer positions the integral of |AF|^2 over [-1, 1] is exactly 2 sum|w|^2; the
    main lobe runs between the first nulls (local minima) around u0, integrated numerically.
    """
    u = np.linspace(-1, 1, resolution + 1)
    power = pattern(weights, positions, u)
    peak = int(np.argmin(np.abs(u - u0)))
    left = peak
    while left > 0 and power[left - 1] < power[left]:
        left -= 1
    right = peak
    while right < len(u) - 1 and power[right + 1] < power[right]:
        right += 1
    main = np.trapz(power[left:right + 1], u[left:right + 1])
    total = 2.0 * np.sum(np.abs(np.asarray(weights)) ** 2)
    return (total - main) / main


def _crb_separation(positions, u_center, delta, snr, snapshots):
    """CRB of delta = u2 - u1 for two equal, uncorrelated, unit-power sources."""
    p = np.asarray(positions, dtype=np.float64)
    u = np.array([u_center - delta / 2, u_center + delta / 2])
    a = _steering(p, u).T  # (N, 2)
    d = 1j * np.pi * p[:, None] * a  # derivative of each steering vector in u
    projector = np.eye(len(p)) - a @ np.linalg.pinv(a)
    fisher = np.real((d.conj().T @ projector @ d) * np.eye(2).T)  # P_s = I
    c = (1.0 / snr) / (2.0 * snapshots) * np.linalg.inv(fisher)
    e = np.array([-1.0, 1.0])
    return float(e @ c @ e)


def srl(positions, snr_db, snapshots=100, u_center=0.0, lam=1.0):
    """Statistical resolution limit: the delta solving delta^2 = lam * CRB_delta(delta)."""
    snr = 10.0 ** (snr_db / 10.0)

    def gap(delta):
        return delta ** 2 - lam * _crb_separation(positions, u_center, delta, snr, snapshots)

    return float(brentq(gap, 1e-5, 1.0, xtol=1e-9))
