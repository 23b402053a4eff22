# SPDX-License-Identifier: GPL-3.0-or-later
"""Direction-finding experiments of seed 003: coarray DBF, SCG, MUSIC, root-MUSIC, the
data-driven CNN and MoD-DNN (shipped weights, trained for the array profile of --seed 0),
and the CRB."""
import functools
import os
import time

import numpy as np

from .. import plotting
from ..doa import (
    DEFAULT_GRID_DEG,
    CoarraySpectrum,
    crb_deg,
    half_power_beamwidth,
    sample_covariance,
    scg_reference,
    simulate_snapshots,
)
from ..doa.estimate import (
    ARRAY_PROFILE_SEED,
    LEARNED_METHODS,
    array_profile,
    estimate_doa,
    load_doa_cnn,
    load_mod_dnn,
    load_model,
)
from ..scaleout import run_chunks, run_point_chunks, spawn_streams
from .report import Report

ANGLES_DEG = (-45.0, -15.0, 15.0, 45.0)


SPECTRUM_METHODS = ("dbf", "scg", "mod-dnn")


def _spectrum_chunk(task):
    """All trials at one true angle on its own stream: each method's half-power
    beamwidths and errors, and the first trial's spectra."""
    stream, theta, trials, m, k, snr_db = task
    rng = np.random.default_rng(stream)
    spectrum = CoarraySpectrum(m)
    mod_dnn = _models_in_process({})["mod-dnn"]
    widths = {method: [] for method in SPECTRUM_METHODS}
    errors = {method: [] for method in SPECTRUM_METHODS}
    example = None
    for trial in range(trials):
        h = simulate_snapshots(rng, theta, m, k, snr_db)
        eta = spectrum.dbf(sample_covariance(h))
        out = spectrum.scg(eta)
        angle, calibrated = estimate_doa("mod-dnn", spectrum, h, mod_dnn)
        for method, spec, estimate in (("dbf", eta, None), ("scg", out, None),
                                       ("mod-dnn", calibrated, angle)):
            widths[method].append(half_power_beamwidth(spec, DEFAULT_GRID_DEG))
            estimate = spectrum.estimate_deg(spec) if estimate is None else estimate
            errors[method].append(estimate - theta)
        if trial == 0:
            example = (eta, out, calibrated)
    return widths, errors, example


def doa_spectrum(trials=200, seed=0, m=4, k=16, snr_db=20.0, angles_deg=ANGLES_DEG,
                 progress=None, engine=None):
    """Fig. 1c-like: half-power beamwidth and peak error of coarray DBF, SCG and MoD-DNN
    (ideal array: rho = 0). Each angle is a chunk of work with its own stream."""
    report = Report("doa-spectrum", {"trials": trials, "seed": seed, "m": m, "k": k,
                                     "snr_db": snr_db, "impairments": None})
    streams = spawn_streams(seed, len(angles_deg))
    tasks = [(stream, theta, trials, m, k, snr_db)
             for stream, theta in zip(streams, angles_deg)]
    parts = run_chunks(engine, report, _spectrum_chunk, tasks, list(angles_deg))
    report.examples = {}
    for theta, (widths, errors, example) in zip(angles_deg, parts):
        report.examples[theta] = example
        for method in SPECTRUM_METHODS:
            report.add(method, "angle_deg", theta, "hpbw_deg",
                       round(float(np.median(widths[method])), 3), statistic="median")
            report.add(method, "angle_deg", theta, "rmse_deg",
                       round(float(np.sqrt(np.mean(np.square(errors[method])))), 4))
            if progress:
                progress(f"{theta:+6.1f} deg  {method:4s} median HPBW "
                         f"{np.median(widths[method]):6.2f} deg, RMSE "
                         f"{np.sqrt(np.mean(np.square(errors[method]))):.3f} deg")
    return report


