"""Hybrid-beamforming channel estimation (seed 004): beam design and grouping so far."""
from .beams import chirp_beam, gs_narrow_beam, isl, pattern, srl
from .eda import eda_grouping, group_isl, uniform_grouping

__all__ = ["chirp_beam", "gs_narrow_beam", "isl", "pattern", "srl", "eda_grouping",
           "group_isl", "uniform_grouping"]
