"""Direction finding (seed 003): covariance, coarray spectrum, sparse reconstruction."""
from .coarray import (DEFAULT_GRID_DEG, CoarraySpectrum, half_power_beamwidth, sample_covariance,
                      scg_reference)

__all__ = ["DEFAULT_GRID_DEG", "CoarraySpectrum", "half_power_beamwidth", "sample_covariance",
           "scg_reference"]
