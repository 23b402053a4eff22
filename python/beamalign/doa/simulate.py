# SPDX-License-Identifier: GPL-3.0-or-later
"""CFR snapshots of one source on an M-element ULA (seed 003 eq. 7 and 34).

h(k) = (rho-scaled angle-dependent phase error of each antenna at subcarrier k)
       * a(theta) s(k) + n(k), k = 1..K subcarriers, unit signal power, noise at snr_db.
"""
import numpy as np


def simulate_batch(rng, thetas_deg, snrs_db, rhos=None, impairment=None, num_antennas=4,
                   num_subcarriers=16):
    """(B, M, K) snapshots of B independent sources, one AoA / SNR / rho each.

    impairment is an AngleDependentPhaseError; its table is scaled by rhos (per source),
    not by its own rho. With B = 1 this draws the same random numbers as
    simulate_snapshots, so both give identical snapshots for the same generator state.
    """
    thetas = np.atleast_1d(np.asarray(thetas_deg, dtype=np.float64))
    b, m, k = len(thetas), num_antennas, num_subcarriers
    a = np.exp(1j * np.pi * np.arange(m)[None, :] * np.sin(np.deg2rad(thetas))[:, None])
    signal = np.exp(2j * np.pi * rng.random((b, k)))  # unit-power CFR of the path
    h = a[:, :, None] * signal[:, None, :]
    if impairment is not None:
        if impairment.num_elements != m or impairment.num_subcarriers < k:
            raise ValueError(f"impairment is for {impairment.num_elements} antennas x "
                             f"{impairment.num_subcarriers} subcarriers, need {m} x {k}")
        rhos = np.broadcast_to(np.asarray(1.0 if rhos is None else rhos, np.float64), (b,))
        phase = np.stack([impairment.phase(thetas, sc) for sc in range(k)], axis=2)  # B, M, K
        h = h * np.exp(1j * rhos[:, None, None] * phase)
    sigma = np.sqrt(10 ** (-np.broadcast_to(np.asarray(snrs_db, np.float64), (b,)) / 10) / 2)
    noise = rng.standard_normal((b, m, k)) + 1j * rng.standard_normal((b, m, k))
    return h + noise * sigma[:, None, None]


def simulate_snapshots(rng, theta_deg, num_antennas=4, num_subcarriers=16, snr_db=20.0,
                       impairment=None):
    """(M, K) snapshots; impairment is an AngleDependentPhaseError (its rho applies)."""
    rho = None if impairment is None else impairment.rho
    return simulate_batch(rng, [theta_deg], [snr_db], rho, impairment, num_antennas,
                          num_subcarriers)[0]
