# SPDX-License-Identifier: GPL-3.0-or-later
"""Closed-loop beam prediction (seed 001 Algorithm 1): a thin adapter over
beamalign.predict.predictor.

Same protocol as beam_aligner: `beam_cmd` out, `rsrp` in, `result` out.
"""
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..predict.predictor import load_predictor
from .messages import beam_cmd, dict_to_pmt
from .results import ResultHistory
from .validate import (
    BadInput,
    GuardedBlock,
    MessageError,
    Watchdog,
    dwell_reading,
    fields_of,
    guarded,
    integer,
    vector,
)


class beam_predictor(GuardedBlock, gr.basic_block, ResultHistory):
    """Transmits the learned probe beams, predicts the best codebook beam from their
    RSRPs, re-probes the top_k candidates and keeps the strongest.

    Each probe and candidate is a Tx `beam_cmd` with a fresh beam_id; an `rsrp` counts
    only when its tx_beam_id (or beam_id) is the latest command's. A lost dwell (no
    `rsrp` within dwell_timeout_s, `complete` false, a non-finite power) is probed
    again up to max_reprobes times, then the prediction ends with a `result` that has
    `failed` true and a `reason`. The `result`: method "probe-predictor", beam_id (the
    chosen codebook beam, left applied), top_k, probes_dbm, powers (of the candidates),
    measurements, scores, and with a `channel_info` of the true channel `best_beam`
    and `snr_loss_db`. Malformed messages on any port are counted, logged once per
    kind and dropped.

    With seed 002's fusion predictor (model "fusion" or its weight file) the probes are
    the 16 beams of the sector's 4 x 4 codebook, the candidates come from its 8 x 8 or
    16 x 16 codebook, and the result also carries `position`, the user's estimated
    position (m from the BS).

    Args:
        model: weight file ("" for the shipped probe predictor, "fusion" for the shipped
            fusion predictor)
        bits: phase-shifter bits the probes and beams are quantised to (0: none)
        top_k: candidates re-probed
        autostart: predict once when the flowgraph starts
        verbose: log each result
        dwell_timeout_s, max_reprobes: as beam_aligner's
        sector: the BS sector this panel serves (fusion predictor: its head)
    """

    def __init__(self, model="", bits=0, top_k=5, autostart=False, verbose=True,
                 dwell_timeout_s=0.5, max_reprobes=3, sector=0):
        gr.basic_block.__init__(self, name="beam_predictor", in_sig=None, out_sig=None)
        # The model loads here, so a bad file fails at construction.
        self.predictor = load_predictor(model or "probe-predictor", bits, sector)
        self.codebook = self.predictor.beam_weights
        if not 1 <= int(top_k) <= self.predictor.beams:
            raise ValueError(f"top_k must be in [1, {self.predictor.beams}], got {top_k}")
        if not dwell_timeout_s > 0 or int(max_reprobes) < 0:
            raise ValueError("dwell_timeout_s must be > 0 and max_reprobes >= 0")
        self.top_k, self.autostart, self.verbose = int(top_k), autostart, verbose
        self.dwell_timeout_s, self.max_reprobes = float(dwell_timeout_s), int(max_reprobes)
        self._init_results()
        self.bad_input = BadInput()
        self._lock = threading.RLock()
        self._watchdog = Watchdog(self._dwell_timed_out)
        self._sequence = 0
        self._retries = 0
        self._plan = None  # the weights of the running prediction's dwells, in order
        self._step = None
        self._channel = None  # (N,) true channel (h^H w convention) from channel_info

        self.register_message_ports(
            {proto.RSRP: self._handle_rsrp, proto.START: self._handle_start,
             proto.ABORT: self._handle_abort, proto.CHANNEL_INFO: self._handle_channel_info},
            outputs=(proto.BEAM_CMD, proto.RESULT))

    def start(self):
        self._watchdog.start()
        if self.autostart:
            self.predict()
        return True

    def stop(self):
        self._watchdog.stop()
        return True

    @guarded
    def _handle_start(self, msg):
        self.predict()

    @guarded
    def _handle_abort(self, msg):
        with self._lock:
            if self._plan is not None:
                self._end_failed("aborted")

    @guarded
    def _handle_channel_info(self, msg):
        fields = fields_of(msg, "channel_info")
        h = vector(fields, proto.H, "channel_info", length=self.codebook.shape[1],
                   complex_values=True)
        with self._lock:
            self._channel = np.conj(h)  # the source's row of H is h^H

    def predict(self):
        """Starts a prediction: the probes first."""
        with self._lock:
            if self._plan is not None:
                self._end_failed("restarted before it ended")
            self._plan = list(self.predictor.probe_weights)
            self._probe_dbm, self._candidates, self._powers = [], None, []
            self._retries = 0
            self._send(0)

    def _send(self, step):
        self._step = step
        self._sequence += 1
        self.message_port_pub(pmt.intern(proto.BEAM_CMD),
                              beam_cmd(proto.SIDE_TX, self._sequence, self._plan[step]))
        self._watchdog.arm(self.dwell_timeout_s, self._sequence)

    def _dwell_timed_out(self, sequence):
        with self._lock:
            if self._plan is not None and sequence == self._sequence:
                self._reprobe(f"no rsrp within {self.dwell_timeout_s:g} s")

    def _reprobe(self, why):
        self._retries += 1
        if self._retries > self.max_reprobes:
            self._end_failed(f"{why} after {self.max_reprobes} re-probes of dwell {self._step}")
            return
        self._send(self._step)

    @guarded
    def _handle_rsrp(self, msg):
        fields = fields_of(msg, "rsrp")
        beam_id = integer(fields, proto.BEAM_ID, "rsrp")
        tx_id = integer(fields, proto.TX_BEAM_ID, "rsrp", default=beam_id)
        try:
            complete, power, dbm = dwell_reading(fields)
        except MessageError:
            with self._lock:
                if self._plan is not None and tx_id == self._sequence:
                    self._reprobe("unusable rsrp")
            raise
        with self._lock:
            if self._plan is None or tx_id != self._sequence:
                return  # another controller's dwell or a late answer
            if not complete:
                self._reprobe("incomplete dwell")
                return
            self._retries = 0
            self._take(power, dbm)

    def _take(self, power, dbm):
        if self._candidates is None:
            self._probe_dbm.append(dbm)
            if len(self._probe_dbm) < self.predictor.probes:
                self._send(self._step + 1)
                return
            top, self._scores = self.predictor.top_k(np.array(self._probe_dbm), self.top_k)
            self._candidates = [int(b) for b in top]
            self._plan += [self.codebook[b] for b in self._candidates]
            self._send(self._step + 1)
            return
        self._powers.append(power)
        if len(self._powers) < len(self._candidates):
            self._send(self._step + 1)
            return
        self._finish()

    def _finish(self):
        self._watchdog.disarm()
        chosen = self._candidates[int(np.argmax(self._powers))]
        result = {proto.METHOD: "probe-predictor", proto.FAILED: False,
                  proto.BEAM_ID: chosen, proto.TOP_K: np.array(self._candidates, np.float32),
                  proto.PROBES_DBM: np.array(self._probe_dbm, np.float32),
                  proto.POWERS: np.array(self._powers, np.float32),
                  proto.MEASUREMENTS: len(self._plan), proto.SCORES: self._scores,
                  proto.SEQUENCE: self.completed + 1}
        position = getattr(self.predictor, "last_position", None)
        if position is not None:
            result[proto.POSITION] = np.asarray(position, np.float32).ravel()
        if self._channel is not None:
            gains = np.abs(self.predictor.codebook.conj() @ self._channel) ** 2
            result[proto.BEST_BEAM] = int(np.argmax(gains))
            result[proto.SNR_LOSS_DB] = float(10 * np.log10(
                gains.max() / max(gains[chosen], 1e-300)))
        # Leave the array on the chosen beam (for the data that follows).
        self._sequence += 1
        self.message_port_pub(pmt.intern(proto.BEAM_CMD),
                              beam_cmd(proto.SIDE_TX, self._sequence, self.codebook[chosen]))
        self._plan = None
        self._publish(result, failed=False)
        if self.verbose:
            self.logger.info(f"beam {chosen} from top-{self.top_k} {self._candidates}")

    def _end_failed(self, reason):
        self._watchdog.disarm()
        self._plan = None
        self._publish({proto.METHOD: "probe-predictor", proto.FAILED: True,
                       proto.REASON: reason,
                       proto.SEQUENCE: self.completed + 1}, failed=True)
        self.logger.warn(f"prediction failed: {reason}")

    def _publish(self, result, failed):
        self._record(result, failed)
        self.message_port_pub(pmt.intern(proto.RESULT), dict_to_pmt(result))
