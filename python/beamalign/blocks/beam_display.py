# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns alignment messages into vectors for Qt GUI sinks (a display adapter only)."""
import threading

import numpy as np
from gnuradio import gr

from .. import protocol as proto
from ..arrays.geometry import ula_steering
from .validate import (
    BadInput,
    DisplayPace,
    GuardedBlock,
    MessageError,
    guarded,
    successful_result,
    vector,
)


class beam_display(GuardedBlock, gr.sync_block):
    """Beam pattern of the chosen beam and the RSRP of each probe, as vector streams.

    Output 0: the gain |a(N, u)^H b|^2 in dB of the last result's Tx beam (side "tx") or
    Rx beam (side "rx") on `points` directions u in [-1, 1]. Output 1: the RSRP (dBm) of
    the probes of the last alignment (the result's probes_dbm), padded with the floor. Vectors are emitted at
    `rate_hz`, the pace of a display, not of the radio.

    Args:
        side: "tx" or "rx", whose beam pattern to show
        points: directions in the pattern
        probes: RSRP entries shown (the method's measurement count)
        rate_hz: vectors per second
        floor_db: value for empty entries and the pattern's lower bound
        max_elements: the largest beam a result may carry (bigger ones are refused, so a
            message never decides how much memory the block allocates)

    Malformed results are counted (`malformed_messages()`), logged once and dropped.
    """

    def __init__(self, side="tx", points=512, probes=20, rate_hz=10.0, floor_db=-60.0,
                 max_elements=1024):
        gr.sync_block.__init__(self, name="beam_display", in_sig=None,
                               out_sig=[(np.float32, points), (np.float32, probes)])
        if side not in ("tx", "rx"):
            raise ValueError(f"side must be 'tx' or 'rx', got {side!r}")
        if points < 1 or probes < 1 or not rate_hz > 0 or max_elements < 1:
            raise ValueError("points, probes, max_elements must be >= 1 and rate_hz > 0")
        self.side, self.points, self.probes = side, points, probes
        self.max_elements = int(max_elements)
        self.bad_input = BadInput()
        self.pace = DisplayPace(rate_hz)
        self.floor_db = floor_db
        self.grid = np.linspace(-1, 1, points)
        self._lock = threading.Lock()
        self._pattern = np.full(points, floor_db, dtype=np.float32)
        self._rsrp = np.full(probes, floor_db, dtype=np.float32)
        self.register_message_ports({proto.RESULT: self._handle_result})

    @guarded
    def _handle_result(self, msg):
        fields = successful_result(msg)
        if fields is None:
            return  # a failed alignment has no beam to show
        beam = vector(fields, proto.F if self.side == "tx" else proto.W, "result",
                      max_length=self.max_elements, complex_values=True)
        if len(beam) == 0:
            raise MessageError("result beam is empty")
        gain = np.abs(ula_steering(len(beam), self.grid).conj() @ beam) ** 2
        # The result carries its own probes: separate ports have no common order.
        probes = np.full(self.probes, self.floor_db)
        taken = vector(fields, proto.PROBES_DBM, "result", max_length=1 << 16,
                       required=False)
        taken = np.zeros(0) if taken is None else taken[:self.probes]
        probes[:len(taken)] = np.maximum(taken, self.floor_db)
        with self._lock:
            self._pattern = np.maximum(10 * np.log10(np.maximum(gain, 1e-12)),
                                       self.floor_db).astype(np.float32)
            self._rsrp = probes.astype(np.float32)

    def work(self, input_items, output_items):
        self.pace.wait()
        with self._lock:
            output_items[0][0] = self._pattern
            output_items[1][0] = self._rsrp
        return 1
