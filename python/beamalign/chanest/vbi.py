# SPDX-License-Identifier: GPL-3.0-or-later
"""Sparse Bayesian channel estimation on a dynamic angle grid (seed 004 Sec. V,
docs/algorithms.md, channel estimation): the sensing model of the partially-connected array and a plain
NumPy reference of SC-VBI that the C++ estimators are tested against.

The sensing matrix column of direction (u_h, u_v) is phi[k] = w_k^H a(u_h, u_v) for RF
chain k: chain k sits in UPA column c_k and drives the m vertical elements r_k..r_k+m-1,
so phi[k] = exp(j pi c_k u_h) sum_j conj(w_kj) exp(j pi (r_k + j) u_v).
"""
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

# Hyper-parameters of docs/algorithms.md, channel estimation (shared with the C++ estimators).
INACTIVE_RATE_FACTOR = 1e-3  # b_bar = 1e-3 P_on: an inactive atom's variance is ~0
NOISE_PRIOR = 1e-6  # c = d -> 0
ARMIJO_SIGMA, ARMIJO_BETA, ARMIJO_TRIES = 1e-4, 0.5, 12
# First trial move of the steepest atom, in grid steps: at most a quarter step (half the
# reach when larger), else twice the last accepted move, so a settled grid costs one or
# two trials per step.
FIRST_MOVE_MIN = 1e-6
# Split paths (docs/algorithms.md, channel estimation): Armijo refinements of a merged
# atom, alternating with the gains' least squares.
MERGE_REFINEMENTS, MERGE_STEPS = 1, 3


@dataclass(frozen=True)
class HybridSensing:
    """Where each RF chain sits and its (conjugated) analog weights."""

    chain_column: np.ndarray  # (M,) UPA column of each chain
    chain_row: np.ndarray  # (M,) first vertical element of each chain
    weights_conj: np.ndarray  # (M, m) conj(w_kj)

    @classmethod
    def from_array(cls, array, chain_weights):
        chain_weights = np.asarray(chain_weights, np.complex128)
        if chain_weights.shape != (array.num_rf, array.m):
            raise ValueError(f"chain weights must be ({array.num_rf}, {array.m}), "
                             f"got {chain_weights.shape}")
        per_column = array.nz // array.m
        rows = (np.arange(array.num_rf) % per_column) * array.m
        return cls(array.chain_column(), rows, chain_weights.conj())

    def rows(self, chains):
        chains = np.asarray(chains)
        return HybridSensing(self.chain_column[chains], self.chain_row[chains],
                             self.weights_conj[chains])

    def _vertical(self, u_v, order=0):
        rows = self.chain_row[:, None] + np.arange(self.weights_conj.shape[1])  # (M, m)
        phase = np.exp(1j * np.pi * rows[:, :, None] * np.asarray(u_v)[None, None, :])
        factor = (1j * np.pi * rows[:, :, None]) ** order
        return np.einsum("km,kmn->kn", self.weights_conj, factor * phase)

    def columns(self, u_h, u_v):
        """Sensing columns phi(u_h[n], u_v[n]), shape (M, len(u_h))."""
        horizontal = np.exp(1j * np.pi * np.outer(self.chain_column, u_h))
        return horizontal * self._vertical(u_v)

    def derivatives(self, u_h, u_v):
        """(d phi / d u_h, d phi / d u_v), each (M, len(u_h))."""
        horizontal = np.exp(1j * np.pi * np.outer(self.chain_column, u_h))
        d_h = 1j * np.pi * self.chain_column[:, None] * horizontal * self._vertical(u_v)
        return d_h, horizontal * self._vertical(u_v, order=1)


def angle_grid(array, oversample=2):
    """Initial grid: oversample*nx horizontal x oversample*nz vertical points over the
    angular ranges (horizontal-major order, as PartiallyConnectedArray.dictionary);
    returns (u_h, u_v, step_h, step_v)."""
    u_h = np.linspace(-array.u_h_max, array.u_h_max, oversample * array.nx)
    u_v = np.linspace(-array.u_v_max, array.u_v_max, oversample * array.nz)
    grid_h, grid_v = (g.ravel() for g in np.meshgrid(u_h, u_v, indexing="ij"))
    return grid_h, grid_v, float(u_h[1] - u_h[0]), float(u_v[1] - u_v[0])


