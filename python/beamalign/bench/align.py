"""Beam alignment experiments of seed 000 (Fig. 6): mean received power vs SNR.

Every method sees the same channels; each draws its own measurement noise. Power is
the mean of |w^H H f|^2 (linear) over trials, reported in dB with the half-width of
its 95 % confidence interval (normal approximation, in dB).
"""
import numpy as np

from .. import channels
from ..align import PathMeasurer, make_strategy, run_batch
from . import plotting
from .report import Report

SNRS_DB = (0, 5, 10, 15, 20, 25, 30)
METHODS = ("exhaustive", "binary", "qssr", "qssr-net", "sr-bsnet")


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
    powers, u_tx, u_rx = [], [], []
    for start in range(0, len(chans), chunk):
        part = chans[start:start + chunk]
        result = run_batch(strategy, PathMeasurer(part, snr_db, dwell, rng=rng), len(part))
        powers.append(np.abs(part.beam_gains(result.w, result.f)) ** 2)
        u_tx.append(result.u_tx)
        u_rx.append(result.u_rx)
    return (np.concatenate(powers), np.concatenate(u_tx), np.concatenate(u_rx),
            strategy.measurements)


def _power_rows(report, x_name, x, chans, snr_db, methods, dwell, beam_norm, model, rng, progress):
    oracle_db, oracle_ci = mean_power_db(channels.optimum_power(chans))
    report.add("known-angle", x_name, x, "power_db", round(oracle_db, 3), ci95_db=round(oracle_ci, 3))
    report.add("known-angle", x_name, x, "measurements", 0)
    for method in methods:
        powers, _, _, count = evaluate(method, chans, snr_db, dwell, beam_norm, model, rng)
        power_db, ci = mean_power_db(powers)
        report.add(method, x_name, x, "power_db", round(power_db, 3), ci95_db=round(ci, 3))
        report.add(method, x_name, x, "measurements", count)
        if progress:
            progress(f"{x_name} {x:5g}  {method:12s} {power_db:7.2f} dB (+-{ci:.3f})  "
                     f"{count:5d} measurements")
    if progress:
        progress(f"{x_name} {x:5g}  {'known-angle':12s} {oracle_db:7.2f} dB (+-{oracle_ci:.3f})")


def align_snr(trials=200000, seed=0, nt=64, nr=16, paths=3, profile="los", dwell=64,
              snrs_db=SNRS_DB, methods=METHODS, beam_norm="unit", model=None, progress=None,
              experiment="align-snr"):
    """Fig. 6 (and, with profile "nlos", paths 8, Fig. 8): power vs SNR."""
    report = Report(experiment, {"trials": trials, "seed": seed, "nt": nt, "nr": nr,
                                 "paths": paths, "profile": profile, "dwell": dwell,
                                 "beam_norm": beam_norm, "snrs_db": list(snrs_db),
                                 "model": str(model or "shipped qssr_net.safetensors")})
    rng = np.random.default_rng(seed)
    chans = channels.saleh_valenzuela(trials, nt, nr, paths, profile, rng=rng)
    for snr in snrs_db:
        _power_rows(report, "snr_db", snr, chans, snr, methods, dwell, beam_norm, model, rng,
                    progress)
    return report


def align_nlos(trials=200000, seed=0, **kwargs):
    """Fig. 8: L = 8 paths, all CN(0, 1); QSSR-Net as trained on LoS channels only."""
    return align_snr(trials, seed, paths=8, profile="nlos", experiment="align-nlos", **kwargs)


