# SPDX-License-Identifier: GPL-3.0-or-later
"""The air between two nodes: the element signals of a transmit array through a
multipath channel to the elements of a receive array, with noise and a carrier offset."""
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..arrays.geometry import ula_steering
from .messages import dict_to_pmt
from .validate import BadInput, GuardedBlock, MessageError, fields_of, guarded, vector


class channel_emulator(GuardedBlock, gr.sync_block):
    """Vectors of nt transmitted element samples in, vectors of nr received ones out:
    y = H x + n, n ~ CN(0, sigma^2) per receive element with SNR = 1/sigma^2 (a unit
    channel), times exp(j 2 pi cfo k) for a carrier offset of cfo cycles per sample.

    The channel comes from `channel` messages as for sim_array_source (`h`, nr x nt
    row-major, or paths `gains`, `u_tx`, `u_rx` on half-wavelength ULAs) and is
    published on `channel_info` (nt, nr, h and the paths), so a controller can score its
    beams. Tags pass through with their samples. Malformed messages are counted and
    logged once.
    """

    def __init__(self, nt=64, nr=16, snr_db=20.0, cfo=0.0, seed=0):
        gr.sync_block.__init__(self, name="channel_emulator",
                               in_sig=[(np.complex64, nt)], out_sig=[(np.complex64, nr)])
        if nt < 1 or nr < 1 or not np.isfinite(snr_db) or not np.isfinite(cfo):
            raise ValueError("need nt, nr >= 1 and a finite snr_db and cfo")
        self.nt, self.nr, self.cfo = nt, nr, float(cfo)
        self.sigma = float(10 ** (-snr_db / 20))
        self.rng = np.random.default_rng(seed)
        self.bad_input = BadInput()
        self._lock = threading.Lock()
        self._h = np.zeros((nr, nt), np.complex64)
        self._h[0, 0] = 1.0
        self.register_message_ports({proto.CHANNEL: self._handle_channel},
                                    outputs=(proto.CHANNEL_INFO,))

    @guarded
    def _handle_channel(self, msg):
        fields = fields_of(msg, "channel")
        info = {proto.NT: self.nt, proto.NR: self.nr}
        if proto.H in fields:
            h = vector(fields, proto.H, "channel", length=self.nr * self.nt,
                       complex_values=True).reshape(self.nr, self.nt)
        else:
            gains = vector(fields, proto.GAINS, "channel", max_length=64, complex_values=True)
            u_tx = vector(fields, proto.U_TX, "channel", length=len(gains))
            u_rx = vector(fields, proto.U_RX, "channel", length=len(gains))
            if len(gains) == 0 or np.any(np.abs(u_tx) > 1) or np.any(np.abs(u_rx) > 1):
                raise MessageError("channel paths need gains and |u| <= 1")
            h = np.einsum("l,lr,lt->rt", gains, ula_steering(self.nr, u_rx),
                          ula_steering(self.nt, u_tx).conj())
            info.update({proto.GAINS: gains.astype(np.complex64),
                         proto.U_TX: u_tx.astype(np.float32),
                         proto.U_RX: u_rx.astype(np.float32)})
        with self._lock:
            self._h = h.astype(np.complex64)
        info[proto.H] = self._h.ravel()
        self.message_port_pub(pmt.intern(proto.CHANNEL_INFO), dict_to_pmt(info))

    def work(self, input_items, output_items):
        x, out = input_items[0], output_items[0]
        count = len(out)
        with self._lock:
            h = self._h
        y = x @ h.T
        noise = self.rng.standard_normal((count, self.nr, 2)) * (self.sigma / np.sqrt(2))
        y = y + (noise[..., 0] + 1j * noise[..., 1])
        if self.cfo:
            k = self.nitems_written(0) + np.arange(count)
            y = y * np.exp(2j * np.pi * self.cfo * k)[:, None]
        out[:] = y
        return count