@dataclass
class VbiResult:
    x: np.ndarray  # posterior mean of every atom
    u_h: np.ndarray  # refined grid
    u_v: np.ndarray
    support: np.ndarray  # atoms of the final support estimate
    noise_precision: float
    iterations: int


def _grid_step(sensing, r0, mu, u_h, u_v, anchor_h, anchor_v, half_h, half_v, reach_h, reach_v,
               first_move, first_move_max):
    """One Armijo gradient step of f(u) = -||r0 - Phi(u) mu||^2 on the support atoms, in
    half-grid-step units, each atom kept within reach of its anchor; returns the new
    directions and the next first trial move (grid steps)."""
    if first_move < FIRST_MOVE_MIN:
        return u_h, u_v, first_move
    phi = sensing.columns(u_h, u_v)
    r = r0 - phi @ mu
    f0 = -np.vdot(r, r).real
    d_h, d_v = sensing.derivatives(u_h, u_v)
    # Gradient in units of half grid steps, so both axes move comparably.
    g_h = 2 * np.real(mu.conj() * (d_h.conj().T @ r)) * half_h
    g_v = 2 * np.real(mu.conj() * (d_v.conj().T @ r)) * half_v
    largest = max(np.max(np.abs(g_h)), np.max(np.abs(g_v)))
    if largest <= 0:
        return u_h, u_v, first_move
    slope = np.sum(g_h ** 2) + np.sum(g_v ** 2)
    t = 2 * first_move / largest  # t * largest / 2: the steepest atom's move in grid steps
    for _ in range(ARMIJO_TRIES):
        new_h = np.clip(u_h + t * g_h * half_h, anchor_h - reach_h, anchor_h + reach_h)
        new_v = np.clip(u_v + t * g_v * half_v, anchor_v - reach_v, anchor_v + reach_v)
        r_new = r0 - sensing.columns(new_h, new_v) @ mu
        if -np.vdot(r_new, r_new).real >= f0 + ARMIJO_SIGMA * t * slope:
            return new_h, new_v, min(first_move_max, t * largest)
        t *= ARMIJO_BETA
    return u_h, u_v, t * largest / 2


def merge_price(m):
    """The Bayesian information criterion's price of one atom (two directions and a
    complex gain) in noise variances, for M complex samples."""
    return 2.0 * np.log(2.0 * m)


def _least_squares(columns, y):
    """Least-squares gains of y on the columns and the residual energy they leave."""
    gram = columns.conj().T @ columns
    gram = gram + 1e-12 * np.max(gram.diagonal().real) * np.eye(len(gram))
    x = np.linalg.solve(gram, columns.conj().T @ y)
    r = y - columns @ x
    return x, np.vdot(r, r).real


def _merged_loss(sensing, y, columns, support, joined, u_h, u_v, energy, step_h, step_v,
                 merge_reach):
    """Residual energy when the support atoms at positions `joined` give way to one atom
    (started at their energy-weighted direction, refined); (loss, keep, drops, u_h, u_v,
    gain)."""
    atoms = support[joined]
    weights = energy[atoms]
    centre = np.array([weights @ u_h[atoms], weights @ u_v[atoms]]) / weights.sum()
    others = columns[:, [k for k in range(columns.shape[1]) if k not in joined]]
    merged_h, merged_v = centre[:1].copy(), centre[1:].copy()
    first_move = 0.25
    for refinement in range(MERGE_REFINEMENTS + 1):
        merged = np.column_stack([others, sensing.columns(merged_h, merged_v)])
        gains, loss = _least_squares(merged, y)
        if refinement == MERGE_REFINEMENTS:
            break
        rest = y - others @ gains[:-1]
        for _ in range(MERGE_STEPS):
            merged_h, merged_v, first_move = _grid_step(
                sensing, rest, gains[-1:], merged_h, merged_v, centre[:1], centre[1:],
                step_h / 2, step_v / 2, merge_reach * step_h, merge_reach * step_v,
                first_move, 0.25)
    keep = atoms[int(np.argmax(weights))]
    return loss, keep, [k for k in atoms if k != keep], merged_h[0], merged_v[0], gains[-1]