def align_antennas(trials=50000, seed=0, nts=(16, 32, 64, 128), nr=16, snr_db=25.0, paths=3,
                   dwell=64, methods=METHODS, beam_norm="unit", model=None, progress=None):
    """Fig. 7: power vs the number of Tx antennas at 25 dB (QSSR-Net trained for 64 x 16)."""
    report = Report("align-antennas", {"trials": trials, "seed": seed, "nts": list(nts),
                                       "nr": nr, "snr_db": snr_db, "paths": paths,
                                       "dwell": dwell, "beam_norm": beam_norm,
                                       "model": str(model or "shipped qssr_net.safetensors")})
    rng = np.random.default_rng(seed)
    for nt in nts:
        chans = channels.saleh_valenzuela(trials, nt, nr, paths, "los", rng=rng)
        _power_rows(report, "nt", nt, chans, snr_db, methods, dwell, beam_norm, model, rng,
                    progress)
    return report


def align_error(trials=2000, seed=0, nt=64, nr=16, snr_db=25.0, paths=3, dwell=64,
                methods=("binary", "qssr", "qssr-net"), beam_norm="unit", model=None,
                progress=None):
    """Fig. 10: true vs estimated AoA of the strongest path, per method."""
    report = Report("align-error", {"trials": trials, "seed": seed, "nt": nt, "nr": nr,
                                    "snr_db": snr_db, "paths": paths, "dwell": dwell})
    rng = np.random.default_rng(seed)
    chans = channels.saleh_valenzuela(trials, nt, nr, paths, "los", rng=rng)
    strongest = np.argmax(np.abs(chans.gains), axis=1)
    u_true = chans.u_rx[np.arange(trials), strongest]
    report.scatter = {"u_true": u_true}
    for method in methods:
        _, _, u_rx, _ = evaluate(method, chans, snr_db, dwell, beam_norm, model, rng)
        error = np.abs((u_rx - u_true + 1) % 2 - 1)  # distance on the period-2 circle
        deg = np.abs(np.degrees(np.arcsin(np.clip(u_rx, -1, 1))) - np.degrees(np.arcsin(u_true)))
        report.scatter[method] = u_rx
        report.add(method, "snr_db", snr_db, "rmse_u", round(float(np.sqrt(np.mean(error ** 2))), 5))
        report.add(method, "snr_db", snr_db, "rmse_deg", round(float(np.sqrt(np.mean(deg ** 2))), 3))
        report.add(method, "snr_db", snr_db, "p80_deg", round(float(np.percentile(deg, 80)), 3))
        if progress:
            progress(f"{method:10s} AoA RMSE {np.sqrt(np.mean(error ** 2)):.4f} (u), "
                     f"{np.sqrt(np.mean(deg ** 2)):.2f} deg, 80th percentile "
                     f"{np.percentile(deg, 80):.3f} deg")
    return report


def plot_error(report, path):
    methods = [m for m in report.scatter if m != "u_true"]
    fig, axes = plotting.subplots(1, len(methods), figsize=(4 * len(methods), 4), sharey=True)
    for ax, method in zip(np.atleast_1d(axes), methods):
        ax.scatter(report.scatter["u_true"], report.scatter[method], s=2)
        ax.plot([-1, 1], [-1, 1], "k--", lw=0.8)
        ax.set_title(method)
        ax.set_xlabel("true AoA u")
    np.atleast_1d(axes)[0].set_ylabel("estimated AoA u")
    plotting.save(fig, path)


def plot_power(report, path, x_name="snr_db", xlabel="SNR (dB)"):
    fig, ax = plotting.subplots(figsize=(6, 4.2))
    methods = dict.fromkeys(r["method"] for r in report.rows)
    for method in methods:
        rows = [r for r in report.rows if r["method"] == method and r["metric"] == "power_db"]
        count = next(r["value"] for r in report.rows
                     if r["method"] == method and r["metric"] == "measurements")
        ax.plot([r["x"] for r in rows], [r["value"] for r in rows], marker="o",
                label=f"{method} ({count} meas.)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean received power |w^H H f|^2 (dB)")
    params = report.params
    nt = params.get("nt", "/".join(str(n) for n in params.get("nts", [])))
    ax.set_title(f"{report.experiment}: Nt={nt}, Nr={params['nr']}, L={params['paths']}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    plotting.save(fig, path)
