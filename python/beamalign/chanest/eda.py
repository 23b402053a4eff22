# SPDX-License-Identifier: GPL-3.0-or-later
"""Antenna grouping by an estimation-of-distribution algorithm (UMDA, seed 004 Sec. IV).

Each of N antennas (integer positions) goes to one of G groups. The model P (N x G, rows
sum to 1) starts uniform; each generation samples S groupings (equal group sizes when
asked), relabels groups by their smallest member (otherwise labels switch between
individuals and P flattens), scores each by -max_g ISL_g subject to SRL_g <= srl_bound,
and moves P towards the elite: P <- (1 - a) P + a mean(elite), clamped to [eps, 1 - eps].
The best grouping ever seen is kept.
"""
from dataclasses import dataclass, field

import numpy as np

from ..fileio import FileFormatError, read_json, write_json_atomic
from .beams import srl
from .estimators import column_groups_from

# Largest SRL a group may have, relative to the finest a group of its size can have (an
# interleaved group, every G-th column). Unconstrained, min-max ISL packs each group into
# adjacent columns, whose short aperture cannot split nearby paths; for 32 columns in 4
# groups at 10 dB the bound 0.008 (1.44 x the interleaved group's 0.0056; adjacent
# columns: 0.022) makes each group span most of the array (seed 004 Fig. 6) and
# measurably helps SC-VBI and GW-SC-VBI (bench chanest-beams). A fixed 0.008 cannot be
# met by 16 columns in 4 groups (interleaved: 0.014), so the slack carries over instead.
SRL_SLACK = 1.44


def default_srl_bound(num_antennas, num_groups, snr_db=10.0):
    """SRL_SLACK x the SRL of an interleaved group: always feasible, 0.008 for 32 / 4."""
    return SRL_SLACK * srl(np.arange(0, num_antennas, num_groups), snr_db)


def group_isl(positions):
    """ISL of a uniformly weighted group pointed at broadside, from one FFT.

    The pattern on u_k = -1 + 2k/K (K = 8 (max p + 1)) is |FFT of the zero-padded
    weights|^2; the main lobe runs to the first minima around u = 0, and the total
    energy is sum over the grid (equal to 2 sum|w|^2 times K/2 for integer positions).
    """
    positions = np.asarray(positions, dtype=int)
    k = 8 * (int(positions.max()) + 1)
    w = np.zeros(k, dtype=np.complex128)
    w[positions] = 1.0 / np.sqrt(len(positions))
    power = np.abs(np.fft.fft(w)) ** 2  # bins at u = 2k/K (mod 2): bin 0 is broadside
    power = np.fft.fftshift(power)
    centre = k // 2
    left = centre
    while left > 0 and power[left - 1] < power[left]:
        left -= 1
    right = centre
    while right < k - 1 and power[right + 1] < power[right]:
        right += 1
    main = power[left:right + 1].sum()
    return float((power.sum() - main) / main)


@dataclass
class GroupingResult:
    groups: list  # G arrays of antenna indices
    max_isl: float
    srls: list
    history: list = field(default_factory=list)  # best max-ISL per generation
    initial_max_isl: float = float("nan")


def _relabel(assignment, num_groups):
    """Renames groups in the order of their smallest member."""
    order = []
    for g in assignment:
        if g not in order:
            order.append(g)
    mapping = np.empty(num_groups, dtype=int)
    mapping[order] = np.arange(len(order))
    return mapping[assignment]


def uniform_grouping(num_antennas, num_groups):
    """Interleaved groups (antenna n to group n mod G): the baseline before EDA."""
    return np.arange(num_antennas) % num_groups


def evaluate_grouping(assignment, positions, num_groups, snr_db, srl_bound, srl_cache):
    groups = [positions[assignment == g] for g in range(num_groups)]
    if any(len(g) < 2 for g in groups):
        return -np.inf, groups, []
    isls, srls = [], []
    for g in groups:
        key = tuple(g)
        if key not in srl_cache:
            srl_cache[key] = srl(g, snr_db)
        srls.append(srl_cache[key])
        isls.append(group_isl(g))
    if srl_bound is not None and max(srls) > srl_bound:
        return -np.inf, groups, srls
    return -max(isls), groups, srls


