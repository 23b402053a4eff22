# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 002's tables on the four bundled Sionna RT scenes at 3.5 GHz (standing in for
the paper's DeepMIMO cities): in-distribution accuracy (Tables III-IV, with the rate of
Table VI), zero-shot and few-shot across sites (Table V plus our few-shot), and the
cost of one prediction (Table VII).

Held-out users: sites.splits (random, or 20 m spatial blocks). Each training draws its
own measurement noise at the SNR it is evaluated at (the paper's tables are per SNR).
"""
import functools
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .. import plotting
from ..models.choices import FUSION_METHODS
from ..models.fusion_predictor import FusionPredictor
from ..predict import sector_system, sites
from ..scaleout import run_chunks
from ..training.fusion_predictor import evaluate, load_sites, loss_metrics, train_model
from .report import Report

SITES = ("munich-3p5ghz", "etoile-3p5ghz", "florence-3p5ghz", "san_francisco-3p5ghz")
LEARNED = ("fusion", "single-branch", "cnn-mlp", "lstm-mlp")
SNRS_DB = (0.0, 20.0)
SHOTS = (0.01, 0.05, 0.10)


@functools.lru_cache(maxsize=8)
def _site(name, subcarriers):
    """A site's SectorData, read once per process (the bench's own and each worker's)."""
    system = sector_system.SectorSystem(subcarriers=subcarriers)
    return load_sites((name,), system)[name]


@functools.lru_cache(maxsize=16)
def _split(name, subcarriers, split):
    data = _site(name, subcarriers)
    train, test = sites.splits(data.site.subset(data.users), split, seed=0)
    return data.subset(train), data.subset(test)


def _rate(data, beams, chosen, snr_db):
    """Mean log2(1 + |Hf|^2 / N) of the chosen beams and of the best ones (eq. 14's N)."""
    power = data.fine_power[beams]
    snr = 10 ** (snr_db / 10)
    picked = power[np.arange(len(power)), chosen]
    return float(np.mean(np.log2(1 + snr * picked))), float(np.mean(np.log2(1 + snr * power.max(1))))


def _rows(report, method, name, train_site, beams, split, snr_db, metrics, shots=0.0):
    for metric in ("top1", "top3", "snr_loss_db", "outage", "snr_loss_p95_db", "snr_loss_far_db",
                   "position_m", "rate", "best_rate"):
        if metric in metrics:
            report.add(method, "snr_db", snr_db, metric, round(metrics[metric], 4), site=name,
                       train_site=train_site, codebook=beams, split=split, shots=shots)


def _methods(methods):
    """Networks named as a tuple or "a,b" (the command line's form), checked before any
    training starts."""
    methods = tuple(methods.split(",")) if isinstance(methods, str) else tuple(methods)
    unknown = [m for m in methods if m not in FUSION_METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; known: "
                         f"{', '.join(FUSION_METHODS)}")
    return methods


def _site_chunk(task):
    """One network trained on a site's training users and scored on its held-out ones."""
    name, split, beams, snr_db, method, subcarriers, epochs, seed = task
    train, test = _split(name, subcarriers, split)
    net, _ = train_model(train, method, beams, snr_db, epochs, seed=seed)
    metrics = evaluate(net, test, beams, snr_db, np.random.default_rng(seed + 11))
    scores, _ = net.predict(
        sector_system.noisy_probe_rsrp(test, snr_db, np.random.default_rng(seed + 11)),
        test.sector)
    metrics["rate"], metrics["best_rate"] = _rate(test, beams, np.argmax(scores, axis=1),
                                                  snr_db)
    return metrics


def predict_sites(epochs=30, seed=0, progress=None, datasets=SITES, methods=LEARNED,
                  split=None, beams=None, snr_db=None, subcarriers=sector_system.SUBCARRIERS,
                  engine=None):
    """Tables III, IV (and VI): top-1/top-3, SNR loss and rate per site, codebook, SNR;
    both splits, codebooks and SNRs, or the one given; methods: a tuple or "a,b".
    subcarriers: tones in the wideband RSRP sum (1: the carrier alone). Rows of method
    "data" give each site's share of users whose second-best beam is within 0.5 dB of
    the best (near ties no predictor can separate). Each training is a chunk of work
    (run here or on Dask workers)."""
    splits = ("random", "block") if split is None else (split,)
    codebooks = (64, 256) if beams is None else (beams,)
    snrs_db = SNRS_DB if snr_db is None else (snr_db,)
    methods = _methods(methods)
    loaded = {name: _site(name, subcarriers) for name in datasets}
    report = Report("predict-sites", {"epochs": epochs, "seed": seed, "sites": list(datasets),
                                      "splits": list(splits), "methods": list(methods),
                                      "system": sector_system.SectorSystem(
                                          subcarriers=subcarriers).describe(),
                                      "users": {n: len(d) for n, d in loaded.items()}})
    cases = [(name, split, beams, snr_db) for name in loaded for split in splits
             for beams in codebooks for snr_db in snrs_db]
    learned = iter(run_chunks(engine, report, _site_chunk,
                              [(*case, method, subcarriers, epochs, seed) for case in cases
                               for method in methods]))
    for name, split, beams, snr_db in cases:
        _, test = _split(name, subcarriers, split)
        if snr_db == snrs_db[0]:
            ordered = np.sort(test.fine_power[beams], axis=1)
            near_tie = float(np.mean(10 * np.log10(ordered[:, -1] / np.maximum(
                ordered[:, -2], 1e-30)) < 0.5))
            report.add("data", "snr_db", None, "near_tie", round(near_tie, 4), site=name,
                       train_site=name, codebook=beams, split=split, shots=0.0)
        rng = np.random.default_rng(seed + 7)
        chosen, cost = sector_system.hierarchical_choice(test, beams, snr_db, rng)
        rate, best_rate = _rate(test, beams, chosen, snr_db)
        hc = {"top1": float(np.mean(chosen == test.best(beams))), "rate": rate,
              "best_rate": best_rate, **loss_metrics(test, beams, chosen)}
        _rows(report, "hc", name, name, beams, split, snr_db, hc)
        line = [f"hc {hc['top1']:.3f} ({hc['snr_loss_db']:.2f} dB)"]
        for method in methods:
            metrics = next(learned)
            _rows(report, method, name, name, beams, split, snr_db, metrics)
            line.append(f"{method} {metrics['top1']:.3f} ({metrics['snr_loss_db']:.2f} dB)")
        if progress:
            progress(f"{name:22s} {split:6s} 16->{beams:3d} {snr_db:4g} dB top-1 (mean loss): "
                     + ", ".join(line))
    return report


def _cross_site_chunk(task):
    """One network trained on `source`: its in-distribution metrics, then for every other
    site zero-shot and after fine-tuning on each share of the target's training users.
    Returns [(site, shots or None for the in-distribution row, metrics), ...] in report
    order; shots 0.0 is zero-shot."""
    (snr_db, method, source, datasets, beams, shots, epochs, finetune_epochs, finetune_lr,
     finetune_batch, seed) = task
    subcarriers = sector_system.SUBCARRIERS
    train, test = _split(source, subcarriers, "random")
    net, _ = train_model(train, method, beams, snr_db, epochs, seed=seed)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    out = [(source, None, evaluate(net, test, beams, snr_db, np.random.default_rng(seed + 11)))]
    for target in datasets:
        if target == source:
            continue
        target_train, target_test = _split(target, subcarriers, "random")
        net.load_state_dict(state)
        out.append((target, 0.0, evaluate(net, _site(target, subcarriers), beams, snr_db,
                                          np.random.default_rng(seed + 11))))
        for fraction in shots:
            count = max(8, int(round(fraction * len(target_train))))
            pick = np.random.default_rng(seed).permutation(len(target_train))[:count]
            tuned = FusionPredictor(method, beams)
            tuned.load_state_dict(state)
            tuned, _ = train_model(target_train.subset(np.sort(pick)), method, beams, snr_db,
                                   finetune_epochs, batch=finetune_batch, seed=seed,
                                   initial=tuned, lr=finetune_lr)
            out.append((target, fraction, evaluate(tuned, target_test, beams, snr_db,
                                                   np.random.default_rng(seed + 11))))
    return out


def predict_cross_site(epochs=30, seed=0, progress=None, datasets=SITES,
                       methods=("fusion", "single-branch"), snrs_db=SNRS_DB, shots=SHOTS,
                       beams=256, finetune_epochs=60, finetune_lr=5e-4, finetune_batch=32,
                       snr_db=None, engine=None):
    """Table V: train on one site (its random split's training users), test on all users
    of every other; few-shot: fine-tune on `shots` of the target's training users in
    small batches (a tenth of them picks the epoch kept), test on its held-out users;
    in-distribution for reference. snr_db: one SNR instead of `snrs_db`. A chunk of work
    (here or on a Dask worker) is one source network with everything measured from it."""
    methods = _methods(methods)
    snrs_db = snrs_db if snr_db is None else (snr_db,)
    for name in datasets:
        _site(name, sector_system.SUBCARRIERS)  # a bad data set fails before any training
    report = Report("predict-cross-site", {"epochs": epochs, "finetune_epochs": finetune_epochs,
                                           "finetune_lr": finetune_lr,
                                           "finetune_batch": finetune_batch,
                                           "seed": seed, "sites": list(datasets),
                                           "codebook": beams, "shots": list(shots),
                                           "system": sector_system.SectorSystem().describe()})
    cases = [(snr_db, method, source) for snr_db in snrs_db for method in methods
             for source in datasets]
    tasks = [(*case, tuple(datasets), beams, tuple(shots), epochs, finetune_epochs,
              finetune_lr, finetune_batch, seed) for case in cases]
    for (snr_db, method, source), measured in zip(cases, run_chunks(
            engine, report, _cross_site_chunk, tasks)):
        lines = {}
        for target, fraction, metrics in measured:
            _rows(report, method, target, source, beams, "random", snr_db, metrics,
                  shots=fraction or 0.0)
            if fraction is not None:
                lines.setdefault(target, []).append(
                    f"{100 * fraction:g} % {metrics['top1']:.3f}" if fraction else
                    f"zero-shot {metrics['top1']:.3f}")
        for target, text in lines.items():
            if progress:
                progress(f"{snr_db:4g} dB {method:13s} {source} -> {target}: "
                         + ", ".join(text))
    return report


def predict_speed(seed=0, progress=None, samples=2000):
    """Table VII: FLOPs and time per sample (batch 1, one core) of each network."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    report = Report("predict-speed", {"samples": samples, "threads": 1})
    rsrp = np.random.default_rng(seed).random((1, 16)).astype(np.float32)
    sector = np.zeros(1, dtype=np.int64)
    for beams in (64, 256):
        for method in LEARNED + ("fusion-auto",):
            net = FusionPredictor(method, beams).eval()
            with FlopCounterMode(display=False) as counter:
                net.predict(rsrp, sector)
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                net.predict(rsrp, sector)
                times.append(time.perf_counter() - start)
            parameters = sum(p.numel() for p in net.parameters())
            report.add(method, "codebook", beams, "flops", int(counter.get_total_flops()),
                       parameters=parameters)
            report.add(method, "codebook", beams, "time_ms",
                       round(1e3 * float(np.median(times)), 4),
                       p99_ms=round(1e3 * float(np.percentile(times, 99)), 4))
            if progress:
                progress(f"16->{beams} {method:13s} {counter.get_total_flops() / 1e6:8.2f} MFLOPs "
                         f"{parameters:9d} parameters {1e3 * np.median(times):.3f} ms")
    return report


def plot_sites(report, path):
    rows = [r for r in report.rows if r["metric"] == "top1"]
    names = list(dict.fromkeys(r["site"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plotting.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    for ax, beams in zip(axes, (64, 256)):
        width = 0.8 / max(1, len(methods))
        for i, method in enumerate(methods):
            values = [np.mean([r["value"] for r in rows if r["site"] == n and r["method"] == method
                               and r["codebook"] == beams and r["train_site"] == n
                               and r["shots"] == 0] or [np.nan]) for n in names]
            ax.bar(np.arange(len(names)) + i * width, values, width, label=method)
        ax.set_xticks(np.arange(len(names)) + 0.4, names, rotation=20, fontsize=7)
        ax.set_title(f"{report.experiment}: 16 -> {beams}, mean over SNRs and splits")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("top-1 accuracy")
    axes[0].legend(fontsize=7)
    plotting.save(fig, path)
