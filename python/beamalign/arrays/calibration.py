# SPDX-License-Identifier: GPL-3.0-or-later
"""Calibration files: per-element phase and position corrections of one array side.

Versioned JSON, written atomically (temporary file, fsync, rename), so killing a writer
never leaves an unreadable file. Loading checks the kind, the schema version, the element
count, the side and every field's shape and values, and names what is wrong; callers keep
their previous calibration when a load fails.
"""
import datetime
from dataclasses import dataclass, field

import numpy as np

from ..fileio import FileFormatError, numeric_vector, read_json, write_json_atomic
from .impairments import AngleDependentPhaseError, ElementImpairment

CALIBRATION_KIND = "beamalign.calibration"
CALIBRATION_SCHEMA_VERSION = 1
SIDES = ("tx", "rx")


@dataclass
class Calibration:
    """Estimated errors of one side's elements (phase in radians, position in wavelengths).

    angle_table optionally holds an angle x element x subcarrier phase-error table (the
    chamber measurement used for direction finding).
    """

    array_id: str
    side: str
    phase_rad: np.ndarray
    position_wl: np.ndarray
    source_run: str = ""
    created: str = field(default_factory=lambda: datetime.datetime.now(
        datetime.timezone.utc).isoformat())
    angle_table: AngleDependentPhaseError = None
    gain: np.ndarray = None  # optional per-element gain factors in (0, 1] (phase-shifter boards)

    @property
    def num_elements(self):
        return len(self.phase_rad)

    def as_impairment(self):
        return ElementImpairment(self.phase_rad, self.position_wl)

    def combiner_vector(self):
        """Per-channel factors for beam_combiner: exp(-j phase) undoes each phase error."""
        return np.exp(-1j * np.asarray(self.phase_rad)).astype(np.complex64)

    def channel_fields(self):
        """Fields of a sim_array_source `channel` message that make these the true errors."""
        return {f"{self.side}_phase": np.asarray(self.phase_rad, np.float32),
                f"{self.side}_position": np.asarray(self.position_wl, np.float32)}


def save_calibration(path, calibration):
    """Writes the file atomically, after the checks load_calibration makes: the product
    never writes a calibration its own loader would refuse."""
    if calibration.side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {calibration.side!r}")
    phase = np.asarray(calibration.phase_rad, float)
    position = np.asarray(calibration.position_wl, float)
    if phase.ndim != 1 or len(phase) < 1 or position.shape != phase.shape:
        raise ValueError("a calibration needs equally long phase and position vectors of "
                         "at least one element")
    if not (np.all(np.isfinite(phase)) and np.all(np.isfinite(position))):
        raise ValueError("the calibration holds NaN or Inf: not written")
    table = calibration.angle_table
    if table is not None and (table.num_elements != len(phase) or
                              not np.all(np.isfinite(table.table_rad))):
        raise ValueError("the angle table does not fit the calibration or holds NaN/Inf")
    if calibration.gain is not None:
        gain = np.asarray(calibration.gain, float)
        if gain.shape != phase.shape or not np.all((gain > 0) & (gain <= 1)):
            raise ValueError("calibration gains must be one factor in (0, 1] per element")
    document = {
        "kind": CALIBRATION_KIND, "schema_version": CALIBRATION_SCHEMA_VERSION,
        "array_id": calibration.array_id, "side": calibration.side,
        "num_elements": calibration.num_elements,
        "phase_rad": np.asarray(calibration.phase_rad, float).tolist(),
        "position_wl": np.asarray(calibration.position_wl, float).tolist(),
        "created": calibration.created, "source_run": calibration.source_run,
    }
    if calibration.angle_table is not None:
        document["angle_table"] = calibration.angle_table.to_dict()
    if calibration.gain is not None:
        document["gain"] = np.asarray(calibration.gain, float).tolist()
    write_json_atomic(path, document)


def _field(document, key, path, kind):
    if key not in document:
        raise FileFormatError(f"{path}: missing field '{key}'")
    value = document[key]
    if kind is str and not isinstance(value, str):
        raise FileFormatError(f"{path}: field '{key}' must be a string")
    if kind is int and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise FileFormatError(f"{path}: field '{key}' must be a positive integer")
    return value


def load_calibration(path, num_elements=None, side=None, array_id=None):
    """Reads and checks a calibration file; FileFormatError names the field at fault."""
    document = read_json(path, CALIBRATION_KIND, CALIBRATION_SCHEMA_VERSION)
    count = _field(document, "num_elements", path, int)
    if num_elements is not None and count != num_elements:
        raise FileFormatError(f"{path}: field 'num_elements' is {count}, this array has "
                              f"{num_elements}")
    file_side = _field(document, "side", path, str)
    if file_side not in SIDES or (side is not None and file_side != side):
        raise FileFormatError(f"{path}: field 'side' is {file_side!r}, expected "
                              f"{side or ' or '.join(SIDES)!r}")
    file_array = _field(document, "array_id", path, str)
    if array_id is not None and file_array != array_id:
        raise FileFormatError(f"{path}: field 'array_id' is {file_array!r}, expected {array_id!r}")
    table = None
    if "angle_table" in document:
        table = AngleDependentPhaseError.from_dict(document["angle_table"],
                                                   f"{path}: angle_table")
        if table.num_elements != count:
            raise FileFormatError(f"{path}: field 'angle_table' is for {table.num_elements} "
                                  f"elements, expected {count}")
    gain = None
    if "gain" in document:
        gain = numeric_vector(document, "gain", path, count)
        if not np.all((gain > 0) & (gain <= 1)):
            raise FileFormatError(f"{path}: field 'gain' must hold factors in (0, 1]")
    return Calibration(file_array, file_side, numeric_vector(document, "phase_rad", path, count),
                       numeric_vector(document, "position_wl", path, count),
                       str(document.get("source_run", "")), str(document.get("created", "")),
                       table, gain)
