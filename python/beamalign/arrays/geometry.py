# SPDX-License-Identifier: GPL-3.0-or-later
"""ULA and UPA geometry and steering vectors (SPEC section 4).

Positions are in wavelengths; angles are normalised u = sin(angle). With
half-wavelength spacing the ULA response is a(N, u) = exp(j*pi*n*u)/sqrt(N)
(seed 000 eq. 3).
"""
import numpy as np

# The angle grid of the direction finders and their networks: -60..60 deg in 0.1 deg.
DEFAULT_GRID_DEG = np.round(np.arange(-60.0, 60.0 + 1e-9, 0.1), 10)


def ula_positions(num_elements, spacing=0.5):
    """Element positions of a ULA along its axis, in wavelengths."""
    if num_elements < 1:
        raise ValueError(f"num_elements must be at least 1, got {num_elements}")
    return np.arange(num_elements, dtype=np.float64) * spacing


def upa_positions(num_h, num_v, spacing=0.5):
    """(num_h*num_v, 2) positions (horizontal, vertical) in wavelengths.

    Element index = h * num_v + v, matching upa_steering's Kronecker order.
    """
    h, v = np.meshgrid(ula_positions(num_h, spacing), ula_positions(num_v, spacing), indexing="ij")
    return np.stack([h.ravel(), v.ravel()], axis=1)


def ula_steering(num_elements, u, positions=None):
    """a(N, u) for scalar or array u; returns shape u.shape + (N,), unit norm.

    positions (wavelengths) default to the half-wavelength ULA; pass perturbed
    positions to model element displacement.
    """
    p = ula_positions(num_elements) if positions is None else np.asarray(positions, np.float64)
    u = np.asarray(u, dtype=np.float64)
    return np.exp(2j * np.pi * u[..., None] * p) / np.sqrt(len(p))


def upa_steering(num_h, num_v, u, v):
    """UPA response a_h(u) kron a_v(v), shape broadcast(u, v).shape + (num_h*num_v,).

    u is the horizontal beam-domain variable (sin(phi) sin(theta) in seed 001) and v
    the vertical one (cos(theta)). Unit norm.
    """
    u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
    a_h = ula_steering(num_h, u)
    a_v = ula_steering(num_v, v)
    return (a_h[..., :, None] * a_v[..., None, :]).reshape(u.shape + (num_h * num_v,))
