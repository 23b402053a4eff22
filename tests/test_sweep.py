# SPDX-License-Identifier: GPL-3.0-or-later
"""The closed-loop sweep flowgraph (make demo) and the command line."""
import json
import subprocess
import sys

import numpy as np

from gnuradio.beamalign import codebooks
from gnuradio.beamalign.flowgraphs import rsrp_sweep


def test_noiseless_sweep_measures_every_beam_exactly():
    nt, nr = 32, 8
    tb = rsrp_sweep(nt=nt, nr=nr, snr_db=300.0, seed=3)
    result = tb.run_sweep(timeout=60)
    h = np.asarray(tb.channel_info.messages[-1]["h"]).reshape(nr, nt)
    true_power = np.abs(codebooks.dft_codebook(nt) @ h[0]) ** 2  # Rx antenna 0, each Tx beam
    np.testing.assert_allclose(result["powers"], true_power, rtol=1e-4, atol=1e-9)
    assert result["beam_id"] == int(np.argmax(true_power))
    assert result["measurements"] == nt


def test_noisy_sweep_finds_the_strongest_path():
    tb = rsrp_sweep(nt=64, nr=16, snr_db=20.0, seed=1)
    result = tb.run_sweep(timeout=60)
    info = tb.channel_info.messages[-1]
    u_true = info["u_tx"][np.argmax(np.abs(info["gains"]))]
    assert abs(result["u"] - u_true) <= 1 / 64 + 1e-9  # the nearest codeword


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_version():
    out = _cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip().startswith("beamalign 0.")


def test_cli_sweep_prints_every_beam_and_the_truth(tmp_path):
    out = _cli("sweep", "--nt", "16", "--nr", "4", "--snr-db", "30", "--seed", "2",
               "--json", str(tmp_path / "sweep.json"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert sum(1 for line in lines if line.strip()[:2].strip().isdigit()) == 16
    assert "true AoD" in lines[-1]
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert len(saved["measured_power"]) == 16
    assert abs(saved["u_best"] - saved["u_true"]) <= 1 / 16 + 1e-9


def test_cli_rejects_unknown_experiment():
    out = _cli("bench", "nonsense")
    assert out.returncode != 0
    assert "invalid choice" in out.stderr
