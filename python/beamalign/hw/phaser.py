# SPDX-License-Identifier: GPL-3.0-or-later
"""ADAR1000-based phase-shifter boards (the CN0566 "Phaser") driven by beam commands.

The conversion is pure and tested here: a weight w_n becomes a phase code (7 bits:
360/128 = 2.8125 deg steps, the ADAR1000's phase resolution) and a gain code (0..127,
the VGA's range), modelled as an amplitude proportional to the code. The realised
weight is what those codes give. The driver writes them through pyadi-iio's element
objects (`rx_phase`, `rx_gain`, or the tx ones) in the board's element order, then
latches them (`latch_rx_settings` / `latch_tx_settings`).

Not run on hardware here (no board on this machine): the driver is tested against a
fake device that records every attribute write under the names pyadi-iio uses. The
VGA's real gain law is not linear in the code; measure it before relying on tapers.
"""
import pickle

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..arrays.calibration import Calibration
from ..blocks.messages import dict_to_pmt
from ..blocks.validate import BadInput, MessageError, fields_of, guarded, integer, vector

PHASE_BITS = 7
PHASE_STEP_DEG = 360.0 / 2 ** PHASE_BITS  # 2.8125 deg
GAIN_CODES = 127  # VGA codes 0..127
# CN0566: array element (1..8, along the array) of each ADAR1000 channel (1..4).
CN0566_CHANNEL_ELEMENTS = {"BEAM0": [7, 8, 5, 6], "BEAM1": [3, 4, 1, 2]}
CN0566_ELEMENTS = 8


def weights_to_codes(weights, phase_offset_deg=None, gain_scale=None):
    """(phase codes 0..127, gain codes 0..127) of complex weights, strongest weight at
    full gain. phase_offset_deg is added to each element's phase and gain_scale (0..1)
    multiplies its gain: the calibration, as the board applies its own."""
    w = np.asarray(weights, dtype=np.complex128)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or not np.any(w):
        raise ValueError("weights must be a finite, non-zero vector")
    offset = np.zeros(len(w)) if phase_offset_deg is None else np.asarray(phase_offset_deg)
    scale = np.ones(len(w)) if gain_scale is None else np.asarray(gain_scale)
    phase = np.mod(np.degrees(np.angle(w)) + offset, 360.0)
    phase_codes = np.mod(np.round(phase / PHASE_STEP_DEG), 2 ** PHASE_BITS).astype(int)
    amplitude = np.abs(w) / np.abs(w).max() * scale
    gain_codes = np.clip(np.round(amplitude * GAIN_CODES), 0, GAIN_CODES).astype(int)
    return phase_codes, gain_codes


def codes_to_weights(phase_codes, gain_codes, phase_offset_deg=None, gain_scale=None):
    """The weights the codes realise, calibration taken back out (the inverse model)."""
    phase = np.asarray(phase_codes) * PHASE_STEP_DEG
    if phase_offset_deg is not None:
        phase = phase - np.asarray(phase_offset_deg)
    amplitude = np.asarray(gain_codes) / GAIN_CODES
    if gain_scale is not None:
        amplitude = amplitude / np.asarray(gain_scale)
    return amplitude * np.exp(1j * np.radians(phase))


class _ListsOnly(pickle.Unpickler):
    """The board's calibration files are pickled lists of numbers: nothing else may be
    built from them (a pickle can otherwise run code)."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing {module}.{name}: only lists of numbers")


def _read_board_list(path, count):
    with open(path, "rb") as f:
        try:
            values = _ListsOnly(f).load()
        except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
            raise ValueError(f"{path}: not a board calibration list ({err})") from None
    if not (isinstance(values, list) and len(values) == count and
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise ValueError(f"{path}: expected a list of {count} numbers")
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{path}: holds NaN or Inf")
    return values


def import_board_calibration(phase_file, gain_file, array_id="cn0566", side="rx",
                             elements=CN0566_ELEMENTS):
    """Our Calibration from the board's own files (pyadi-iio's phase_cal_val.pkl: degrees
    added to each element's phase; gain_cal_val.pkl: a 0..1 factor on each gain). The
    board adds pcal to compensate an error of -pcal, which is our phase_rad."""
    pcal = _read_board_list(phase_file, elements)
    gcal = _read_board_list(gain_file, elements)
    if np.any(gcal <= 0) or np.any(gcal > 1):
        raise ValueError(f"{gain_file}: gain factors must be in (0, 1]")
    return Calibration(array_id, side, -np.radians(pcal), np.zeros(elements),
                       source_run=f"board calibration {phase_file}, {gain_file}",
                       gain=gcal)


def export_board_calibration(calibration, phase_file, gain_file):
    """The board's files from our Calibration (the inverse of import_board_calibration)."""
    pcal = [float(v) for v in -np.degrees(np.asarray(calibration.phase_rad))]
    gains = calibration.gain if calibration.gain is not None else np.ones(
        calibration.num_elements)
    for path, values in ((phase_file, pcal), (gain_file, [float(v) for v in gains])):
        with open(path, "wb") as f:
            pickle.dump(values, f)


