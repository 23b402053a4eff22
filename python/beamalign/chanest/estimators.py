# SPDX-License-Identifier: GPL-3.0-or-later
"""Channel estimators of seed 004 for the partially-connected array, one interface over
the C++ kernels: OMP, SC-VBI, GW-SC-VBI and Turbo-VBI.

ChannelEstimator holds what does not change between pilots (grid, sensing model, group
split); estimate(y) turns one pilot's RF-chain samples into the channel h (N elements).
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import beamalign_python as kernels
from .. import protocol as proto
from .vbi import HybridSensing, angle_grid

METHODS = ("omp", "sc-vbi", "gw-sc-vbi", "turbo-vbi")


@dataclass
class ChannelEstimate:
    h: np.ndarray  # (N,) channel at the array elements
    u_h: np.ndarray  # directions and gains of the estimate's atoms
    u_v: np.ndarray
    gains: np.ndarray
    method: str

    def paths(self, limit=None, floor_db=-30.0):
        """The atoms as path dicts, strongest first, down to floor_db below the strongest."""
        order = np.argsort(-np.abs(self.gains))
        if len(order) == 0:
            return []
        strongest = np.abs(self.gains[order[0]]) ** 2
        out = []
        for k in order[:limit]:
            power = np.abs(self.gains[k]) ** 2
            if strongest <= 0 or power < strongest * 10 ** (floor_db / 10):
                break
            out.append({proto.U_H: float(self.u_h[k]), proto.U_V: float(self.u_v[k]),
                        proto.GAIN: complex(self.gains[k]), proto.POWER_DB: float(10 * np.log10(power))})
        return out


# Two directions whose sensing columns on a group's RF chains correlate above this
# (normalised) are ones the group cannot tell apart at 20 dB: the aliases of its few
# columns and 4-element beams. Measured on 32 x 8, L = 6 (side script, 100 trials): a
# dictionary of aliases above 0.8 left GW-SC-VBI 1.8 dB short of SC-VBI, above 0.6 level
# with it; keeping only each atom's 8 or 16 best-correlated aliases lost most of the gain.
ALIAS_CORRELATION = 0.6
# A group atom's aliases join the dictionary when its power is within 25 dB of the
# strongest group atom's: weaker ones fit noise, and their aliases only grow the
# dictionary (NLoS paths are 10 dB below the LoS on average).
ALIAS_FLOOR = 10 ** (-25 / 10)
# The joint stage's sparsity is at least the number of paths the dictionary stage found
# 15 dB above the noise (atoms within 1.5 grid steps of a stronger one count as its
# path). On 32 x 8 with K_hat = 4 (side script, 200 trials): a fixed K_hat left
# GW-SC-VBI 2.8 dB short of SC-VBI with 8 paths (median too); counting every atom above
# 15 dB fixed that but cost 1 dB with 3-4 paths (split atoms counted); counting paths,
# within 0.6 dB for 3, 4 and 8 paths.
PATH_SNR = 10 ** (15 / 10)
# Grid atoms best matched to the residual that join the dictionary and joint stages, per
# K_hat: twice K_hat took 8 paths with K_hat = 4 on 32 x 8 from 0.6 dB behind SC-VBI to
# level (side script, 200 trials), at no measurable cost (they join a few hundred atoms).
RESIDUAL_CANDIDATES = 2


def alias_table(phi, group_chains, group_atoms, threshold=ALIAS_CORRELATION):
    """gw_sc_vbi_plan's alias table (offsets, atoms): for each group atom (groups in
    order), the grid atoms whose columns on the group's chains correlate with its own
    above threshold."""
    offsets, atoms = [0], []
    for chains, own in zip(group_chains, group_atoms):
        if not chains or not own:
            offsets.extend([offsets[-1]] * len(own))
            continue
        restricted = phi[chains]
        restricted = restricted / np.maximum(np.linalg.norm(restricted, axis=0), 1e-300)
        correlation = np.abs(restricted[:, own].conj().T @ restricted)
        for row in correlation:
            hits = np.flatnonzero(row > threshold)
            atoms.extend(hits.tolist())
            offsets.append(offsets[-1] + len(hits))
    return offsets, atoms


def column_groups_from(groups, num_columns):
    """Group of each UPA column from per-group column lists (an `eda` grouping)."""
    assignment = np.full(num_columns, -1)
    for g, members in enumerate(groups):
        members = np.asarray(members, dtype=int)
        if members.size and (members.min() < 0 or members.max() >= num_columns):
            raise ValueError(f"group {g} names a column outside 0..{num_columns - 1}")
        if np.any(assignment[members] >= 0):
            raise ValueError(f"group {g} repeats a column of an earlier group")
        assignment[members] = g
    if np.any(assignment < 0):
        raise ValueError(f"columns {np.flatnonzero(assignment < 0).tolist()} are in no group")
    return assignment


def contiguous_groups(num_columns, num_groups):
    """Adjacent columns per group: the paper's uniform grouping before EDA."""
    return np.arange(num_columns) * num_groups // num_columns


