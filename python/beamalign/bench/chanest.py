# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 004 experiments: NMSE of hybrid-beamforming channel estimation against SNR and
path count for the beam designs (Figs. 8-9) and the estimators (Figs. 10-11, Table I).

NMSE is 10 log10 of the mean of ||h_hat - h||^2 / ||h||^2 over the trials (the rows also
give the median of the per-trial dB values); cpu_s is the estimator's own thread time per
estimate, with GW-SC-VBI's groups run in turn on that one core.
"""
import hashlib
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import plotting
from ..chanest import (
    ChannelEstimator,
    MultipathChannel,
    PartiallyConnectedArray,
    eda_grouping,
    load_grouping,
    nmse_db,
)
from ..chanest.eda import default_srl_bound
from ..chanest.hybrid import configure_beams, noisy_channel
from ..scaleout import run_point_chunks
from .report import Report

SNRS_DB = (0, 5, 10, 15, 20, 25, 30)
PATHS = (2, 3, 4, 5, 6, 7, 8)
DESIGNS = ("wide", "random", "groupwise-uniform", "groupwise-eda")


# Trials per chunk of work (scaleout): each chunk draws its channels and noise from its
# own stream, so the chunking is part of the result.
CHUNK_TRIALS = 25


@dataclass(frozen=True)
class Scenario:
    """The array and the channels of a chanest bench (every field is a bench option)."""
    nx: int = 32
    nz: int = 8
    m: int = 4
    groups: int = 4
    paths: int = 4
    nlos_power: float = 0.1
    sparsity: int = 4
    snr_db: float = 20.0

    @property
    def array(self):
        return PartiallyConnectedArray(self.nx, self.nz, self.m)

    @property
    def shape(self):
        return f"{self.nx}x{self.nz}x{self.m}"

    def params(self):
        return {"nx": self.nx, "nz": self.nz, "m": self.m, "groups": self.groups,
                "num_paths": self.paths, "nlos_power": self.nlos_power,
                "sparsity": self.sparsity, "snr_db": self.snr_db, "oversample": 2}


def _column_groups(scenario, grouping, seed, report, progress):
    """EDA grouping from a file, or from a fresh EDA run (recorded in the report)."""
    array = scenario.array
    if grouping:
        report.params["grouping"] = str(grouping)
        return load_grouping(grouping, array.nx)
    bound = default_srl_bound(array.nx, scenario.groups)
    result = eda_grouping(np.arange(array.nx), scenario.groups, srl_bound=bound, rng=seed)
    key = "" if report.experiment != "chanest-arrays" else f"_{scenario.shape}"
    report.params.update({f"eda_srl_bound{key}": round(bound, 6),
                          f"eda_initial_max_isl{key}": result.initial_max_isl,
                          f"eda_max_isl{key}": result.max_isl,
                          f"eda_groups{key}": [g.tolist() for g in result.groups]})
    if progress:
        progress(f"EDA grouping ({scenario.shape}): max group ISL "
                 f"{result.initial_max_isl:.3f} -> {result.max_isl:.3f}")
    groups = np.empty(array.nx, dtype=int)
    for g, members in enumerate(result.groups):
        groups[members] = g
    return groups


def _design(scenario, name, eda_groups, seed):
    """(chain weights, column groups) of a beam design."""
    beam = "groupwise" if name.startswith("groupwise") else name
    return configure_beams(scenario.array, beam, scenario.groups, seed=seed,
                           column_groups=eda_groups if name == "groupwise-eda" else None)


@dataclass(frozen=True)
class Receiver:
    """One analog combiner and the estimators that share its samples. estimators:
    ((name, method, oversample, row fields, trial limit or None), ...)."""
    chain_weights: np.ndarray
    column_groups: Optional[np.ndarray]
    estimators: tuple


# Estimators built in this process, by what defines them: a worker running many chunks
# of one bench builds each once (their sensing grids take a while).
_BUILT = {}


def _estimator(scenario, receiver, method, oversample):
    key = hashlib.sha256(repr((scenario, method, oversample)).encode() +
                         receiver.chain_weights.tobytes() +
                         (b"" if receiver.column_groups is None else
                          np.asarray(receiver.column_groups).tobytes())).hexdigest()
    if key not in _BUILT:
        if len(_BUILT) > 64:
            _BUILT.clear()
        _BUILT[key] = ChannelEstimator(
            scenario.array, receiver.chain_weights, method, oversample=oversample,
            sparsity=scenario.sparsity, num_groups=scenario.groups,
            column_groups=receiver.column_groups if method == "gw-sc-vbi" else None)
    return _BUILT[key]


def _chanest_chunk(task):
    """Trials first .. first + count - 1 of one point: every receiver observes the same
    channel plus noise; returns {estimator name: (NMSEs in dB, thread seconds)}."""
    stream, first, count, x_name, x, scenario, receivers = task
    rng = np.random.default_rng(stream)
    array = scenario.array
    paths = x if x_name == "paths" else scenario.paths
    snr = x if x_name == "snr_db" else scenario.snr_db
    combiners = [array.combiner(r.chain_weights) for r in receivers]
    out = {name: ([], []) for r in receivers for name, *_ in r.estimators}
    for trial in range(first, first + count):
        h = MultipathChannel.draw(array, paths, scenario.nlos_power, rng=rng).vector(array)
        noisy, sigma2 = noisy_channel(h, snr, rng)
        for receiver, w in zip(receivers, combiners):
            y = w.conj().T @ noisy
            for name, method, oversample, _, limit in receiver.estimators:
                if limit is not None and trial >= limit:
                    continue
                estimator = _estimator(scenario, receiver, method, oversample)
                begin = time.thread_time()
                estimate = estimator.estimate(y, sigma2)
                out[name][1].append(time.thread_time() - begin)
                out[name][0].append(nmse_db(estimate.h, h))
    return out


def _score(report, method, x_name, x, errors, times, progress, **extra):
    errors = np.asarray(errors)
    value = float(10 * np.log10(np.mean(10 ** (errors / 10))))
    report.add(method, x_name, x, "nmse_db", value, median_db=float(np.median(errors)),
               worst_db=float(np.max(errors)), trials=len(errors), **extra)
    if times:
        report.add(method, x_name, x, "cpu_s", float(np.mean(times)), trials=len(times), **extra)
    if progress:
        label = " ".join(f"{k}={v}" for k, v in extra.items())
        cpu = f"  {1e3 * np.mean(times):.2f} ms" if times else ""
        progress(f"{x_name}={x} {method} {label}: NMSE {value:.2f} dB "
                 f"(median {np.median(errors):.2f}, worst {np.max(errors):.2f}){cpu}")


def _run(engine, report, scenario, receivers, x_name, points, trials, seed, progress,
         **extra):
    """Every point's trials in chunks (on `engine`), then one row set per estimator."""
    per_point = run_point_chunks(
        engine, report, _chanest_chunk, points, trials, CHUNK_TRIALS, seed,
        lambda stream, first, count, x: (stream, first, count, x_name, x, scenario, receivers),
        scenario.shape, x_name, list(points),
        [[(name, method, fields) for name, method, _, fields, _ in r.estimators]
         for r in receivers])
    for x, chunks in zip(points, per_point):
        for receiver in receivers:
            for name, method, _, fields, _ in receiver.estimators:
                errors = [e for chunk in chunks for e in chunk[name][0]]
                times = [t for chunk in chunks for t in chunk[name][1]]
                _score(report, method, x_name, x, errors, times, progress, **fields, **extra)


