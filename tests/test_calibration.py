# SPDX-License-Identifier: GPL-3.0-or-later
"""Calibration files: round trip, refusal naming the field, atomic writes, use in blocks."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gnuradio.beamalign.arrays import (
    AngleDependentPhaseError,
    Calibration,
    load_calibration,
    save_calibration,
)
from gnuradio.beamalign.fileio import FileFormatError


def _calibration(n=8, side="rx", seed=0, table=False):
    rng = np.random.default_rng(seed)
    return Calibration("array-A", side, rng.normal(0, 0.3, n), rng.normal(0, 0.05, n),
                       source_run="test", angle_table=(AngleDependentPhaseError.sample(n, 2, rng=seed)
                                                       if table else None))


def test_round_trip_with_the_angle_table(tmp_path):
    original = _calibration(table=True)
    save_calibration(tmp_path / "cal.json", original)
    loaded = load_calibration(tmp_path / "cal.json", num_elements=8, side="rx", array_id="array-A")
    np.testing.assert_array_equal(loaded.phase_rad, original.phase_rad)
    np.testing.assert_array_equal(loaded.position_wl, original.position_wl)
    np.testing.assert_array_equal(loaded.angle_table.table_rad, original.angle_table.table_rad)
    np.testing.assert_allclose(loaded.combiner_vector(), np.exp(-1j * original.phase_rad), atol=1e-6)


@pytest.mark.parametrize("corrupt, field", [
    (lambda d: d.pop("phase_rad"), "phase_rad"),
    (lambda d: d.__setitem__("position_wl", d["position_wl"][:3]), "position_wl"),
    (lambda d: d.__setitem__("phase_rad", [float("nan")] * 8), "phase_rad"),
    (lambda d: d.__setitem__("num_elements", 16), "num_elements"),
    (lambda d: d.__setitem__("side", "up"), "side"),
    (lambda d: d.__setitem__("schema_version", 7), "schema_version"),
    (lambda d: d.__setitem__("kind", "beamalign.model"), "kind"),
])
def test_corrupt_files_are_refused_naming_the_field(tmp_path, corrupt, field):
    path = tmp_path / "cal.json"
    save_calibration(path, _calibration())
    document = json.loads(path.read_text())
    corrupt(document)
    path.write_text(json.dumps(document))
    with pytest.raises(FileFormatError, match=field):
        load_calibration(path, num_elements=8, side="rx")


def test_mismatched_and_truncated_files_are_refused(tmp_path):
    path = tmp_path / "cal.json"
    save_calibration(path, _calibration(side="tx"))
    with pytest.raises(FileFormatError, match="side"):
        load_calibration(path, side="rx")
    with pytest.raises(FileFormatError, match="num_elements"):
        load_calibration(path, num_elements=4)
    with pytest.raises(FileFormatError, match="array_id"):
        load_calibration(path, array_id="array-B")
    path.write_text(path.read_text()[: len(path.read_text()) // 2])
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_calibration(path)


WRITER = """
import sys, numpy as np
from gnuradio.beamalign.arrays import AngleDependentPhaseError, Calibration, save_calibration
path = sys.argv[1]
k = 0
while True:  # large files, written again and again until the process is killed
    k += 1
    table = AngleDependentPhaseError.sample(16, 16, rng=k)
    save_calibration(path, Calibration("array-A", "rx", np.full(16, k * 1e-3), np.zeros(16),
                                       source_run=str(k), angle_table=table))
"""


@pytest.mark.parametrize("phase, position", [
    ([0.1, float("nan")], [0.0, 0.0]), ([0.1, 0.2], [0.0, float("inf")]), ([], []),
    ([0.1, 0.2], [0.0])])
def test_a_calibration_its_loader_would_refuse_is_never_written(tmp_path, phase, position):
    path = tmp_path / "cal.json"
    with pytest.raises(ValueError):
        save_calibration(path, Calibration("a", "rx", np.array(phase), np.array(position)))
    assert not path.exists()


def test_killing_the_writer_never_leaves_an_unreadable_file(tmp_path):
    path = tmp_path / "cal.json"
    save_calibration(path, _calibration(n=16))
    runs = set()
    for delay in (0.3, 0.55, 0.8, 1.1, 1.4):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        time.sleep(delay)  # let it get into the middle of some write, then kill it
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        loaded = load_calibration(path, num_elements=16, side="rx")  # never half a file
        runs.add(loaded.source_run)
    assert len(runs) > 1  # the writer did replace the file between kills


def test_combiner_keeps_its_calibration_when_a_file_is_bad(tmp_path):
    from gnuradio import beamalign

    from gnuradio.beamalign.blocks.calibration import apply_to_combiner

    combiner = beamalign.beam_combiner(8, 0, [])
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    save_calibration(good, _calibration())
    save_calibration(bad, _calibration(n=4))
    calibration = apply_to_combiner(combiner, good)
    with pytest.raises(FileFormatError, match="num_elements"):
        apply_to_combiner(combiner, bad)
    # The good calibration is still applied: one sample per channel shows the factors.
    from gnuradio import blocks, gr
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    for ch in range(8):
        x = [0j] * 8
        x[ch] = 1 + 0j
        tb.connect(blocks.vector_source_c(x), (combiner, ch))
    tb.connect(combiner, sink)
    tb.run()
    w = np.array(combiner.weights())
    np.testing.assert_allclose(sink.data(), w.conj() * calibration.combiner_vector(), atol=1e-6)


def test_aligner_compensates_with_calibration_files(tmp_path):
    from gnuradio import beamalign
    tx, rx = _calibration(n=64, side="tx", seed=1), _calibration(n=16, side="rx", seed=2)
    save_calibration(tmp_path / "tx.json", tx)
    save_calibration(tmp_path / "rx.json", rx)
    save_calibration(tmp_path / "short.json", _calibration(n=8, side="rx"))
    aligner = beamalign.beam_aligner("qssr-net-impair", 64, 16)
    aligner.load_calibration(tmp_path / "tx.json", tmp_path / "rx.json")
    np.testing.assert_allclose(aligner.strategy.tx_estimate.phase_rad, tx.phase_rad)
    with pytest.raises(FileFormatError, match="num_elements"):
        aligner.load_calibration(tmp_path / "tx.json", tmp_path / "short.json")
    np.testing.assert_allclose(aligner.strategy.rx_estimate.phase_rad, rx.phase_rad)  # kept
    with pytest.raises(ValueError, match="qssr-net-impair"):
        beamalign.beam_aligner("qssr", 64, 16).load_calibration(tmp_path / "tx.json",
                                                                tmp_path / "rx.json")
