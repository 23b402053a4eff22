# SPDX-License-Identifier: GPL-3.0-or-later
"""Beam alignment experiments of seed 000 (Fig. 6): mean received power vs SNR.

Every method sees the same channels; each draws its own measurement noise. Power is
the mean of |w^H H f|^2 (linear) over trials, reported in dB with the half-width of
its 95 % confidence interval (normal approximation, in dB).
"""
import numpy as np

from .. import channels, plotting
from ..align.evaluate import evaluate, evaluate_strategy, mean_power_db
from ..align.self_calibration import (
    impaired_channels,
    residual_phase_rms,
    self_calibrate,
    tracking_run,
)
from ..align.strategies import STRATEGIES, CompensatedQSSRNet
from ..arrays.impairments import ElementImpairment
from ..scaleout import run_chunks, spawn_streams, trial_slices
from .report import Report

SNRS_DB = (0, 5, 10, 15, 20, 25, 30)
METHODS = ("exhaustive", "binary", "qssr", "qssr-net", "sr-bsnet")


OUTAGE_THRESHOLDS_DB = (10.0, 3.0)


def _outage_rows(report, method, x_name, x, powers, optimum, **extra):
    """The share of alignments that end more than each threshold below their channel's
    known-angle optimum: a user sees a dropped link, not a mean."""
    loss_db = 10 * np.log10(np.maximum(optimum, 1e-30) / np.maximum(powers, 1e-30))
    shares = {}
    for threshold in OUTAGE_THRESHOLDS_DB:
        shares[threshold] = float(np.mean(loss_db > threshold))
        report.add(method, x_name, x, "outage", round(shares[threshold], 5),
                   threshold_db=threshold, **extra)
    return shares


# Trials per chunk of work (scaleout): small enough that 2 workers share a 20000-trial
# bench evenly, large enough that the strategies' batched kernels stay efficient. The
# chunking is part of the result (each chunk has its own random stream).
CHUNK_TRIALS = 5000


def _align_chunk(task):
    """One slice of trials on its own random stream: the channels of each Tx size, then
    every method at every point on them. Returns {(x, name): array or (array, count)}."""
    stream, count, points, nr, paths, profile, methods, dwell, beam_norm, model = task
    rng = np.random.default_rng(stream)
    drawn = {}
    out = {}
    for x, nt, snr_db in points:
        if nt not in drawn:  # every SNR point of one array sees the same channels
            drawn[nt] = channels.saleh_valenzuela(count, nt, nr, paths, profile, rng=rng)
        chans = drawn[nt]
        out[(x, "optimum")] = channels.optimum_power(chans)
        strongest = np.argmax(np.abs(chans.gains), axis=1)
        out[(x, "u_true")] = chans.u_rx[np.arange(count), strongest]
        for method in methods:
            powers, _, u_rx, measurements = evaluate(method, chans, snr_db, dwell, beam_norm,
                                                     model, rng)
            out[(x, method)] = (powers, u_rx, measurements)
    return out


def _monte_carlo(engine, report, trials, seed, points, nr, paths, profile, methods, dwell,
                 beam_norm, model, chunk_trials):
    """Runs the trials in chunks (in this process or on Dask workers, per `engine`) and
    joins them in chunk order: {(x, name): concatenated arrays, measurement count}."""
    methods = tuple(methods)
    unknown = [m for m in methods if m not in STRATEGIES]
    if unknown or not methods:
        raise ValueError(f"unknown method(s) {', '.join(unknown) or '(none)'}; choose from "
                         f"{', '.join(sorted(STRATEGIES))}")
    report.params["chunk_trials"] = chunk_trials
    slices = trial_slices(trials, chunk_trials)
    streams = spawn_streams(seed, len(slices))
    tasks = [(stream, count, points, nr, paths, profile, methods, dwell, beam_norm,
              None if model is None else str(model))
             for stream, (_, count) in zip(streams, slices)]
    parts = run_chunks(engine, report, _align_chunk, tasks)
    joined = {}
    for key in parts[0]:
        if isinstance(parts[0][key], tuple):
            joined[key] = (np.concatenate([p[key][0] for p in parts]),
                           np.concatenate([p[key][1] for p in parts]), parts[0][key][2])
        else:
            joined[key] = np.concatenate([p[key] for p in parts])
    return joined