def plot_spectrum(report, path):
    fig, axes = plotting.subplots(1, len(report.examples), figsize=(4 * len(report.examples), 3.4),
                             sharey=True)
    for ax, (theta, (eta, out, calibrated)) in zip(np.atleast_1d(axes), report.examples.items()):
        ax.plot(DEFAULT_GRID_DEG, eta / eta.max(), label="coarray DBF")
        ax.plot(DEFAULT_GRID_DEG, out / out.max(), label="SCG")
        ax.plot(DEFAULT_GRID_DEG, calibrated, label="MoD-DNN", linestyle="--")
        ax.axvline(theta, color="k", ls="--", lw=0.8)
        ax.set_title(f"AoA {theta:+.0f} deg")
        ax.set_xlabel("angle (deg)")
    np.atleast_1d(axes)[0].set_ylabel("normalised spectrum")
    np.atleast_1d(axes)[0].legend()
    plotting.save(fig, path)


def doa_speed(trials=50, seed=0, m=4, k=16, snr_db=20.0, progress=None):
    """Seconds per estimate, one core: covariance + DBF, the C++ SCG, its NumPy twin."""

    report = Report("doa-speed", {"trials": trials, "seed": seed, "m": m, "k": k,
                                  "grid_points": len(DEFAULT_GRID_DEG), "cores": 1})
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})
    try:
        rng = np.random.default_rng(seed)
        spectrum = CoarraySpectrum(m)
        inputs = [spectrum.dbf(sample_covariance(simulate_snapshots(rng, -15.0, m, k, snr_db)))
                  for _ in range(trials)]
        snaps = [simulate_snapshots(rng, -15.0, m, k, snr_db) for _ in range(trials)]
        timings = {}
        start = time.perf_counter()
        for h in snaps:
            spectrum.dbf(sample_covariance(h))
        timings["dbf"] = (time.perf_counter() - start) / trials
        start = time.perf_counter()
        for eta in inputs:
            spectrum.scg(eta)
        timings["scg"] = (time.perf_counter() - start) / trials
        start = time.perf_counter()
        for eta in inputs:
            scg_reference(m, DEFAULT_GRID_DEG, eta, eta)
        timings["scg-numpy"] = (time.perf_counter() - start) / trials
        cnn = load_doa_cnn()
        start = time.perf_counter()
        for h in snaps:
            cnn.estimate_deg(sample_covariance(h))
        timings["cnn"] = (time.perf_counter() - start) / trials
        mod_dnn = load_mod_dnn()
        start = time.perf_counter()
        for h in snaps:
            mod_dnn.estimate(h)
        timings["mod-dnn"] = (time.perf_counter() - start) / trials
    finally:
        os.sched_setaffinity(0, previous)
    for method, seconds in timings.items():
        report.add(method, "angle_deg", -15.0, "cpu_s", round(seconds, 6))
        if progress:
            progress(f"{method:10s} {seconds * 1e3:8.3f} ms per estimate")
    ratio = timings["scg-numpy"] / timings["scg"]
    report.add("scg", "angle_deg", -15.0, "ratio", round(ratio, 2), baseline="scg-numpy")
    if progress:
        progress(f"C++ SCG is {ratio:.1f}x the NumPy reference")
    return report


DOA_METHODS = ("dbf", "scg", "music", "root-music", "cnn", "mod-dnn")


def _load_models(paths=None, mod_dnn_model=None, doa_cnn_model=None, report=None):
    """The learned methods' networks; paths maps a method to a weight file (default: the
    shipped one); the report's params say which array each was trained for."""
    paths = dict(paths or {})
    paths.update({k: v for k, v in (("mod-dnn", mod_dnn_model), ("cnn", doa_cnn_model)) if v})
    models = {method: load_model(method, paths.get(method)) for method in LEARNED_METHODS}
    if report is not None:
        report.params["models"] = {
            method: {"file": str(paths.get(method, "shipped")),
                     "array": (getattr(net, "sidecar", None) or {}).get("training", {}).get(
                         "array", {"id": f"sim-profile-{ARRAY_PROFILE_SEED}"})}
            for method, net in models.items()}
    return models


def _estimates(spectrum, h, models):
    return {method: estimate_doa(method, spectrum, h, models.get(method))[0]
            for method in DOA_METHODS}


