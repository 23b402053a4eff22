# SPDX-License-Identifier: GPL-3.0-or-later
"""Checking incoming messages in the Python blocks, as the C++ blocks do.

Every Python message handler is wrapped by `guarded`: a malformed message raises
MessageError inside the handler (through the field readers below), and the guard
counts it and logs it once per kind of problem; nothing escapes into GNU Radio's
message thread, which would otherwise die with the exception. An exception that is
not a MessageError is a bug of ours: it is counted apart (`BadInput.internal`) and
logged with its type, and the block keeps running.
"""
import functools
import math
import numbers
import threading
import time

import numpy as np
import pmt

from .. import protocol as proto
from .messages import pmt_to_dict


class MessageError(ValueError):
    """What is wrong with an incoming message."""


class BadInput:
    """Counts bad messages and logs each kind of problem once."""

    def __init__(self):
        self.count = 0  # malformed messages dropped
        self.internal = 0  # handler failures that were not a malformed message
        self._seen = set()
        self._lock = threading.Lock()

    def report(self, logger, what, internal=False):
        with self._lock:
            self.count += 1
            self.internal += int(internal)
            first = what not in self._seen
            self._seen.add(what)
        if first:
            logger.warn(f"{what} (dropped; further ones are only counted)")


class GuardedBlock:
    """Mixin of a Python block whose message handlers are `guarded` (and that keeps the
    BadInput they report to as `bad_input`): its ports, and what it dropped."""

    def register_message_ports(self, handlers, outputs=()):
        """Input ports with their handlers (port name -> bound method: GNU Radio looks
        Python handlers up by name), then the output ports."""
        for port, handler in handlers.items():
            self.message_port_register_in(pmt.intern(port))
            self.set_msg_handler(pmt.intern(port), handler)
        for port in outputs:
            self.message_port_register_out(pmt.intern(port))

    def malformed_messages(self):
        """Messages dropped as malformed (or failed in a handler) since the block was made."""
        return self.bad_input.count


def guarded(handler):
    """Wraps a block's message handler (the block has `bad_input`, a BadInput)."""

    @functools.wraps(handler)
    def guarded_handler(self, msg):
        try:
            handler(self, msg)
        except MessageError as err:
            self.bad_input.report(self.logger, str(err))
        except Exception as err:  # a bug of ours: keep the block alive, say so loudly
            self.bad_input.report(self.logger,
                                  f"internal error handling a message: {type(err).__name__}: {err}",
                                  internal=True)

    return guarded_handler


def fields_of(msg, what):
    """The message as a dict, or MessageError."""
    fields = pmt_to_dict(msg)
    if not isinstance(fields, dict):
        raise MessageError(f"{what} message is not a dict")
    return fields


def _missing(what, key):
    return MessageError(f"{what} message has no field '{key}'")


def integer(fields, key, what, low=None, high=None, default=None):
    """An integer field (not a bool, not a float, not a vector)."""
    if key not in fields:
        if default is None:
            raise _missing(what, key)
        return default
    value = fields[key]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise MessageError(f"{what} field '{key}' must be an integer")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise MessageError(f"{what} field '{key}' is outside [{low}, {high}]")
    return value


def real(fields, key, what, low=None, high=None, default=None):
    """A finite real field (an int or float; not a bool, a string or a vector)."""
    if key not in fields:
        if default is None:
            raise _missing(what, key)
        return default
    value = fields[key]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise MessageError(f"{what} field '{key}' must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise MessageError(f"{what} field '{key}' is not finite")
    if (low is not None and value < low) or (high is not None and value > high):
        raise MessageError(f"{what} field '{key}' is outside [{low}, {high}]")
    return value


def boolean(fields, key, what, default):
    if key not in fields:
        return default
    value = fields[key]
    if not isinstance(value, (bool, np.bool_)):
        raise MessageError(f"{what} field '{key}' must be a bool")
    return bool(value)


def vector(fields, key, what, length=None, max_length=None, complex_values=False,
           required=True):
    """A finite numeric vector field of the given length (or at most max_length)."""
    if key not in fields:
        if required:
            raise _missing(what, key)
        return None
    value = fields[key]
    if not isinstance(value, (np.ndarray, list, tuple)):
        raise MessageError(f"{what} field '{key}' must be a vector")
    # The size check comes before any conversion, so a huge vector costs nothing.
    size = value.size if isinstance(value, np.ndarray) else len(value)
    if length is not None and size != length:
        raise MessageError(f"{what} field '{key}' has {size} entries, expected {length}")
    if max_length is not None and size > max_length:
        raise MessageError(f"{what} field '{key}' has {size} entries, at most {max_length}")
    try:
        array = np.asarray(value, dtype=np.complex128 if complex_values else np.float64)
    except (TypeError, ValueError):
        raise MessageError(f"{what} field '{key}' is not numeric") from None
    if array.ndim != 1:
        raise MessageError(f"{what} field '{key}' must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise MessageError(f"{what} field '{key}' holds NaN or Inf")
    return array


def successful_result(msg):
    """The fields of a `result` message, or None for a failed one (nothing to show)."""
    fields = fields_of(msg, "result")
    return None if boolean(fields, proto.FAILED, "result", default=False) else fields


class DisplayPace:
    """Holds a display block's work() to rate_hz: the pace of a screen, not of a radio."""

    def __init__(self, rate_hz):
        self.period = 1.0 / rate_hz
        self._last = 0.0

    def wait(self):
        wait = self._last + self.period - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()


def dwell_reading(fields):
    """(complete, power, rsrp_dbm) of an rsrp message: an incomplete dwell has no power
    to read (it is a lost one); MessageError when a field it needs is unusable."""
    complete = boolean(fields, proto.COMPLETE, "rsrp", default=True)
    if not complete:
        return False, None, None
    power = real(fields, proto.POWER, "rsrp", low=0.0)
    dbm = real(fields, proto.RSRP_DBM, "rsrp", default=10 * np.log10(max(power, 1e-30)))
    return True, power, dbm


class Watchdog:
    """Calls back when a deadline passes without being re-armed: one thread per block,
    however many dwells it times (a Timer per dwell would start thousands of threads a
    second)."""

    def __init__(self, callback):
        self._callback = callback
        self._cond = threading.Condition()
        self._deadline = None
        self._token = None
        self._stopped = False
        self._thread = None

    def start(self):
        with self._cond:
            self._stopped = False
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def arm(self, delay_s, token):
        with self._cond:
            self._deadline = time.monotonic() + delay_s
            self._token = token
            self._cond.notify_all()

    def disarm(self):
        with self._cond:
            self._deadline = None
            self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                while not self._stopped and (self._deadline is None or
                                             time.monotonic() < self._deadline):
                    wait = None if self._deadline is None else self._deadline - time.monotonic()
                    self._cond.wait(timeout=wait)
                if self._stopped:
                    return
                token, self._deadline = self._token, None
            self._callback(token)
