# SPDX-License-Identifier: GPL-3.0-or-later
"""Closed-loop beam alignment controller: a thin adapter over beamalign.align.

The strategy's generator is driven one measurement at a time from message handlers:
each beam pair becomes `beam_cmd` messages, each `rsrp` message answers one pair.
"""
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..align import make_strategy
from ..align.self_calibration import SelfCalibrator, sweep_probes
from ..arrays.calibration import load_calibration
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


class beam_aligner(GuardedBlock, gr.basic_block, ResultHistory):
    """Runs a beam search (exhaustive, binary, qssr) against any array source.

    Sends `beam_cmd`, consumes `rsrp`, publishes `result` (method, u_tx, u_rx, f, w,
    measurements, probes_dbm: the RSRP of each probe in order, and power_db when a
    `channel_info` message told it the true channel).
    An alignment starts on a `start` message, at flowgraph start with autostart, and
    every `period_s` seconds when that is > 0.

    Every beam command gets a fresh beam_id (a sequence number). A dwell's `rsrp` is taken
    only when its tx_beam_id and rx_beam_id are the ids of both sides' latest commands
    (or, from a meter that does not report them, when its beam_id is the last
    command's): a dwell measured between the two commands of a pair, under stale
    weights on either side, or a late `rsrp` for an earlier dwell is recognised and
    dropped.

    A link may lose messages: when no `rsrp` for the current dwell arrives within
    dwell_timeout_s, or it arrives with `complete` false or a non-finite power, the
    pair is probed again (both sides' weights re-sent, a new id) up to max_reprobes
    times; then the alignment ends with a `result` that has `failed` true and a
    `reason`, and the next `start` begins a new one. An `abort` message ends the
    running alignment the same way. Malformed messages on any port are counted
    (`malformed_messages()`), logged once per kind of problem and dropped.

    Args:
        method: "exhaustive", "binary", "qssr", "qssr-net" or "sr-bsnet"
        nt, nr: array sizes
        beam_norm: "unit" or "seed" (SPEC section 4)
        autostart: align once when the flowgraph starts
        period_s: re-align periodically (0: only on `start`)
        model: weight file of a learned method ("" for the shipped one)
        verbose: log each result
        self_calibrate_every: with method "qssr-net-impair", update the online
            self-calibration after every this many alignments and compensate later
            probes with it (0: off); it sweeps both codebooks after every 50th alignment
            (104 dwells on 64 x 16) and fits those and every layer of every alignment
        dwell_timeout_s: how long to wait for a dwell's `rsrp` before probing again
        max_reprobes: re-probes of one dwell before the alignment fails
    """

    def __init__(self, method="qssr", nt=64, nr=16, beam_norm="unit", autostart=False,
                 period_s=0.0, model="", verbose=True, self_calibrate_every=0,
                 dwell_timeout_s=0.5, max_reprobes=3):
        gr.basic_block.__init__(self, name="beam_aligner", in_sig=None, out_sig=None)
        # Learned weights load here, so a bad model file fails at construction.
        self.strategy = make_strategy(method, nt, nr, beam_norm, model or None)
        self.method, self.nt, self.nr = method, nt, nr
        self.self_calibrate_every = int(self_calibrate_every)
        self.calibrator, self._pending, self._sweeps = None, [], []
        if self.self_calibrate_every < 0:
            raise ValueError(f"self_calibrate_every must be >= 0, got {self_calibrate_every}")
        if self.self_calibrate_every:
            if not hasattr(self.strategy, "set_estimates"):
                raise ValueError(f"method {method!r} does not compensate beams; self-calibration "
                                 "needs 'qssr-net-impair'")
            self.calibrator = SelfCalibrator(nt, nr)
        if not dwell_timeout_s > 0 or int(max_reprobes) < 0:
            raise ValueError("dwell_timeout_s must be > 0 and max_reprobes >= 0")
        self.dwell_timeout_s, self.max_reprobes = float(dwell_timeout_s), int(max_reprobes)
        self.autostart, self.period_s = autostart, float(period_s)
        self.verbose = verbose
        self._init_results()
        self.started = 0
        self.reprobes = 0  # dwells probed again, over the block's life
        self.bad_input = BadInput()
        self._watchdog = Watchdog(self._dwell_timed_out)
        self._retries = 0
        self._channel = None
        self._search = None
        self._lock = threading.RLock()
        self._measurement_id = 0  # the current dwell's id (its last command's)
        self._command_id = 0
        self._sent = {"tx": None, "rx": None}
        self._sent_id = {"tx": -1, "rx": -1}
        self._timer = None
        self.register_message_ports(
            {proto.RSRP: self._handle_rsrp, proto.START: self._handle_start,
             proto.ABORT: self._handle_abort, proto.CHANNEL_INFO: self._handle_channel_info},
            outputs=(proto.BEAM_CMD, proto.RESULT))

    # --- flowgraph life cycle
    def start(self):
        self._watchdog.start()
        if self.autostart:
            self.start_alignment()
        if self.period_s > 0:
            self._schedule()
        return True

    def stop(self):
        if self._timer:
            self._timer.cancel()
        self._watchdog.stop()
        return True

    def _schedule(self):
        self._timer = threading.Timer(self.period_s, self._periodic)
        self._timer.daemon = True
        self._timer.start()

    def _periodic(self):
        self.to_basic_block()._post(pmt.intern(proto.START), pmt.PMT_T)
        self._schedule()

    # --- alignment
    @guarded
    def _handle_start(self, msg):
        # GNU Radio looks Python handlers up by name: a bound method, not a lambda.
        self.start_alignment()

    @guarded
    def _handle_abort(self, msg):
        with self._lock:
            if self._search is not None:
                self._fail("aborted by an abort message")

    def start_alignment(self):
        with self._lock:
            if self._search is not None:
                self.bad_input.report(self.logger, "start while an alignment runs: ignored")
                return
            self.started += 1
            self._search = self._searched()
            self._powers = None
            self._probe_dbm = []
            self._measurements = 0
            self._advance(next(self._search))

    def _advance(self, probe):
        """Takes a probe from the strategy and measures its first pair."""
        self._probe = probe
        if probe.grid:
            kr, kt = probe.rx.shape[-2], probe.tx.shape[-2]
            self._pairs = [(t, r) for r in range(kr) for t in range(kt)]
            self._powers = np.zeros((1, kr, kt))
        else:
            self._pairs = [(k, k) for k in range(probe.tx.shape[-2])]
            self._powers = np.zeros((1, len(self._pairs)))
        self._next_pair = 0
        self._measure_next()

    def _measure_next(self, resend=False):
        """Commands the current pair (resend: both sides, as after a lost message)."""
        t, r = self._pairs[self._next_pair]
        weights = {"tx": self._probe.tx[0, t], "rx": self._probe.rx[0, r]}
        changed = [side for side in ("rx", "tx")
                   if resend or self._sent[side] is None
                   or not np.array_equal(self._sent[side], weights[side])]
        if not changed:
            changed = ["tx"]  # the same pair again: a new dwell is still needed
        for side in changed:
            self._send(side, weights[side])
        self._measurement_id = self._command_id  # the dwell's own id: its last command's
        self._watchdog.arm(self.dwell_timeout_s, self._measurement_id)

    def _send(self, side, weights):
        """One beam command with a fresh id; the rsrp of a dwell must carry the ids of
        both sides' weights in force (so one measured under stale weights on either
        side, as over a link where the two sides' commands travel apart, is not taken)."""
        self._command_id += 1
        self.message_port_pub(pmt.intern(proto.BEAM_CMD), beam_cmd(side, self._command_id,
                                                                    weights))
        self._sent[side], self._sent_id[side] = weights, self._command_id

    def _reprobe(self, why):
        """Probes the current pair again, or fails the alignment after max_reprobes."""
        self._retries += 1
        self.reprobes += 1
        if self._retries > self.max_reprobes:
            self._fail(f"{why} after {self.max_reprobes} re-probes of measurement "
                       f"{self._measurements + 1}")
            return
        self._measure_next(resend=True)

    def _current(self, beam_id, tx_id, rx_id):
        """Whether an rsrp measured the pair now commanded: both sides' ids when the
        meter reports them, else the id of the dwell's own (last) command."""
        if tx_id >= 0 and rx_id >= 0:
            return (tx_id, rx_id) == (self._sent_id["tx"], self._sent_id["rx"])
        return beam_id == self._measurement_id

    def _dwell_timed_out(self, measurement_id):
        with self._lock:
            if self._search is not None and measurement_id == self._measurement_id:
                self._reprobe(f"no rsrp within {self.dwell_timeout_s:g} s")

    @guarded
    def _handle_rsrp(self, msg):
        fields = fields_of(msg, "rsrp")
        beam_id = integer(fields, proto.BEAM_ID, "rsrp")
        tx_id = integer(fields, proto.TX_BEAM_ID, "rsrp", default=-1)
        rx_id = integer(fields, proto.RX_BEAM_ID, "rsrp", default=-1)
        try:
            complete, power, dbm = dwell_reading(fields)
        except MessageError:
            with self._lock:
                if self._search is not None and self._current(beam_id, tx_id, rx_id):
                    self._reprobe("unusable rsrp")  # this dwell's answer is lost: ask again
            raise
        with self._lock:
            if self._search is None or not self._current(beam_id, tx_id, rx_id):
                return  # an old dwell, or one measured under stale weights on a side
            if not complete:
                self._reprobe("incomplete dwell")  # cut short: as good as lost
                return
            self._retries = 0
            self._measurements += 1
            self._probe_dbm.append(dbm)
            index = self._next_pair
            if self._probe.grid:
                kt = self._probe.tx.shape[-2]
                self._powers[0, index // kt, index % kt] = power
            else:
                self._powers[0, index] = power
            self._next_pair += 1
            if self._next_pair < len(self._pairs):
                self._measure_next()
                return
            try:
                self._advance(self._search.send(self._powers))
            except StopIteration as done:
                self._search = None
                self._watchdog.disarm()
                self._publish(done.value)

    def _fail(self, reason):
        """Ends the running alignment with a failed result."""
        self._search = None
        self._watchdog.disarm()
        result = {proto.METHOD: self.method, proto.FAILED: True, proto.REASON: reason,
                  proto.SEQUENCE: self.started, proto.MEASUREMENTS: self._measurements}
        self.message_port_pub(pmt.intern(proto.RESULT), dict_to_pmt(result))
        self.logger.warn(f"alignment {self.started} failed: {reason}")
        self._record(result, failed=True)

    def _publish(self, alignment):
        f, w = alignment.f[0], alignment.w[0]
        result = {proto.METHOD: self.method, proto.FAILED: False, proto.SEQUENCE: self.started,
                  proto.U_TX: float(alignment.u_tx[0]),
                  proto.U_RX: float(alignment.u_rx[0]), proto.F: f, proto.W: w,
                  proto.MEASUREMENTS: int(alignment.measurements),
                  proto.PROBES_DBM: np.asarray(self._probe_dbm, dtype=np.float32)}
        if self._channel is not None:
            gain = w.conj() @ self._channel @ f
            result[proto.POWER_DB] = float(10 * np.log10(max(abs(gain) ** 2, 1e-30)))
        # Leave the array on the chosen beams.
        self._send("rx", w)
        self._send("tx", f)
        self._measurement_id = self._command_id
        self.message_port_pub(pmt.intern(proto.RESULT), dict_to_pmt(result))
        power = (f", power {result[proto.POWER_DB]:.2f} dB" if proto.POWER_DB in result
                 else "")
        if self.verbose:
            self.logger.info(f"alignment {self.method}: u_tx {alignment.u_tx[0]:+.4f}, "
                             f"u_rx {alignment.u_rx[0]:+.4f}{power}, "
                             f"{alignment.measurements} measurements")
        self._feed_calibrator(alignment)
        self._record(result, failed=False)

    def _searched(self):
        """The strategy's search and, when the self-calibration asks for one, a sweep of
        both codebooks against the beams found (before the result is published)."""
        alignment = yield from self.strategy.search(1)
        if self.calibrator is not None and self.calibrator.sweep_due(
                self.calibrator.aligned + len(self._pending)):
            for probe, make_sweep in sweep_probes(self.strategy, alignment, 0):
                self._sweeps.append(make_sweep((yield probe)))
        return alignment

    def _feed_calibrator(self, alignment):
        """Every self_calibrate_every alignments, one self-calibration update over them
        and the sweeps made meanwhile."""
        if self.calibrator is None:
            return
        self._pending.append(alignment)
        if len(self._pending) < self.self_calibrate_every:
            return

        batch, self._pending = self._pending, []
        sweeps, self._sweeps = self._sweeps, []
        step = self.calibrator.update(batch, sweeps)
        # Called with the lock held, between alignments: the next search uses these.
        self.strategy.set_estimates(*self.calibrator.estimates())
        if self.verbose:
            self.logger.info(f"self-calibration update {self.calibrator.updates}: "
                             f"loss {step.loss_before:.5f} -> {step.loss_after:.5f}")

    @guarded
    def _handle_channel_info(self, msg):
        fields = fields_of(msg, "channel_info")
        h = vector(fields, proto.H, "channel_info", length=self.nr * self.nt, complex_values=True)
        with self._lock:
            self._channel = h.reshape(self.nr, self.nt)

    def load_calibration(self, tx_path, rx_path):
        """Compensates the beams with calibration files (method "qssr-net-impair").

        Both files are checked before either is used: on any error FileFormatError is
        raised and the compensation in force stays.
        """

        if not hasattr(self.strategy, "set_estimates"):
            raise ValueError(f"method {self.method!r} does not compensate beams; "
                             "use 'qssr-net-impair'")
        tx = load_calibration(tx_path, num_elements=self.nt, side="tx")
        rx = load_calibration(rx_path, num_elements=self.nr, side="rx")
        with self._lock:
            self.strategy.set_estimates(tx.as_impairment(), rx.as_impairment())
        return tx, rx

