"""Array geometry, steering vectors and hardware impairments (no GNU Radio needed)."""
from .geometry import ula_positions, upa_positions, ula_steering, upa_steering
from .calibration import Calibration, load_calibration, save_calibration
from .impairments import (
    ElementImpairment,
    AngleDependentPhaseError,
    MutualCoupling,
    ImpairmentChain,
    save_impairments,
    load_impairments,
)

__all__ = [
    "ula_positions", "upa_positions", "ula_steering", "upa_steering",
    "ElementImpairment", "AngleDependentPhaseError", "MutualCoupling", "ImpairmentChain",
    "save_impairments", "load_impairments", "Calibration", "load_calibration",
    "save_calibration",
]