def find_split_paths(sensing, y, support, u_h, u_v, phi, energy, gamma, step_h, step_v,
                     merge_reach):
    """Support atoms above the noise that one atom fits (a pair within merge_reach grid
    steps, or an atom and all within reach of it) for less than the Bayesian information
    criterion's price of the atoms saved, 2 ln(2M) noise variances each; the most clearly
    split first, each atom in one merge at most."""
    m = len(y)
    strong = [i for i in range(len(support)) if energy[support[i]] * gamma > 1.0]
    if len(strong) < 2:
        return []
    columns = phi[:, support]
    _, split_loss = _least_squares(columns, y)
    price = merge_price(m)

    def near(i, j):
        dh = (u_h[support[i]] - u_h[support[j]]) / step_h
        dv = (u_v[support[i]] - u_v[support[j]]) / step_v
        return dh * dh + dv * dv <= merge_reach * merge_reach

    accepted = []

    def consider(joined):
        loss, *path = _merged_loss(sensing, y, columns, support, joined, u_h, u_v, energy,
                                   step_h, step_v, merge_reach)
        margin = gamma * (loss - split_loss) - price * (len(joined) - 1)
        if margin < 0:
            accepted.append((margin, path))

    for a, first in enumerate(strong):
        cluster = [first]
        for b, second in enumerate(strong):
            if b != a and near(first, second):
                cluster.append(second)
                if b > a:
                    consider([first, second])
        if len(cluster) > 2:
            consider(cluster)
    used, paths = set(), []
    for _, (keep, drops, merged_h, merged_v, gain) in sorted(accepted, key=lambda t: t[0]):
        if used.isdisjoint([keep, *drops]):
            used.update([keep, *drops])
            paths.append((keep, drops, merged_h, merged_v, gain))
    return paths