def _power_rows(report, x_name, x, outcomes, methods, progress):
    optimum = outcomes[(x, "optimum")]
    oracle_db, oracle_ci = mean_power_db(optimum)
    report.add("known-angle", x_name, x, "power_db", round(oracle_db, 3), ci95_db=round(oracle_ci, 3))
    report.add("known-angle", x_name, x, "measurements", 0)
    for method in methods:
        powers, _, count = outcomes[(x, method)]
        power_db, ci = mean_power_db(powers)
        report.add(method, x_name, x, "power_db", round(power_db, 3), ci95_db=round(ci, 3))
        report.add(method, x_name, x, "measurements", count)
        outage = _outage_rows(report, method, x_name, x, powers, optimum)
        if progress:
            progress(f"{x_name} {x:5g}  {method:12s} {power_db:7.2f} dB (+-{ci:.3f})  "
                     f"{count:5d} measurements  outage {100 * outage[10.0]:.2f} % (>10 dB), "
                     f"{100 * outage[3.0]:.2f} % (>3 dB)")
    if progress:
        progress(f"{x_name} {x:5g}  {'known-angle':12s} {oracle_db:7.2f} dB (+-{oracle_ci:.3f})")


def align_snr(trials=200000, seed=0, nt=64, nr=16, paths=3, profile="los", dwell=64,
              snrs_db=SNRS_DB, methods=METHODS, beam_norm="unit", model=None, progress=None,
              experiment="align-snr", engine=None, chunk_trials=CHUNK_TRIALS):
    """Fig. 6 (and, with profile "nlos", paths 8, Fig. 8): power vs SNR."""
    report = Report(experiment, {"trials": trials, "seed": seed, "nt": nt, "nr": nr,
                                 "paths": paths, "profile": profile, "dwell": dwell,
                                 "beam_norm": beam_norm, "snrs_db": list(snrs_db),
                                 "model": str(model or "shipped qssr_net.safetensors")})
    outcomes = _monte_carlo(engine, report, trials, seed,
                            [(snr, nt, snr) for snr in snrs_db], nr, paths, profile, methods,
                            dwell, beam_norm, model, chunk_trials)
    for snr in snrs_db:
        _power_rows(report, "snr_db", snr, outcomes, methods, progress)
    return report


def align_nlos(trials=200000, seed=0, paths=8, profile="nlos", **kwargs):
    """Fig. 8: L = 8 paths, all CN(0, 1); QSSR-Net as trained on LoS channels only."""
    return align_snr(trials, seed, paths=paths, profile=profile, experiment="align-nlos",
                     **kwargs)


def align_antennas(trials=50000, seed=0, nts=(16, 32, 64, 128), nr=16, snr_db=25.0, paths=3,
                   dwell=64, methods=METHODS, beam_norm="unit", model=None, progress=None,
                   engine=None, chunk_trials=CHUNK_TRIALS):
    """Fig. 7: power vs the number of Tx antennas at 25 dB (QSSR-Net trained for 64 x 16)."""
    report = Report("align-antennas", {"trials": trials, "seed": seed, "nts": list(nts),
                                       "nr": nr, "snr_db": snr_db, "paths": paths,
                                       "dwell": dwell, "beam_norm": beam_norm,
                                       "model": str(model or "shipped qssr_net.safetensors")})
    outcomes = _monte_carlo(engine, report, trials, seed,
                            [(nt, nt, snr_db) for nt in nts], nr, paths, "los", methods, dwell,
                            beam_norm, model, chunk_trials)
    for nt in nts:
        _power_rows(report, "nt", nt, outcomes, methods, progress)
    return report


def align_error(trials=2000, seed=0, nt=64, nr=16, snr_db=25.0, paths=3, dwell=64,
                methods=("binary", "qssr", "qssr-net"), beam_norm="unit", model=None,
                progress=None, engine=None, chunk_trials=CHUNK_TRIALS):
    """Fig. 10: true vs estimated AoA of the strongest path, per method."""
    report = Report("align-error", {"trials": trials, "seed": seed, "nt": nt, "nr": nr,
                                    "snr_db": snr_db, "paths": paths, "dwell": dwell})
    outcomes = _monte_carlo(engine, report, trials, seed,
                            [(snr_db, nt, snr_db)], nr, paths, "los", methods, dwell, beam_norm,
                            model, chunk_trials)
    u_true = outcomes[(snr_db, "u_true")]
    report.scatter = {"u_true": u_true}
    for method in methods:
        u_rx = outcomes[(snr_db, method)][1]
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


