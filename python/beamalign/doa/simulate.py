"""CFR snapshots of one source on an M-element ULA (seed 003 eq. 7 and 34).

h(k) = (rho-scaled angle-dependent phase error of each antenna at subcarrier k)
       * a(theta) s(k) + n(k), k = 1..K subcarriers, unit signal power, noise at snr_db.
"""
import numpy as np


def simulate_snapshots(rng, theta_deg, num_antennas=4, num_subcarriers=16, snr_db=20.0,
                       impairment=None):
    """(M, K) snapshots; impairment is an AngleDependentPhaseError (its rho applies)."""
    m, k = num_antennas, num_subcarriers
    a = np.exp(1j * np.pi * np.arange(m) * np.sin(np.deg2rad(theta_deg)))
    signal = np.exp(2j * np.pi * rng.random(k))  # unit-power CFR of the path per subcarrier
    h = a[:, None] * signal[None, :]
    if impairment is not None:
        if impairment.num_elements != m or impairment.num_subcarriers < k:
            raise ValueError(f"impairment is for {impairment.num_elements} antennas x "
                             f"{impairment.num_subcarriers} subcarriers, need {m} x {k}")
        u = np.sin(np.deg2rad(theta_deg))
        factors = np.stack([impairment.factors(u, sc) for sc in range(k)], axis=1)  # (M, K)
        h = h * factors
    noise = (rng.standard_normal((m, k)) + 1j * rng.standard_normal((m, k))) * np.sqrt(
        10 ** (-snr_db / 10) / 2)
    return h + noise
