# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 002's scenario (Sec. III, Table II) on a site data set.

A BS with three sectors (-30..90, 90..210, 210..330 deg azimuth), each an 8 x 8 UPA at
half a wavelength with 20 deg downtilt; every user belongs to the sector its bearing
falls in. Channels are wideband: SUBCARRIERS of the 256 subcarriers over 10 MHz
(evenly spaced), h_k = sum_p g_p exp(-j 2 pi f_k tau_p) a(u_p, v_p), normalised per
user to mean_k ||h_k||^2 = 1 (the paper normalises its CSI). A beam's RSRP is its
wideband sum mean_k |f^H h_k|^2. Measurement noise follows eqs. 14-15: at SNR gamma
every element of every h_k gets CN(0, 1 / (N 10^(gamma/10))), so ||noise||^2 averages
||H||^2 / 10^(gamma/10).

Codebooks (eqs. 6-10): X1 azimuths over the sector's 120 deg and X2 elevations over
180 deg, at the centres of their bins (eqs. 6-7 start at the bin edges, which puts the
first beam on the sector edge and straight down); beam k * X2 + l. Beamformers:
"upa" (the UPA steering vector of the panel, which matches the channel model; the
figures use it) or "paper" (eqs. 8-10 literally: a = exp(j pi sin theta),
b = exp(-j pi cos theta cos phi), F[m, n] = a^(7-m) b^n, which is not a steering
vector of this array).
"""
from dataclasses import dataclass

import numpy as np

from ..arrays.geometry import upa_steering
from . import sites

SECTORS = ((-30.0, 90.0), (90.0, 210.0), (210.0, 330.0))
BANDWIDTH_HZ = 10e6
ALL_SUBCARRIERS = 256
SUBCARRIERS = 32
PROBE_GRID = (4, 4)
FINE_GRIDS = {64: (8, 8), 256: (16, 16)}
BEAMFORMERS = ("upa", "paper")


def sector_of(site):
    """Each user's sector index (0, 1, 2) from its bearing seen from the BS."""
    offset = site.positions[:, :2] - site.bs_position[:2]
    bearing = np.degrees(np.arctan2(offset[:, 1], offset[:, 0]))
    bearing = (bearing + 30.0) % 360.0 - 30.0  # [-30, 330)
    return np.searchsorted([s[1] for s in SECTORS], bearing, side="right").clip(0, 2)


def codebook(x1, x2, num_h=8, num_v=8, beamformer="upa"):
    """(x1 * x2, N) unit-norm beams of an X1 x X2 codebook in the panel's frame."""
    if beamformer not in BEAMFORMERS:
        raise ValueError(f"beamformer must be one of {BEAMFORMERS}, got {beamformer!r}")
    azimuth = np.radians(-60.0 + 120.0 * (np.arange(x1) + 0.5) / x1)
    elevation = np.radians(-90.0 + 180.0 * (np.arange(x2) + 0.5) / x2)
    az, el = np.meshgrid(azimuth, elevation, indexing="ij")
    az, el = az.ravel(), el.ravel()
    if beamformer == "upa":
        return upa_steering(num_h, num_v, np.cos(el) * np.sin(az), np.sin(el))
    m = np.arange(num_h)[::-1]
    n = np.arange(num_v)
    phase = np.pi * (np.sin(az)[:, None, None] * m[None, :, None]
                     - (np.cos(az) * np.cos(el))[:, None, None] * n[None, None, :])
    return (np.exp(1j * phase) / np.sqrt(num_h * num_v)).reshape(len(az), num_h * num_v)


@dataclass(frozen=True)
class SectorSystem:
    num_h: int = 8
    num_v: int = 8
    downtilt_deg: float = 20.0
    subcarriers: int = SUBCARRIERS
    beamformer: str = "upa"

    def describe(self):
        return {"num_h": self.num_h, "num_v": self.num_v, "downtilt_deg": self.downtilt_deg,
                "sectors_deg": [list(s) for s in SECTORS], "bandwidth_hz": BANDWIDTH_HZ,
                "subcarriers": f"{self.subcarriers} of {ALL_SUBCARRIERS}, evenly spaced",
                "rsrp": "wideband sum over the subcarriers", "beamformer": self.beamformer,
                "probe_codebook": list(PROBE_GRID)}


@dataclass
class SectorData:
    """Per user: probe responses, fine-codebook powers, labels, sector, position."""

    site_name: str
    probe_response: np.ndarray  # (U, 16, S) complex64: f_i^H h_k of the 4 x 4 probes
    fine_power: dict  # beams -> (U, beams) noiseless wideband RSRPs
    sector: np.ndarray  # (U,)
    position: np.ndarray  # (U, 2) metres from the BS
    users: np.ndarray  # indices into the site
    system: SectorSystem
    site: object = None  # the sites.Site the users index (None for merged sites)

    def __len__(self):
        return len(self.sector)

    def best(self, beams):
        return np.argmax(self.fine_power[beams], axis=1)

    def subset(self, index):
        return SectorData(self.site_name, self.probe_response[index],
                          {b: p[index] for b, p in self.fine_power.items()},
                          self.sector[index], self.position[index], self.users[index],
                          self.system, self.site)


