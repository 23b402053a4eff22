"""Hybrid-beamforming channel estimation (seed 004): beams, grouping, the
partially-connected array and OMP so far."""
from .beams import chirp_beam, gs_narrow_beam, isl, pattern, srl
from .eda import eda_grouping, group_isl, uniform_grouping

__all__ = ["chirp_beam", "gs_narrow_beam", "isl", "pattern", "srl", "eda_grouping",
           "group_isl", "uniform_grouping"]
from .hybrid import (MultipathChannel, PartiallyConnectedArray, nmse_db, observe,
                     omp_estimate)

__all__ += ["MultipathChannel", "PartiallyConnectedArray", "nmse_db", "observe", "omp_estimate"]