def _scenario(nx, nz, m, groups, paths, nlos_power, sparsity):
    scenario = Scenario(nx, nz, m, groups, paths, nlos_power, sparsity)
    scenario.array  # refuses a shape the array cannot take, before any work
    if groups < 1 or groups > nx:
        raise ValueError(f"--groups must be between 1 and the columns ({nx}), got {groups}")
    return scenario


def chanest_beams(trials=200, seed=0, x_name="snr_db", grouping=None, progress=None, nx=32,
                  nz=8, m=4, groups=4, paths=4, nlos_power=0.1, sparsity=4, engine=None):
    """NMSE of SC-VBI with each beam design vs SNR (Fig. 8) or path count at 20 dB (Fig. 9).
    Every design sees the same channels and noise."""
    scenario = _scenario(nx, nz, m, groups, paths, nlos_power, sparsity)
    experiment = "chanest-beams" if x_name == "snr_db" else "chanest-paths"
    points = SNRS_DB if x_name == "snr_db" else PATHS
    report = Report(experiment, {"trials": trials, "seed": seed, "estimator": "sc-vbi",
                                 **scenario.params()})
    eda_groups = _column_groups(scenario, grouping, seed, report, progress)
    receivers = []
    for design in DESIGNS:
        beams, column_groups = _design(scenario, design, eda_groups, seed)
        receivers.append(Receiver(beams, column_groups,
                                  ((design, "sc-vbi", 2, {"beam": design}, None),)))
    _run(engine, report, scenario, tuple(receivers), x_name, points, trials, seed, progress)
    return report


def _algorithms(scenario, beams, column_groups, turbo_trials):
    return Receiver(beams, column_groups, (
        ("omp", "omp", 2, {"grid": "2x"}, None),
        ("omp-4x", "omp", 4, {"grid": "4x"}, None),
        ("turbo-vbi", "turbo-vbi", 2, {"grid": "2x"}, turbo_trials),
        ("sc-vbi", "sc-vbi", 2, {"grid": "2x"}, None),
        ("gw-sc-vbi", "gw-sc-vbi", 2, {"grid": "2x"}, None)))


