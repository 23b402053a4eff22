# SPDX-License-Identifier: GPL-3.0-or-later
"""Saleh-Valenzuela multipath channels (seed 000 eq. 2, Sec. V-A).

H = sum_l g_l a(Nr, u_rx,l) a(Nt, u_tx,l)^H with ||H||_F = 1. Channels are kept as
paths (gains and angles), so 10^5 of them are drawn in milliseconds; dense matrices
and beam-pair gains w^H H f are computed from the paths on demand, in batches.
"""
from dataclasses import dataclass

import numpy as np

from .arrays.geometry import ula_steering

PROFILES = ("los", "nlos")


def _array_response(num_elements, u, impairment):
    a = ula_steering(num_elements, u)
    return a if impairment is None else impairment.apply(a, u)


def _gram(num_elements, u, impairment):
    """G[b, l, m] = a(u_l)^H a(u_m) for each batch row.

    Ideal arrays use the Dirichlet kernel in closed form, (1/N) sum_n exp(j pi n x) with
    x = u_m - u_l, so no steering vector is built; impaired ones sum explicitly.
    """
    if impairment is not None:
        a = _array_response(num_elements, u, impairment)
        return np.einsum("bln,bmn->blm", a.conj(), a)
    x = u[:, None, :] - u[:, :, None]
    half = np.pi * x / 2
    den = num_elements * np.sin(half)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(den) > 1e-12, np.sin(num_elements * half) / den,
                         np.cos(num_elements * half) / np.cos(half))  # limit at x = 0, +-2
    return np.exp(1j * (num_elements - 1) * half) * ratio


@dataclass
class PathChannels:
    """A batch of B path channels: gains, u_tx, u_rx of shape (B, L)."""

    nt: int
    nr: int
    gains: np.ndarray
    u_tx: np.ndarray
    u_rx: np.ndarray
    tx_impairment: object = None
    rx_impairment: object = None

    def __len__(self):
        return self.gains.shape[0]

    def __getitem__(self, index):
        index = np.atleast_1d(np.arange(len(self))[index])
        return PathChannels(self.nt, self.nr, self.gains[index], self.u_tx[index],
                            self.u_rx[index], self.tx_impairment, self.rx_impairment)

    def tx_responses(self):
        return _array_response(self.nt, self.u_tx, self.tx_impairment)  # (B, L, Nt)

    def rx_responses(self):
        return _array_response(self.nr, self.u_rx, self.rx_impairment)  # (B, L, Nr)

    def matrices(self, dtype=np.complex64):
        """Dense H, shape (B, Nr, Nt)."""
        a_r = self.rx_responses()
        a_t = self.tx_responses()
        h = np.einsum("bl,blr,blt->brt", self.gains, a_r, a_t.conj())
        return h.astype(dtype, copy=False)

    def beam_gains(self, w, f):
        """w^H H f for each channel; w (B or 1, Nr) and f (B or 1, Nt) broadcast."""
        w = np.atleast_2d(w)
        f = np.atleast_2d(f)
        rx = np.einsum("bln,bn->bl", self.rx_responses(), w.conj())  # w^H a_r
        tx = np.einsum("bln,bn->bl", self.tx_responses().conj(), f)  # a_t^H f
        return np.sum(self.gains * rx * tx, axis=1)

    def frobenius_norms(self):
        """||H||_F of each channel, from the L x L Gram matrices (no dense H)."""
        gram_r = _gram(self.nr, self.u_rx, self.rx_impairment)  # a_r,l^H a_r,m
        gram_t = _gram(self.nt, self.u_tx, self.tx_impairment).conj()  # a_t,m^H a_t,l
        energy = np.einsum("bl,bm,blm,blm->b", self.gains.conj(), self.gains, gram_r, gram_t)
        return np.sqrt(np.maximum(energy.real, 0.0))


def saleh_valenzuela(batch, nt, nr, num_paths=3, profile="los", rng=None,
                     tx_impairment=None, rx_impairment=None, normalise=True):
    """Draws `batch` channels.

    profile "los": g_1 ~ CN(0, 1), the others CN(0, 0.01) (LoS-dominant);
    "nlos": all CN(0, 1) (the NLoS-rich scenario of seed 000 uses L = 8).
    u_tx, u_rx uniform on [-1, 1]. Gains are rescaled so that ||H||_F = 1, with
    impairments included when given.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if num_paths < 1:
        raise ValueError(f"num_paths must be at least 1, got {num_paths}")
    rng = np.random.default_rng(rng)
    variance = np.full(num_paths, 1.0 if profile == "nlos" else 0.01)
    variance[0] = 1.0
    shape = (batch, num_paths)
    gains = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(variance / 2)
    channels = PathChannels(nt, nr, gains, rng.uniform(-1, 1, shape), rng.uniform(-1, 1, shape),
                            tx_impairment, rx_impairment)
    if normalise:
        channels.gains = gains / channels.frobenius_norms()[:, None]
    return channels


def optimum_power(channels):
    """Best |w^H H f|^2 with single-path-steered unit-norm beams: the known-angle bound.

    Steers both sides at the strongest path's angles (the "known AoD & AoA" oracle of
    seed 000), with the array's true response when it is impaired; returns linear
    powers, shape (B,).
    """
    strongest = np.argmax(np.abs(channels.gains), axis=1)
    rows = np.arange(len(channels))
    # The array's own (possibly impaired) responses: unit norm, matched to the path.
    f = channels.tx_responses()[rows, strongest]
    w = channels.rx_responses()[rows, strongest]
    return np.abs(channels.beam_gains(w, f)) ** 2
