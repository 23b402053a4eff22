# SPDX-License-Identifier: GPL-3.0-or-later
"""Partially-connected hybrid array of seed 004 and its one-pilot observation.

A UPA of nx (horizontal) x nz (vertical) half-wavelength elements; each RF chain drives
one vertical sub-array of m elements through constant-modulus phase shifters, so the
analog combiner W (N x nx*nz/m) is block-diagonal. Element index = ix * nz + iz, and
the response is a_x(u_h) kron a_z(u_v) with a(u)_n = exp(j pi n u) (unit modulus).
One pilot in one time slot gives y = W^H (h + n): one sample per RF chain.
"""
import logging
from dataclasses import dataclass

import numpy as np

from ..arrays.geometry import upa_steering
from .beams import gs_narrow_beam
from .eda import load_grouping
from .estimators import contiguous_groups


@dataclass(frozen=True)
class PartiallyConnectedArray:
    nx: int = 32
    nz: int = 8
    m: int = 4
    u_h_max: float = float(np.sin(np.radians(60.0)))  # horizontal angles within +-60 deg
    u_v_max: float = 0.5  # vertical angles within +-30 deg

    def __post_init__(self):
        if self.nx < 1 or self.m < 1 or self.nz % self.m:
            raise ValueError(f"nz ({self.nz}) must be a positive multiple of m ({self.m})")

    @property
    def num_elements(self):
        return self.nx * self.nz

    @property
    def num_rf(self):
        return self.num_elements // self.m

    def chain_column(self):
        """The UPA column (horizontal index) of each RF chain."""
        return np.arange(self.num_rf) // (self.nz // self.m)

    def response(self, u_h, u_v):
        """Unit-modulus array responses, shape broadcast(u_h, u_v).shape + (N,)."""
        return upa_steering(self.nx, self.nz, u_h, u_v) * np.sqrt(self.num_elements)

    def combiner(self, chain_weights):
        """W (N x num_rf) from one m-element weight vector per RF chain (num_rf, m)."""
        chain_weights = np.asarray(chain_weights, np.complex128)
        if chain_weights.shape != (self.num_rf, self.m):
            raise ValueError(f"chain weights must be ({self.num_rf}, {self.m}), "
                             f"got {chain_weights.shape}")
        w = np.zeros((self.num_elements, self.num_rf), np.complex128)
        for k, weights in enumerate(chain_weights):
            start = k * self.m  # chains tile each column's elements in order
            w[start:start + self.m, k] = weights
        return w

    def wide_beams(self):
        """Every chain covers the whole vertical range [-u_v_max, u_v_max]."""
        beam = gs_narrow_beam(np.arange(self.m), -self.u_v_max, self.u_v_max)
        return np.tile(beam, (self.num_rf, 1))

    def random_beams(self, rng=None):
        rng = np.random.default_rng(rng)
        return np.exp(2j * np.pi * rng.random((self.num_rf, self.m))) / np.sqrt(self.m)

    def groupwise_beams(self, column_groups, num_groups):
        """Group g's chains cover vertical sub-interval g of the range (seed 004 Sec. III);
        column_groups gives the group of each UPA column."""
        column_groups = np.asarray(column_groups)
        if column_groups.shape != (self.nx,) or column_groups.min() < 0 or \
                column_groups.max() >= num_groups:
            raise ValueError(f"column_groups must give each of {self.nx} columns a group "
                             f"in 0..{num_groups - 1}")
        edges = np.linspace(-self.u_v_max, self.u_v_max, num_groups + 1)
        if self.nz > self.m and edges[1] - edges[0] >= 2.0 / self.m:
            # A column's chains sit m rows apart, so their phases repeat every 2/m in u_v:
            # a sub-interval that wide holds two directions they cannot tell apart
            # (bench chanest-beams, 32 x 8, G = 2: 2.9 dB behind random beams at 20 dB).
            logging.getLogger(__name__).warning(
                "group-wise beams: %d groups give sub-intervals of %.3f in u_v, not "
                "narrower than the chain rows' alias period 2/m = %.3f; use more than "
                "%d groups", num_groups, edges[1] - edges[0], 2.0 / self.m,
                int(np.floor(self.u_v_max * self.m)))
        beams = [gs_narrow_beam(np.arange(self.m), edges[g], edges[g + 1])
                 for g in range(num_groups)]
        return np.stack([beams[g] for g in column_groups[self.chain_column()]])


