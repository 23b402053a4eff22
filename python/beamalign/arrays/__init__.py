# SPDX-License-Identifier: GPL-3.0-or-later
"""Array geometry, steering vectors and hardware impairments (no GNU Radio needed)."""
from .calibration import Calibration, load_calibration, save_calibration
from .geometry import ula_positions, ula_steering, upa_positions, upa_steering
from .impairments import (
    AngleDependentPhaseError,
    ElementImpairment,
    ImpairmentChain,
    MutualCoupling,
    load_impairments,
    save_impairments,
)

__all__ = [
    "ula_positions", "upa_positions", "ula_steering", "upa_steering",
    "ElementImpairment", "AngleDependentPhaseError", "MutualCoupling", "ImpairmentChain",
    "save_impairments", "load_impairments", "Calibration", "load_calibration",
    "save_calibration",
]
