# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 001's system (Sec. II, Tables I-II) on a site data set, and its beam searches.

The BS is one 16 x 8 UPA panel (16 columns along the horizontal, 8 rows) facing the
sector with the most users, 10 deg downtilt; users are the data set's users within
60 deg of the panel's azimuth. Channels come from sites.upa_channels; a measurement
of beam w is an RSRP as 5G defines it: the power per resource element, here
|sqrt(P_RE) h^H w + n|^2 with the pilot averaged coherently over the 127 resource
elements of one SSS, so n ~ CN(0, N0 SCS / 127) (noise density -174 dBm/Hz, no noise
figure, as the paper's Table I). The transmit power P (TX_POWER_DBM over the whole
100 MHz, P_RE = P / 792 subcarriers of 120 kHz) is chosen so that the site's RSRPs
fall inside seed 001's clamp [-140, -40] dBm (docs/algorithms.md). The data SNR of a
beam, for rates, is P |h^H w|^2 / (N0 B).

Searches (each returns the chosen beam index and the measurements it cost):
- algorithm1: the L probes, the predictor's top-K re-probed, the strongest kept (L + K);
- hierarchical: 16 wide beams (4 x 4 sub-array), then the 8 narrow beams under the best
  (24), the two-level search the paper compares with;
- binary: halve the beam grid along its longer side each round, two sub-array beams a
  round (7 rounds, 14 measurements for 128 beams);
- exhaustive: all 128.
"""
from dataclasses import dataclass, replace

import numpy as np

from ..arrays.geometry import upa_steering
from ..codebooks import quantize_phase
from ..models.choices import RSRP_CEILING_DBM, RSRP_FLOOR_DBM
from . import sites

TX_POWER_DBM = 30.0
BANDWIDTH_HZ = 100e6
SUBCARRIER_SPACING_HZ = 120e3
SUBCARRIERS = 792  # 66 resource blocks of 12 at 120 kHz in 100 MHz
PILOT_ELEMENTS = 127  # one SSS
NOISE_DENSITY_DBM_HZ = -174.0
SYMBOL_S, SLOT_S = 8.92e-6, 20e-3  # Table I: Ts, Tc


@dataclass(frozen=True)
class System:
    num_h: int = 16
    num_v: int = 8
    azimuth_deg: float = None  # None: the sector with the most users
    downtilt_deg: float = 10.0
    tx_power_dbm: float = TX_POWER_DBM

    @property
    def re_power_dbm(self):
        """Transmit power per resource element."""
        return self.tx_power_dbm - 10 * np.log10(SUBCARRIERS)

    @property
    def measurement_noise_dbm(self):
        """Noise power of one RSRP measurement (per element, averaged over the pilot)."""
        return (NOISE_DENSITY_DBM_HZ + 10 * np.log10(SUBCARRIER_SPACING_HZ)
                - 10 * np.log10(PILOT_ELEMENTS))

    @property
    def data_snr_offset_db(self):
        """Data SNR = this + 10 log10 |h^H w|^2."""
        return self.tx_power_dbm - NOISE_DENSITY_DBM_HZ - 10 * np.log10(BANDWIDTH_HZ)

    @property
    def beams(self):
        return self.num_h * self.num_v

    def codebook(self):
        """(N, N) UPA DFT codebook, beam h * num_v + v."""
        uh = -1.0 + (2.0 * np.arange(1, self.num_h + 1) - 1.0) / self.num_h
        uv = -1.0 + (2.0 * np.arange(1, self.num_v + 1) - 1.0) / self.num_v
        grid_u, grid_v = np.meshgrid(uh, uv, indexing="ij")
        return upa_steering(self.num_h, self.num_v, grid_u.ravel(), grid_v.ravel())

    def describe(self):
        return {"num_h": self.num_h, "num_v": self.num_v, "azimuth_deg": self.azimuth_deg,
                "downtilt_deg": self.downtilt_deg, "tx_power_dbm": self.tx_power_dbm,
                "re_power_dbm": round(self.re_power_dbm, 3),
                "measurement_noise_dbm": round(self.measurement_noise_dbm, 3),
                "bandwidth_hz": BANDWIDTH_HZ, "subcarrier_spacing_hz": SUBCARRIER_SPACING_HZ,
                "subcarriers": SUBCARRIERS, "pilot_elements": PILOT_ELEMENTS}


def flowgraph_levels(system, dwell):
    """(scale_db, ref_dbm, snr_db) that make a flowgraph of unit-power samples measure
    this system's RSRPs: channels scaled by scale_db put a -40 dBm RSRP at power 1
    (float32 keeps -140 dBm at 1e-10), the rsrp_meter adds ref_dbm, and
    sim_array_source's snr_db gives the pilot-correlated dwell of `dwell` samples the
    system's measurement noise."""
    scale_db = system.re_power_dbm - RSRP_CEILING_DBM
    ref_dbm = system.re_power_dbm - scale_db
    sample_noise_db = system.measurement_noise_dbm - ref_dbm + 10 * np.log10(dwell)
    return scale_db, ref_dbm, -sample_noise_db


