# SPDX-License-Identifier: GPL-3.0-or-later
"""Online self-calibration of element phase and position errors (seed 000, Alg. 2,
extended to the whole aperture).

Seed 000's Alg. 2 fits per-element estimates so that powers synthesised from each
alignment's single-path channel (eq. 15) match the measured ones in the normalised sense
of eq. 16, from the four final-layer beams of each side. Those four beams near the path
see mainly the slowly varying part of the errors across the aperture, and recovered 0.4
of the 1.7 dB that the impairments cost. Here the same comparison is made on every
measurement a running system makes:

- every hierarchy layer of every alignment: the DEACT beams of layer l use the first
  4^l elements, so they see element-to-element errors at every scale;
- a codebook sweep of each side (every layer, SSB-style) against the other side's
  aligned beam, after every SWEEP_EVERY-th alignment: the sweep's sidelobes carry the
  errors of every element. Sweeps alone leave the phase-retrieval twin (errors reversed
  and negated) and other near-equivalent fits; the nested layers remove them.

Each update makes a Gauss-Newton step on every measurement's path angle and a
Levenberg-Marquardt step on the estimates (analytic Jacobian), leaving out the worst
fifth of each kind of measurement, with a zero-mean Gaussian prior.
The noise floor is subtracted before the normalisation (at low SNR it lifts every weak
beam, and a fit that explains it with impairments drives the estimates apart), and
blocks within 7 dB of it are not used. Measurements are weighted by age (half-life 128
alignments), so drifting errors are tracked; a batch that fits far worse than usual (a
restart that redrew the phase offsets) drops the kept measurements and asks for a burst
of sweeps. A common offset and a linear ramp over the elements are an angle shift and
scale of every path, harmless to the beams: they are projected out after each update.
"""
from collections import deque
from dataclasses import dataclass

import numpy as np

from .. import channels
from ..arrays.geometry import ula_positions
from ..arrays.impairments import ElementImpairment
from .evaluate import evaluate_strategy, mean_power_db
from .measure import PathMeasurer, run_batch
from .strategies import CompensatedQSSRNet, side_probe


def remove_ramp(values):
    """values minus their least-squares fit a + b*n (over the element index n)."""
    values = np.asarray(values, dtype=np.float64)
    n = np.arange(values.shape[-1], dtype=np.float64)
    basis = np.stack([np.ones_like(n), n], axis=1)
    coef, *_ = np.linalg.lstsq(basis, values.T, rcond=None)
    return values - (basis @ coef).T


def residual_phase_rms(estimate, truth, u=0.0):
    """RMS (radians) of the per-element phase error left at direction u after
    compensation, up to a common offset and linear phase ramp (the ambiguity)."""
    error = (truth.phase_rad + 2 * np.pi * truth.position_wl * u) - (
        estimate.phase_rad + 2 * np.pi * estimate.position_wl * u)
    wrapped = np.angle(np.exp(1j * error))
    # Unwrap around the circular mean before fitting the ramp.
    wrapped = np.angle(np.exp(1j * (wrapped - np.angle(np.mean(np.exp(1j * wrapped))))))
    return float(np.sqrt(np.mean(remove_ramp(wrapped) ** 2)))


@dataclass
class CalibrationStep:
    """What one update did: loss before/after, alignments used."""

    loss_before: float
    loss_after: float
    alignments: int


@dataclass
class _Blocks:
    """Measurements of one side that share a path and the other side's beam, in blocks
    of K beams (one hierarchy layer's probes, or one codebook layer of a sweep):
    u (G,) the path's angle per group, and per block size K: group index (R,), the
    beams as transmitted (R, K, N) and their powers (R, K)."""

    u: np.ndarray
    blocks: dict
    made: int = 0  # the calibrator's alignment count when they were measured


