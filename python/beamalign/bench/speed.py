# SPDX-License-Identifier: GPL-3.0-or-later
"""`beamalign bench speed`: throughput of the C++ blocks, and the RSRP meter against
the stock GNU Radio chain complex_to_mag_squared -> integrate_ff doing the same job
(one power per dwell of `dwell` samples, fed by the same tagged source). The meter is
timed both ways: writing one float per dwell (the stock chain's output) and publishing
one `rsrp` PMT dict per dwell (whose allocation dominates at short dwells).

All flowgraphs run pinned to one core, so a graph's time is the sum of the CPU time
of its blocks and the scheduler: a fair comparison of a one-block and a two-block
chain (on several cores the two-block chain would be pipelined). A measuring chain's
own Msps is samples / (T_graph - T_source_and_head): the cost of the shared source and
head is taken out. Every figure is the best of `repeats` runs.
"""
import os
import time

import numpy as np
import pmt
from gnuradio import blocks, gr

from .. import channels
from ..beamalign_python import beam_combiner, rsrp_meter, sim_array_source
from ..pilots import zadoff_chu
from .report import Report

BASELINE = "complex_to_mag_squared+integrate_ff"


def _tagged_source(dwell, period_dwells=64):
    """A repeating vector source with a `beam` tag every dwell samples."""
    rng = np.random.default_rng(1)
    n = dwell * period_dwells
    data = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    tags = []
    for k in range(period_dwells):
        value = pmt.to_pmt({"beam_id": k, "tx_beam_id": k, "rx_beam_id": -1})
        tags.append(gr.tag_utils.python_to_tag((k * dwell, pmt.intern("beam"), value)))
    return blocks.vector_source_c(data.tolist(), True, 1, tags)


def _run(build, num_samples, repeats):
    best = float("inf")
    for _ in range(repeats):
        tb = gr.top_block()
        build(tb)
        start = time.perf_counter()
        tb.run()
        best = min(best, time.perf_counter() - start)
    return num_samples / best / 1e6


def _meter_graph(num_samples, dwell, mode, stream):
    """The meter with one rsrp message per dwell, or (stream) one float per dwell into a
    null sink: exactly what the stock chain produces."""
    def build(tb):
        src = _tagged_source(dwell)
        head = blocks.head(gr.sizeof_gr_complex, num_samples)
        meter = rsrp_meter(mode, zadoff_chu(dwell), 0, dwell, 0.0, False, not stream)
        tb.connect(src, head, meter)
        keep = [src, head, meter]
        if stream:
            sink = blocks.null_sink(gr.sizeof_float)
            tb.connect(meter, sink)
            keep.append(sink)
        tb.keep = keep
    return build


def _stock_graph(num_samples, dwell):
    def build(tb):
        src = _tagged_source(dwell)
        head = blocks.head(gr.sizeof_gr_complex, num_samples)
        mag = blocks.complex_to_mag_squared(1)
        integrate = blocks.integrate_ff(dwell, 1)
        sink = blocks.null_sink(gr.sizeof_float)
        tb.connect(src, head, mag, integrate, sink)
        tb.keep = (src, head, mag, integrate, sink)
    return build


def _null_graph(num_samples, dwell):
    """The source and head alone: what the meter graphs cost before any measuring."""
    def build(tb):
        src = _tagged_source(dwell)
        head = blocks.head(gr.sizeof_gr_complex, num_samples)
        sink = blocks.null_sink(gr.sizeof_gr_complex)
        tb.connect(src, head, sink)
        tb.keep = (src, head, sink)
    return build


def _sim_source_graph(num_samples, nt, nr, snr_db):
    def build(tb):
        src = sim_array_source(nt, nr, snr_db, 3, "los", zadoff_chu(64), 1)
        head = blocks.head(gr.sizeof_gr_complex, num_samples)
        sink = blocks.null_sink(gr.sizeof_gr_complex)
        tb.connect(src, head, sink)
        tb.keep = (src, head, sink)
    return build


