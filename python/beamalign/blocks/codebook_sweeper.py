# SPDX-License-Identifier: GPL-3.0-or-later
"""Closed-loop codebook sweep: one beam_cmd per codeword, one rsrp per dwell."""
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from .messages import beam_cmd, dict_to_pmt
from .validate import (
    BadInput,
    GuardedBlock,
    MessageError,
    Watchdog,
    dwell_reading,
    fields_of,
    guarded,
    integer,
)


class codebook_sweeper(GuardedBlock, gr.basic_block):
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
        dwell_timeout_s: how long to wait for a beam's `rsrp` before probing it again
        max_reprobes: re-probes of one beam before the sweep ends with `failed` true

    Malformed messages are counted (`malformed_messages()`), logged once per kind and
    dropped; an `rsrp` with `complete` false is a lost dwell.
    """

    def __init__(self, side="tx", codebook=None, angles=None, other_weights=None,
                 autostart=True, repeat=False, verbose=True, dwell_timeout_s=0.5,
                 max_reprobes=3):
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
        if not dwell_timeout_s > 0 or int(max_reprobes) < 0:
            raise ValueError("dwell_timeout_s must be > 0 and max_reprobes >= 0")
        self.dwell_timeout_s, self.max_reprobes = float(dwell_timeout_s), int(max_reprobes)
        self.bad_input = BadInput()
        self._lock = threading.RLock()
        self._watchdog = Watchdog(self._dwell_timed_out)
        self._sequence = 0  # beam_cmd ids: a fresh one per dwell, so late answers are known
        self._retries = 0

        self.register_message_ports(
            {proto.RSRP: self._handle_rsrp, proto.START: self._handle_start},
            outputs=(proto.BEAM_CMD, proto.RESULT))

    def start(self):
        self._watchdog.start()
        if self.autostart:
            self.start_sweep()
        return True

    def stop(self):
        self._watchdog.stop()
        return True

    @guarded
    def _handle_start(self, msg):
        # GNU Radio looks Python handlers up by name: a bound method, not a lambda.
        self.start_sweep()

    def start_sweep(self):
        with self._lock:
            self.done.clear()
            self._powers[:] = np.nan
            self._retries = 0
            self._probe(0)

    def _probe(self, index, resend=False):
        """Commands beam `index` (and the fixed side first, at the start or after a
        loss); the dwell's id is a fresh sequence number."""
        self._index = index
        self._sequence += 1
        if self.other_weights is not None and (index == 0 or resend):
            self.message_port_pub(pmt.intern(proto.BEAM_CMD),
                                  beam_cmd(self.other_side, -self._sequence, self.other_weights))
        self.message_port_pub(pmt.intern(proto.BEAM_CMD),
                              beam_cmd(self.side, self._sequence, self.codebook[index],
                                       u=float(self.angles[index]), index=index))
        self._watchdog.arm(self.dwell_timeout_s, self._sequence)

    def _reprobe(self, why):
        self._retries += 1
        if self._retries > self.max_reprobes:
            self._fail(f"{why} after {self.max_reprobes} re-probes of beam {self._index}")
            return
        self._probe(self._index, resend=True)

    def _dwell_timed_out(self, sequence):
        with self._lock:
            if self._index is not None and sequence == self._sequence:
                self._reprobe(f"no rsrp within {self.dwell_timeout_s:g} s")

    @guarded
    def _handle_rsrp(self, msg):
        fields = fields_of(msg, "rsrp")
        beam_id = integer(fields, proto.BEAM_ID, "rsrp")
        try:
            complete, power, dbm = dwell_reading(fields)
        except MessageError:
            with self._lock:
                if self._index is not None and beam_id == self._sequence:
                    self._reprobe("unusable rsrp")
            raise
        with self._lock:
            if self._index is None or beam_id != self._sequence:
                return  # a dwell of other weights, or a late answer to an earlier probe
            if not complete:
                self._reprobe("incomplete dwell")
                return
            self._retries = 0
            self._powers[self._index] = power
            if self.verbose:
                self.logger.info(f"beam {self._index:3d}  u = {self.angles[self._index]:+.4f}  "
                                 f"rsrp = {dbm:7.2f} dBm")
            if self._index + 1 < len(self.codebook):
                self._probe(self._index + 1)
                return
            self._finish()

    def _fail(self, reason):
        self._index = None
        self._watchdog.disarm()
        self.last_result = {proto.METHOD: "sweep", proto.SIDE: self.side, proto.FAILED: True,
                            proto.REASON: reason}
        self.message_port_pub(pmt.intern(proto.RESULT), dict_to_pmt(self.last_result))
        self.logger.warn(f"sweep failed: {reason}")
        self.done.set()

    def _finish(self):
        self._watchdog.disarm()
        best = int(np.nanargmax(self._powers))
        self.last_result = {
            proto.METHOD: "sweep", proto.FAILED: False, proto.SIDE: self.side,
            proto.BEAM_ID: best,
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
