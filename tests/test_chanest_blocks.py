# SPDX-License-Identifier: GPL-3.0-or-later
"""pc_hbf_source -> chanest_estimator in a flowgraph: chanest messages, truth from the
channel tag, NaN vectors skipped, and `beamalign chanest`."""
import numpy as np
import pytest
from gnuradio import beamalign, blocks, gr

from gnuradio.beamalign.blocks.message_recorder import message_recorder
from gnuradio.beamalign.flowgraphs import channel_estimation


def test_flowgraph_publishes_one_scored_estimate_per_pilot():
    tb = channel_estimation(method="gw-sc-vbi", num_pilots=8, snr_db=20.0, seed=3)
    messages = tb.estimates()
    assert [m["pilot"] for m in messages] == list(range(8))
    for m in messages:
        assert m["method"] == "gw-sc-vbi"
        assert m["h"].shape == (256,) and m["h"].dtype == np.complex64
        assert 1 <= len(m["paths"]) <= 8
        powers = [p["power_db"] for p in m["paths"]]
        assert powers == sorted(powers, reverse=True)
        assert m["cpu_s"] > 0
    # The truth comes from the source's channel tag; GW-SC-VBI at 20 dB sits near -22 dB.
    assert np.median([m["nmse_db"] for m in messages]) < -15.0


def test_estimator_skips_nan_vectors_and_keeps_running():
    source = beamalign.pc_hbf_source(num_pilots=3, seed=1)
    tb = gr.top_block()
    sink = blocks.vector_sink_c(64)
    tb.connect(source, sink)
    tb.run()
    vectors = np.asarray(sink.data(), np.complex64).reshape(3, 64)
    vectors[1, 5] = np.nan
    tb = gr.top_block()
    replay = blocks.vector_source_c(vectors.ravel().tolist(), False, 64)
    estimator = beamalign.chanest_estimator("sc-vbi", seed=1)
    recorder = message_recorder()
    tb.connect(replay, estimator)
    tb.msg_connect(estimator, "chanest", recorder, "in")
    tb.run()
    assert recorder.wait_for(2, 5.0)
    assert [m["pilot"] for m in recorder.messages] == [0, 2]
    assert estimator.bad_vectors == 1
    assert "nmse_db" not in recorder.messages[0]  # no channel tag reached it


def test_blocks_refuse_bad_parameters():
    with pytest.raises(ValueError, match="multiple of m"):
        beamalign.pc_hbf_source(nz=6, m=4)
    with pytest.raises(ValueError, match="unknown beam"):
        beamalign.pc_hbf_source(beam="pencil")
    with pytest.raises(ValueError, match="unknown method"):
        beamalign.chanest_estimator("music")
    with pytest.raises(Exception, match="no such file"):
        beamalign.chanest_estimator(grouping="/nonexistent/grouping.json")


def test_cli_chanest_prints_the_nmse(capsys):
    from gnuradio.beamalign.cli import main

    assert main(["chanest", "--pilots", "3", "--method", "omp", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "omp with groupwise beams at 20 dB" in out and "NMSE" in out
