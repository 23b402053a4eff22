# SPDX-License-Identifier: GPL-3.0-or-later
"""The measurement model of SPEC section 4, drawn directly for vectorised benchmarks.

One measurement is one pilot of `dwell` samples correlated in an rsrp_meter, which
returns |w^H H f + e|^2 with e ~ CN(0, sigma^2 ||w||^2 / dwell), sigma^2 = 10^(-SNR/10).
"""
import numpy as np


class PathMeasurer:
    """Measures probes on a batch of PathChannels."""

    def __init__(self, channels, snr_db, dwell=64, rng=None):
        self.channels = channels
        # One SNR for all trials, or one per trial (training draws them at random).
        self.noise_variance = np.broadcast_to(10.0 ** (-np.asarray(snr_db, float) / 10.0) / dwell,
                                              (len(channels),))
        self.rng = np.random.default_rng(rng)
        self._a_tx = channels.tx_responses()  # (B, L, Nt)
        self._a_rx = channels.rx_responses()  # (B, L, Nr)
        self.count = 0

    def gains(self, probe):
        """Noise-free w^H H f of each requested pair."""
        # a_t^H f for every path and Tx beam; w^H a_r for every path and Rx beam.
        tx = np.einsum("bln,bkn->blk", self._a_tx.conj(), np.broadcast_to(
            probe.tx, (len(self.channels),) + probe.tx.shape[1:]))
        rx = np.einsum("bln,bkn->blk", self._a_rx, np.broadcast_to(
            probe.rx, (len(self.channels),) + probe.rx.shape[1:]).conj())
        g = self.channels.gains[:, :, None]
        if probe.grid:
            return np.einsum("blr,blt->brt", g * rx, tx)
        return np.sum(g * rx * tx, axis=1)

    def __call__(self, probe):
        gains = self.gains(probe)
        w_energy = np.sum(np.abs(probe.rx) ** 2, axis=-1)  # (B or 1, Kr)
        if probe.grid:
            w_energy = w_energy[..., :, None]
        variance = self.noise_variance.reshape((-1,) + (1,) * (gains.ndim - 1))
        self.count += probe.count
        return np.abs(gains + complex_noise(self.rng, np.broadcast_to(variance * w_energy,
                                                                      gains.shape))) ** 2


def complex_noise(rng, variance):
    """CN(0, variance) samples, one per entry of the variance array."""
    variance = np.asarray(variance, dtype=np.float64)
    scale = np.sqrt(variance / 2)
    return scale * (rng.standard_normal(variance.shape) + 1j * rng.standard_normal(variance.shape))


def drive(search, measure):
    """Runs a search generator, answering each Probe with measure(probe); returns its value."""
    try:
        probe = next(search)
        while True:
            probe = search.send(measure(probe))
    except StopIteration as done:
        return done.value


def run_batch(strategy, measure, batch):
    """Drives a strategy over a batch of trials; returns its Alignment."""
    return drive(strategy.search(batch), measure)