def busiest_sector(site, half_width_deg=60.0):
    """The panel azimuth (a multiple of 15 deg) with the most users in front of it."""
    candidates = np.arange(0.0, 360.0, 15.0)
    counts = [sites.in_sector(site, a, half_width_deg).sum() for a in candidates]
    return float(candidates[int(np.argmax(counts))])


@dataclass
class SiteChannels:
    """The sector's users: channels, the exhaustive genie's beam and beam powers."""

    system: System
    users: np.ndarray  # indices into the site
    channels: np.ndarray  # (U, N) complex, h^H w convention
    beam_gain: np.ndarray  # (U, N) |h^H a_i|^2 for every codebook beam
    positions: np.ndarray

    @property
    def best(self):
        return np.argmax(self.beam_gain, axis=1)

    def subset(self, index):
        return SiteChannels(self.system, self.users[index], self.channels[index],
                            self.beam_gain[index], self.positions[index])

    def __len__(self):
        return len(self.users)


def site_channels(site, system=System()):
    """The in-sector users of a site under a system; fixes the system's azimuth."""
    if system.azimuth_deg is None:
        system = replace(system, azimuth_deg=busiest_sector(site))
    front = sites.in_sector(site, system.azimuth_deg)
    chans = sites.upa_channels(site.subset(front), system.num_h, system.num_v,
                               system.azimuth_deg, system.downtilt_deg).astype(np.complex128)
    gain = np.abs(chans.conj() @ system.codebook().T) ** 2
    alive = gain.max(axis=1) > 0
    users = np.flatnonzero(front)[alive]
    return SiteChannels(system, users, chans[alive], gain[alive], site.positions[users])


def measure(chans, weights, system, rng):
    """Noisy measured powers (mW) of beams: weights (B, K, N) or (K, N) -> (B, K)."""
    weights = np.asarray(weights)
    if weights.ndim == 2:
        z = chans.conj() @ weights.T
    else:
        z = np.einsum("bn,bkn->bk", chans.conj(), weights)
    z = z * np.sqrt(10 ** (system.re_power_dbm / 10))
    sigma = np.sqrt(10 ** (system.measurement_noise_dbm / 10) / 2)
    z = z + sigma * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape))
    return np.abs(z) ** 2


def rsrp_map(power_mw, step_db=1.0):
    """Seed 001's g: dBm clamped to [-140, -40], rounded to step_db (0: unrounded)."""
    with np.errstate(divide="ignore"):
        dbm = np.clip(10 * np.log10(np.maximum(power_mw, 1e-30)), RSRP_FLOOR_DBM,
                      RSRP_CEILING_DBM)
    return np.round(dbm / step_db) * step_db if step_db > 0 else dbm


def algorithm1(sc, probe_weights, predict, k, rng, bits=0):
    """Seed 001 Alg. 1: probes -> predictor -> top-k re-probed -> strongest.

    predict maps RSRPs (B, L) dBm to scores (B, N). Returns (chosen beam, top-k list,
    measurements per user)."""
    weights = quantize_phase(probe_weights, bits)
    rsrp = rsrp_map(measure(sc.channels, weights, sc.system, rng))
    scores = predict(rsrp)
    top = np.argsort(-scores, axis=1)[:, :k]
    candidates = sc.system.codebook()[top]  # (B, k, N)
    powers = measure(sc.channels, quantize_phase(candidates, bits), sc.system, rng)
    chosen = top[np.arange(len(top)), np.argmax(powers, axis=1)]
    return chosen, top, probe_weights.shape[0] + k


def _sub_array_beam(system, u, v, active_h, active_v):
    """Beams (B, N) of the first active_h x active_v elements pointing at (u, v)."""
    partial = upa_steering(active_h, active_v, u, v).reshape(u.shape + (active_h, active_v))
    full = np.zeros(u.shape + (system.num_h, system.num_v), complex)
    full[..., :active_h, :active_v] = partial
    return full.reshape(u.shape + (system.beams,))


