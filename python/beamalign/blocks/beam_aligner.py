# SPDX-License-Identifier: GPL-3.0-or-later
"""Closed-loop beam alignment controller: a thin adapter over beamalign.align.

The strategy's generator is driven one measurement at a time from message handlers:
each beam pair becomes `beam_cmd` messages, each `rsrp` message answers one pair.
"""
import collections
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..align import make_strategy
from ..align.probes import Alignment
from ..align.self_calibration import SelfCalibrator
from ..arrays.calibration import load_calibration
from .messages import beam_cmd, dict_to_pmt, pmt_to_dict

HISTORY = 16  # results kept in beam_aligner.results


class beam_aligner(gr.basic_block):
    """Runs a beam search (exhaustive, binary, qssr) against any array source.

    Sends `beam_cmd`, consumes `rsrp`, publishes `result` (method, u_tx, u_rx, f, w,
    measurements, probes_dbm: the RSRP of each probe in order, and power_db when a
    `channel_info` message told it the true channel).
    An alignment starts on a `start` message, at flowgraph start with autostart, and
    every `period_s` seconds when that is > 0.

    Every measurement gets a fresh beam_id; when both sides change, the command sent
    first carries a throwaway negative id, so a dwell measured between the two
    commands is never taken for the pair.

    Args:
        method: "exhaustive", "binary", "qssr", "qssr-net" or "sr-bsnet"
        nt, nr: array sizes
        beam_norm: "unit" or "seed" (SPEC section 4)
        autostart: align once when the flowgraph starts
        period_s: re-align periodically (0: only on `start`)
        model: weight file of a learned method ("" for the shipped one)
        verbose: log each result
        self_calibrate_every: with method "qssr-net-impair", update the online
            self-calibration (seed 000 Alg. 2) after every this many alignments and
            compensate later probes with it (0: off)
    """

    def __init__(self, method="qssr", nt=64, nr=16, beam_norm="unit", autostart=False,
                 period_s=0.0, model="", verbose=True, self_calibrate_every=0):
        gr.basic_block.__init__(self, name="beam_aligner", in_sig=None, out_sig=None)
        # Learned weights load here, so a bad model file fails at construction.
        self.strategy = make_strategy(method, nt, nr, beam_norm, model or None)
        self.method, self.nt, self.nr = method, nt, nr
        self.self_calibrate_every = int(self_calibrate_every)
        self.calibrator, self._pending = None, []
        if self.self_calibrate_every < 0:
            raise ValueError(f"self_calibrate_every must be >= 0, got {self_calibrate_every}")
        if self.self_calibrate_every:
            if not hasattr(self.strategy, "set_estimates"):
                raise ValueError(f"method {method!r} does not compensate beams; self-calibration "
                                 "needs 'qssr-net-impair'")
            self.calibrator = SelfCalibrator(nt, nr)
        self.autostart, self.period_s = autostart, float(period_s)
        self.verbose = verbose
        # The latest results only: a flowgraph may align for days (`result` messages
        # carry every one); `completed` counts them all.
        self.results = collections.deque(maxlen=HISTORY)
        self.completed = 0
        self.finished = threading.Condition()
        self._channel = None
        self._search = None
        self._lock = threading.RLock()
        self._measurement_id = 0
        self._sent = {"tx": None, "rx": None}
        self._timer = None
        self._bad = set()
        for port in (proto.RSRP, proto.START, proto.CHANNEL_INFO):
            self.message_port_register_in(pmt.intern(port))
        self.message_port_register_out(pmt.intern(proto.BEAM_CMD))
        self.message_port_register_out(pmt.intern(proto.RESULT))
        self.set_msg_handler(pmt.intern(proto.RSRP), self._handle_rsrp)
        self.set_msg_handler(pmt.intern(proto.START), self._handle_start)
        self.set_msg_handler(pmt.intern(proto.CHANNEL_INFO), self._handle_channel_info)

    # --- flowgraph life cycle
    def start(self):
        if self.autostart:
            self.start_alignment()
        if self.period_s > 0:
            self._schedule()
        return True

    def stop(self):
        if self._timer:
            self._timer.cancel()
        return True

    def _schedule(self):
        self._timer = threading.Timer(self.period_s, self._periodic)
        self._timer.daemon = True
        self._timer.start()

    def _periodic(self):
        self.to_basic_block()._post(pmt.intern(proto.START), pmt.PMT_T)
        self._schedule()

    # --- alignment
    def _handle_start(self, msg):
        # GNU Radio looks Python handlers up by name: a bound method, not a lambda.
        self.start_alignment()

    def start_alignment(self):
        with self._lock:
            if self._search is not None:
                self._warn_once("start while an alignment runs: ignored")
                return
            self._search = self.strategy.search(1)
            self._powers = None
            self._probe_dbm = []
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

    def _measure_next(self):
        t, r = self._pairs[self._next_pair]
        weights = {"tx": self._probe.tx[0, t], "rx": self._probe.rx[0, r]}
        changed = [side for side in ("rx", "tx")
                   if self._sent[side] is None or not np.array_equal(self._sent[side], weights[side])]
        if not changed:
            changed = ["tx"]  # the same pair again: a new dwell is still needed
        self._measurement_id += 1
        for i, side in enumerate(changed):
            last = i == len(changed) - 1
            beam_id = self._measurement_id if last else -self._measurement_id
            self.message_port_pub(pmt.intern(proto.BEAM_CMD), beam_cmd(side, beam_id, weights[side]))
            self._sent[side] = weights[side]

    def _handle_rsrp(self, msg):
        fields = pmt_to_dict(msg)
        if fields is None or "beam_id" not in fields or "power" not in fields:
            self._warn_once("rsrp message is not a dict with beam_id and power: dropped")
            return
        with self._lock:
            if self._search is None or fields[proto.BEAM_ID] != self._measurement_id:
                return  # an old dwell, or one measured between the two commands of a pair
            power = float(fields[proto.POWER])
            if not np.isfinite(power) or power < 0:
                self._warn_once("rsrp power is not finite: measuring the pair again")
                self._measure_next()
                return
            self._probe_dbm.append(float(fields.get(proto.RSRP_DBM, 10 * np.log10(max(power, 1e-30)))))
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
                self._publish(done.value)

    def _publish(self, alignment):
        f, w = alignment.f[0], alignment.w[0]
        result = {proto.METHOD: self.method, proto.U_TX: float(alignment.u_tx[0]),
                  proto.U_RX: float(alignment.u_rx[0]), proto.F: f, proto.W: w,
                  proto.MEASUREMENTS: int(alignment.measurements),
                  proto.PROBES_DBM: np.asarray(self._probe_dbm, dtype=np.float32)}
        if self._channel is not None:
            gain = w.conj() @ self._channel @ f
            result[proto.POWER_DB] = float(10 * np.log10(max(abs(gain) ** 2, 1e-30)))
        # Leave the array on the chosen beams.
        self._measurement_id += 1
        self.message_port_pub(pmt.intern(proto.BEAM_CMD), beam_cmd("rx", -self._measurement_id, w))
        self.message_port_pub(pmt.intern(proto.BEAM_CMD), beam_cmd("tx", self._measurement_id, f))
        self._sent = {"tx": f, "rx": w}
        self.message_port_pub(pmt.intern(proto.RESULT), dict_to_pmt(result))
        power = f", power {result['power_db']:.2f} dB" if "power_db" in result else ""
        if self.verbose:
            self.logger.info(f"alignment {self.method}: u_tx {result['u_tx']:+.4f}, "
                             f"u_rx {result['u_rx']:+.4f}{power}, "
                             f"{result['measurements']} measurements")
        self._feed_calibrator(alignment)
        with self.finished:
            self.results.append(result)
            self.completed += 1
            self.finished.notify_all()

    def _feed_calibrator(self, alignment):
        """Every self_calibrate_every alignments, one Alg. 2 update over them."""
        if self.calibrator is None:
            return
        self._pending.append(alignment)
        if len(self._pending) < self.self_calibrate_every:
            return

        batch, self._pending = self._pending, []
        merged = Alignment(self.method, np.concatenate([a.f for a in batch]),
                           np.concatenate([a.w for a in batch]),
                           np.concatenate([a.u_tx for a in batch]),
                           np.concatenate([a.u_rx for a in batch]), batch[0].measurements,
                           {key: np.concatenate([a.extras[key] for a in batch])
                            for key in batch[0].extras})
        step = self.calibrator.update(merged)
        # Called with the lock held, between alignments: the next search uses these.
        self.strategy.set_estimates(*self.calibrator.estimates())
        if self.verbose:
            self.logger.info(f"self-calibration update {self.calibrator.updates}: "
                             f"loss {step.loss_before:.5f} -> {step.loss_after:.5f}")

    def _handle_channel_info(self, msg):
        fields = pmt_to_dict(msg)
        try:
            h = np.asarray(fields[proto.H], dtype=np.complex128).reshape(self.nr, self.nt)
        except (TypeError, KeyError, ValueError):
            self._warn_once("channel_info without an Nr x Nt field 'h': dropped")
            return
        with self._lock:
            self._channel = h

    def _warn_once(self, what):
        if what not in self._bad:
            self._bad.add(what)
            self.logger.warn(what)

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

    def wait_results(self, count, timeout):
        """Waits until `count` results are in; returns whether they arrived in time."""
        with self.finished:
            return self.finished.wait_for(lambda: self.completed >= count, timeout)