def _impaired_pair(trials, nt, nr, paths, tx_impairment, rx_impairment, seed):
    """The same paths (gains, angles) on an impaired and on an ideal array."""
    impaired = impaired_channels(trials, nt, nr, paths, tx_impairment, rx_impairment, seed)
    return impaired, channels.saleh_valenzuela(trials, nt, nr, paths, "los", rng=seed)


def _impairment_params(trials, seed, nt, nr, paths, dwell, sigma_d, sigma_p, updates, batch):
    return {"trials": trials, "seed": seed, "nt": nt, "nr": nr, "paths": paths,
            "dwell": dwell, "sigma_d_wl": sigma_d, "sigma_p_rad": round(sigma_p, 5),
            "calibration_updates": updates, "calibration_batch": batch,
            "calibrator": "SelfCalibrator defaults (every layer of 1024 alignments and 32 "
                          "sweeps, one per 50 alignments, half-life 128 alignments, trim 0.2)"}


def _impair_chunk(task):
    """One SNR point of align-impair on its own stream: every method on the impaired
    channels, the bound, and a self-calibration run. Returns [(method, powers, extra)]
    and the calibrated estimates."""
    (stream, snr, trials, nt, nr, paths, dwell, tx_true, rx_true, seed, updates,
     batch) = task
    rng = np.random.default_rng(stream)
    impaired, ideal = _impaired_pair(trials, nt, nr, paths, tx_true, rx_true, seed + 1)
    rows = [("known-angle", channels.optimum_power(impaired), {})]
    for method in ("exhaustive", "binary", "qssr", "qssr-net"):
        rows.append((method, evaluate(method, impaired, snr, dwell, rng=rng)[0], {}))
    rows.append(("qssr-net-ideal", evaluate("qssr-net", ideal, snr, dwell, rng=rng)[0], {}))
    bound = CompensatedQSSRNet(nt, nr, tx_estimate=tx_true, rx_estimate=rx_true)
    rows.append(("qssr-net-impair", evaluate_strategy(bound, impaired, snr, dwell, rng)[0],
                 {"calibration": "true"}))
    strategy, calibrator, _ = self_calibrate(nt, nr, snr, updates, batch, paths, tx_true,
                                             rx_true, dwell, rng)
    rows.append(("qssr-net-impair", evaluate_strategy(strategy, impaired, snr, dwell, rng)[0],
                 {"calibration": "self"}))
    return rows, calibrator.estimates(), strategy.measurements + calibrator.sweep_overhead


