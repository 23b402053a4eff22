# SPDX-License-Identifier: GPL-3.0-or-later
"""Running a strategy over many channels at once, and the mean power it achieves."""
import numpy as np

from .measure import PathMeasurer, run_batch
from .strategies import make_strategy


def mean_power_db(powers):
    """Mean in dB and the half-width of its 95 % confidence interval in dB."""
    mean = float(np.mean(powers))
    half = 1.96 * float(np.std(powers, ddof=1)) / np.sqrt(len(powers))
    return 10 * np.log10(mean), 10 * np.log10((mean + half) / mean)


def evaluate(method, chans, snr_db, dwell=64, beam_norm="unit", model=None, rng=None,
             chunk=5000):
    """Runs one method on every channel; returns (achieved powers, u_tx, u_rx, measurements)."""
    # `model` names QSSR-Net weights; the other learned methods use their shipped files.
    strategy = make_strategy(method, chans.nt, chans.nr, beam_norm,
                             model if method == "qssr-net" else None)
    return evaluate_strategy(strategy, chans, snr_db, dwell, rng, chunk)


def evaluate_strategy(strategy, chans, snr_db, dwell=64, rng=None, chunk=5000):
    """evaluate() for a strategy object (one carrying compensation, for instance)."""
    powers, u_tx, u_rx = [], [], []
    for start in range(0, len(chans), chunk):
        part = chans[start:start + chunk]
        result = run_batch(strategy, PathMeasurer(part, snr_db, dwell, rng=rng), len(part))
        powers.append(np.abs(part.beam_gains(result.w, result.f)) ** 2)
        u_tx.append(result.u_tx)
        u_rx.append(result.u_rx)
    return (np.concatenate(powers), np.concatenate(u_tx), np.concatenate(u_rx),
            strategy.measurements)
