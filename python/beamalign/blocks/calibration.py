# SPDX-License-Identifier: GPL-3.0-or-later
"""Calibration files into running blocks (the checks live in arrays.calibration)."""
from ..arrays.calibration import load_calibration


def apply_to_combiner(combiner, path, array_id=None):
    """Loads an Rx calibration file into a beam_combiner.

    The file is fully checked before anything is set, so a corrupt or mismatched file
    raises FileFormatError and the calibration in force stays.
    """
    calibration = load_calibration(path, num_elements=len(combiner.weights()), side="rx",
                                   array_id=array_id)
    combiner.set_calibration(calibration.combiner_vector().tolist())
    return calibration