def sector_data(site, system=SectorSystem(), name=None, chunk=512):
    """The seed 002 view of a site (users with a path in their own sector)."""
    sector = sector_of(site)
    delta_f = BANDWIDTH_HZ / ALL_SUBCARRIERS
    tones = (np.arange(system.subcarriers) * (ALL_SUBCARRIERS // system.subcarriers)
             - ALL_SUBCARRIERS // 2) * delta_f
    if system.subcarriers == 1:
        tones = np.zeros(1)  # narrowband: the carrier
    probes = codebook(*PROBE_GRID, system.num_h, system.num_v, system.beamformer)
    fines = {b: codebook(*grid, system.num_h, system.num_v, system.beamformer)
             for b, grid in FINE_GRIDS.items()}
    response, powers = [], {b: [] for b in fines}
    keep = []
    for start in range(0, len(site), chunk):
        index = np.arange(start, min(start + chunk, len(site)))
        h = np.zeros((len(index), system.subcarriers, system.num_h * system.num_v), complex)
        for s, (low, high) in enumerate(SECTORS):
            mine = index[sector[index] == s]
            if len(mine) == 0:
                continue
            part = site.subset(mine)
            u, v, front = sites.beam_domain(part, (low + high) / 2, system.downtilt_deg)
            a = upa_steering(system.num_h, system.num_v, u, v) * np.sqrt(
                system.num_h * system.num_v)
            gain = np.where(front, part.gain, 0)
            phases = np.exp(-2j * np.pi * tones[None, :, None] * part.delay[:, None, :])
            h[np.isin(index, mine)] = np.einsum("up,ukp,upn->ukn", gain, phases, a)
        energy = np.mean(np.sum(np.abs(h) ** 2, axis=2), axis=1)
        alive = energy > 0
        h = h[alive] / np.sqrt(energy[alive])[:, None, None]
        keep.append(index[alive])
        response.append(np.einsum("bn,ukn->ubk", probes.conj(), h).astype(np.complex64))
        for beams, book in fines.items():
            powers[beams].append(np.mean(np.abs(np.einsum("bn,ukn->ubk", book.conj(), h)) ** 2,
                                         axis=2).astype(np.float32))
    users = np.concatenate(keep)
    return SectorData(name or site.meta.get("scene", "site"), np.concatenate(response),
                      {b: np.concatenate(p) for b, p in powers.items()}, sector[users],
                      (site.positions[users, :2] - site.bs_position[:2]), users, system, site)


def noisy_probe_rsrp(data, snr_db, rng):
    """Probe RSRPs (U, 16) with eq. 15's noise at snr_db, normalised by their maximum."""
    n = data.system.num_h * data.system.num_v
    sigma = np.sqrt(1.0 / (n * 10 ** (snr_db / 10)) / 2)
    shape = data.probe_response.shape
    noise = sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    rsrp = np.mean(np.abs(data.probe_response + noise) ** 2, axis=2)
    return (rsrp / rsrp.max(axis=1, keepdims=True)).astype(np.float32)


def hierarchical_choice(data, beams, snr_db, rng):
    """HC: the strongest noisy 4 x 4 probe, then its children in the fine codebook,
    measured with the same noise; returns (chosen fine beam, measurements)."""
    x1, x2 = FINE_GRIDS[beams]
    px, pz = PROBE_GRID
    fx, fz = x1 // px, x2 // pz
    wide = np.argmax(noisy_probe_rsrp(data, snr_db, rng), axis=1)
    k, ell = wide // pz, wide % pz
    dk, dl = np.meshgrid(np.arange(fx), np.arange(fz), indexing="ij")
    children = (k[:, None] * fx + dk.ravel()) * x2 + ell[:, None] * fz + dl.ravel()
    n = data.system.num_h * data.system.num_v
    power = np.take_along_axis(data.fine_power[beams], children, axis=1)
    # The children's wideband RSRPs with the noise a measurement of them would have:
    # each subcarrier's noise has variance 1/(N snr), its power averages over S tones.
    noise_var = 1.0 / (n * 10 ** (snr_db / 10))
    tones = data.probe_response.shape[2]
    measured = np.abs(np.sqrt(power) + np.sqrt(noise_var / 2 / tones) * (
        rng.standard_normal(power.shape) + 1j * rng.standard_normal(power.shape))) ** 2
    chosen = children[np.arange(len(children)), np.argmax(measured, axis=1)]
    return chosen, px * pz + fx * fz


def loss_db(data, beams, chosen):
    """Per user: the best fine beam's RSRP over the chosen one's, dB."""
    power = data.fine_power[beams]
    picked = power[np.arange(len(power)), chosen]
    return 10 * np.log10(power.max(axis=1) / np.maximum(picked, 1e-30))


@dataclass
class SectorChannels:
    """One sector's users at the carrier (||h|| = 1): what a flowgraph plays."""

    channels: np.ndarray  # (U, N), h^H w convention
    positions: np.ndarray  # (U, 3)
    users: np.ndarray

    def __len__(self):
        return len(self.users)


def sector_channels(site, sector, system=SectorSystem()):
    """The users of one sector with their narrowband channels through its panel."""
    if not 0 <= sector < len(SECTORS):
        raise ValueError(f"sector must be 0, 1 or 2, got {sector}")
    mine = np.flatnonzero(sector_of(site) == sector)
    low, high = SECTORS[sector]
    chans = sites.upa_channels(site.subset(mine), system.num_h, system.num_v,
                               (low + high) / 2, system.downtilt_deg).astype(np.complex128)
    norm = np.linalg.norm(chans, axis=1)
    alive = norm > 0
    return SectorChannels(chans[alive] / norm[alive, None], site.positions[mine[alive]],
                          mine[alive])
