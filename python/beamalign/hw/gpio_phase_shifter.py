# SPDX-License-Identifier: GPL-3.0-or-later
"""Digital phase shifters on a USRP's GPIO pins, switched at a known radio time.

Parallel-control shifters (B control bits each, element n on pins first_pin + n B ...)
take one GPIO word per beam. A `beam_cmd` with `time` is written as a timed command
(set_command_time, the GPIO write, clear_command_time), so the FPGA applies it at that
radio time, in step with sample-timed switching of beam_combiner / beam_splitter on the
same device's clock. Never run on hardware: tested against a fake USRP that records the
calls it gets.

The switch happens outside the sample stream, so the block also publishes, on
`tag_cmd`, a one-element `beam_cmd` (weight 1, the same beam_id and time) for a
beam_combiner(1) / beam_splitter(1) placed in the stream: it changes nothing but puts
the `beam` tag on the exact sample where the shifters switch, for rsrp_meter.
"""
import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..blocks.messages import beam_cmd
from ..blocks.validate import (
    BadInput,
    MessageError,
    fields_of,
    guarded,
    integer,
    real,
    vector,
)


def gpio_word(weights, bits, first_pin=0, phase_offset_rad=None):
    """(value, mask) of the GPIO word that sets each element's B-bit phase code to the
    weights' phases (less the calibration's phase errors, phase_offset_rad)."""
    w = np.asarray(weights, np.complex128)
    phase = np.angle(w) - (0.0 if phase_offset_rad is None else np.asarray(phase_offset_rad))
    codes = np.mod(np.round(phase / (2 * np.pi / 2 ** bits)), 2 ** bits).astype(int)
    value = 0
    for n, code in enumerate(codes):
        value |= int(code) << (first_pin + n * bits)
    mask = ((1 << (len(codes) * bits)) - 1) << first_pin
    return value, mask, codes


class gpio_phase_shifter(gr.basic_block):
    """Sets parallel-control phase shifters on a USRP GPIO bank from `beam_cmd`s.

    Args:
        usrp: the uhd.usrp_source / usrp_sink whose GPIO bank drives the shifters
        num_elements, bits: elements and control bits per shifter
        side: which `beam_cmd`s to take ("tx" or "rx")
        bank, first_pin, pins: GPIO bank name, the first control pin, pins in the bank
        calibration: a Calibration whose phase errors are taken out (or None)
    """

    def __init__(self, usrp, num_elements=4, bits=3, side="tx", bank="FP0", first_pin=0,
                 pins=12, calibration=None):
        gr.basic_block.__init__(self, name="gpio_phase_shifter", in_sig=None, out_sig=None)
        if side not in ("tx", "rx") or num_elements < 1 or bits < 1:
            raise ValueError("need side 'tx' or 'rx', num_elements >= 1 and bits >= 1")
        if first_pin < 0 or first_pin + num_elements * bits > pins:
            raise ValueError(f"{num_elements} elements x {bits} bits from pin {first_pin} "
                             f"do not fit the bank's {pins} pins")
        if calibration is not None and calibration.num_elements != num_elements:
            raise ValueError("the calibration is for another number of elements")
        self.usrp, self.n, self.bits, self.side = usrp, num_elements, bits, side
        self.bank, self.first_pin = bank, first_pin
        self.offset = None if calibration is None else np.asarray(calibration.phase_rad)
        self.bad_input = BadInput()
        _, mask, _ = gpio_word(np.ones(num_elements), bits, first_pin)
        # The pins are outputs under manual control (not the radio's ATR states).
        usrp.set_gpio_attr(bank, "CTRL", 0, mask, 0)
        usrp.set_gpio_attr(bank, "DDR", mask, mask, 0)
        self.message_port_register_in(pmt.intern(proto.BEAM_CMD))
        self.message_port_register_out(pmt.intern("tag_cmd"))
        self.set_msg_handler(pmt.intern(proto.BEAM_CMD), self._handle_beam_cmd)

    def malformed_messages(self):
        return self.bad_input.count

    @guarded
    def _handle_beam_cmd(self, msg):
        fields = fields_of(msg, "beam_cmd")
        if fields.get(proto.SIDE) != self.side:
            return
        beam_id = integer(fields, proto.BEAM_ID, "beam_cmd")
        weights = vector(fields, proto.WEIGHTS, "beam_cmd", length=self.n, complex_values=True)
        if not np.any(weights):
            raise MessageError("beam_cmd weights are all zero")
        when = real(fields, proto.TIME, "beam_cmd", low=0.0) if proto.TIME in fields else None
        self.apply(weights, when)
        extra = {} if when is None else {proto.TIME: when}
        self.message_port_pub(pmt.intern("tag_cmd"),
                              beam_cmd(self.side, beam_id, np.ones(1), **extra))

    def apply(self, weights, time_s=None):
        """Writes the GPIO word (at radio time time_s when given); returns the codes."""
        value, mask, codes = gpio_word(weights, self.bits, self.first_pin, self.offset)
        if time_s is not None:
            from gnuradio import uhd  # optional: only a radio run needs UHD's Python module

            self.usrp.set_command_time(uhd.time_spec(float(time_s)), 0)
        try:
            self.usrp.set_gpio_attr(self.bank, "OUT", value, mask, 0)
        finally:
            if time_s is not None:
                self.usrp.clear_command_time(0)
        return codes