def _rmse_rows(report, x_name, x, errors, progress):
    for method, err in errors.items():
        rmse = float(np.sqrt(np.mean(np.square(err))))
        report.add(method, x_name, x, "rmse_deg", round(rmse, 4))
        report.add(method, x_name, x, "p80_deg", round(float(np.percentile(np.abs(err), 80)), 4))
        if progress:
            progress(f"{x_name} {x:5g}  {method:10s} RMSE {rmse:7.3f} deg")


def _profile(seed, m, k, array_seed=None, calibration=None):
    """The array's phase errors: a chamber calibration file's table, else the profile
    drawn from array_seed (default: seed + 1000, so --seed 0 is the array of the shipped
    networks)."""
    array_seed = seed + ARRAY_PROFILE_SEED if array_seed is None else array_seed
    return array_profile(m, k, array_seed, calibration)


def _array_params(seed, array_seed, calibration):
    if calibration:
        return {"calibration": str(calibration)}
    return {"array_seed": seed + ARRAY_PROFILE_SEED if array_seed is None else array_seed}


# Trials per chunk of work (scaleout); each chunk has its own random stream.
CHUNK_TRIALS = 100

@functools.lru_cache(maxsize=1)
def _networks(weights):
    """The learned methods' networks for ((method, file or None), ...), loaded once per
    process: a worker running many chunks of one bench loads them once."""
    paths = dict(weights)
    return {method: load_model(method, paths.get(method)) for method in LEARNED_METHODS}


def _models_in_process(paths):
    return _networks(tuple(sorted(paths.items())))


def _doa_chunk(task):
    """count trials at one point: AoAs uniform in [-60, 60] deg, every method on the same
    snapshots; returns (AoAs, {method: errors in deg})."""
    stream, count, m, k, snr_db, impairment, paths = task
    rng = np.random.default_rng(stream)
    spectrum = CoarraySpectrum(m)
    models = _models_in_process(paths)
    thetas = rng.uniform(-60, 60, count)
    errors = {method: [] for method in DOA_METHODS}
    for theta in thetas:
        h = simulate_snapshots(rng, theta, m, k, snr_db, impairment)
        for method, estimate in _estimates(spectrum, h, models).items():
            errors[method].append(estimate - theta)
    return thetas, errors


def _doa_points(engine, report, points, trials, seed, m, k, paths):
    """points: [(x, snr_db, impairment)]; each point's trials in chunks (on `engine`),
    joined in chunk order: {x: (AoAs, {method: errors})}."""
    def task(stream, _, count, point):
        _, snr_db, impairment = point
        return stream, count, m, k, snr_db, impairment, paths

    per_point = run_point_chunks(engine, report, _doa_chunk, points, trials, CHUNK_TRIALS,
                                 seed, task)
    return {x: (np.concatenate([c[0] for c in chunks]),
                {method: [e for c in chunks for e in c[1][method]] for method in DOA_METHODS})
            for (x, _, _), chunks in zip(points, per_point)}


def _weights(models, mod_dnn_model, doa_cnn_model, report):
    """The weight file of each learned method (None: shipped), recorded in the report."""
    paths = {method: (models or {}).get(method) for method in LEARNED_METHODS}
    paths.update({k: v for k, v in (("mod-dnn", mod_dnn_model), ("cnn", doa_cnn_model)) if v})
    paths = {method: None if path is None else str(path) for method, path in paths.items()}
    _load_models({m: p for m, p in paths.items() if p}, report=report)  # checks, records
    return paths


