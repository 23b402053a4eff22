# SPDX-License-Identifier: GPL-3.0-or-later
"""Closed-loop alignment across two processes over an emulated link, against the same
channels in one process (`beamalign ota --emulate`)."""
import subprocess
import sys
import time

import numpy as np

from .. import channels
from .. import protocol as proto
from ..flowgraphs import alignment
from ..hw.link import EMULATED_RATE, ue_node
from .report import Report


def run_trials(node, trials, timeout=60.0, progress=None):
    """One alignment per channel of `trials` on a node (ue_node or flowgraphs.alignment);
    returns (results, seconds per alignment)."""
    results, seconds = [], []
    node.start()
    try:
        for i in range(len(trials)):
            began = time.perf_counter()
            results.append(node.align(trials[i], timeout=timeout))
            seconds.append(time.perf_counter() - began)
            if progress:
                progress(i, results[-1])
    finally:
        node.stop()
        node.wait()
    return results, np.array(seconds)


def emulated_ota(trials=1000, seed=0, method="qssr-net", nt=64, nr=16, snr_db=20.0, paths=3,
                 loss=0.0, link="tcp://127.0.0.1:5560", progress=None):
    """`beamalign ota --emulate`: the base station as a second process (`beamalign node
    bs`), the user here, over the link; then the same channels with the whole loop in one
    process (flowgraphs.alignment). Rows: power_db (successful alignments, against the
    known-angle optimum too), failed share and latency_s per link kind."""
    report = Report("ota", {"trials": trials, "seed": seed, "method": method, "nt": nt,
                            "nr": nr, "snr_db": snr_db, "paths": paths, "loss": loss,
                            "link": link, "samp_rate": EMULATED_RATE, "dwell": 64})
    channels_ = channels.saleh_valenzuela(trials, nt, nr, paths, "los", rng=seed)
    optimum_db = 10 * np.log10(np.mean(channels.optimum_power(channels_)))
    bs = subprocess.Popen([sys.executable, "-m", "gnuradio.beamalign.cli", "node", "bs",
                           "--link", link, "--nt", str(nt)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # the base station binds its sockets
        if bs.poll() is not None:
            raise RuntimeError(f"the base station process ended: {bs.stderr.read().decode()}")
        ue = ue_node(link, method, nt, nr, snr_db, seed=seed, loss=loss)
        runs = {"two-process": run_trials(ue, channels_, progress=progress)}
    finally:
        bs.terminate()
        bs.wait(timeout=10)
    runs["in-process"] = run_trials(alignment(method=method, nt=nt, nr=nr, snr_db=snr_db,
                                              num_paths=paths, seed=seed), channels_)
    for kind, (results, seconds) in runs.items():
        good = [r[proto.POWER_DB] for r in results if not r[proto.FAILED]]
        mean_db = float(10 * np.log10(np.mean(10 ** (np.array(good) / 10)))) if good else None
        report.add(method, "snr_db", snr_db, "power_db", mean_db, link=kind,
                   optimum_db=round(optimum_db, 3), successful=len(good))
        report.add(method, "snr_db", snr_db, "failed", 1 - len(good) / len(results), link=kind)
        report.add(method, "snr_db", snr_db, "latency_s", float(np.mean(seconds)), link=kind,
                   p95_s=float(np.percentile(seconds, 95)))
    return report
