# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 001's figures on a site data set: top-K accuracy (Fig. 3), training curves
(Fig. 2), effective rate vs users (Fig. 4), and top-K vs probe count (ours).

Every figure is measured on held-out users under two splits (sites.splits): random, and
spatial blocks of BLOCK_M x BLOCK_M metres, whole blocks held out, so a test user's grid
neighbours were not trained on. Each learned configuration is trained with `seeds`
training seeds (the split stays fixed); rows carry the mean and every seed's value.
Evaluation draws fresh measurement noise, quantises the probes' phases to `bits` (0:
none) and rounds RSRPs to 1 dB, as at inference.
"""
import functools
import time

import numpy as np

from .. import plotting
from ..predict import probe_system, sites
from ..predict.datasets import resolve
from ..predict.predictor import BeamPredictor
from ..scaleout import one_thread, run_chunks
from ..training.probe_predictor import evaluate, train_model
from .report import Report

SPLITS = ("random", "block")
BLOCK_M = 20.0
BITS = (3, 4, 5)
METHOD_OF = {"uv": "learned-uv", "angle": "learned-angle", "cm": "learned-cm",
             "uniform": "uniform"}
USER_COUNTS = (1, 10, 20, 50, 80, 100, 120, 150)


@functools.lru_cache(maxsize=4)
def _site_split(dataset, split):
    """(channels, train, test) of a data set: read once per process (the bench's own and
    each Dask worker that trains on it)."""
    site = sites.load_site(resolve(dataset))
    sc = probe_system.site_channels(site)
    train, test = sites.splits(site.subset(sc.users), split, block_m=BLOCK_M, seed=0)
    return sc, sc.subset(train), sc.subset(test)


def _rsrp_levels(sc):
    """Where the site's RSRPs fall against seed 001's clamp (the transmit power's check)."""
    rsrp = 10 * np.log10(np.maximum(sc.beam_gain, 1e-30)) + sc.system.re_power_dbm
    best = rsrp.max(axis=1)
    floor, ceiling = probe_system.RSRP_FLOOR_DBM, probe_system.RSRP_CEILING_DBM
    return {"best_beam_rsrp_dbm_p1_p50_p99": [round(float(np.percentile(best, q)), 1)
                                              for q in (1, 50, 99)],
            "share_of_all_beams_inside_clamp": round(float(np.mean(
                (rsrp >= floor) & (rsrp <= ceiling))), 4),
            "share_of_best_beams_above_ceiling": round(float(np.mean(best > ceiling)), 4)}


def _report(experiment, dataset, epochs, training_seeds, **extra):
    """The bench's report; its user counts are those of the first split."""
    sc, train, test = _site_split(dataset, SPLITS[0])
    return Report(experiment, {"dataset": dataset, "epochs": epochs,
                               "training_seeds": list(training_seeds), "block_m": BLOCK_M,
                               "rsrp_levels": _rsrp_levels(sc), "users": len(sc),
                               "train_users": len(train), "test_users": len(test),
                               "system": sc.system.describe(), "rsrp_step_db": 1.0, **extra})


def _trainings(engine, report, chunk, configs, training_seeds, *settings):
    """Every configuration trained once per training seed, each training a chunk (run
    here or on Dask workers): [(config, [chunk's result per seed]), ...] in order."""
    tasks = [(*config, seed, *settings) for config in configs for seed in training_seeds]
    results = iter(run_chunks(engine, report, chunk, tasks))
    return [(config, [next(results) for _ in training_seeds]) for config in configs]


def _accuracy(net, test, bits, seed):
    scores, best = evaluate(net, test, np.random.default_rng(10_000 + seed), bits=bits)
    return {f"top{k}": probe_system.top_k_accuracy(scores, best, k) for k in (1, 3, 5)}


def _add_mean(report, method, x_name, x, metric, values, **extra):
    report.add(method, x_name, x, metric, round(float(np.mean(values)), 4),
               per_seed=[round(float(v), 4) for v in values], **extra)


def _topk_chunk(task):
    split, design, noise_bits, bits_list, seed, dataset, epochs = task
    _, train, test = _site_split(dataset, split)
    net, _ = train_model(train, None, design, noise_bits=noise_bits, epochs=epochs, seed=seed)
    return {bits: _accuracy(net, test, bits, seed) for bits in bits_list}


def predict_topk(dataset="munich-30ghz", epochs=200, seeds=3, seed=0, progress=None,
                 engine=None):
    """Fig. 3: top-1/3/5 of every probe design, plain and with B-bit phase shifters,
    trained plainly or with phase noise for B bits."""
    training_seeds = range(seed, seed + seeds)
    report = _report("predict-topk", dataset, epochs, training_seeds, bits=list(BITS))
    # (split, design, noise bits of the training, the bits it is evaluated at)
    configs = [(split, design, noise_bits, (0,) + BITS if noise_bits == 0 else (noise_bits,))
               for split in SPLITS for design in ("uv", "angle", "cm", "uniform")
               for noise_bits in ((0,) + (BITS if design != "uniform" else ()))]
    for (split, design, noise_bits, bits_list), runs in _trainings(
            engine, report, _topk_chunk, configs, training_seeds, dataset, epochs):
        for bits in bits_list:
            metrics = {metric: [run[bits][metric] for run in runs] for metric in runs[0][bits]}
            for metric, values in metrics.items():
                _add_mean(report, METHOD_OF[design], "bits", bits, metric, values,
                          split=split, bits=bits, noise_training=noise_bits > 0)
            if progress:
                progress(f"{split:6s} {METHOD_OF[design]:13s} noise {noise_bits} "
                         f"bits {bits}: " + "  ".join(
                             f"{m} {np.mean(v):.3f}" for m, v in metrics.items()))
    return report


EPOCH_CURVES = (("uv", 0, 0, "learned-uv"), ("angle", 0, 0, "learned-angle"),
                ("uniform", 0, 0, "uniform"), ("uv", 0, 4, "learned-uv"),
                ("uv", 4, 4, "learned-uv"))  # design, noise bits, evaluated bits, method


def _epochs_chunk(task):
    split, design, noise_bits, bits, _, seed, dataset, epochs = task
    _, train, test = _site_split(dataset, split)
    return train_model(train, test, design, noise_bits=noise_bits, epochs=epochs, seed=seed,
                       track_bits=bits)[1]


def predict_epochs(dataset="munich-30ghz", epochs=200, seeds=3, seed=0, progress=None,
                   engine=None):
    """Fig. 2: held-out top-3 after every epoch; the quantised curves at 4 bits."""
    training_seeds = range(seed, seed + seeds)
    report = _report("predict-epochs", dataset, epochs, training_seeds)
    configs = [(split, *curve) for split in SPLITS for curve in EPOCH_CURVES]
    for (split, _, noise_bits, bits, method), runs in _trainings(
            engine, report, _epochs_chunk, configs, training_seeds, dataset, epochs):
        for epoch, values in enumerate(zip(*runs), start=1):
            _add_mean(report, method, "epoch", epoch, "top3", values, split=split,
                      bits=bits, noise_training=noise_bits > 0)
        if progress:
            progress(f"{split:6s} {method:13s} noise {noise_bits} bits {bits}: top-3 "
                     f"epoch 10 {np.mean([r[9] for r in runs]):.3f}, "
                     f"last {np.mean([r[-1] for r in runs]):.3f}")
    return report


def _loss_rows(report, method, split, loss_db, measurements, power_dbm=None, **extra):
    report.add(method, "split", split, "snr_loss_db", round(float(np.mean(loss_db)), 4),
               p50=round(float(np.percentile(loss_db, 50)), 3),
               p90=round(float(np.percentile(loss_db, 90)), 3),
               p99=round(float(np.percentile(loss_db, 99)), 3),
               worst=round(float(np.max(loss_db)), 3), split=split, **extra)
    report.add(method, "split", split, "outage", round(float(np.mean(loss_db > 3.0)), 5),
               threshold_db=3.0, split=split, **extra)
    report.add(method, "split", split, "measurements", measurements, split=split, **extra)
    if power_dbm is not None:
        report.add(method, "split", split, "power_db", round(power_dbm, 3), split=split,
                   unit="dBm RSRP of the chosen beam, mean over users in mW", **extra)


def _rate_chunk(task):
    """Algorithm 1 with one trained network: (SNR loss per user, beams, measurements,
    effective rate per user count)."""
    split, seed, dataset, epochs = task
    _, train, test = _site_split(dataset, split)
    net, _ = train_model(train, None, "uv", epochs=epochs, seed=seed)
    beams, _, cost = probe_system.algorithm1(test, net.probe_weight_array(),
                                             net.softmax_scores, 5,
                                             np.random.default_rng(20_000 + seed))
    return (probe_system.snr_loss_db(test, beams), beams, cost,
            {users: probe_system.effective_rate(test, beams, cost, users)
             for users in USER_COUNTS})


def predict_rate(dataset="munich-30ghz", epochs=200, seeds=3, seed=0, progress=None,
                 engine=None):
    """Fig. 4: effective achievable rate vs users sharing a coherence slot, for Algorithm 1
    (L = 8 beam-domain probes + top-5), hierarchical 16 + 8, binary and exhaustive search;
    plus each method's SNR loss against the exhaustive genie (mean, tails) and the time
    of one prediction."""
    training_seeds = range(seed, seed + seeds)
    report = _report("predict-rate", dataset, epochs, training_seeds, top_k=5,
                     symbol_s=probe_system.SYMBOL_S, slot_s=probe_system.SLOT_S,
                     user_counts=list(USER_COUNTS))
    for (split,), runs in _trainings(engine, report, _rate_chunk, [(s,) for s in SPLITS],
                                     training_seeds, dataset, epochs):
        _, _, test = _site_split(dataset, split)
        cost = runs[-1][2]
        _loss_rows(report, "probe-predictor", split, np.concatenate([r[0] for r in runs]),
                   cost, _power_dbm(test, np.concatenate([r[1] for r in runs])))
        for users in USER_COUNTS:
            _add_mean(report, "probe-predictor", "users", users, "ear",
                      [r[3][users] for r in runs], split=split)
        rng = np.random.default_rng(30_000)
        for method, search in (("hierarchical", probe_system.hierarchical),
                               ("binary", probe_system.binary),
                               ("exhaustive", probe_system.exhaustive)):
            picked, cost = search(test, rng)
            _loss_rows(report, method, split, probe_system.snr_loss_db(test, picked),
                       cost, _power_dbm(test, picked))
            for users in USER_COUNTS:
                report.add(method, "users", users, "ear", round(
                    probe_system.effective_rate(test, picked, cost, users), 4),
                    split=split)
        if progress:
            for method in ("probe-predictor", "hierarchical", "binary", "exhaustive"):
                row = next(r for r in report.rows if r["method"] == method and
                           r["metric"] == "snr_loss_db" and r["split"] == split)
                ears = [r["value"] for r in report.rows if r["method"] == method and
                        r["metric"] == "ear" and r["split"] == split]
                progress(f"{split:6s} {method:15s} loss {row['value']:.3f} dB (p90 "
                         f"{row['p90']}, p99 {row['p99']})  EAR "
                         + " ".join(f"{e:.2f}" for e in ears))
    report.add("probe-predictor", "calls", 1, "prediction_ms", round(_prediction_ms(), 4))
    return report


def _power_dbm(test, chosen):
    """Mean RSRP (dBm) of the chosen beams over the users (chosen may hold several seeds'
    choices one after the other)."""
    gains = np.tile(test.beam_gain, (len(chosen) // len(test), 1))
    picked = gains[np.arange(len(chosen)), chosen]
    return float(10 * np.log10(np.mean(picked)) + test.system.re_power_dbm)


def _prediction_ms(calls=2000):
    """Median time of one prediction (8 RSRPs in, top-5 out) with the shipped model on
    one Torch thread."""
    predictor = BeamPredictor()
    rsrp = np.full(predictor.probes, -90.0)
    times = []
    with one_thread():
        for _ in range(calls):
            start = time.perf_counter()
            predictor.top_k(rsrp, 5)
            times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def _probes_chunk(task):
    """top-K and Algorithm 1 with L probes: (metrics, SNR loss per user, measurements)."""
    split, count, seed, dataset, epochs = task
    _, train, test = _site_split(dataset, split)
    net, _ = train_model(train, None, "uv", probes=count, epochs=epochs, seed=seed)
    beams, _, cost = probe_system.algorithm1(test, net.probe_weight_array(),
                                             net.softmax_scores, 5,
                                             np.random.default_rng(40_000 + seed))
    return _accuracy(net, test, 0, seed), probe_system.snr_loss_db(test, beams), cost


def predict_probes(dataset="munich-30ghz", epochs=200, seeds=3, seed=0, progress=None,
                   probe_counts=(4, 8, 16), engine=None):
    """Ours: top-K and Algorithm 1's SNR loss vs the number of beam-domain probes L."""
    training_seeds = range(seed, seed + seeds)
    report = _report("predict-probes", dataset, epochs, training_seeds,
                     probe_counts=list(probe_counts))
    configs = [(split, count) for split in SPLITS for count in probe_counts]
    for (split, count), runs in _trainings(engine, report, _probes_chunk, configs,
                                           training_seeds, dataset, epochs):
        metrics = {metric: [run[0][metric] for run in runs] for metric in runs[0][0]}
        for metric, values in metrics.items():
            _add_mean(report, "learned-uv", "probes", count, metric, values, split=split)
        loss, cost = np.concatenate([run[1] for run in runs]), runs[-1][2]
        report.add("learned-uv", "probes", count, "snr_loss_db",
                   round(float(loss.mean()), 4),
                   p90=round(float(np.percentile(loss, 90)), 3), split=split)
        report.add("learned-uv", "probes", count, "measurements", cost, split=split)
        if progress:
            progress(f"{split:6s} L = {count:2d}: " + "  ".join(
                f"{m} {np.mean(v):.3f}" for m, v in metrics.items())
                + f"  loss {loss.mean():.3f} dB ({cost} measurements)")
    return report


def plot_topk(report, path):
    fig, axes = plotting.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, split in zip(axes, SPLITS):
        rows = [r for r in report.rows if r["split"] == split and r["metric"] == "top3"]
        labels = [f"{r['method']}\nB={r['bits'] or '-'}{' +noise' if r['noise_training'] else ''}"
                  for r in rows]
        ax.bar(range(len(rows)), [r["value"] for r in rows], color=[
            "C1" if r["noise_training"] else "C0" for r in rows])
        ax.set_xticks(range(len(rows)), labels, rotation=90, fontsize=6)
        ax.set_title(f"top-3, {split} split")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("held-out top-3 accuracy")
    plotting.save(fig, path)


def plot_curves(report, path, x_name, metric, ylabel):
    fig, axes = plotting.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, split in zip(axes, SPLITS):
        rows = [r for r in report.rows if r.get("split") == split and r["metric"] == metric
                and r["x_name"] == x_name]
        lines = dict.fromkeys((r["method"], r.get("bits"), r.get("noise_training"))
                              for r in rows)
        for method, bits, noise in lines:
            mine = [r for r in rows if (r["method"], r.get("bits"), r.get("noise_training"))
                    == (method, bits, noise)]
            label = method + (f", {bits} bits" if bits else "") + (" +noise" if noise else "")
            ax.plot([r["x"] for r in mine], [r["value"] for r in mine], label=label)
        ax.set_xlabel(x_name)
        ax.set_title(f"{report.experiment}, {split} split")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel(ylabel)
    plotting.save(fig, path)