class _Side:
    """Phase and position estimates of one array side and the measurements they fit."""

    def __init__(self, num_elements, window, sweep_window):
        self.num_elements = num_elements
        self.phase = np.zeros(num_elements)
        self.position = np.zeros(num_elements)
        self.positions = ula_positions(num_elements)
        self.alignments = deque()  # _Blocks per batch of alignments
        self.sweeps = deque(maxlen=sweep_window)  # _Blocks per sweep
        self.window = window
        self.restarted = False  # a restart was seen and no fit made since

    def estimate(self):
        return ElementImpairment(self.phase.copy(), self.position.copy())

    def add_alignments(self, blocks):
        self.alignments.append(blocks)
        while sum(len(b.u) for b in self.alignments) - len(self.alignments[0].u) >= self.window:
            self.alignments.popleft()

    def gathered(self, noise_power=0.0, now=0, half_life=np.inf):
        """Every kept measurement: u (G,), per block size K (group, beams, powers), which
        groups are sweeps (G,), and each group's weight (G,), halved every `half_life`
        alignments of age (errors drift: recent measurements say more of them now); the
        powers less the noise floor, divided by their block's mean (the path gain and
        the other side's beam gain cancel: eq. 16's normalisation). The floor matters: it
        lifts every weak beam alike, and a fit that explains it with impairments spreads
        the estimates apart at low SNR."""
        parts = list(self.alignments) + list(self.sweeps)
        u, blocks = _normalised(parts, noise_power)
        sweeps = np.repeat([False, True], [sum(len(p.u) for p in self.alignments),
                                           sum(len(p.u) for p in self.sweeps)])
        weight = np.concatenate([np.full(len(p.u), 0.5 ** ((now - p.made) / half_life))
                                 for p in parts])
        return u, blocks, sweeps, weight

    def residuals(self, phase, position, u, blocks, derivatives=False, weight=None):
        """Synthesised minus measured normalised powers of every block, flattened, each
        times the square root of its group's weight; with derivatives, also
        d/d(phase), d/d(position) (rows, N) and d/du (rows,)."""
        positions = self.positions + position
        root = np.ones(len(u)) if weight is None else np.sqrt(weight)
        out, d_phase, d_position, d_angle = [], [], [], []
        for groups, beams, measured in blocks:
            angles = u[groups]
            row_root = root[groups][:, None]
            response = np.exp(1j * (2 * np.pi * angles[:, None] * positions + phase))
            gains = np.einsum("rn,rkn->rk", response.conj(), beams)
            powers = np.abs(gains) ** 2
            mean = np.maximum(powers.mean(axis=1, keepdims=True), 1e-300)
            synthesised = powers / mean
            out.append(((synthesised - measured) * row_root).ravel())
            if not derivatives:
                continue
            # d|g_k|^2 / d psi_n = 2 Im(conj(g_k) conj(r_n) b_kn), psi_n the element's
            # phase in the response; the normalisation by the block mean follows.
            slope = 2 * np.imag(gains.conj()[:, :, None] * response.conj()[:, None, :] * beams)
            slope = (slope - synthesised[:, :, None] * slope.mean(axis=1, keepdims=True)) \
                * (row_root / mean)[:, :, None]
            d_phase.append(slope.reshape(-1, self.num_elements))
            d_position.append((slope * (2 * np.pi * angles)[:, None, None])
                              .reshape(-1, self.num_elements))
            d_angle.append((slope @ (2 * np.pi * positions)).ravel())
        if not derivatives:
            return np.concatenate(out)
        return (np.concatenate(out), np.concatenate(d_phase), np.concatenate(d_position),
                np.concatenate(d_angle))

    @staticmethod
    def group_of_residual(blocks):
        return np.concatenate([np.repeat(groups, beams.shape[1]) for groups, beams, _ in blocks])