def open_cn0566(uri):
    """The board through pyadi-iio; RuntimeError naming the URI when none answers."""
    try:
        import adi  # optional: only a run with a phase-shifter board needs pyadi-iio
    except ImportError as err:
        raise RuntimeError(f"phaser_array: cannot open the board at {uri!r}: pyadi-iio is not "
                           f"importable ({err})") from None
    try:
        return adi.CN0566(uri=uri)
    except Exception as err:  # noqa: BLE001 - pyadi raises bare Exception for no device
        raise RuntimeError(f"phaser_array: no CN0566 board answered at {uri!r}: "
                           f"{str(err).strip()}") from None


class phaser_array(gr.basic_block):
    """Drives an ADAR1000 phase-shifter board from `beam_cmd` messages.

    Each command for `side` ("rx" or "tx") becomes per-element phase and gain codes
    (7-bit phase, 2.8125 deg; gain 0..127, strongest element at full gain), corrected by
    a calibration (ours, or the board's imported with import_board_calibration), written
    in the board's element order and latched. `applied` messages (beam_id, the realised
    weights, the worst phase error in degrees) say what the board now holds. Malformed
    commands are counted and logged once.

    Args:
        uri: the board's IIO context, e.g. "ip:phaser.local" (ignored with `device`)
        side: "rx" or "tx"
        calibration: a Calibration (or None)
        device: an object with pyadi-iio's CN0566 interface (tests pass a fake); None
            opens the board at `uri`, failing at construction with the URI named
    """

    def __init__(self, uri="ip:phaser.local", side="rx", calibration=None, device=None):
        gr.basic_block.__init__(self, name="phaser_array", in_sig=None, out_sig=None)
        if side not in ("rx", "tx"):
            raise ValueError(f"side must be 'rx' or 'tx', got {side!r}")
        if calibration is not None and calibration.num_elements != CN0566_ELEMENTS:
            raise ValueError(f"calibration is for {calibration.num_elements} elements, the "
                             f"board has {CN0566_ELEMENTS}")
        self.side, self.calibration = side, calibration
        self.device = device if device is not None else open_cn0566(uri)
        self.bad_input = BadInput()
        self.last_codes = None
        self.message_port_register_in(pmt.intern(proto.BEAM_CMD))
        self.message_port_register_out(pmt.intern("applied"))
        self.set_msg_handler(pmt.intern(proto.BEAM_CMD), self._handle_beam_cmd)

    def malformed_messages(self):
        return self.bad_input.count

    def _calibration_terms(self):
        if self.calibration is None:
            return None, None
        gain = self.calibration.gain
        return -np.degrees(self.calibration.phase_rad), gain

    @guarded
    def _handle_beam_cmd(self, msg):
        fields = fields_of(msg, "beam_cmd")
        if fields.get(proto.SIDE) != self.side:
            return  # the other side's command
        beam_id = integer(fields, proto.BEAM_ID, "beam_cmd")
        weights = vector(fields, proto.WEIGHTS, "beam_cmd", length=CN0566_ELEMENTS,
                         complex_values=True)
        if not np.any(weights):
            raise MessageError("beam_cmd weights are all zero")
        self.apply(beam_id, weights)

    def apply(self, beam_id, weights):
        """Writes the codes of `weights` to the board; returns the realised weights."""
        offset, scale = self._calibration_terms()
        phase_codes, gain_codes = weights_to_codes(weights, offset, scale)
        for n in range(CN0566_ELEMENTS):
            element = self.device.elements.get(n + 1)
            setattr(element, f"{self.side}_phase", float(phase_codes[n] * PHASE_STEP_DEG))
            setattr(element, f"{self.side}_gain", int(gain_codes[n]))
        getattr(self.device, f"latch_{self.side}_settings")()
        self.last_codes = (phase_codes, gain_codes)
        realised = codes_to_weights(phase_codes, gain_codes, offset, scale)
        target = np.asarray(weights) / np.abs(weights).max()
        error = np.degrees(np.abs(np.angle(realised * np.conj(target))))
        self.message_port_pub(pmt.intern("applied"), dict_to_pmt({
            proto.BEAM_ID: int(beam_id), proto.WEIGHTS: realised.astype(np.complex64),
            "phase_error_deg": float(error.max())}))
        return realised
