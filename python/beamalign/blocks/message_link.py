# SPDX-License-Identifier: GPL-3.0-or-later
"""A message link that loses and delays messages, as a radio link or a network does."""
import heapq
import threading
import time

import numpy as np
import pmt
from gnuradio import gr

IN, OUT = "in", "out"


class message_link(gr.basic_block):
    """Forwards every message from `in` to `out`, dropping a share `loss` of them at
    random (seeded) and delivering each after `delay_s` plus a uniform jitter in
    [0, jitter_s) (so messages may overtake one another when jitter_s > 0).

    For testing closed loops against the link they will meet over the air; `dropped`
    and `forwarded` count what happened.
    """

    def __init__(self, loss=0.0, delay_s=0.0, jitter_s=0.0, seed=0):
        gr.basic_block.__init__(self, name="message_link", in_sig=None, out_sig=None)
        if not 0.0 <= loss <= 1.0 or delay_s < 0 or jitter_s < 0:
            raise ValueError("need 0 <= loss <= 1, delay_s >= 0 and jitter_s >= 0")
        self.loss, self.delay_s, self.jitter_s = float(loss), float(delay_s), float(jitter_s)
        self.rng = np.random.default_rng(seed)
        self.dropped = self.forwarded = 0
        self._queue, self._order = [], 0
        self._cond = threading.Condition()
        self._thread, self._stopped = None, False
        self.message_port_register_in(pmt.intern(IN))
        self.message_port_register_out(pmt.intern(OUT))
        self.set_msg_handler(pmt.intern(IN), self._handle)

    def start(self):
        if self.delay_s > 0 or self.jitter_s > 0:
            self._stopped = False
            self._thread = threading.Thread(target=self._deliver, daemon=True)
            self._thread.start()
        return True

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        return True

    def _handle(self, msg):
        if self.loss > 0 and self.rng.random() < self.loss:
            self.dropped += 1
            return
        if self._thread is None:
            self.forwarded += 1
            self.message_port_pub(pmt.intern(OUT), msg)
            return
        due = time.monotonic() + self.delay_s + self.jitter_s * self.rng.random()
        with self._cond:
            heapq.heappush(self._queue, (due, self._order, msg))
            self._order += 1
            self._cond.notify_all()

    def _deliver(self):
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or
                                             self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(timeout=wait)
                if self._stopped:
                    return
                _, _, msg = heapq.heappop(self._queue)
            self.forwarded += 1
            self.message_port_pub(pmt.intern(OUT), msg)