def sc_vbi_reference(sensing, y, u_h, u_v, step_h, step_v, sparsity, iterations=60,
                     extra=4, grid_steps=1, tolerance=1e-5, reach=0.5, merge_reach=2.5):
    """SC-VBI with grid estimation, plainly in NumPy (the C++ estimators' reference)."""
    y = np.asarray(y, np.complex128)
    u_h, u_v = np.array(u_h, np.float64), np.array(u_v, np.float64)
    anchor_h, anchor_v = u_h.copy(), u_v.copy()
    half_h, half_v = step_h / 2, step_v / 2
    m, n = len(y), len(u_h)
    phi = sensing.columns(u_h, u_v)
    norms2 = np.sum(np.abs(phi) ** 2, axis=0)
    energy = np.vdot(y, y).real
    size = int(min(sparsity + extra, max(1, m // 2), n))
    p_on = energy / (sparsity * norms2.mean())
    a = a_bar = 1.0
    b, b_bar = p_on, INACTIVE_RATE_FACTOR * p_on
    rate = min(sparsity / n, 0.5)
    prior_logit = np.log(rate / (1 - rate)) + a * np.log(b) - a_bar * np.log(b_bar)
    gamma = 100.0 * m / energy
    support = np.sort(np.argsort(-np.abs(phi.conj().T @ y) / np.sqrt(norms2))[:size])
    pi = np.full(n, rate)
    pi[support] = 0.5
    rho = pi * a / b + (1 - pi) * a_bar / b_bar
    mu = np.zeros(n, np.complex128)
    first_move_max = max(0.25, reach / 2)
    first_move = first_move_max
    # One merge pass, at half the budget or where the loop settles before.
    merging = merge_reach > 0 and grid_steps > 0
    limits = ([iterations // 2] if merging else []) + [iterations]
    done, pass_ = 0, 0
    while True:
        settled = False
        while done < limits[pass_]:
            done += 1
            previous = mu.copy()
            off = np.ones(n, bool)
            off[support] = False
            ps = phi[:, support]
            gram = ps.conj().T @ ps
            sigma = np.linalg.inv(gamma * gram + np.diag(rho[support]))
            mu[support] = gamma * sigma @ (ps.conj().T @ y)
            r = y - ps @ mu[support]
            # Off the support each atom gets the posterior it would have if it alone joined
            # the support model (per-column mean field on the residual). They are not fed
            # back into the residual: a joint update of ~N weakly shrunk atoms oscillates.
            var = np.empty(n)
            var[off] = 1.0 / (gamma * norms2[off] + rho[off])
            mu[off] = gamma * var[off] * (phi[:, off].conj().T @ r)
            var[support] = np.real(np.diag(sigma))
            power = np.abs(mu) ** 2 + var
            shape = pi * a + (1 - pi) * a_bar + 1
            rate_post = power + pi * b + (1 - pi) * b_bar
            rho = shape / rate_post
            # The support log-odds' (a - 1) <ln rho> terms cancel because a = a_bar.
            pi = expit(prior_logit - (b - b_bar) * rho)
            trace = np.real(np.sum(sigma * gram.T))
            gamma = (NOISE_PRIOR + m) / (NOISE_PRIOR + np.vdot(r, r).real + trace)
            # Every support atom moves: weak paths below the activity threshold need their
            # grid refined as much as strong ones.
            moving = support
            r0 = y
            for _ in range(grid_steps):
                u_h[moving], u_v[moving], first_move = _grid_step(
                    sensing, r0, mu[moving], u_h[moving], u_v[moving], anchor_h[moving],
                    anchor_v[moving], half_h, half_v, reach * step_h, reach * step_v, first_move,
                    first_move_max)
            phi[:, moving] = sensing.columns(u_h[moving], u_v[moving])
            norms2[moving] = np.sum(np.abs(phi[:, moving]) ** 2, axis=0)
            support = np.sort(np.argsort(-power, kind="stable")[:size])
            # Converged when the support's coefficients settle (off-support atoms only hold
            # trial posteriors, which follow the residual).
            change = np.linalg.norm(mu[support] - previous[support])
            if change <= tolerance * max(np.linalg.norm(mu[support]), 1e-30):
                settled = True
                break
        if pass_ + 1 == len(limits):
            break
        energy_support = np.zeros(n)
        energy_support[support] = np.abs(mu[support]) ** 2 * norms2[support]
        paths = find_split_paths(sensing, y, support, u_h, u_v, phi, energy_support, gamma,
                                 step_h, step_v, merge_reach)
        for keep, drops, merged_h, merged_v, gain in paths:
            u_h[keep] = anchor_h[keep] = merged_h
            u_v[keep] = anchor_v[keep] = merged_v
            mu[keep], power[keep] = gain, abs(gain) ** 2
            for drop in drops:
                u_h[drop], u_v[drop] = anchor_h[drop], anchor_v[drop]
                mu[drop], power[drop], pi[drop] = 0.0, 0.0, 0.0
                rho[drop] = a_bar / b_bar
                support = support[support != drop]
            touched = [keep, *drops]
            phi[:, touched] = sensing.columns(u_h[touched], u_v[touched])
            norms2[touched] = np.sum(np.abs(phi[:, touched]) ** 2, axis=0)
        if settled and not paths:
            break
        if paths:
            # A freed place goes to an atom off the support only if that atom pays the
            # same price (another path's).
            snr = np.abs(mu) ** 2 * norms2 * gamma
            snr[support] = 0.0
            snr[snr <= merge_price(m)] = 0.0
            freed = size - len(support)
            joining = np.argsort(-snr, kind="stable")[:freed]
            support = np.sort(np.concatenate([support, joining[snr[joining] > 0]]))
            size = len(support)
            first_move = first_move_max
        pass_ += 1
    return VbiResult(mu, u_h, u_v, support, float(gamma), done)