def align_impair(trials=20000, seed=0, nt=64, nr=16, snrs_db=SNRS_DB, paths=3, dwell=64,
                 sigma_d=0.05, sigma_p=0.1 * np.pi, updates=300, batch=64, progress=None,
                 engine=None):
    """Fig. 11: power vs SNR on impaired arrays. qssr-net-impair is calibrated online at
    each SNR (calibration="self"); the same network compensated with the true errors
    (calibration="true") bounds what any calibration can give. Each SNR point is a chunk
    of work (scaleout) with its own random stream."""
    report = Report("align-impair", _impairment_params(trials, seed, nt, nr, paths, dwell,
                                                       sigma_d, sigma_p, updates, batch))
    rng = np.random.default_rng(seed)
    tx_true = ElementImpairment.sample(nt, sigma_d, sigma_p, rng)
    rx_true = ElementImpairment.sample(nr, sigma_d, sigma_p, rng)
    streams = spawn_streams(seed, len(snrs_db))
    tasks = [(stream, snr, trials, nt, nr, paths, dwell, tx_true, rx_true, seed, updates, batch)
             for stream, snr in zip(streams, snrs_db)]
    parts = run_chunks(engine, report, _impair_chunk, tasks, list(snrs_db))
    for snr, (rows, (tx_est, rx_est), calibrated_count) in zip(snrs_db, parts):
        # The calibrated search's dwells per alignment, its sweeps' share included.
        report.add("qssr-net-impair", "snr_db", snr, "measurements", round(calibrated_count, 2),
                   calibration="self")
        optimum = rows[0][1]
        for method, powers, extra in rows:
            power_db, ci = mean_power_db(powers)
            report.add(method, "snr_db", snr, "power_db", round(power_db, 3),
                       ci95_db=round(ci, 3), **extra)
            if method not in ("known-angle", "qssr-net-ideal"):  # ideal: other channels
                _outage_rows(report, method, "snr_db", snr, powers, optimum, **extra)
            if progress:
                label = method + (f" ({extra['calibration']})" if extra else "")
                progress(f"snr_db {snr:5g}  {label:28s} {power_db:7.2f} dB (+-{ci:.3f})")
        for side, estimate, truth in (("tx", tx_est, tx_true), ("rx", rx_est, rx_true)):
            residual = {label: np.degrees(residual_phase_rms(compared, truth)) for label, compared
                        in (("self", estimate), ("none", ElementImpairment.ideal(truth.num_elements)))}
            for label, value in residual.items():
                report.add("qssr-net-impair", "snr_db", snr, "residual_phase_rms_deg",
                           round(value, 3), side=side, calibration=label)
            if progress:
                progress(f"snr_db {snr:5g}  {side} residual phase RMS: {residual['self']:.2f} deg "
                         f"calibrated, {residual['none']:.2f} deg uncalibrated")
    return report


def _epochs_chunk(task):
    """One SNR point of calibration-epochs on its own stream: the power curve over the
    calibration updates."""
    (stream, snr, trials, nt, nr, paths, dwell, tx_true, rx_true, seed, updates, batch,
     every) = task
    rng = np.random.default_rng(stream)
    impaired, _ = _impaired_pair(trials, nt, nr, paths, tx_true, rx_true, seed + 1)
    _, _, curve = self_calibrate(nt, nr, snr, updates, batch, paths, tx_true, rx_true, dwell,
                                 rng, every, impaired)
    return curve


def _tracking_chunk(task):
    """One tracking scenario of calibration-epochs: its TrackingRun."""
    nt, nr, snr_db, alignments, scenario, seed, paths, dwell, sigma_d, sigma_p = task
    return tracking_run(nt, nr, snr_db, alignments, scenario, seed, paths=paths, dwell=dwell,
                        sigma_d=sigma_d, sigma_p=sigma_p)


def calibration_epochs(trials=4000, seed=0, nt=64, nr=16, snrs_db=(10, 20, 30), paths=3,
                       dwell=64, sigma_d=0.05, sigma_p=0.1 * np.pi, updates=300, batch=64,
                       every=20, scenarios=("restart", "drift"), tracking_snr_db=30.0,
                       tracking_alignments=10240, progress=None, engine=None):
    """Fig. 12: power of qssr-net-impair vs calibration updates ("epoch" rows), and the
    first update after which power stays within 0.2 dB of its final value. Each SNR point
    is a chunk of work with its own stream.

    Then errors that move (ours), at tracking_snr_db over tracking_alignments: "restart"
    (every phase offset drawn anew half-way) and "drift" (phase offsets random-walk 0.1 pi
    RMS per 1000 alignments); rows per evaluation ("alignments"), the power with the
    true errors of the moment beside it, and a summary: alignments until the power is
    back within 0.5 dB of the last one before the restart, and the mean and worst gap to
    the true-error power under drift (after the first 2048 alignments)."""
    report = Report("calibration-epochs", dict(
        _impairment_params(trials, seed, nt, nr, paths, dwell, sigma_d, sigma_p, updates, batch),
        snrs_db=list(snrs_db), evaluate_every=every, scenarios=list(scenarios),
        tracking_snr_db=tracking_snr_db, tracking_alignments=tracking_alignments))
    rng = np.random.default_rng(seed)
    tx_true = ElementImpairment.sample(nt, sigma_d, sigma_p, rng)
    rx_true = ElementImpairment.sample(nr, sigma_d, sigma_p, rng)
    streams = spawn_streams(seed, len(snrs_db))
    tasks = [(stream, snr, trials, nt, nr, paths, dwell, tx_true, rx_true, seed, updates, batch,
              every) for stream, snr in zip(streams, snrs_db)]
    curves = run_chunks(engine, report, _epochs_chunk, tasks)
    for snr, curve in zip(snrs_db, curves):
        for update, power_db in curve:
            report.add("qssr-net-impair", "epoch", update, "power_db", round(power_db, 3),
                       snr_db=snr)
            if progress:
                progress(f"snr {snr:4g} dB  update {update:4d}  power {power_db:.3f} dB")
        final = curve[-1][1]
        settled = next(u for i, (u, _) in enumerate(curve)
                       if all(abs(p - final) <= 0.2 for _, p in curve[i:]))
        report.add("qssr-net-impair", "snr_db", snr, "converged_epoch", settled,
                   tolerance_db=0.2, final_power_db=round(final, 3))
        if progress:
            progress(f"snr {snr:4g} dB: within 0.2 dB of the final {final:.3f} dB from update "
                     f"{settled}")
    tasks = [(nt, nr, tracking_snr_db, tracking_alignments, scenario, seed + 10 + i, paths,
              dwell, sigma_d, sigma_p) for i, scenario in enumerate(scenarios)]
    for scenario, run in zip(scenarios, run_chunks(engine, report, _tracking_chunk, tasks)):
        _tracking_rows(report, scenario, run, tracking_snr_db, progress)
    return report


