# SPDX-License-Identifier: GPL-3.0-or-later
"""beam_aligner: the flowgraph path makes the same decisions as the direct strategy path."""
import numpy as np
import pmt
import pytest

from gnuradio.beamalign import channels
from gnuradio.beamalign.align import PathMeasurer, make_strategy, run_batch
from gnuradio.beamalign.flowgraphs import alignment


def _run_flowgraph(tb, chans):
    tb.start()
    try:
        return [tb.align(chans[i], timeout=60) for i in range(len(chans))]
    finally:
        tb.stop()
        tb.wait()


@pytest.mark.parametrize("method, nt, nr", [("exhaustive", 16, 4), ("binary", 64, 16),
                                            ("qssr", 64, 16), ("qssr", 32, 16),
                                            ("qssr-net", 64, 16), ("sr-bsnet", 64, 16)])
def test_noiseless_flowgraph_and_direct_path_decide_alike(method, nt, nr):
    chans = channels.saleh_valenzuela(6, nt, nr, num_paths=3, rng=11)
    direct = run_batch(make_strategy(method, nt, nr), PathMeasurer(chans, 300.0, rng=0), len(chans))
    results = _run_flowgraph(alignment(method, nt, nr, snr_db=300.0, seed=1), chans)
    # The flowgraph computes in float32: angles agree to float32 accuracy of eq. 8.
    np.testing.assert_allclose([r["u_tx"] for r in results], direct.u_tx, atol=1e-4)
    np.testing.assert_allclose([r["u_rx"] for r in results], direct.u_rx, atol=1e-4)
    assert all(r["measurements"] == direct.measurements for r in results)
    expected_db = 10 * np.log10(np.abs(chans.beam_gains(direct.w, direct.f)) ** 2)
    np.testing.assert_allclose([r["power_db"] for r in results], expected_db, atol=1e-3)


def test_noisy_flowgraph_agrees_with_direct_path_in_mean_power():
    trials, snr = 300, 15.0
    chans = channels.saleh_valenzuela(trials, 64, 16, num_paths=3, rng=12)
    direct = run_batch(make_strategy("qssr", 64, 16), PathMeasurer(chans, snr, rng=3), trials)
    direct_power = np.abs(chans.beam_gains(direct.w, direct.f)) ** 2
    results = _run_flowgraph(alignment("qssr", 64, 16, snr_db=snr, seed=4), chans)
    flow_power = 10 ** (np.array([r["power_db"] for r in results]) / 10)
    # Two independent noise draws on the same channels: the means differ by less than
    # 3.3 standard errors of the difference (a 0.1 % false-alarm bound, not 5 %).
    diff = flow_power - direct_power
    assert abs(diff.mean()) < 3.3 * diff.std(ddof=1) / np.sqrt(trials)


def test_bad_rsrp_messages_are_dropped_and_the_alignment_completes():
    chans = channels.saleh_valenzuela(1, 16, 4, rng=13)
    tb = alignment("qssr", 16, 4, snr_db=300.0, seed=2)
    port = pmt.intern("rsrp")
    tb.aligner.to_basic_block()._post(port, pmt.from_long(3))
    tb.aligner.to_basic_block()._post(port, pmt.to_pmt({"beam_id": 1}))
    result = _run_flowgraph(tb, chans)[0]
    direct = run_batch(make_strategy("qssr", 16, 4), PathMeasurer(chans, 300.0, rng=0), 1)
    assert result["u_tx"] == pytest.approx(direct.u_tx[0], abs=1e-4)


def test_results_carry_the_rsrp_of_every_probe():
    chans = channels.saleh_valenzuela(2, 64, 16, rng=14)
    results = _run_flowgraph(alignment("qssr", 64, 16, snr_db=300.0, seed=5), chans)
    for r in results:
        assert len(r["probes_dbm"]) == r["measurements"] == 20
        assert np.all(np.isfinite(r["probes_dbm"]))


def test_beam_display_turns_a_result_into_pattern_and_probe_vectors():
    from gnuradio import beamalign, blocks, gr

    from gnuradio.beamalign.arrays import ula_steering
    from gnuradio.beamalign.blocks.messages import dict_to_pmt

    tb = gr.top_block()
    display = beamalign.beam_display("tx", 201, 20, 1000.0, -60.0)
    head0 = blocks.head(gr.sizeof_float * 201, 3)
    head1 = blocks.head(gr.sizeof_float * 20, 3)
    sink0, sink1 = blocks.vector_sink_f(201), blocks.vector_sink_f(20)
    tb.connect((display, 0), head0, sink0)
    tb.connect((display, 1), head1, sink1)
    f = ula_steering(64, 0.3)
    display.to_basic_block()._post(pmt.intern("result"), dict_to_pmt(
        {"f": f, "w": ula_steering(16, 0.0), "probes_dbm": np.array([-10.0, -70.0, -3.0])}))
    tb.run()
    pattern = np.array(sink0.data()).reshape(-1, 201)[-1]
    probes = np.array(sink1.data()).reshape(-1, 20)[-1]
    assert np.linspace(-1, 1, 201)[np.argmax(pattern)] == pytest.approx(0.3)
    assert pattern.max() == pytest.approx(0.0, abs=1e-4)  # unit-norm beam on its own direction
    np.testing.assert_allclose(probes[:3], [-10.0, -60.0, -3.0])  # below the floor: the floor
    np.testing.assert_allclose(probes[3:], -60.0)
