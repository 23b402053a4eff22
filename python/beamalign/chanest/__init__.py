# SPDX-License-Identifier: GPL-3.0-or-later
"""Hybrid-beamforming channel estimation (seed 004): beam design and antenna grouping,
the partially-connected array, and the OMP / SC-VBI / GW-SC-VBI / Turbo-VBI estimators."""
from .beams import chirp_beam, gs_narrow_beam, isl, pattern, srl
from .eda import eda_grouping, group_isl, load_grouping, uniform_grouping
from .estimators import (
                         METHODS,
                         ChannelEstimate,
                         ChannelEstimator,
                         alias_table,
                         column_groups_from,
                         contiguous_groups,
)
from .hybrid import MultipathChannel, PartiallyConnectedArray, nmse_db, observe
from .vbi import HybridSensing, angle_grid, sc_vbi_reference

__all__ = ["chirp_beam", "gs_narrow_beam", "isl", "pattern", "srl", "eda_grouping",
           "group_isl", "load_grouping", "uniform_grouping", "METHODS", "ChannelEstimate",
           "ChannelEstimator", "alias_table", "column_groups_from", "contiguous_groups", "MultipathChannel",
           "PartiallyConnectedArray", "nmse_db", "observe", "HybridSensing", "angle_grid",
           "sc_vbi_reference"]
