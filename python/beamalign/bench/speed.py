"""`beamalign bench speed`: throughput of the C++ blocks, and the RSRP meter against
the stock GNU Radio chain complex_to_mag_squared -> integrate_ff doing the same job.

Every flowgraph runs a fixed number of samples to completion; Msps = samples / wall
time of tb.run(). Each figure is the best of `repeats` runs (least disturbed by the
rest of the machine).
"""
import time

import numpy as np
import pmt
from gnuradio import blocks, gr

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


def _meter_graph(num_samples, dwell, mode):
    def build(tb):
        src = _tagged_source(dwell)
        head = blocks.head(gr.sizeof_gr_complex, num_samples)
        meter = rsrp_meter(mode, zadoff_chu(dwell), 0, dwell, 0.0, False)
        tb.connect(src, head, meter)
        tb.keep = (src, head, meter)
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


def run(samples=50_000_000, dwell=1024, repeats=3, nt=64, nr=16, combiner_channels=8,
        progress=None):
    report = Report("speed", {"samples": samples, "dwell": dwell, "repeats": repeats, "nt": nt,
                              "nr": nr, "combiner_channels": combiner_channels,
                              "one_thread_per_block": True})
    steps = [
        ("rsrp_meter", "energy", lambda: _meter_graph(samples, dwell, "energy")),
        ("rsrp_meter", "pilot", lambda: _meter_graph(samples, dwell, "pilot")),
        (BASELINE, "energy", lambda: _stock_graph(samples, dwell)),
        ("vector_source+head", "none", lambda: _null_graph(samples, dwell)),
        ("sim_array_source", f"{nt}x{nr}", lambda: _sim_source_graph(samples, nt, nr, 20.0)),
        ("sim_array_source", f"{nt}x{nr} noiseless",
         lambda: _sim_source_graph(samples, nt, nr, 300.0)),
        ("beam_combiner", f"{combiner_channels} channels",
         lambda: _combiner_graph(samples, combiner_channels)),
    ]
    msps = {}
    for method, variant, graph in steps:
        value = _run(graph(), samples, repeats)
        msps[(method, variant)] = value
        report.add(method, "dwell", dwell, "msps", round(value, 2), variant=variant)
        if progress:
            progress(f"{method:38s} {variant:20s} {value:9.1f} Msps")
    ratio = msps[("rsrp_meter", "energy")] / msps[(BASELINE, "energy")]
    report.add("rsrp_meter", "dwell", dwell, "ratio", round(ratio, 2), baseline=BASELINE,
               variant="energy")
    if progress:
        progress(f"rsrp_meter (energy) / {BASELINE}: {ratio:.2f}x")
    return report