def doa_snr(trials=500, seed=0, m=4, k=16, rho=1.0, snrs_db=(0, 5, 10, 15, 20, 25, 30),
            progress=None, models=None,
            array_seed=None, calibration=None, mod_dnn_model=None, doa_cnn_model=None,
            engine=None):
    """RMSE vs SNR with the impairment at weight rho (seed 003 Fig. 4), AoA in [-60, 60]."""
    report = Report("doa-snr", {**_array_params(seed, array_seed, calibration), "trials": trials, "seed": seed, "m": m, "k": k, "rho": rho,
                                "aoa_deg": [-60, 60]})
    paths = _weights(models, mod_dnn_model, doa_cnn_model, report)
    impairment = _profile(seed, m, k, array_seed, calibration).with_rho(rho)
    joined = _doa_points(engine, report, [(snr, snr, impairment) for snr in snrs_db], trials,
                         seed, m, k, paths)
    for snr in snrs_db:
        thetas, errors = joined[snr]
        _rmse_rows(report, "snr_db", snr, errors, progress)
        bound = float(np.sqrt(np.mean([crb_deg(t, m, k, snr) ** 2 for t in thetas])))
        report.add("crb", "snr_db", snr, "rmse_deg", round(bound, 5))
    return report


def doa_impairment(trials=500, seed=0, m=4, k=16, snr_db=20.0, rhos=(0.0, 0.25, 0.5, 0.75, 1.0),
                   progress=None, models=None,
                   array_seed=None, calibration=None, mod_dnn_model=None, doa_cnn_model=None,
                   engine=None):
    """RMSE vs the impairment weight rho at 20 dB (seed 003 Fig. 4g)."""
    report = Report("doa-impairment", {**_array_params(seed, array_seed, calibration), "trials": trials, "seed": seed, "m": m, "k": k,
                                       "snr_db": snr_db})
    paths = _weights(models, mod_dnn_model, doa_cnn_model, report)
    profile = _profile(seed, m, k, array_seed, calibration)
    joined = _doa_points(engine, report, [(rho, snr_db, profile.with_rho(rho)) for rho in rhos],
                         trials, seed, m, k, paths)
    for rho in rhos:
        _rmse_rows(report, "rho", rho, joined[rho][1], progress)
    return report


def doa_cdf(trials=500, seed=0, m=4, k=16, snr_db=20.0, rho=1.0, progress=None, models=None,
            array_seed=None, calibration=None, mod_dnn_model=None, doa_cnn_model=None,
            engine=None):
    """Absolute-error CDF of each method at one SNR and impairment weight (seed 003
    Fig. 5b): RMSE and 80th percentile rows; the sorted errors go into params."""
    report = Report("doa-cdf", {**_array_params(seed, array_seed, calibration), "trials": trials, "seed": seed, "m": m, "k": k,
                                "snr_db": snr_db, "rho": rho, "aoa_deg": [-60, 60]})
    paths = _weights(models, mod_dnn_model, doa_cnn_model, report)
    impairment = _profile(seed, m, k, array_seed, calibration).with_rho(rho)
    errors = _doa_points(engine, report, [(snr_db, snr_db, impairment)], trials, seed, m, k,
                         paths)[snr_db][1]
    _rmse_rows(report, "snr_db", snr_db, errors, progress)
    report.params["abs_errors_deg"] = {method: np.round(np.sort(np.abs(err)), 4).tolist()
                                       for method, err in errors.items()}
    return report


def plot_cdf(report, path):
    fig, ax = plotting.subplots(figsize=(6, 4.2))
    for method, errors in report.params["abs_errors_deg"].items():
        ax.plot(errors, np.arange(1, len(errors) + 1) / len(errors), label=method)
    ax.axhline(0.8, color="gray", linewidth=0.8, linestyle=":")
    ax.set_xlabel("absolute AoA error (deg)")
    ax.set_ylabel("CDF")
    ax.set_xlim(0, max(3.0, max(np.percentile(e, 90) for e in
                                report.params["abs_errors_deg"].values())))
    ax.grid(True, alpha=0.3)
    ax.legend()
    plotting.save(fig, path)


def plot_rmse(report, path, x_name, xlabel):
    fig, ax = plotting.subplots(figsize=(6, 4.2))
    for method in dict.fromkeys(r["method"] for r in report.rows):
        rows = [r for r in report.rows if r["method"] == method and r["metric"] == "rmse_deg"]
        ax.semilogy([r["x"] for r in rows], [r["value"] for r in rows], marker="o", label=method)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("RMSE (deg)")
    ax.set_title(report.experiment)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    plotting.save(fig, path)
