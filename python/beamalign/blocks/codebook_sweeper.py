# SPDX-License-Identifier: GPL-3.0-or-later
"""Closed-loop codebook sweep: one beam_cmd per codeword, one rsrp per dwell."""
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from .messages import beam_cmd, dict_to_pmt, pmt_to_dict


class codebook_sweeper(gr.basic_block):
    """Sweeps the beams of a codebook on one side and reports the strongest.

    Sends the fixed weights of the other side (beam_id -1), then each codeword as a
    `beam_cmd`, waiting for the `rsrp` of its dwell before the next. When the sweep
    ends it publishes a `result` message (method "sweep", best beam_id, u, power and
    the RSRP of every beam) and, with repeat, starts over. A `start` message (any
    content) restarts the sweep.

    Args:
        side: "tx" or "rx", the side swept
        codebook: (K, N) weights, one row per beam
        angles: pointing direction u of each beam (K,)
        other_weights: weights of the side not swept
        autostart: sweep as soon as the flowgraph starts
        repeat: start a new sweep after each one ends
        verbose: log each beam's RSRP
    """

    def __init__(self, side="tx", codebook=None, angles=None, other_weights=None,
                 autostart=True, repeat=False, verbose=True):
        gr.basic_block.__init__(self, name="codebook_sweeper", in_sig=None, out_sig=None)
        if side not in ("tx", "rx"):
            raise ValueError(f"side must be 'tx' or 'rx', got {side!r}")
        self.codebook = np.asarray(codebook, dtype=np.complex64)
        if self.codebook.ndim != 2 or self.codebook.shape[0] < 1:
            raise ValueError("codebook must be a non-empty (K, N) array")
        self.angles = (np.full(len(self.codebook), np.nan) if angles is None
                       else np.asarray(angles, dtype=np.float64))
        if self.angles.shape != (len(self.codebook),):
            raise ValueError(f"angles must have {len(self.codebook)} entries")
        self.side = side
        self.other_side = "rx" if side == "tx" else "tx"
        self.other_weights = None if other_weights is None else np.asarray(other_weights, np.complex64)
        self.autostart = autostart
        self.repeat = repeat
        self.verbose = verbose
        self.done = threading.Event()  # set after each completed sweep (for scripts)
        self.last_result = None
        self._index = None
        self._powers = np.full(len(self.codebook), np.nan)
        self._bad_messages = 0

        self.message_port_register_in(pmt.intern(proto.RSRP))
        self.message_port_register_in(pmt.intern(proto.START))
        self.message_port_register_out(pmt.intern(proto.BEAM_CMD))
        self.message_port_register_out(pmt.intern(proto.RESULT))
        self.set_msg_handler(pmt.intern(proto.RSRP), self._handle_rsrp)
        self.set_msg_handler(pmt.intern(proto.START), self._handle_start)

    def start(self):
        if self.autostart:
            self.start_sweep()
        return True

    def _handle_start(self, msg):
        # GNU Radio looks Python handlers up by name: a bound method, not a lambda.
        self.start_sweep()

    def start_sweep(self):
        self.done.clear()
        self._powers[:] = np.nan
        if self.other_weights is not None:
            self.message_port_pub(pmt.intern(proto.BEAM_CMD),
                                  beam_cmd(self.other_side, -1, self.other_weights))
        self._probe(0)

    def _probe(self, index):
        self._index = index
        self.message_port_pub(pmt.intern(proto.BEAM_CMD),
                              beam_cmd(self.side, index, self.codebook[index],
                                       u=float(self.angles[index])))

    def _handle_rsrp(self, msg):
        fields = pmt_to_dict(msg)
        if fields is None or "beam_id" not in fields or "power" not in fields:
            self._bad_messages += 1
            if self._bad_messages == 1:
                self.logger.warn("dropped an rsrp message that is not a dict with beam_id and power")
            return
        if self._index is None or fields[proto.BEAM_ID] != self._index:
            return  # a dwell of other weights (e.g. the fixed side's switch)
        power = float(fields[proto.POWER])
        self._powers[self._index] = power
        if self.verbose:
            self.logger.info(f"beam {self._index:3d}  u = {self.angles[self._index]:+.4f}  "
                             f"rsrp = {fields['rsrp_dbm']:7.2f} dBm")
        if self._index + 1 < len(self.codebook):
            self._probe(self._index + 1)
            return
        self._finish()

    def _finish(self):
        best = int(np.nanargmax(self._powers))
        self.last_result = {
            proto.METHOD: "sweep", proto.SIDE: self.side, proto.BEAM_ID: best,
            proto.U: float(self.angles[best]), proto.POWER: float(self._powers[best]),
            proto.MEASUREMENTS: len(self.codebook), proto.POWERS: self._powers.copy(),
        }
        self._index = None
        self.message_port_pub(pmt.intern(proto.RESULT), dict_to_pmt(self.last_result))
        if self.verbose:
            self.logger.info(f"best beam {best} at u = {self.angles[best]:+.4f} "
                             f"({10 * np.log10(self._powers[best]):.2f} dB)")
        self.done.set()
        if self.repeat:
            self.start_sweep()
