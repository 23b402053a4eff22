# SPDX-License-Identifier: GPL-3.0-or-later
"""Every message port of every block (C++ and Python) fed a few hundred seeded malformed
messages, each block in its own process: no crash, no hang, no exception escaping a
handler, and the block still answers a well-formed message afterwards."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

PORTS = [("sim_array_source", "beam_cmd"), ("sim_array_source", "channel"),
         ("beam_combiner", "beam_cmd"),
         ("beam_aligner", "rsrp"), ("beam_aligner", "start"), ("beam_aligner", "abort"),
         ("beam_aligner", "channel_info"),
         ("codebook_sweeper", "rsrp"), ("codebook_sweeper", "start"),
         ("beam_display", "result"), ("message_link", "in"),
         ("beam_predictor", "rsrp"), ("beam_predictor", "start"), ("beam_predictor", "abort"),
         ("beam_predictor", "channel_info"), ("dataset_channel_source", "start"),
         ("result_display", "result"), ("position_map", "result"),
         ("position_map", "channel")]
MESSAGES = 300
# Ports where every garbage message is a well-formed one (any message means "start" or
# "abort"), or which forward whatever comes: nothing to count as malformed.
ANYTHING_GOES = {("beam_aligner", "start"), ("beam_aligner", "abort"),
                 ("codebook_sweeper", "start"), ("message_link", "in"),
                 ("beam_predictor", "start"), ("beam_predictor", "abort"),
                 ("dataset_channel_source", "start")}


@pytest.mark.parametrize("block, port", PORTS, ids=[f"{b}.{p}" for b, p in PORTS])
def test_a_port_survives_malformed_messages(block, port):
    script = Path(__file__).with_name("fuzz_port.py")
    try:
        run = subprocess.run([sys.executable, str(script), block, port, "1", str(MESSAGES)],
                             capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block}.{port} hung")
    assert run.returncode == 0, f"{block}.{port} crashed ({run.returncode}):\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    counts = json.loads(run.stdout.strip().splitlines()[-1])
    print(counts)
    assert counts["internal"] == 0, counts
    assert counts["answered"], counts
    if (block, port) not in ANYTHING_GOES:
        # A quarter of the garbage is not a dict at all, and half of the rest breaks a
        # field the block uses; the others (an extra key, a broken field the block does
        # not read) are valid messages.
        assert counts["malformed"] >= MESSAGES // 3, counts