def _normalised(parts, noise_power):
    """The _Blocks `parts` joined: u (G,) and per block size K (group, beams, powers),
    the powers less the noise floor and divided by their block's mean; blocks whose mean
    is within 7 dB of the floor (mostly noise) left out."""
    u = np.concatenate([p.u for p in parts])
    offsets = np.cumsum([0] + [len(p.u) for p in parts[:-1]])
    joined = {}
    for part, offset in zip(parts, offsets):
        for k, (groups, beams, powers) in part.blocks.items():
            joined.setdefault(k, []).append((groups + offset, beams, powers))
    blocks = []
    for items in joined.values():
        powers = np.concatenate([p for _, _, p in items]) - noise_power
        mean = np.maximum(powers.mean(axis=1, keepdims=True), 1e-300)
        usable = mean[:, 0] > MIN_BLOCK_SNR * noise_power
        blocks.append((np.concatenate([g for g, _, _ in items])[usable],
                       np.concatenate([b for _, b, _ in items])[usable],
                       (powers / mean)[usable]))
    return u, blocks


def _group_misfit(residual, groups, count):
    """Mean squared residual of each of `count` groups (per residual: a sweep's 84 beams
    weigh no more than an alignment's 12), and which groups have any."""
    rows = np.bincount(groups, minlength=count)
    return np.bincount(groups, residual ** 2, minlength=count) / np.maximum(rows, 1), rows > 0


# One codebook sweep of each side per this many alignments (SSB-style; the overhead is
# both hierarchies' beams, 84 + 20 on 64 x 16, per SWEEP_EVERY alignments).
SWEEP_EVERY = 50

# A block is fitted when its mean power is this far above the noise floor (7 dB).
MIN_BLOCK_SNR = 5.0

# A batch whose median misfit exceeds the usual one by CHANGE_SIGMAS of its batch-to-
# batch spread and by CHANGE_FACTOR times means the errors changed at once (a restart):
# the kept measurements are dropped. The usual level is learnt over CHANGE_WARMUP batches.
CHANGE_SIGMAS = 6.0
CHANGE_FACTOR = 1.5
CHANGE_WARMUP = 5
# After a restart the side is not fitted until it holds this many sweeps.
RESTART_SWEEPS = 4

# Positions (wavelengths) are fitted as 10 x d: 2 pi d u spans about the phase of phi
# for d ~ 0.05 and phi ~ 0.3, so the two halves of the Jacobian are of one scale.
POSITION_SCALE = 10.0


