"""Beam alignment experiments of seed 000 (Fig. 6): mean received power vs SNR.

Every method sees the same channels; each draws its own measurement noise. Power is
the mean of |w^H H f|^2 (linear) over trials, reported in dB with the half-width of
its 95 % confidence interval (normal approximation, in dB).
"""
import numpy as np

from .. import channels
from ..align import PathMeasurer, make_strategy, run_batch
from .report import Report

SNRS_DB = (0, 5, 10, 15, 20, 25, 30)
METHODS = ("exhaustive", "binary", "qssr", "qssr-net")


def mean_power_db(powers):
    """Mean in dB and the half-width of its 95 % confidence interval in dB."""
    mean = float(np.mean(powers))
    half = 1.96 * float(np.std(powers, ddof=1)) / np.sqrt(len(powers))
    return 10 * np.log10(mean), 10 * np.log10((mean + half) / mean)


def align_snr(trials=150000, seed=0, nt=64, nr=16, paths=3, profile="los", dwell=64,
              snrs_db=SNRS_DB, methods=METHODS, beam_norm="unit", chunk=5000, model=None,
              progress=None):
    report = Report("align-snr", {"trials": trials, "seed": seed, "nt": nt, "nr": nr,
                                  "paths": paths, "profile": profile, "dwell": dwell,
                                  "beam_norm": beam_norm, "snrs_db": list(snrs_db),
                                  "model": str(model or "shipped qssr_net.safetensors")})
    rng = np.random.default_rng(seed)
    chans = channels.saleh_valenzuela(trials, nt, nr, paths, profile, rng=rng)
    oracle_db, oracle_ci = mean_power_db(channels.optimum_power(chans))
    for snr in snrs_db:
        report.add("known-angle", "snr_db", snr, "power_db", round(oracle_db, 3),
                   ci95_db=round(oracle_ci, 3))
        report.add("known-angle", "snr_db", snr, "measurements", 0)
        for method in methods:
            strategy = make_strategy(method, nt, nr, beam_norm, model)
            powers = []
            for start in range(0, trials, chunk):
                part = chans[start:start + chunk]
                measure = PathMeasurer(part, snr, dwell, rng=rng)
                result = run_batch(strategy, measure, len(part))
                powers.append(np.abs(part.beam_gains(result.w, result.f)) ** 2)
            power_db, ci = mean_power_db(np.concatenate(powers))
            report.add(method, "snr_db", snr, "power_db", round(power_db, 3), ci95_db=round(ci, 3))
            report.add(method, "snr_db", snr, "measurements", strategy.measurements)
            if progress:
                progress(f"snr {snr:4.0f} dB  {method:12s} {power_db:7.2f} dB (+-{ci:.3f})  "
                         f"{strategy.measurements:5d} measurements")
        if progress:
            progress(f"snr {snr:4.0f} dB  {'known-angle':12s} {oracle_db:7.2f} dB (+-{oracle_ci:.3f})")
    return report


def plot_power(report, path, x_name="snr_db", xlabel="SNR (dB)"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    methods = dict.fromkeys(r["method"] for r in report.rows)
    for method in methods:
        rows = [r for r in report.rows if r["method"] == method and r["metric"] == "power_db"]
        count = next(r["value"] for r in report.rows
                     if r["method"] == method and r["metric"] == "measurements")
        ax.plot([r["x"] for r in rows], [r["value"] for r in rows], marker="o",
                label=f"{method} ({count} meas.)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean received power |w^H H f|^2 (dB)")
    ax.set_title(f"{report.experiment}: Nt={report.params['nt']}, Nr={report.params['nr']}, "
                 f"L={report.params['paths']}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