def _combiner_graph(num_samples, channels):
    def build(tb):
        combiner = beam_combiner(channels, 0, [])
        sources = [blocks.null_source(gr.sizeof_gr_complex) for _ in range(channels)]
        head = blocks.head(gr.sizeof_gr_complex, num_samples)
        sink = blocks.null_sink(gr.sizeof_gr_complex)
        for ch, src in enumerate(sources):
            tb.connect(src, (combiner, ch))
        tb.connect(combiner, head, sink)
        tb.keep = (combiner, head, sink, sources)
    return build


def run(samples=50_000_000, dwells=(64, 1024, 16384), repeats=3, nt=64, nr=16, combiner_channels=8,
        progress=None):
    report = Report("speed", {"samples": samples, "dwells": list(dwells), "repeats": repeats,
                              "nt": nt, "nr": nr, "combiner_channels": combiner_channels,
                              "cores": 1})
    say = progress or (lambda text: None)
    previous_affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous_affinity)})  # threads started later inherit it
    try:
        for dwell in dwells:
            graphs = {"source": _null_graph(samples, dwell),
                      "energy stream": _meter_graph(samples, dwell, "energy", True),
                      "energy messages": _meter_graph(samples, dwell, "energy", False),
                      "pilot messages": _meter_graph(samples, dwell, "pilot", False),
                      "stock": _stock_graph(samples, dwell)}
            seconds = {name: samples / (_run(build, samples, repeats) * 1e6)
                       for name, build in graphs.items()}
            own = {}
            for name in graphs:
                extra = seconds[name] - seconds["source"]
                # A run too short for the timer can show no extra cost at all: say so.
                own[name] = samples / extra / 1e6 if extra > 0 else None
            for method, variant, key in (("rsrp_meter", "energy, stream", "energy stream"),
                                         ("rsrp_meter", "energy, messages", "energy messages"),
                                         ("rsrp_meter", "pilot, messages", "pilot messages"),
                                         (BASELINE, "energy, stream", "stock")):
                value = None if own[key] is None else round(own[key], 1)
                report.add(method, "dwell", dwell, "msps", value, variant=variant,
                           graph_msps=round(samples / seconds[key] / 1e6, 1),
                           **({} if value else {"note": "below timing resolution"}))
                say(f"dwell {dwell:5d}  {method:36s} {variant:16s} {value or float('nan'):8.1f} "
                    f"Msps own ({samples / seconds[key] / 1e6:6.1f} Msps with source)")
            for key in ("energy stream", "energy messages"):
                if own[key] and own["stock"]:
                    ratio = own[key] / own["stock"]
                    report.add("rsrp_meter", "dwell", dwell, "ratio", round(ratio, 2),
                               baseline=BASELINE, variant=key.replace(" ", ", "))
                    say(f"dwell {dwell:5d}  rsrp_meter ({key}) / {BASELINE}: {ratio:.2f}x")

        for method, variant, build in (
                ("sim_array_source", f"{nt}x{nr}", _sim_source_graph(samples, nt, nr, 20.0)),
                ("sim_array_source", f"{nt}x{nr} noiseless",
                 _sim_source_graph(samples, nt, nr, 300.0)),
                ("beam_combiner", f"{combiner_channels} channels",
                 _combiner_graph(samples, combiner_channels))):
            value = _run(build, samples, repeats)
            report.add(method, "nt", nt, "msps", round(value, 1), variant=variant)
            say(f"{method:36s} {variant:20s} {value:8.1f} Msps (with head and sink, one core)")
        # Channel generation: 10^5 normalised 64 x 16 Saleh-Valenzuela channels.
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            channels.saleh_valenzuela(100_000, nt, nr, 3, "los", rng=0)
            best = min(best, time.perf_counter() - start)
        report.add("saleh_valenzuela", "nt", nt, "seconds_per_1e5", round(best, 4),
                   variant=f"{nt}x{nr}, 3 paths, normalised")
        say(f"{'saleh_valenzuela':36s} {'1e5 channels':20s} {best:8.3f} s")
    finally:
        os.sched_setaffinity(0, previous_affinity)
    return report
