# SPDX-License-Identifier: GPL-3.0-or-later
"""pc_hbf_source -> chanest_estimator in a flowgraph: chanest messages, truth from the
channel tag, NaN vectors skipped, and `beamalign chanest`."""
import json
import subprocess
import sys

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
        # At most the joint support: K_hat (4) or the paths found, up to the dictionary
        # stage's support of 8, plus 4 extra atoms.
        assert 1 <= len(m["paths"]) <= 12
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


def test_chanest_benches_take_the_array_and_run_in_chunks(tmp_path):
    # 30 trials = two chunks (25 + 5); 16 x 16 with m = 4 has four chains per column.
    path = tmp_path / "arrays.json"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "bench",
                          "chanest-arrays", "--arrays", "16x16x4,32x8x4", "--paths", "3",
                          "--trials", "30", "--nlos-power", "0.3", "--quiet", "--json",
                          str(path), "--png", str(tmp_path / "arrays.png")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    doc = json.loads(path.read_text())
    assert doc["params"]["chunk_trials"] == 25 and doc["params"]["nlos_power"] == 0.3
    nmse = {(r["array"], r["method"], r["beam"]): r for r in doc["rows"]
            if r["metric"] == "nmse_db"}
    assert set(nmse) == {(a, m, b) for a in ("16x16x4", "32x8x4") for m, b in
                         (("sc-vbi", "groupwise-eda"), ("gw-sc-vbi", "groupwise-eda"),
                          ("sc-vbi", "random"))}
    assert all(r["trials"] == 30 and r["x"] == 3 and r["worst_db"] >= r["median_db"]
               for r in nmse.values())
    # Three paths at 20 dB: every estimator recovers the channel to well below 0 dB.
    assert all(r["value"] < -5.0 for r in nmse.values())
    ratios = [r for r in doc["rows"] if r["metric"] == "ratio"]
    assert len(ratios) == 2 and all(0 < r["value"] < 5 for r in ratios)
    assert (tmp_path / "arrays.png").stat().st_size > 10_000


def test_chanest_bench_rows_do_not_depend_on_where_chunks_ran(tmp_path):
    docs = []
    for engine in ([], ["--workers", "2"]):
        path = tmp_path / f"beams{len(engine)}.json"
        run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "bench",
                              "chanest-paths", "--trials", "6", "--nx", "16", "--nz", "8",
                              "--groups", "2", "--quiet", "--json", str(path), *engine],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        docs.append(json.loads(path.read_text()))
    assert docs[0]["params"]["groups"] == 2 and docs[0]["params"]["nx"] == 16
    nmse = lambda doc: [(r["method"], r["beam"], r["x"], r["value"], r["median_db"])  # noqa: E731
                        for r in doc["rows"] if r["metric"] == "nmse_db"]
    assert len(nmse(docs[0])) == 4 * 7 and nmse(docs[0]) == nmse(docs[1])