def _time_ratios(report, x_name, points, **extra):
    """GW-SC-VBI's time against SC-VBI's, point by point (paper: 4.1 s vs 12.8 s)."""
    cpu = {(r["method"], r["x"]): r["value"] for r in report.rows if r["metric"] == "cpu_s"
           and r.get("grid", "2x") == "2x" and r.get("beam", "groupwise-eda") == "groupwise-eda"
           and all(r.get(k) == v for k, v in extra.items())}
    for x in points:
        report.add("gw-sc-vbi", x_name, x, "ratio", cpu[("gw-sc-vbi", x)] / cpu[("sc-vbi", x)],
                   baseline="sc-vbi", quantity="cpu_s", **extra)


def chanest_algorithms(trials=200, seed=0, x_name="snr_db", grouping=None, turbo_trials=20,
                       progress=None, nx=32, nz=8, m=4, groups=4, paths=4, nlos_power=0.1,
                       sparsity=4, engine=None):
    """NMSE and time per estimate of OMP (2x and 4x grids), Turbo-VBI, SC-VBI and GW-SC-VBI
    with the EDA group-wise beam, vs SNR (Fig. 10, Table I) or path count (Fig. 11).
    Turbo-VBI, the slow reference, runs on the first turbo_trials trials of each point."""
    scenario = _scenario(nx, nz, m, groups, paths, nlos_power, sparsity)
    experiment = "chanest-snr" if x_name == "snr_db" else "chanest-paths-alg"
    points = SNRS_DB if x_name == "snr_db" else PATHS
    report = Report(experiment, {"trials": trials, "turbo_trials": min(turbo_trials, trials),
                                 "seed": seed, "beam": "groupwise-eda", "threads": 1,
                                 **scenario.params()})
    eda_groups = _column_groups(scenario, grouping, seed, report, progress)
    beams, column_groups = _design(scenario, "groupwise-eda", eda_groups, seed)
    _run(engine, report, scenario, (_algorithms(scenario, beams, column_groups, turbo_trials),),
         x_name, points, trials, seed, progress)
    _time_ratios(report, x_name, points)
    return report


ARRAYS = ("32x8x4", "16x16x4", "64x8x4")


def _parse_shape(text):
    try:
        nx, nz, m = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"an array shape is NXxNZxM (e.g. 32x8x4), got {text!r}") from None
    return nx, nz, m


def chanest_arrays(trials=200, seed=0, arrays=ARRAYS, paths=None, groups=4, nlos_power=0.1,
                   sparsity=None, snr_db=20.0, progress=None, engine=None):
    """SC-VBI and GW-SC-VBI (EDA group-wise beams) and SC-VBI with random beams on each
    array shape NXxNZxM, for L = 4 and 6 paths (or `paths`) at one SNR; K_hat = L unless
    sparsity is given."""
    paths_list = (4, 6) if paths is None else (paths,)
    if isinstance(arrays, str):
        arrays = [a for a in arrays.split(",") if a]
    shapes = [_parse_shape(a) for a in arrays]
    report = Report("chanest-arrays", {"trials": trials, "seed": seed, "arrays": list(arrays),
                                       "paths": list(paths_list), "groups": groups,
                                       "nlos_power": nlos_power, "sparsity": sparsity,
                                       "snr_db": snr_db, "beam": "groupwise-eda"})
    for nx, nz, m in shapes:
        for num_paths in paths_list:
            scenario = _scenario(nx, nz, m, groups, num_paths, nlos_power,
                                 sparsity or num_paths)
            scenario = Scenario(**{**scenario.__dict__, "snr_db": snr_db})
            eda_groups = _column_groups(scenario, None, seed, report, progress)
            beams, column_groups = _design(scenario, "groupwise-eda", eda_groups, seed)
            receivers = (Receiver(beams, column_groups, (
                ("sc-vbi", "sc-vbi", 2, {"beam": "groupwise-eda"}, None),
                ("gw-sc-vbi", "gw-sc-vbi", 2, {"beam": "groupwise-eda"}, None))),
                Receiver(_design(scenario, "random", None, seed)[0], None, (
                    ("sc-vbi-random", "sc-vbi", 2, {"beam": "random"}, None),)))
            _run(engine, report, scenario, receivers, "paths", [num_paths], trials, seed,
                 progress, array=scenario.shape)
            _time_ratios(report, "paths", [num_paths], array=scenario.shape)
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


def plot_arrays(report, path):
    shapes = list(dict.fromkeys(r["array"] for r in report.rows if "array" in r))
    fig, axes = plotting.subplots(1, len(shapes), figsize=(4 * len(shapes), 4), sharey=True)
    for ax, shape in zip(np.atleast_1d(axes), shapes):
        curves = {}
        for row in report.rows:
            if row.get("array") == shape and row["metric"] == "nmse_db":
                curves.setdefault(f"{row['method']} ({row['beam']})", []).append(
                    (row["x"], row["value"]))
        for label, points in curves.items():
            x, y = zip(*sorted(points))
            ax.plot(x, y, marker="o", label=label)
        ax.set_title(shape)
        ax.set_xlabel("paths L")
        ax.grid(True, alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("NMSE (dB)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    plotting.save(fig, path)
