# SPDX-License-Identifier: GPL-3.0-or-later
"""One numeric field of a controller's `result` as a vector stream for Qt GUI sinks."""
import threading

import numpy as np
from gnuradio import gr

from .. import protocol as proto
from .validate import (
    BadInput,
    DisplayPace,
    GuardedBlock,
    MessageError,
    guarded,
    successful_result,
    vector,
)


class result_display(GuardedBlock, gr.sync_block):
    """The last successful result's `field` (a number or a vector, e.g. beam_id,
    probes_dbm, scores) as a float vector of `length`, padded with `fill`, emitted at
    rate_hz (a display's pace). With one_hot, a number n is shown as a vector of zeros
    with a one at entry n (e.g. the chosen beam over the codebook).

    A result without the field, or with a field too long for `length`, is counted as
    malformed (`malformed_messages()`), logged once and dropped.
    """

    def __init__(self, field="scores", length=128, rate_hz=10.0, fill=0.0, one_hot=False):
        gr.sync_block.__init__(self, name="result_display", in_sig=None,
                               out_sig=[(np.float32, length)])
        if length < 1 or not rate_hz > 0:
            raise ValueError("length must be >= 1 and rate_hz > 0")
        self.field, self.length, self.fill = str(field), int(length), float(fill)
        self.one_hot = bool(one_hot)
        self.pace = DisplayPace(rate_hz)
        self.bad_input = BadInput()
        self._lock = threading.Lock()
        self._shown = np.full(self.length, self.fill, dtype=np.float32)
        self.register_message_ports({proto.RESULT: self._handle_result})

    @guarded
    def _handle_result(self, msg):
        fields = successful_result(msg)
        if fields is None:
            return
        value = fields.get(self.field)
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            fields = {self.field: [value]}
        values = vector(fields, self.field, "result", max_length=self.length)
        shown = np.full(self.length, self.fill, dtype=np.float32)
        if self.one_hot:
            index = int(values[0]) if len(values) == 1 else -1
            if not 0 <= index < self.length:
                raise MessageError(f"result field '{self.field}' is not an index below "
                                   f"{self.length}")
            shown[:] = 0.0
            shown[index] = 1.0
        else:
            shown[:len(values)] = values
        with self._lock:
            self._shown = shown

    def work(self, input_items, output_items):
        self.pace.wait()
        with self._lock:
            output_items[0][0] = self._shown
        return 1