class ChannelEstimator:
    """Estimates h from one pilot through the analog combiner of `chain_weights`.

    sparsity is K_hat (expected significant paths); gw-sc-vbi needs the column groups
    the group-wise beams were designed with. threads is deprecated and has no effect (gw-sc-vbi's
    groups run in turn, each cancelled from the next: docs/algorithms.md).
    """

    def __init__(self, array, chain_weights, method="gw-sc-vbi", column_groups=None,
                 num_groups=4, oversample=2, sparsity=4, iterations=60, threads=1):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        if oversample < 1 or sparsity < 1 or iterations < 1:
            raise ValueError("oversample, sparsity and iterations must be at least 1")
        self.array, self.method, self.threads = array, method, int(threads)
        self.sparsity, self.iterations = int(sparsity), int(iterations)
        self.u_h, self.u_v, self.step_h, self.step_v = angle_grid(array, oversample)
        reference = HybridSensing.from_array(array, chain_weights)
        self.sensing = kernels.hybrid_sensing(reference.chain_column, reference.chain_row,
                                              reference.weights_conj)
        # The grid's sensing columns do not change between pilots: computed once, in the
        # column-major order the C++ estimators read without a copy.
        self.phi = np.asfortranarray(self.sensing.columns(self.u_h, self.u_v))
        if method == "omp":
            self.chain_energy = np.sum(np.abs(chain_weights) ** 2, axis=1)
        if method == "gw-sc-vbi":
            if column_groups is None:
                column_groups = contiguous_groups(array.nx, num_groups)
            column_groups = np.asarray(column_groups)
            if column_groups.shape != (array.nx,):
                raise ValueError(f"column_groups needs one group per column ({array.nx})")
            num_groups = int(column_groups.max()) + 1
            chain_group = column_groups[array.chain_column()]
            edges = np.linspace(-array.u_v_max, array.u_v_max, num_groups + 1)
            # Group g models the atoms of its vertical sub-interval plus one grid step on
            # each side: a path just outside leaks into the 4-element narrow beam and is
            # better placed where it is than at the edge (the joint stage picks among repeats).
            margin = self.step_v * (1 + 1e-9)
            self.group_chains = [np.flatnonzero(chain_group == g).tolist()
                                 for g in range(num_groups)]
            self.group_atoms = [np.flatnonzero((self.u_v >= edges[g] - margin) &
                                               (self.u_v <= edges[g + 1] + margin)).tolist()
                                for g in range(num_groups)]
            # One iteration budget, as in the paper's comparison (SC-VBI's I): a sixth for
            # each group (the groups run in turn, but only detect: their grid stays put,
            # the later stages refine), a sixth for the dictionary stage, half for the
            # joint stage; 5/6 of SC-VBI's in all. Against a third per group with grid
            # refinement (side script, 200 trials): as accurate, 30 % less time.
            sixth = max(1, self.iterations // 6)
            self.group_options = kernels.vbi_options(
                sparsity=math.ceil(self.sparsity / num_groups) + 2, extra=2,
                iterations=sixth, grid_steps=0)
            # Group apertures are G times smaller, so their directions are coarser: the
            # joint stage may move each atom two grid steps.
            self.joint_options = kernels.vbi_options(
                sparsity=self.sparsity, iterations=max(1, self.iterations // 2 + sixth),
                reach=2.0)
            self.dictionary_iterations = sixth
            offsets, atoms = alias_table(self.phi, self.group_chains, self.group_atoms)
            self.plan = kernels.gw_sc_vbi_plan(
                self.sensing, self.u_h, self.u_v, self.step_h, self.step_v,
                self.group_chains, self.group_atoms, self.phi, offsets, atoms)
        self.options = kernels.vbi_options(sparsity=self.sparsity, iterations=self.iterations)

    def estimate(self, y, noise_variance=None):
        """Channel estimate from the RF-chain samples y (num_rf,). OMP stops at the noise
        energy when noise_variance (per element) is given, else after 2 K_hat atoms."""
        y = np.asarray(y, np.complex128)
        if y.shape != (self.array.num_rf,):
            raise ValueError(f"y must have one sample per RF chain ({self.array.num_rf}), "
                             f"got shape {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or Inf samples")
        if self.method == "omp":
            atoms = min(len(y) // 2, 2 * self.sparsity if noise_variance is None else len(y) // 2)
            stop = 0.0 if noise_variance is None else noise_variance * self.chain_energy.sum()
            support, gains, _ = kernels.omp(self.phi, y, atoms, stop)
            u_h, u_v, gains = self.u_h[support], self.u_v[support], np.asarray(gains)
        else:
            if self.method == "gw-sc-vbi":
                result = self.plan.estimate(y, self.group_options, self.joint_options,
                                            RESIDUAL_CANDIDATES * self.sparsity,
                                            self.dictionary_iterations, ALIAS_FLOOR,
                                            PATH_SNR)
            else:
                estimator = kernels.sc_vbi if self.method == "sc-vbi" else kernels.turbo_vbi
                result = estimator(self.sensing, y, self.u_h, self.u_v, self.step_h,
                                   self.step_v, self.options, self.phi)
            support = np.asarray(result.support, dtype=int)
            u_h, u_v = np.asarray(result.u_h)[support], np.asarray(result.u_v)[support]
            gains = np.asarray(result.x)[support]
        h = gains @ self.array.response(u_h, u_v) if len(gains) else \
            np.zeros(self.array.num_elements, np.complex128)
        return ChannelEstimate(h, u_h, u_v, gains, self.method)
