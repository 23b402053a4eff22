"""Direction-finding experiments of seed 003 (coarray DBF and SCG so far)."""
import time

import numpy as np

from ..doa import DEFAULT_GRID_DEG, CoarraySpectrum, half_power_beamwidth, sample_covariance
from ..doa import scg_reference
from .report import Report

ANGLES_DEG = (-45.0, -15.0, 15.0, 45.0)


def _snapshots(rng, theta_deg, m, k, snr_db):
    """One LoS source with K unit-power snapshots on an M-element ULA, plus noise."""
    a = np.exp(1j * np.pi * np.arange(m) * np.sin(np.deg2rad(theta_deg)))
    s = (rng.standard_normal(k) + 1j * rng.standard_normal(k)) / np.sqrt(2)
    n = (rng.standard_normal((m, k)) + 1j * rng.standard_normal((m, k))) * np.sqrt(
        10 ** (-snr_db / 10) / 2)
    return a[:, None] * s[None, :] + n


def doa_spectrum(trials=200, seed=0, m=4, k=16, snr_db=20.0, angles_deg=ANGLES_DEG,
                 progress=None):
    """Fig. 1c-like: half-power beamwidth and peak error of coarray DBF and SCG."""
    report = Report("doa-spectrum", {"trials": trials, "seed": seed, "m": m, "k": k,
                                     "snr_db": snr_db, "impairments": None})
    rng = np.random.default_rng(seed)
    spectrum = CoarraySpectrum(m)
    report.examples = {}
    for theta in angles_deg:
        widths = {"dbf": [], "scg": []}
        errors = {"dbf": [], "scg": []}
        for trial in range(trials):
            eta = spectrum.dbf(sample_covariance(_snapshots(rng, theta, m, k, snr_db)))
            out = spectrum.scg(eta)
            for method, spec in (("dbf", eta), ("scg", out)):
                widths[method].append(half_power_beamwidth(spec, DEFAULT_GRID_DEG))
                errors[method].append(spectrum.estimate_deg(spec) - theta)
            if trial == 0:
                report.examples[theta] = (eta, out)
        for method in ("dbf", "scg"):
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
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(report.examples), figsize=(4 * len(report.examples), 3.4),
                             sharey=True)
    for ax, (theta, (eta, out)) in zip(np.atleast_1d(axes), report.examples.items()):
        ax.plot(DEFAULT_GRID_DEG, eta / eta.max(), label="coarray DBF")
        ax.plot(DEFAULT_GRID_DEG, out / out.max(), label="SCG")
        ax.axvline(theta, color="k", ls="--", lw=0.8)
        ax.set_title(f"AoA {theta:+.0f} deg")
        ax.set_xlabel("angle (deg)")
    np.atleast_1d(axes)[0].set_ylabel("normalised spectrum")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def doa_speed(trials=50, seed=0, m=4, k=16, snr_db=20.0, progress=None):
    """Seconds per estimate, one core: covariance + DBF, the C++ SCG, its NumPy twin."""
    import os

    report = Report("doa-speed", {"trials": trials, "seed": seed, "m": m, "k": k,
                                  "grid_points": len(DEFAULT_GRID_DEG), "cores": 1})
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})
    try:
        rng = np.random.default_rng(seed)
        spectrum = CoarraySpectrum(m)
        inputs = [spectrum.dbf(sample_covariance(_snapshots(rng, -15.0, m, k, snr_db)))
                  for _ in range(trials)]
        snaps = [_snapshots(rng, -15.0, m, k, snr_db) for _ in range(trials)]
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