ELEMENT_PATTERNS = ("isotropic", "3gpp")


def element_gain_db(u_h, u_v):
    """3GPP TR 38.901 (Table 7.3-1) antenna element pattern for a broadside element:
    -min(-(A_V + A_H), 30) + 8 dBi, with A_V = -min(12 (elevation / 65 deg)^2, 30) and
    A_H = -min(12 (azimuth / 65 deg)^2, 30); u_v = sin(elevation), u_h = cos(elevation)
    sin(azimuth)."""
    elevation = np.degrees(np.arcsin(np.clip(u_v, -1.0, 1.0)))
    azimuth = np.degrees(np.arcsin(np.clip(u_h / np.cos(np.radians(elevation)), -1.0, 1.0)))
    vertical = -np.minimum(12.0 * (elevation / 65.0) ** 2, 30.0)
    horizontal = -np.minimum(12.0 * (azimuth / 65.0) ** 2, 30.0)
    return -np.minimum(-(vertical + horizontal), 30.0) + 8.0


@dataclass
class MultipathChannel:
    """h = sum_l g_l a(u_h,l, u_v,l): one LoS path CN(0, 1), the rest CN(0, nlos_power);
    with element_pattern "3gpp" each path also takes every element's 3GPP gain."""

    gains: np.ndarray
    u_h: np.ndarray
    u_v: np.ndarray

    @classmethod
    def draw(cls, array, num_paths=4, nlos_power=0.1, rng=None, element_pattern="isotropic"):
        if element_pattern not in ELEMENT_PATTERNS:
            raise ValueError(f"unknown element_pattern {element_pattern!r}; choose one of "
                             f"{', '.join(ELEMENT_PATTERNS)}")
        rng = np.random.default_rng(rng)
        variance = np.full(num_paths, nlos_power)
        variance[0] = 1.0
        gains = (rng.standard_normal(num_paths) + 1j * rng.standard_normal(num_paths)) * \
            np.sqrt(variance / 2)
        u_h = rng.uniform(-array.u_h_max, array.u_h_max, num_paths)
        u_v = rng.uniform(-array.u_v_max, array.u_v_max, num_paths)
        if element_pattern == "3gpp":
            gains = gains * 10 ** (element_gain_db(u_h, u_v) / 20)
        return cls(gains, u_h, u_v)

    def vector(self, array):
        return self.gains @ array.response(self.u_h, self.u_v)


def noisy_channel(h, snr_db, rng=None):
    """h + n, n ~ CN(0, sigma^2 I), per-antenna SNR = mean |h_n|^2 / sigma^2; returns
    (h + n, sigma^2). Every analog combiner sees the same h + n."""
    rng = np.random.default_rng(rng)
    sigma2 = np.mean(np.abs(h) ** 2) / 10 ** (snr_db / 10)
    noise = np.sqrt(sigma2 / 2) * (rng.standard_normal(h.shape) + 1j * rng.standard_normal(h.shape))
    return h + noise, sigma2


def observe(array, w, h, snr_db, rng=None):
    """y = W^H (h + n) (noisy_channel); returns (y, sigma^2)."""
    noisy, sigma2 = noisy_channel(h, snr_db, rng)
    return w.conj().T @ noisy, sigma2


def nmse_db(estimate, truth):
    return float(10 * np.log10(np.sum(np.abs(estimate - truth) ** 2) / np.sum(np.abs(truth) ** 2)))


BEAMS = ("groupwise", "wide", "random")


def configure_beams(array, beam="groupwise", num_groups=4, grouping="", seed=0,
                    column_groups=None):
    """Analog chain weights (num_rf, m) of a named beam design and the column groups
    (None unless group-wise). Group-wise beams use column_groups when given, else the
    `eda` grouping file `grouping`, else adjacent columns (the uniform pattern). random
    beams are drawn from seed."""
    if beam not in BEAMS:
        raise ValueError(f"unknown beam {beam!r}; choose one of {', '.join(BEAMS)}")
    if beam == "wide":
        return array.wide_beams(), None
    if beam == "random":
        return array.random_beams(seed), None
    if column_groups is not None:
        groups = np.asarray(column_groups)
    elif grouping:
        groups = load_grouping(grouping, array.nx)
    else:
        groups = contiguous_groups(array.nx, num_groups)
    return array.groupwise_beams(groups, int(groups.max()) + 1), groups
