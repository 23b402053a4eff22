# SPDX-License-Identifier: GPL-3.0-or-later
"""Direction finding (seed 003): covariance, coarray spectrum, sparse reconstruction."""
from .coarray import (
                      DEFAULT_GRID_DEG,
                      CoarraySpectrum,
                      half_power_beamwidth,
                      sample_covariance,
                      scg_reference,
)
from .simulate import simulate_snapshots
from .subspace import crb_deg, music_spectrum, root_music

__all__ = ["simulate_snapshots", "crb_deg", "music_spectrum", "root_music", "DEFAULT_GRID_DEG", "CoarraySpectrum", "half_power_beamwidth", "sample_covariance",
           "scg_reference"]