class SelfCalibrator:
    """Keeps Tx and Rx element estimates and fits them to every measurement it is fed.

    update(alignment, sweeps) takes an Alignment whose extras hold every layer's probed
    codewords and powers (HierarchicalSearch records them) and any codebook sweeps
    (`Sweep`) made since the last update. It keeps the last `window` alignments and
    `sweep_window` sweeps and makes `iterations` rounds of: a Gauss-Newton step on each
    measurement's path angle, then a Levenberg-Marquardt step on the estimates (the
    worst `trim` fraction of measurements left out: quartets that missed the path,
    strong reflections). The DEACT layers of the first K elements see element-to-element
    errors at every scale; the final layer alone sees mostly the slow part. A Gaussian
    prior (sigma_p, sigma_d), scaled to the residual noise, keeps what the data cannot
    see at zero. estimates() gives ElementImpairments to compensate with.
    """

    def __init__(self, nt, nr, window=1024, sweep_window=32, iterations=4, trim=0.2,
                 prior_weight=1.0, sigma_p=0.1 * np.pi, sigma_d=0.05, noise_power=0.0,
                 half_life=128, sweep_every=SWEEP_EVERY, burst_every=5, burst_alignments=320):
        if not 0.0 <= trim < 1.0:
            raise ValueError(f"trim must be in [0, 1), got {trim}")
        if window < 1 or sweep_window < 1 or iterations < 1:
            raise ValueError("window, sweep_window and iterations must be at least 1")
        self.sides = {"tx": _Side(nt, window, sweep_window), "rx": _Side(nr, window, sweep_window)}
        self.iterations, self.trim = iterations, trim
        self.prior_weight, self.sigma_p, self.sigma_d = prior_weight, sigma_p, sigma_d
        self.damping = {"tx": 1e-3, "rx": 1e-3}
        self.noise_power = float(noise_power)
        self.half_life = float(half_life)
        self.sweep_every, self.burst_every = int(sweep_every), int(burst_every)
        self.burst_alignments, self.burst_until = int(burst_alignments), 0
        self.sweeps_made = 0
        self.sweep_measurements = 0  # dwells the sweeps cost, both sides
        self.aligned = 0  # alignments fed so far: the clock measurements are aged by
        self.typical = {}  # per side: (batches seen, mean, variance) of a batch's misfit
        self.forgotten = 0  # times the kept measurements were dropped (restarts seen)
        self.updates = 0

    def estimates(self):
        return self.sides["tx"].estimate(), self.sides["rx"].estimate()

    @property
    def sweep_overhead(self):
        """Sweep dwells per alignment fed so far."""
        return self.sweep_measurements / max(self.aligned, 1)

    def sweep_due(self, index):
        """Whether both codebooks should be swept after alignment `index` (counted from
        0): every `sweep_every`-th (0: never), every `burst_every`-th for
        `burst_alignments` after a restart was seen, when every measurement is news."""
        every = self.burst_every if index < self.burst_until else self.sweep_every
        return every > 0 and (index + 1) % every == 0

    def update(self, alignments, sweeps=()):
        """One update from an Alignment (or a list of them, a batch each) and the Sweeps
        made since the last update; returns a CalibrationStep."""
        alignments = alignments if isinstance(alignments, (list, tuple)) else [alignments]
        for name, side in self.sides.items():
            u = np.concatenate([getattr(a, f"u_{name}") for a in alignments]).astype(np.float64)
            blocks, offset = {}, 0
            for alignment in alignments:
                trials = len(alignment.u_tx)
                layers = alignment.extras[f"{name}_layers"]
                for depth, (children, powers) in enumerate(alignment.extras[f"{name}_probed"]):
                    entry = (offset + np.arange(trials), layers[depth][children],
                             np.asarray(powers, np.float64))
                    blocks[children.shape[1]] = _stack(blocks.get(children.shape[1]), entry)
                offset += trials
            newest = _Blocks(u, blocks, self.aligned)
            self._watch(name, side, newest)
            side.add_alignments(newest)
        for sweep in sweeps:
            self.sides[sweep.side].sweeps.append(sweep.blocks(self.aligned))
            self.sweeps_made += 1
            self.sweep_measurements += sweep.powers.size
        count = sum(len(a.u_tx) for a in alignments)
        self.aligned += count
        # Summed over the sides that had measurements above the noise floor (nan: none).
        losses = np.array([self._fit(name, side) for name, side in self.sides.items()])
        fitted = np.isfinite(losses[:, 0])
        before, after = losses[fitted].sum(axis=0) if fitted.any() else (np.nan, np.nan)
        self.updates += 1
        return CalibrationStep(float(before), float(after), count)

    def _watch(self, name, side, newest):
        """Forgets the side's kept measurements when the newest batch fits the estimates
        far worse than batches used to (a restart that redrew the errors): old and new
        errors cannot both be fitted, and waiting for the old data to age out would take
        a whole window."""
        u, blocks = _normalised([newest], self.noise_power)
        groups = side.group_of_residual(blocks)
        if len(groups) == 0:
            return
        residual = side.residuals(side.phase, side.position, u, blocks)
        loss, measured = _group_misfit(residual, groups, len(u))
        level = float(np.median(loss[measured]))
        seen, mean, variance = self.typical.get(name, (0, level, 0.0))
        spread = np.sqrt(variance)
        if seen >= CHANGE_WARMUP and level > max(mean + CHANGE_SIGMAS * spread,
                                                 CHANGE_FACTOR * mean):
            side.alignments.clear()
            side.sweeps.clear()
            # The estimates are kept until the burst's sweeps refit them: a false alarm
            # (noise at low SNR) then costs sweeps, not the calibration. Resetting the
            # phases to zero recovered no faster and, on false alarms at 10 dB, dropped
            # the power 4 dB below the uncalibrated array's.
            side.restarted = True
            self.burst_until = self.aligned + len(newest.u) + self.burst_alignments
            self.damping[name] = 1e-3
            self.forgotten += 1
            self.typical[name] = (0, level, 0.0)
            return
        # Exponentially weighted mean and variance of the batches' misfit.
        delta = level - mean
        self.typical[name] = (seen + 1, mean + 0.1 * delta,
                              0.9 * (variance + 0.1 * delta ** 2))

    def _fit(self, name, side):
        u, blocks, sweeps, weight = side.gathered(self.noise_power, self.aligned,
                                                  self.half_life)
        groups = side.group_of_residual(blocks)
        # Nothing above the noise floor yet; or just after a restart, before the burst's
        # sweeps: one batch aligned under the old compensation fits the new errors badly
        # (it once took the power 1 dB below the uncompensated phases).
        if len(groups) == 0 or (side.restarted and len(side.sweeps) < RESTART_SWEEPS):
            return float("nan"), float("nan")
        side.restarted = False
        params = np.concatenate([side.phase, side.position * POSITION_SCALE])
        first = cost = None
        for _ in range(self.iterations):
            u = self._angle_step(side, params, u, blocks, groups, weight)
            params, cost, start = self._estimate_step(name, side, params, u, blocks, groups,
                                                      sweeps, weight)
            first = start if first is None else first
        # The ambiguity (seed 000): a common offset and a linear ramp over the elements
        # are an angle shift and scale of every path, harmless to the beams.
        phase, position = self._split(side, params)
        side.phase, side.position = remove_ramp(phase), remove_ramp(position)
        return first, cost

    def _split(self, side, params):
        n = side.num_elements
        return params[:n], params[n:] / POSITION_SCALE

    def _angle_step(self, side, params, u, blocks, groups, weight):
        """One Gauss-Newton step on each measurement's path angle (the estimates held)."""
        residual, _, _, slope = side.residuals(*self._split(side, params), u, blocks, True,
                                               weight)
        gradient = np.bincount(groups, residual * slope, minlength=len(u))
        curvature = np.bincount(groups, slope * slope, minlength=len(u))
        # No more than a quarter of a final beam at a time: a wild step is a bad fit.
        limit = 0.5 / side.num_elements
        return u + np.clip(-gradient / (curvature + 1e-12), -limit, limit)

    def _kept(self, residual, groups, sweeps, weight):
        """Which residuals belong to measurements outside the worst `trim` fraction of
        their kind (alignments and sweeps differ in noise: ranked together, a low SNR
        would trim every sweep)."""
        loss, measured = _group_misfit(residual, groups, len(sweeps))
        loss = loss / weight  # unweighted: age is no reason to be trimmed
        kept = np.ones(len(sweeps), dtype=bool)
        for kind in (sweeps & measured, ~sweeps & measured):
            if kind.any():
                kept[kind] = loss[kind] <= np.quantile(loss[kind], 1.0 - self.trim)
        return kept[groups]

    def _estimate_step(self, name, side, params, u, blocks, groups, sweeps, weight):
        """A Levenberg-Marquardt step on (phase, 10 x position), the MAP prior as a
        diagonal term weighted by the data's own noise level. Returns (params, mean
        squared residual after, before)."""
        residual, d_phase, d_position, _ = side.residuals(*self._split(side, params), u, blocks,
                                                           True, weight)
        keep = self._kept(residual, groups, sweeps, weight)
        jacobian = np.concatenate([d_phase, d_position / POSITION_SCALE], axis=1)[keep]
        residual = residual[keep]
        cost = float(np.mean(residual ** 2))
        n = side.num_elements
        scale = np.concatenate([np.full(n, 1.0 / self.sigma_p),
                                np.full(n, 1.0 / (self.sigma_d * POSITION_SCALE))])
        # A residual variance of `cost` per row: the prior of a Gaussian MAP estimate.
        prior = self.prior_weight * cost * scale ** 2
        normal = jacobian.T @ jacobian + np.diag(prior)
        # Centred on zero, not on the last estimates: centred there, at low SNR each
        # update's noise would add up into a random walk of the estimates.
        gradient = jacobian.T @ residual + prior * params
        objective = float(residual @ residual + prior @ params ** 2)
        while self.damping[name] < 1e6:
            damped = normal + self.damping[name] * np.diag(np.diagonal(normal))
            trial = params + np.linalg.solve(damped, -gradient)
            trial_residual = side.residuals(*self._split(side, trial), u, blocks,
                                            weight=weight)[keep]
            if float(trial_residual @ trial_residual + prior @ trial ** 2) < objective:
                self.damping[name] = max(self.damping[name] / 3, 1e-7)
                return trial, float(np.mean(trial_residual ** 2)), cost
            self.damping[name] *= 4
        self.damping[name] = 1e-3
        return params, cost, cost


