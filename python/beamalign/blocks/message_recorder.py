# SPDX-License-Identifier: GPL-3.0-or-later
"""Keeps the messages it receives, as Python dicts, for scripts and tests."""
import threading

import pmt
from gnuradio import gr

from .messages import pmt_to_dict


class message_recorder(gr.basic_block):
    """Records every message on its `in` port (dicts converted with pmt.to_python)."""

    def __init__(self):
        gr.basic_block.__init__(self, name="message_recorder", in_sig=None, out_sig=None)
        self.messages = []
        self.received = threading.Condition()
        self.message_port_register_in(pmt.intern("in"))
        self.set_msg_handler(pmt.intern("in"), self._handle)

    def _handle(self, msg):
        fields = pmt_to_dict(msg)
        with self.received:
            self.messages.append(fields if fields is not None else pmt.to_python(msg))
            self.received.notify_all()

    def wait_for(self, count, timeout):
        """Waits until `count` messages are in; returns whether they arrived in time."""
        with self.received:
            return self.received.wait_for(lambda: len(self.messages) >= count, timeout)