def _beam_centre(system, h_range, v_range):
    """(u, v) at the middle of a block of DFT beams [h0, h1) x [v0, v1)."""
    u = -1.0 + (h_range[0] + h_range[1]) / system.num_h
    v = -1.0 + (v_range[0] + v_range[1]) / system.num_v
    return u, v


def hierarchical(sc, rng, wide_h=4, wide_v=4):
    """16 wide beams, then the narrow beams under the best; (chosen, measurements)."""
    system, users = sc.system, len(sc)
    span_h, span_v = system.num_h // wide_h, system.num_v // wide_v
    centres = [_beam_centre(system, (i * span_h, (i + 1) * span_h), (j * span_v, (j + 1) * span_v))
               for i in range(wide_h) for j in range(wide_v)]
    cu, cv = (np.array(c) for c in zip(*centres))
    wide = _sub_array_beam(system, cu, cv, wide_h, wide_v)
    best_wide = np.argmax(measure(sc.channels, wide, system, rng), axis=1)
    bh, bv = best_wide // wide_v, best_wide % wide_v
    dh, dv = np.meshgrid(np.arange(span_h), np.arange(span_v), indexing="ij")
    narrow = ((bh[:, None] * span_h + dh.ravel()) * system.num_v
              + bv[:, None] * span_v + dv.ravel())  # (B, span_h * span_v)
    powers = measure(sc.channels, system.codebook()[narrow], system, rng)
    chosen = narrow[np.arange(users), np.argmax(powers, axis=1)]
    return chosen, wide_h * wide_v + span_h * span_v


def binary(sc, rng):
    """Halving search over the beam grid; (chosen, measurements)."""
    system, users = sc.system, len(sc)
    h0, h1 = np.zeros(users, int), np.full(users, system.num_h)
    v0, v1 = np.zeros(users, int), np.full(users, system.num_v)
    measurements = 0
    while np.any((h1 - h0) * (v1 - v0) > 1):
        split_h = (h1 - h0) >= (v1 - v0)
        hm, vm = (h0 + h1) // 2, (v0 + v1) // 2
        halves = []
        for first in (True, False):
            a0 = np.where(split_h & ~first, hm, h0)
            a1 = np.where(split_h & first, hm, h1)
            b0 = np.where(~split_h & ~first, vm, v0)
            b1 = np.where(~split_h & first, vm, v1)
            halves.append((a0, a1, b0, b1))
        beams = []
        for a0, a1, b0, b1 in halves:
            u, v = _beam_centre(system, (a0, a1), (b0, b1))
            # A block k beams wide is one beam of a sub-array with N/k elements.
            active_h = system.num_h // (a1 - a0)
            active_v = system.num_v // (b1 - b0)
            beam = np.zeros((users, system.beams), complex)
            for ah in np.unique(active_h):
                for av in np.unique(active_v):
                    pick = (active_h == ah) & (active_v == av)
                    if pick.any():
                        beam[pick] = _sub_array_beam(system, u[pick], v[pick], ah, av)
            beams.append(beam)
        powers = measure(sc.channels, np.stack(beams, axis=1), system, rng)
        measurements += 2
        take_first = powers[:, 0] >= powers[:, 1]
        h0, h1, v0, v1 = (np.where(take_first, f, s) for f, s in zip(*halves))
    return h0 * system.num_v + v0, measurements


def exhaustive(sc, rng):
    powers = measure(sc.channels, sc.system.codebook(), sc.system, rng)
    return np.argmax(powers, axis=1), sc.system.beams


def snr_loss_db(sc, chosen):
    """Per user: 10 log10 of the genie's beam gain over the chosen beam's."""
    best = sc.beam_gain.max(axis=1)
    picked = sc.beam_gain[np.arange(len(sc)), chosen]
    return 10 * np.log10(best / np.maximum(picked, 1e-300))


def effective_rate(sc, chosen, measurements, users_per_slot):
    """Seed 001 eq. 12 for users_per_slot users sharing one coherence slot, each costing
    `measurements` symbols of it (bit/s/Hz, mean over users)."""
    overhead = min(1.0, users_per_slot * measurements * SYMBOL_S / SLOT_S)
    snr = 10 ** (sc.system.data_snr_offset_db / 10) * sc.beam_gain[np.arange(len(sc)), chosen]
    return (1.0 - overhead) * float(np.mean(np.log2(1.0 + snr)))


def top_k_accuracy(scores, best, k):
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean(np.any(top == best[:, None], axis=1)))