def _stack(old, new):
    if old is None:
        return new
    return tuple(np.concatenate([a, b]) for a, b in zip(old, new))


@dataclass
class Sweep:
    """One side's codebook sweep against the other side's aligned beam: every layer of
    the hierarchy (as compensated when sent) and its powers, at the path angle u the
    alignment found. A cell sweeps its beams anyway (SSB-style)."""

    side: str
    u: float
    layers: list  # [(K, N) beams]
    powers: np.ndarray  # (sum K,)

    def blocks(self, made=0):
        blocks, start = {}, 0
        for layer in self.layers:
            k = layer.shape[0]
            blocks[k] = (np.zeros(1, dtype=int), layer[None], self.powers[None, start:start + k])
            start += k
        return _Blocks(np.array([self.u], np.float64), blocks, made)


def sweep_probes(strategy, alignment, index):
    """The Probes of one alignment's sweeps (Tx codebook against its Rx beam, Rx codebook
    against its Tx beam) and the Sweeps they become: [(probe, make_sweep(powers))]."""
    out = []
    for side, layers, other in (("tx", strategy.tx_layers, alignment.w[index]),
                                ("rx", strategy.rx_layers, alignment.f[index])):
        u = float(getattr(alignment, f"u_{side}")[index])
        out.append((side_probe(side, np.concatenate(layers)[None], other[None]),
                    lambda powers, side=side, layers=layers, u=u: Sweep(side, u, layers,
                                                                        powers[0])))
    return out