def _tracking_rows(report, scenario, run, snr_db, progress):
    curve = np.array(run.curve)
    for done, power, bound in run.curve:
        for calibration, value in (("self", power), ("true", bound)):
            report.add("qssr-net-impair", "alignments", int(done), "power_db", round(value, 3),
                       scenario=scenario, calibration=calibration, snr_db=snr_db)
    report.add("qssr-net-impair", "scenario", scenario, "sweep_measurements_per_alignment",
               round(run.overhead, 3), snr_db=snr_db, sweeps=run.sweeps,
               restarts_seen=run.forgotten)
    if scenario == "restart":
        before = curve[curve[:, 0] <= run.restart_at][-2, 1]  # the last row before it
        after = curve[curve[:, 0] > run.restart_at]
        back = after[after[:, 1] >= before - 0.5]
        recovery = int(back[0, 0] - run.restart_at) if len(back) else None
        report.add("qssr-net-impair", "scenario", scenario, "recovery_alignments", recovery,
                   tolerance_db=0.5, before_db=round(float(before), 3),
                   dip_db=round(float(curve[curve[:, 0] == run.restart_at][-1, 1]), 3),
                   snr_db=snr_db)
        if progress:
            progress(f"restart at {run.restart_at}: power {before:.3f} dB before, back within "
                     f"0.5 dB after {recovery} alignments")
    # The first 2048 alignments (or half a shorter run) are the initial calibration.
    late = curve[curve[:, 0] > min(2048, curve[-1, 0] // 2)]
    gap = late[:, 2] - late[:, 1]
    report.add("qssr-net-impair", "scenario", scenario, "gap_db_mean", round(float(gap.mean()), 3),
               worst_db=round(float(gap.max()), 3), snr_db=snr_db)
    if progress:
        progress(f"{scenario}: {run.overhead:.2f} sweep dwells per alignment, gap to the "
                 f"true-error power after 2048 alignments mean {gap.mean():.3f} dB, worst "
                 f"{gap.max():.3f} dB")


def plot_epochs(report, path):
    tracking = [r for r in report.rows if r["x_name"] == "alignments"]
    fig, axes = plotting.subplots(1, 2 if tracking else 1, figsize=(11 if tracking else 6, 4.2))
    axes = np.atleast_1d(axes)
    ax = axes[0]
    for snr in dict.fromkeys(r["snr_db"] for r in report.rows if r["x_name"] == "epoch"):
        rows = [r for r in report.rows if r["x_name"] == "epoch" and r["snr_db"] == snr]
        ax.plot([r["x"] for r in rows], [r["value"] for r in rows], marker=".",
                label=f"SNR {snr:g} dB")
    ax.set_xlabel("calibration updates")
    ax.set_ylabel("mean power (dB)")
    ax.legend()
    if tracking:
        ax = axes[1]
        for scenario in dict.fromkeys(r["scenario"] for r in tracking):
            for calibration, style in (("self", "-"), ("true", ":")):
                rows = [r for r in tracking
                        if r["scenario"] == scenario and r["calibration"] == calibration]
                ax.plot([r["x"] for r in rows], [r["value"] for r in rows], style,
                        label=f"{scenario}, {calibration} calibration")
        ax.set_xlabel("alignments")
        ax.set_ylabel("mean power (dB)")
        ax.set_title(f"moving errors at {report.params['tracking_snr_db']:g} dB")
        ax.legend(fontsize=7)
    plotting.save(fig, path)


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


OUTAGE_METHODS = ("exhaustive", "binary", "binary-2pass", "qssr", "qssr-2pass", "qssr-net",
                  "qssr-net-2pass")


def align_outage(trials=20000, seed=0, nt=64, nr=16, paths=3, profile="los", dwell=64,
                 snrs_db=(20.0, 30.0), methods=OUTAGE_METHODS, beam_norm="unit", model=None,
                 progress=None, engine=None, chunk_trials=CHUNK_TRIALS):
    """Outage (> 10 dB and > 3 dB below the known-angle optimum) against measurements per
    alignment, one-pass searches beside their two-pass variants, on the same channels."""
    report = Report("align-outage", {"trials": trials, "seed": seed, "nt": nt, "nr": nr,
                                     "paths": paths, "profile": profile, "dwell": dwell,
                                     "beam_norm": beam_norm, "snrs_db": list(snrs_db)})
    outcomes = _monte_carlo(engine, report, trials, seed,
                            [(snr, nt, snr) for snr in snrs_db], nr, paths, profile, methods,
                            dwell, beam_norm, model, chunk_trials)
    for snr_db in snrs_db:
        _power_rows(report, "snr_db", snr_db, outcomes, methods, progress)
    return report


def plot_outage(report, path):
    fig, ax = plotting.subplots(figsize=(6, 4.2))
    rows = report.rows
    for snr_db in report.params["snrs_db"]:
        points = []
        for method in dict.fromkeys(r["method"] for r in rows if r["method"] != "known-angle"):
            count = next(r["value"] for r in rows if r["method"] == method
                         and r["metric"] == "measurements" and r["x"] == snr_db)
            outage = next(r["value"] for r in rows if r["method"] == method
                          and r["metric"] == "outage" and r["x"] == snr_db
                          and r["threshold_db"] == 10.0)
            points.append((count, outage, method))
        for count, outage, method in points:
            marker = "s" if method.endswith("2pass") else "o"
            ax.scatter(count, 100 * max(outage, 1e-3), marker=marker)
            ax.annotate(f"{method} ({snr_db:g} dB)", (count, 100 * max(outage, 1e-3)),
                        fontsize=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measurements per alignment")
    ax.set_ylabel("outage: share > 10 dB below the optimum (%)")
    ax.set_title(f"align-outage: {report.params['nt']} x {report.params['nr']}")
    ax.grid(True, alpha=0.3)
    plotting.save(fig, path)


def plot_power(report, path, x_name="snr_db", xlabel="SNR (dB)"):
    fig, ax = plotting.subplots(figsize=(6, 4.2))
    power_rows = [r for r in report.rows if r["metric"] == "power_db"]
    # One line per method (and per calibration, where rows name one).
    lines = dict.fromkeys((r["method"], r.get("calibration")) for r in power_rows)
    for method, calibration in lines:
        rows = [r for r in power_rows
                if r["method"] == method and r.get("calibration") == calibration]
        count = next((r["value"] for r in report.rows
                      if r["method"] == method and r["metric"] == "measurements"), None)
        label = method + (f", {calibration} calibration" if calibration else "")
        label += f" ({count} meas.)" if count is not None else ""
        ax.plot([r["x"] for r in rows], [r["value"] for r in rows], marker="o", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean received power |w^H H f|^2 (dB)")
    params = report.params
    nt = params.get("nt", "/".join(str(n) for n in params.get("nts", [])))
    ax.set_title(f"{report.experiment}: Nt={nt}, Nr={params['nr']}, L={params['paths']}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    plotting.save(fig, path)
