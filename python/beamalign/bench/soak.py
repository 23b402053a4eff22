# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak: many closed-loop alignments through one running flowgraph, watching memory.

A flowgraph that aligns for days must not grow: the resident set size after the last
alignment is compared with the one after the first `warmup` alignments (by then every
buffer and cache has its working size).
"""
import os
import time

import numpy as np

from .. import channels, protocol
from ..flowgraphs import alignment
from .report import Report


def _rss_mb():
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def soak(trials=100000, seed=0, method="qssr", nt=64, nr=16, snr_db=20.0, paths=3,
         warmup=1000, every=10000, progress=None):
    """`trials` alignments of `method` on fresh channels; rows: rss_mb at checkpoints,
    rss growth after warm-up, alignments per second, failed share."""
    report = Report("soak", {"trials": trials, "seed": seed, "method": method, "nt": nt,
                             "nr": nr, "snr_db": snr_db, "paths": paths, "warmup": warmup})
    rng = np.random.default_rng(seed)
    tb = alignment(method=method, nt=nt, nr=nr, snr_db=snr_db, num_paths=paths, seed=seed)
    failed, baseline = 0, None
    began = time.perf_counter()
    tb.start()
    try:
        for i in range(trials):
            channel = channels.saleh_valenzuela(1, nt, nr, paths, "los", rng=rng)
            failed += bool(tb.align(channel, timeout=60.0)[protocol.FAILED])
            done = i + 1
            if done == min(warmup, trials):
                baseline = _rss_mb()
                report.add(method, "alignments", done, "rss_mb", round(baseline, 2))
            if done % every == 0 or done == trials:
                rss = _rss_mb()
                report.add(method, "alignments", done, "rss_mb", round(rss, 2))
                if progress:
                    rate = done / (time.perf_counter() - began)
                    progress(f"{done:7d} alignments  RSS {rss:8.2f} MB  {rate:7.1f} /s  "
                             f"{failed} failed")
    finally:
        tb.stop()
        tb.wait()
    seconds = time.perf_counter() - began
    final = _rss_mb()
    report.add(method, "alignments", trials, "rss_growth_mb", round(final - baseline, 3),
               baseline_after=min(warmup, trials))
    report.add(method, "alignments", trials, "alignments_per_s", round(trials / seconds, 2))
    report.add(method, "alignments", trials, "failed", failed / trials)
    report.add(method, "alignments", trials, "results_kept", len(tb.aligner.results))
    return report