def calibrate_online(strategy, calibrator, draw_channels, snr_db, updates, batch=64,
                     dwell=64, rng=None, callback=None):
    """Self-calibration against simulated channels: align a batch with the current
    compensation, sweep both codebooks after the alignments the calibrator asks for
    (`sweep_due`), update, repeat. draw_channels(n, rng) returns n impaired PathChannels;
    callback(update_index, step, alignment, channels) sees every update."""
    rng = np.random.default_rng(rng)
    aligned = 0
    for index in range(updates):
        chans = draw_channels(batch, rng)
        strategy.set_estimates(*calibrator.estimates())
        alignment = run_batch(strategy, PathMeasurer(chans, snr_db, dwell, rng=rng), batch)
        sweeps = []
        for trial in range(batch):
            if calibrator.sweep_due(aligned + trial):
                measure = PathMeasurer(chans[trial:trial + 1], snr_db, dwell, rng=rng)
                sweeps += [make(measure(probe)) for probe, make
                           in sweep_probes(strategy, alignment, trial)]
        aligned += batch
        step = calibrator.update(alignment, sweeps)
        if callback:
            callback(index, step, alignment, chans)
    strategy.set_estimates(*calibrator.estimates())
    return calibrator.estimates()


def noise_floor(snr_db, dwell):
    """The noise power of one measurement with a unit-norm receive beam (PathMeasurer's
    model); a radio measures it with the transmitter off."""
    return 10.0 ** (-snr_db / 10.0) / dwell


