# SPDX-License-Identifier: GPL-3.0-or-later
"""A site's user grid, a user's true position and a predictor's estimate, as complex
streams (x + j y, metres from the BS) for a Qt GUI constellation sink: a map."""
import threading

import numpy as np
from gnuradio import gr

from .. import protocol as proto
from ..predict import sector_system, sites
from ..predict.datasets import resolve
from .validate import (
    BadInput,
    DisplayPace,
    GuardedBlock,
    fields_of,
    guarded,
    successful_result,
    vector,
)


class position_map(GuardedBlock, gr.sync_block):
    """Output 0: the users of the data set (of one sector, or all with sector -1),
    subsampled to `points`; output 1: the true position of the last `channel` message
    (its `position` field); output 2: the last `result`'s estimated `position` (seed
    002's fusion predictor). Each output repeats its points, `points` items per frame at
    rate_hz (a display's pace). Positions are x + j y in metres from the BS.

    Malformed messages are counted (`malformed_messages()`), logged once and dropped.
    """

    def __init__(self, dataset="munich-3p5ghz", sector=-1, points=1024, rate_hz=10.0):
        gr.sync_block.__init__(self, name="position_map", in_sig=None,
                               out_sig=[np.complex64, np.complex64, np.complex64])
        if points < 1 or not rate_hz > 0:
            raise ValueError("points must be >= 1 and rate_hz > 0")
        site = sites.load_site(resolve(dataset))
        users = np.arange(len(site)) if sector < 0 else np.flatnonzero(
            sector_system.sector_of(site) == sector)
        relative = site.positions[users, :2] - site.bs_position[:2]
        pick = np.linspace(0, len(relative) - 1, min(points, len(relative))).astype(int)
        grid = relative[pick, 0] + 1j * relative[pick, 1]
        self.bs_position = site.bs_position
        self.points, self.pace = int(points), DisplayPace(rate_hz)
        self.grid = np.resize(grid, self.points).astype(np.complex64)
        self.bad_input = BadInput()
        self._lock = threading.Lock()
        self._true = np.complex64(np.nan)
        self._estimate = np.complex64(np.nan)
        self._offset = 0
        self.register_message_ports({proto.RESULT: self._handle_result,
                                     proto.CHANNEL: self._handle_channel})

    @guarded
    def _handle_result(self, msg):
        fields = successful_result(msg)
        if fields is None:
            return
        position = vector(fields, proto.POSITION, "result", length=2)
        with self._lock:
            self._estimate = np.complex64(position[0] + 1j * position[1])

    @guarded
    def _handle_channel(self, msg):
        fields = fields_of(msg, "channel")
        position = vector(fields, proto.POSITION, "channel", length=3)
        relative = position[:2] - self.bs_position[:2]
        with self._lock:
            self._true = np.complex64(relative[0] + 1j * relative[1])

    def work(self, input_items, output_items):
        self.pace.wait()
        count = min(len(output_items[0]), self.points)
        index = (self._offset + np.arange(count)) % self.points
        self._offset = (self._offset + count) % self.points
        with self._lock:
            output_items[0][:count] = self.grid[index]
            output_items[1][:count] = self._true
            output_items[2][:count] = self._estimate
        return count
