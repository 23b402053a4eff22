# SPDX-License-Identifier: GPL-3.0-or-later
"""Beam codebooks (SPEC section 4, seed 000 eq. 5).

Every codebook is an array of shape (K, N): row p is the weight vector of beam p.
Hierarchical layers switch on only the first K antennas (DEACT wide beams). Weight
norm: "unit" gives 1/sqrt(K) on the K active elements (unit-norm probing beams, the
project default); "seed" gives 1/sqrt(N) per active element as seed 000 literally
writes.
"""
import numpy as np

from .arrays.geometry import ula_steering, upa_steering

BEAM_NORMS = ("unit", "seed")


def dft_angles(num_beams):
    """Pointing directions u_p = -1 + (2p - 1)/K, p = 1..K."""
    p = np.arange(1, num_beams + 1, dtype=np.float64)
    return -1.0 + (2.0 * p - 1.0) / num_beams


def steered_beam(num_elements, u, active=None, norm="unit"):
    """Beam(s) pointing at u using the first `active` elements; shape u.shape + (N,)."""
    if norm not in BEAM_NORMS:
        raise ValueError(f"norm must be one of {BEAM_NORMS}, got {norm!r}")
    active = num_elements if active is None else int(active)
    if not 1 <= active <= num_elements:
        raise ValueError(f"active must be in 1..{num_elements}, got {active}")
    u = np.asarray(u, dtype=np.float64)
    w = np.zeros(u.shape + (num_elements,), dtype=np.complex128)
    scale = np.sqrt(active) if norm == "unit" else np.sqrt(num_elements)
    w[..., :active] = ula_steering(active, u) * np.sqrt(active) / scale
    return w


def dft_codebook(num_elements):
    """The N-beam DFT codebook, shape (N, N)."""
    return steered_beam(num_elements, dft_angles(num_elements))


def hierarchical_layer(num_elements, num_beams, norm="unit"):
    """One layer: num_beams beams on the first num_beams antennas, shape (K, N)."""
    if num_beams > num_elements:
        raise ValueError(f"a layer of {num_beams} beams needs at least {num_beams} antennas")
    return steered_beam(num_elements, dft_angles(num_beams), active=num_beams, norm=norm)


def hierarchy_sizes(num_elements, ary):
    """Beams per layer of the ary-ary hierarchy: ary, ary^2, ... up to <= num_elements.

    For N not a power of ary the deepest layer is ary^floor(log_ary N) (16 for N = 32,
    ary = 4), as in seed 000.
    """
    if ary < 2:
        raise ValueError("ary must be at least 2")
    sizes, k = [], ary
    while k <= num_elements:
        sizes.append(k)
        k *= ary
    if not sizes:
        raise ValueError(f"{num_elements} antennas are too few for a {ary}-ary hierarchy")
    return sizes


def hierarchical_codebook(num_elements, ary=2, norm="unit"):
    """List of layers (each (K, N)) of the 2-ary or 4-ary DEACT hierarchy."""
    return [hierarchical_layer(num_elements, k, norm) for k in hierarchy_sizes(num_elements, ary)]


def children(parent_index, ary):
    """Indices (0-based) of the beams under parent_index in the next layer."""
    return np.arange(ary * parent_index, ary * parent_index + ary)


def upa_codebook(num_h, num_v):
    """Kronecker DFT codebook of a UPA: beam (p_h, p_v) at row p_h*num_v + p_v."""
    uh, uv = np.meshgrid(dft_angles(num_h), dft_angles(num_v), indexing="ij")
    return upa_steering(num_h, num_v, uh.ravel(), uv.ravel())


def quantize_phase(weights, bits):
    """Rounds each weight's phase to the nearest of 2^bits levels, keeping magnitudes."""
    if bits <= 0:
        return np.asarray(weights)
    weights = np.asarray(weights)
    step = 2 * np.pi / 2**bits
    return np.abs(weights) * np.exp(1j * np.round(np.angle(weights) / step) * step)