def eda_grouping(positions, num_groups=4, population=100, generations=60, elite=0.2,
                 rate=0.6, equal_sizes=True, snr_db=10.0, srl_bound=None, eps=0.02,
                 rng=None, progress=None):
    positions = np.asarray(positions, dtype=int)
    n, g = len(positions), num_groups
    rng = np.random.default_rng(rng)
    model = np.full((n, g), 1.0 / g)
    cache = {}
    start = uniform_grouping(n, g)
    best_score, _, best_srls = evaluate_grouping(start, positions, g, snr_db, srl_bound,
                                                           cache)
    best_assignment = start
    initial = -best_score
    history = []
    steps = range(generations) if progress is None else progress(range(generations))
    for _ in steps:
        individuals = []
        for _ in range(population):
            if equal_sizes:
                # Fill groups to equal size, antennas in random order, by the model.
                capacity = np.full(g, n // g)
                capacity[: n % g] += 1
                assignment = np.empty(n, dtype=int)
                for a in rng.permutation(n):
                    p = model[a] * (capacity > 0)
                    choice = rng.choice(g, p=p / p.sum())
                    assignment[a] = choice
                    capacity[choice] -= 1
            else:
                cumulative = model.cumsum(axis=1)
                assignment = (rng.random((n, 1)) > cumulative).sum(axis=1)
            individuals.append(_relabel(assignment, g))
        scored = [(evaluate_grouping(a, positions, g, snr_db, srl_bound, cache), a)
                  for a in individuals]
        scored.sort(key=lambda item: item[0][0], reverse=True)
        (score, groups, srls), assignment = scored[0]
        if score > best_score:
            best_score, best_srls, best_assignment = score, srls, assignment
        history.append(-best_score)
        elites = [a for (s, _, _), a in scored[: max(1, int(elite * population))] if np.isfinite(s)]
        if elites:
            frequency = np.mean([np.eye(g)[a] for a in elites], axis=0)
            model = np.clip((1 - rate) * model + rate * frequency, eps, 1 - eps)
            model /= model.sum(axis=1, keepdims=True)
    if not np.isfinite(best_score):
        raise ValueError(f"no grouping of {n} antennas into {g} groups met the SRL bound "
                         f"{srl_bound} at {snr_db} dB; raise the bound or drop it")
    return GroupingResult([positions[best_assignment == k] for k in range(g)], -best_score,
                          best_srls, history, initial)


GROUPING_KIND, GROUPING_SCHEMA = "beamalign.grouping", 1


def save_grouping(path, result, antennas, snr_db, srl_bound, seed):
    """Writes an eda_grouping() result as the grouping file load_grouping() reads."""
    write_json_atomic(path, {
        "kind": GROUPING_KIND, "schema_version": GROUPING_SCHEMA, "antennas": int(antennas),
        "groups": [np.asarray(m).tolist() for m in result.groups],
        "max_isl": float(result.max_isl), "initial_max_isl": float(result.initial_max_isl),
        "srl": [float(v) for v in result.srls], "history": [float(v) for v in result.history],
        "snr_db": snr_db, "srl_bound": srl_bound, "seed": seed})


def load_grouping(path, num_columns):
    """Group of each UPA column from a grouping file written by `beamalign eda`."""
    document = read_json(path, GROUPING_KIND, GROUPING_SCHEMA)
    if document.get("antennas") != num_columns:
        raise FileFormatError(f"{path}: grouping is for {document.get('antennas')} columns, "
                              f"the array has {num_columns}")
    groups = document.get("groups")
    if not isinstance(groups, list) or not all(
            isinstance(g, list) and all(type(c) is int and 0 <= c < num_columns for c in g)
            for g in groups):
        raise FileFormatError(f"{path}: field 'groups' must be a list of lists of column "
                              f"numbers 0..{num_columns - 1}")
    try:
        return column_groups_from(groups, num_columns)
    except (TypeError, ValueError) as err:
        raise FileFormatError(f"{path}: {err}") from None
