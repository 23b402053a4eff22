# SPDX-License-Identifier: GPL-3.0-or-later
"""Uplink SRS-like OFDM symbols at an M-antenna ULA (seed 003's measurement set-up).

A Zadoff-Chu sequence X on a comb (SRS symbol i on subcarrier comb_offset + comb (i - L/2),
the mapping srs_cfr reads), sent through paths (gain, AoA, delay in samples), with the
antennas' angle- and subcarrier-dependent phase errors (AngleDependentPhaseError, its rho
applied) and white noise. SNR is per SRS subcarrier and antenna for a unit-gain path.
"""
from dataclasses import dataclass

import numpy as np

from ..pilots import zadoff_chu


def srs_subcarriers(fft_size, comb, comb_offset, length):
    """Signed subcarrier index of each SRS symbol and its FFT bin."""
    if comb * length > fft_size:
        raise ValueError(f"{length} SRS symbols every {comb} subcarriers do not fit in "
                         f"fft_size {fft_size}")
    signed = comb_offset + comb * (np.arange(length) - length // 2)
    return signed, np.mod(signed, fft_size)


@dataclass
class Path:
    gain: complex
    angle_deg: float
    delay: float = 0.0  # samples; within the cyclic prefix


def draw_paths(rng, angle_deg, num_nlos=0, nlos_power=0.1, max_delay=8.0,
               max_angle_deg=60.0):
    """LoS of unit gain at angle_deg plus num_nlos CN(0, nlos_power) paths at random
    angles and delays."""
    paths = [Path(1.0 + 0j, float(angle_deg), 0.0)]
    for _ in range(num_nlos):
        gain = (rng.standard_normal() + 1j * rng.standard_normal()) * np.sqrt(nlos_power / 2)
        paths.append(Path(complex(gain), float(rng.uniform(-max_angle_deg, max_angle_deg)),
                          float(rng.uniform(1.0, max_delay))))
    return paths


def srs_symbol(rng, paths, num_antennas=4, fft_size=256, cp_len=18, comb=2, comb_offset=0,
               sequence=None, impairment=None, snr_db=20.0):
    """One SRS symbol with its cyclic prefix at each antenna: (M, fft_size + cp_len)."""
    sequence = zadoff_chu(96) if sequence is None else np.asarray(sequence)
    length = len(sequence)
    signed, bins = srs_subcarriers(fft_size, comb, comb_offset, length)
    m = np.arange(num_antennas)
    cfr = np.zeros((num_antennas, length), np.complex128)
    for path in paths:
        u = np.sin(np.deg2rad(path.angle_deg))
        response = np.exp(1j * np.pi * m * u)[:, None] * \
            np.exp(-2j * np.pi * signed * path.delay / fft_size)[None, :]
        if impairment is not None:
            # SRS subcarrier i uses the profile's subcarrier i * K_profile // L.
            profile = np.stack([impairment.factors(u, sc)
                                for sc in range(impairment.num_subcarriers)], axis=1)
            response = response * profile[:, np.arange(length) * impairment.num_subcarriers
                                          // length]
        cfr += path.gain * response
    cfr *= np.exp(2j * np.pi * rng.random())  # the UE's unknown carrier phase
    grid = np.zeros((num_antennas, fft_size), np.complex128)
    grid[:, bins] = cfr * sequence[None, :]
    time = np.fft.ifft(grid, axis=1)  # srs_cfr's forward FFT undoes the 1/N
    sigma2 = 10 ** (-snr_db / 10) / fft_size  # per-subcarrier SNR after the FFT
    time += np.sqrt(sigma2 / 2) * (rng.standard_normal(time.shape) +
                                   1j * rng.standard_normal(time.shape))
    return np.concatenate([time[:, fft_size - cp_len:], time], axis=1).astype(np.complex64)
