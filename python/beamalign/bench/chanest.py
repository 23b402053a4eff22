# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 004 experiments: NMSE of hybrid-beamforming channel estimation against SNR and
path count for the beam designs (Figs. 8-9) and the estimators (Figs. 10-11, Table I).

NMSE is 10 log10 of the mean of ||h_hat - h||^2 / ||h||^2 over the trials (the rows also
give the median of the per-trial dB values); cpu_s is the estimator's own thread time per
estimate, with GW-SC-VBI's groups run in turn on that one core.
"""
import time

import numpy as np

from .. import plotting
from ..chanest import (
    ChannelEstimator,
    MultipathChannel,
    PartiallyConnectedArray,
    eda_grouping,
    load_grouping,
    nmse_db,
    observe,
)
from ..chanest.eda import DEFAULT_SRL_BOUND
from ..chanest.hybrid import configure_beams
from .report import Report

SNRS_DB = (0, 5, 10, 15, 20, 25, 30)
PATHS = (2, 3, 4, 5, 6, 7, 8)
DESIGNS = ("wide", "random", "groupwise-uniform", "groupwise-eda")


def _column_groups(array, grouping, seed, report, progress):
    """EDA grouping from a file, or from a fresh EDA run (recorded in the report)."""
    if grouping:
        report.params["grouping"] = str(grouping)
        return load_grouping(grouping, array.nx)
    result = eda_grouping(np.arange(array.nx), 4, srl_bound=DEFAULT_SRL_BOUND, rng=seed)
    report.params.update(eda_initial_max_isl=result.initial_max_isl, eda_max_isl=result.max_isl,
                         eda_groups=[g.tolist() for g in result.groups])
    if progress:
        progress(f"EDA grouping: max group ISL {result.initial_max_isl:.3f} -> "
                 f"{result.max_isl:.3f}")
    groups = np.empty(array.nx, dtype=int)
    for g, members in enumerate(result.groups):
        groups[members] = g
    return groups


def _design(array, name, eda_groups, seed):
    """(chain weights, column groups) of a beam design."""
    beam = "groupwise" if name.startswith("groupwise") else name
    return configure_beams(array, beam, 4, seed=seed,
                           column_groups=eda_groups if name == "groupwise-eda" else None)


def _score(report, method, x_name, x, errors, times, progress, **extra):
    errors = np.asarray(errors)
    value = float(10 * np.log10(np.mean(10 ** (errors / 10))))
    report.add(method, x_name, x, "nmse_db", value, median_db=float(np.median(errors)),
               trials=len(errors), **extra)
    if times:
        report.add(method, x_name, x, "cpu_s", float(np.mean(times)), trials=len(times), **extra)
    if progress:
        label = " ".join(f"{k}={v}" for k, v in extra.items())
        cpu = f"  {1e3 * np.mean(times):.2f} ms" if times else ""
        progress(f"{x_name}={x} {method} {label}: NMSE {value:.2f} dB "
                 f"(median {np.median(errors):.2f}){cpu}")


def _run(estimators, array, w, x_name, points, trials, num_paths, snr_db, rng, report,
         progress, limits=None, **extra):
    """For each point (SNR or path count), draws trials, observes once through w and lets
    every estimator (name -> (ChannelEstimator, extra fields)) estimate the same y."""
    limits = limits or {}
    for x in points:
        paths = x if x_name == "paths" else num_paths
        snr = x if x_name == "snr_db" else snr_db
        errors = {name: [] for name in estimators}
        times = {name: [] for name in estimators}
        for trial in range(trials):
            h = MultipathChannel.draw(array, paths, rng=rng).vector(array)
            y, sigma2 = observe(array, w, h, snr, rng)
            for name, (estimator, _) in estimators.items():
                if trial >= limits.get(name, trials):
                    continue
                begin = time.thread_time()
                estimate = estimator.estimate(y, sigma2)
                times[name].append(time.thread_time() - begin)
                errors[name].append(nmse_db(estimate.h, h))
        for name, (estimator, fields) in estimators.items():
            _score(report, estimator.method, x_name, x, errors[name], times[name], progress,
                   **fields, **extra)


def chanest_beams(trials=200, seed=0, x_name="snr_db", grouping=None, progress=None, nx=32,
                  nz=8, m=4, paths=4):
    """NMSE of SC-VBI with each beam design vs SNR (Fig. 8) or path count at 20 dB (Fig. 9)."""
    array = PartiallyConnectedArray(nx, nz, m)
    experiment = "chanest-beams" if x_name == "snr_db" else "chanest-paths"
    points = SNRS_DB if x_name == "snr_db" else PATHS
    report = Report(experiment, {"trials": trials, "seed": seed, "nx": array.nx, "nz": array.nz,
                                 "m": array.m, "groups": 4, "estimator": "sc-vbi",
                                 "num_paths": paths, "snr_db": 20.0, "oversample": 2})
    eda_groups = _column_groups(array, grouping, seed, report, progress)
    for design in DESIGNS:
        beams, groups = _design(array, design, eda_groups, seed)
        estimator = ChannelEstimator(array, beams, "sc-vbi", column_groups=groups)
        # Every design sees the same channels and noise: one stream per design, same seed.
        _run({design: (estimator, {"beam": design})}, array, array.combiner(beams), x_name,
             points, trials, paths, 20.0, np.random.default_rng(seed), report, progress)
    return report


def chanest_algorithms(trials=200, seed=0, x_name="snr_db", grouping=None, turbo_trials=20,
                       progress=None, nx=32, nz=8, m=4, paths=4):
    """NMSE and time per estimate of OMP (2x and 4x grids), Turbo-VBI, SC-VBI and GW-SC-VBI
    with the EDA group-wise beam, vs SNR (Fig. 10, Table I) or path count (Fig. 11).
    Turbo-VBI, the slow reference, runs on the first turbo_trials trials of each point."""
    array = PartiallyConnectedArray(nx, nz, m)
    experiment = "chanest-snr" if x_name == "snr_db" else "chanest-paths-alg"
    points = SNRS_DB if x_name == "snr_db" else PATHS
    report = Report(experiment, {"trials": trials, "turbo_trials": min(turbo_trials, trials),
                                 "seed": seed, "nx": array.nx, "nz": array.nz, "m": array.m,
                                 "groups": 4, "beam": "groupwise-eda", "num_paths": paths,
                                 "snr_db": 20.0, "threads": 1})
    eda_groups = _column_groups(array, grouping, seed, report, progress)
    beams, groups = _design(array, "groupwise-eda", eda_groups, seed)
    estimators = {
        "omp": (ChannelEstimator(array, beams, "omp", oversample=2), {"grid": "2x"}),
        "omp-4x": (ChannelEstimator(array, beams, "omp", oversample=4), {"grid": "4x"}),
        "turbo-vbi": (ChannelEstimator(array, beams, "turbo-vbi"), {"grid": "2x"}),
        "sc-vbi": (ChannelEstimator(array, beams, "sc-vbi"), {"grid": "2x"}),
        "gw-sc-vbi": (ChannelEstimator(array, beams, "gw-sc-vbi", column_groups=groups),
                      {"grid": "2x"}),
    }
    _run(estimators, array, array.combiner(beams), x_name, points, trials, paths, 20.0,
         np.random.default_rng(seed), report, progress, limits={"turbo-vbi": turbo_trials})
    # GW-SC-VBI's time against SC-VBI's, point by point (paper: 4.1 s vs 12.8 s).
    cpu = {(r["method"], r["x"]): r["value"] for r in report.rows if r["metric"] == "cpu_s"
           and r.get("grid") == "2x"}
    for x in points:
        report.add("gw-sc-vbi", x_name, x, "ratio", cpu[("gw-sc-vbi", x)] / cpu[("sc-vbi", x)],
                   baseline="sc-vbi", quantity="cpu_s")
    return report


def plot(report, path):
    x_name = report.rows[0]["x_name"]
    fig, axes = plotting.subplots(1, 1, figsize=(6, 4))
    curves = {}
    for row in report.rows:
        if row["metric"] == "nmse_db":
            label = row["method"] + (f" ({row['beam']})" if "beam" in row else "") + \
                (" 4x grid" if row.get("grid") == "4x" else "")
            curves.setdefault(label, []).append((row["x"], row["value"]))
    for label, points in curves.items():
        x, y = zip(*sorted(points))
        axes.plot(x, y, marker="o", label=label)
    axes.set_xlabel("SNR (dB)" if x_name == "snr_db" else "paths L")
    axes.set_ylabel("NMSE (dB)")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(report.experiment)
    plotting.save(fig, path)