@dataclass
class TrackingRun:
    """What tracking_run() measured: per evaluation (alignments done, calibrated power,
    power compensated with the true errors of that moment), in dB."""

    curve: list
    restart_at: int = None
    forgotten: int = 0  # times the calibrator dropped its measurements (restarts seen)
    sweeps: int = 0  # codebook sweeps made (one side each)
    overhead: float = 0.0  # sweep dwells per alignment


def tracking_run(nt, nr, snr_db, alignments, scenario, seed, batch=64, paths=3, dwell=64,
                 every=256, eval_trials=2000, sigma_d=0.05, sigma_p=0.1 * np.pi,
                 restart_at=None, drift_rms=0.1 * np.pi, drift_per=1000,
                 sweep_every=SWEEP_EVERY, on_evaluate=None, calibrator_options=None):
    """Self-calibration over time while the errors move: "static", "restart" (after
    `restart_at` alignments every element's phase offset is drawn anew, as when radios
    re-tune) or "drift" (every phase offset random-walks, `drift_rms` RMS per
    `drift_per` alignments). Evaluated every `every` alignments (every batch for 1024
    alignments after a restart) on held-out channels of the errors of that moment."""
    if scenario not in ("static", "restart", "drift"):
        raise ValueError(f"scenario must be static, restart or drift, got {scenario!r}")
    rng = np.random.default_rng(seed)
    truth = {"tx": ElementImpairment.sample(nt, sigma_d, sigma_p, rng),
             "rx": ElementImpairment.sample(nr, sigma_d, sigma_p, rng)}
    restart_at = (alignments // 2 // batch) * batch if restart_at is None else restart_at
    strategy = CompensatedQSSRNet(nt, nr)
    calibrator = SelfCalibrator(nt, nr, noise_power=noise_floor(snr_db, dwell),
                                sweep_every=sweep_every, **(calibrator_options or {}))
    evaluation_rng = np.random.default_rng(seed + 1)
    curve = []

    def evaluate_now(done):
        held_out = impaired_channels(eval_trials, nt, nr, paths, truth["tx"], truth["rx"],
                                     seed + 2)
        strategy.set_estimates(*calibrator.estimates())
        power = mean_power_db(evaluate_strategy(strategy, held_out, snr_db, dwell,
                                                evaluation_rng)[0])[0]
        ceiling = CompensatedQSSRNet(nt, nr, tx_estimate=truth["tx"], rx_estimate=truth["rx"])
        bound = mean_power_db(evaluate_strategy(ceiling, held_out, snr_db, dwell,
                                                evaluation_rng)[0])[0]
        curve.append((done, power, bound))
        if on_evaluate:
            on_evaluate(done, power, bound)

    def advance(index, step, alignment, chans):
        done = (index + 1) * batch
        if scenario == "drift":
            for side in truth.values():
                side.phase_rad = side.phase_rad + rng.normal(
                    0.0, drift_rms * np.sqrt(batch / drift_per), side.num_elements)
        after_restart = scenario == "restart" and restart_at <= done < restart_at + 1024
        if done % every == 0 or after_restart:
            evaluate_now(done)
        if scenario == "restart" and done == restart_at:
            for side in truth.values():
                side.phase_rad = rng.normal(0.0, sigma_p, side.num_elements)
            evaluate_now(done)  # the moment after: the old compensation, the new errors

    calibrate_online(strategy, calibrator,
                     lambda n, generator: impaired_channels(n, nt, nr, paths, truth["tx"],
                                                            truth["rx"], generator),
                     snr_db, alignments // batch, batch, dwell, rng, advance)
    return TrackingRun(curve, restart_at if scenario == "restart" else None,
                       calibrator.forgotten, calibrator.sweeps_made, calibrator.sweep_overhead)


def impaired_channels(n, nt, nr, paths, tx_true, rx_true, rng):
    """n LoS-dominant channels on the impaired arrays."""
    return channels.saleh_valenzuela(n, nt, nr, paths, "los", rng=rng,
                                     tx_impairment=tx_true, rx_impairment=rx_true)


def self_calibrate(nt, nr, snr_db, updates, batch, paths, tx_true, rx_true, dwell=64,
                   rng=None, evaluate_every=0, evaluate_on=None, evaluate_first=True,
                   on_evaluate=None, on_update=None):
    """Runs Alg. 2 for `updates` updates; returns (strategy, calibrator, curve) where
    curve holds (update, power_db) on evaluate_on after update 1 (evaluate_first) and
    every evaluate_every updates. on_evaluate(update, step, power_db) follows each
    evaluation, on_update(step) every update."""
    strategy = CompensatedQSSRNet(nt, nr)
    calibrator = SelfCalibrator(nt, nr, noise_power=noise_floor(snr_db, dwell))
    curve = []

    def record(index, step, alignment, chans):
        if on_update:
            on_update(step)
        done = index + 1
        if evaluate_every and (done % evaluate_every == 0 or (evaluate_first and index == 0)):
            strategy.set_estimates(*calibrator.estimates())
            powers = evaluate_strategy(strategy, evaluate_on, snr_db, dwell, rng)[0]
            curve.append((done, mean_power_db(powers)[0]))
            if on_evaluate:
                on_evaluate(done, step, curve[-1][1])

    calibrate_online(strategy, calibrator,
                     lambda n, generator: impaired_channels(n, nt, nr, paths, tx_true, rx_true,
                                                            generator),
                     snr_db, updates, batch, dwell, rng, record)
    return strategy, calibrator, curve


@dataclass
class OnlineCalibrationRun:
    """What online_calibration_run() measured: held-out power before and after, and the
    estimated and true impairments of each side."""

    before_db: float
    after_db: float
    estimates: dict  # side -> ElementImpairment
    truth: dict  # side -> ElementImpairment


def online_calibration_run(nt, nr, snr_db, updates, batch, sigma_d, sigma_p, eval_trials,
                           seed, paths=3, report_every=0, on_report=None, on_update=None):
    """Alg. 2 on a simulated link with impairments drawn from seed: QSSR-Net's held-out
    power before calibration and after `updates` updates (`beamalign calibrate --online`).
    on_report(update, step, power_db) every report_every updates; on_update(step) each."""
    rng = np.random.default_rng(seed)
    tx_true = ElementImpairment.sample(nt, sigma_d, sigma_p, rng)
    rx_true = ElementImpairment.sample(nr, sigma_d, sigma_p, rng)
    held_out = impaired_channels(eval_trials, nt, nr, paths, tx_true, rx_true,
                                 np.random.default_rng(seed + 1))
    before = mean_power_db(evaluate_strategy(CompensatedQSSRNet(nt, nr), held_out, snr_db,
                                             rng=rng)[0])[0]
    strategy, calibrator, _ = self_calibrate(
        nt, nr, snr_db, updates, batch, paths, tx_true, rx_true, rng=rng,
        evaluate_every=report_every, evaluate_on=held_out, evaluate_first=False,
        on_evaluate=on_report, on_update=on_update)
    tx_est, rx_est = calibrator.estimates()
    after = mean_power_db(evaluate_strategy(strategy, held_out, snr_db, rng=rng)[0])[0]
    return OnlineCalibrationRun(before, after, {"tx": tx_est, "rx": rx_est},
                                {"tx": tx_true, "rx": rx_true})
