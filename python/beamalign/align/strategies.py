# SPDX-License-Identifier: GPL-3.0-or-later
"""Exhaustive, binary hierarchical and QSSR beam search (seed 000, Sec. III).

The Tx side is searched first with a single active Rx antenna (unit weight), then the
Rx side with the chosen Tx beam, as in the paper.
"""
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import codebooks
from ..arrays.geometry import ula_steering
from ..arrays.impairments import ElementImpairment
from ..beamalign_python import qssr_invert_ratio
from ..models import registry
from .probes import Alignment, Probe


def single_antenna(num_elements, batch):
    w = np.zeros((batch, num_elements), dtype=np.complex128)
    w[:, 0] = 1.0
    return w


@dataclass
class Descent:
    """One side's descent: the chosen codeword of the last layer, that layer's powers
    (B, ary) and children (B, ary), per layer (directions, powers), each (B, ary), and
    per layer the probed codewords (B, ary) (`probed`, for self-calibration)."""

    best: np.ndarray
    powers: np.ndarray
    children: np.ndarray
    history: list
    probed: list = None


def side_probe(side, beams, fixed, layer=0, ids=None):
    """A Probe of `beams` (B or 1, K, N) on `side` ("tx" or "rx"), each against the other
    side's fixed weights (B or 1, N); ids are the beams' codeword indices, if any."""
    other = np.broadcast_to(fixed[:, None, :], beams.shape[:2] + (fixed.shape[-1],))
    tx, rx = (beams, other) if side == "tx" else (other, beams)
    return Probe(tx=tx, rx=rx, side=side, layer=layer,
                 tx_ids=ids if side == "tx" else None, rx_ids=ids if side == "rx" else None)


class HierarchicalSearch:
    """Descends an ary-ary DEACT hierarchy on each side, probing all children."""

    ary = 2
    name = "hierarchical"
    final_candidates = 1  # angles per side for TwoPass to measure one against another

    def __init__(self, nt, nr, beam_norm="unit"):
        self.nt, self.nr, self.beam_norm = nt, nr, beam_norm
        self.tx_layers = codebooks.hierarchical_codebook(nt, self.ary, beam_norm)
        self.rx_layers = codebooks.hierarchical_codebook(nr, self.ary, beam_norm)

    @property
    def measurements(self):
        return self.ary * (len(self.tx_layers) + len(self.rx_layers))

    def _descend(self, side, layers, fixed, batch, resume=None):
        """Yields one probe per layer; returns the Descent (choices and every measurement).

        resume: (depth, parent, history) continues a descent whose layers above `depth`
        were measured elsewhere (TwoPass's grid of both sides' wide beams)."""
        rows = np.arange(batch)[:, None]
        start, parent, history = resume or (0, np.zeros(batch, dtype=int), [])
        history, probed = list(history), []
        for depth in range(start, len(layers)):
            layer = layers[depth]
            children = (np.tile(np.arange(self.ary), (batch, 1)) if depth == 0
                        else self.ary * parent[:, None] + np.arange(self.ary))
            powers = yield side_probe(side, layer[children], fixed, depth, children)
            history.append((codebooks.dft_angles(layer.shape[0])[children], powers))
            probed.append(children)
            parent = children[rows[:, 0], np.argmax(powers, axis=1)]
        return Descent(parent, powers, children, history, probed)

    def _final_check(self, side, layers, descent, fixed, batch):
        """One more final-layer probe per trial: the strongest beam's neighbour outside
        the probed children when it is at their edge, else the strongest beam again.

        A path just outside the children (an earlier layer's choice at a sector
        boundary) leaves the edge beam strongest; the ratio of that beam and its only
        probed neighbour then puts the angle on the wrong side of it, a beamwidth or more
        off. Returns the Descent widened to ary + 2 columns (unprobed: power -1)."""
        k = layers[-1].shape[0]
        rows = np.arange(batch)
        children, powers = descent.children, descent.powers
        anchor = np.argmax(powers, axis=1)
        outer_left, outer_right = (children[:, 0] - 1) % k, (children[:, -1] + 1) % k
        at_left, at_right = anchor == 0, anchor == self.ary - 1
        pick = np.where(at_left, outer_left,
                        np.where(at_right, outer_right, children[rows, anchor]))
        extra = (yield side_probe(side, layers[-1][pick][:, None, :], fixed, len(layers) - 1,
                                  pick[:, None]))[:, 0]
        widened = np.full((batch, self.ary + 2), -1.0)
        widened[:, 1:-1] = powers
        widened[at_left, 0] = extra[at_left]
        widened[at_right, -1] = extra[at_right]
        inside = ~(at_left | at_right)
        # The strongest beam measured twice: the mean of the two readings.
        widened[inside, anchor[inside] + 1] = 0.5 * (powers[inside, anchor[inside]]
                                                     + extra[inside])
        columns = np.column_stack([outer_left, children, outer_right])
        best = columns[rows, np.argmax(widened, axis=1)]
        return Descent(best, widened, columns, descent.history, descent.probed)

    def _final_candidates(self, side, layers, descent):
        """The side's final beam(s) and angle(s): one here; two where a network's angle
        is checked against the ratio's (QSSRNet)."""
        beam, u = self._finish_side(side, layers, descent)
        return [(self._full_aperture(side, beam, u), u)]

    def _finish_side(self, side, layers, descent):
        """Final beam and angle of one side (codebook-based here)."""
        k = layers[-1].shape[0]
        return layers[-1][descent.best], codebooks.dft_angles(k)[descent.best]

    def search(self, batch):
        f_rx_fixed = single_antenna(self.nr, batch)
        tx_descent = yield from self._descend("tx", self.tx_layers, f_rx_fixed, batch)
        f, u_tx = self._finish_side("tx", self.tx_layers, tx_descent)
        f = self._full_aperture("tx", f, u_tx)
        rx_descent = yield from self._descend("rx", self.rx_layers, f, batch)
        w, u_rx = self._finish_side("rx", self.rx_layers, rx_descent)
        w = self._full_aperture("rx", w, u_rx)
        # What self-calibration learns from: every layer's probed codewords and powers,
        # with the layers (as compensated then) they index.
        extras = {}
        for side, layers, descent in (("tx", self.tx_layers, tx_descent),
                                      ("rx", self.rx_layers, rx_descent)):
            extras[f"{side}_layers"] = layers
            extras[f"{side}_probed"] = [(children, powers) for children, (_, powers)
                                        in zip(descent.probed, descent.history)]
        return Alignment(self.name, f, w, u_tx, u_rx, self.measurements, extras)

    def _full_aperture(self, side, beam, u):
        return beam


class BinarySearch(HierarchicalSearch):
    """2-ary search over the DFT hierarchy: 2 log2 Nt + 2 log2 Nr measurements."""

    ary = 2
    name = "binary"


class QSSR(HierarchicalSearch):
    """Quaternary search with super-resolution (Algorithm 1 of seed 000).

    4-ary descent (4 floor(log4 N) measurements per side); in the final quartet the
    strongest beam is the anchor and its stronger probed neighbour the auxiliary, and
    the power ratio of the two is inverted (eq. 8) into a continuous angle. The final
    beam steers all N antennas at that angle.
    """

    ary = 4
    name = "qssr"

    def _finish_side(self, side, layers, descent):
        k = layers[-1].shape[0]
        angles = codebooks.dft_angles(k)
        powers, children = descent.powers, descent.children
        rows = np.arange(len(descent.best))
        last = powers.shape[1] - 1  # ary - 1, or ary + 1 after final_check
        anchor = np.argmax(powers, axis=1)
        left = np.clip(anchor - 1, 0, last)
        right = np.clip(anchor + 1, 0, last)
        # At a quartet edge the only probed neighbour is used (the paper's ambiguity).
        use_right = (anchor == 0) | ((anchor < last) & (powers[rows, right] >= powers[rows, left]))
        aux = np.where(use_right, right, left)
        p_anchor, p_aux = powers[rows, anchor], powers[rows, aux]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(p_aux > 0, p_anchor / p_aux, np.inf)
        u = qssr_invert_ratio(angles[children[rows, anchor]], angles[children[rows, aux]],
                              ratio, k)
        return None, u

    def _full_aperture(self, side, beam, u):
        return ula_steering(self.nt if side == "tx" else self.nr, u)


class QSSRNet(QSSR):
    """QSSR's descent and measurements, with QSSR-Net turning them into angles.

    The network reads every layer's probed directions and normalised powers, which
    resolves the quartet-edge ambiguity that the two-beam ratio cannot (seed 000 III-C).
    """

    name = "qssr-net"
    final_candidates = 2

    def __init__(self, nt, nr, beam_norm="unit", model=None):
        super().__init__(nt, nr, beam_norm)
        self.model_path = Path(model) if model else registry.qssr_net_for(nt, nr)
        self.network = registry.load("qssr-net", self.model_path)

    def _finish_side(self, side, layers, descent):
        return None, self.network.estimate(side, descent.history)

    def _final_candidates(self, side, layers, descent):
        # The network's angle and the ratio's, to be measured one against the other:
        # each fails where the other does not (the network far off on an unusual
        # history, the ratio at a quartet edge).
        ratio_u = QSSR._finish_side(self, side, layers, descent)[1]
        return [(self._full_aperture(side, None, u), u)
                for u in (self.network.estimate(side, descent.history), ratio_u)]


class CompensatedQSSRNet(QSSRNet):
    """QSSR-Net on an impaired array, every beam compensated with estimated impairments.

    A beam b pointing at u becomes b * exp(j(phi_n + 2 pi d_n u)) with the estimated
    phase phi and position d errors of each element: it then matches the impaired
    response D(u) Phi a(u) of seed 000 eq. 11-14. set_estimates() updates them between
    alignments (Algorithm 2's probing beams "with current compensation").
    """

    name = "qssr-net-impair"

    def __init__(self, nt, nr, beam_norm="unit", model=None, tx_estimate=None,
                 rx_estimate=None):
        super().__init__(nt, nr, beam_norm, model)
        self._ideal_tx, self._ideal_rx = self.tx_layers, self.rx_layers
        self.set_estimates(tx_estimate, rx_estimate)

    def set_estimates(self, tx_estimate, rx_estimate):
        self.tx_estimate = tx_estimate or ElementImpairment.ideal(self.nt)
        self.rx_estimate = rx_estimate or ElementImpairment.ideal(self.nr)
        self.tx_layers = [self._compensate(layer, self.tx_estimate) for layer in self._ideal_tx]
        self.rx_layers = [self._compensate(layer, self.rx_estimate) for layer in self._ideal_rx]

    @staticmethod
    def _compensate(layer, estimate):
        directions = codebooks.dft_angles(layer.shape[0])
        return layer * estimate.factors(directions)

    def _full_aperture(self, side, beam, u):
        estimate = self.tx_estimate if side == "tx" else self.rx_estimate
        return super()._full_aperture(side, beam, u) * estimate.factors(u)


class ExhaustiveSearch:
    """All Nt x Nr pairs of the finest DFT codebooks."""

    name = "exhaustive"

    def __init__(self, nt, nr, beam_norm="unit"):
        self.nt, self.nr = nt, nr
        self.tx_book = codebooks.dft_codebook(nt)
        self.rx_book = codebooks.dft_codebook(nr)

    @property
    def measurements(self):
        return self.nt * self.nr

    def search(self, batch):
        powers = yield Probe(tx=self.tx_book[None], rx=self.rx_book[None], side="both",
                             grid=True, tx_ids=np.arange(self.nt), rx_ids=np.arange(self.nr))
        flat = powers.reshape(batch, -1).argmax(axis=1)
        r, t = np.unravel_index(flat, (self.nr, self.nt))
        return Alignment(self.name, self.tx_book[t], self.rx_book[r],
                         codebooks.dft_angles(self.nt)[t], codebooks.dft_angles(self.nr)[r],
                         self.measurements)


class SRBSNet:
    """SR-BSNet baseline: the Nr/4 x Nt/4 wide-beam map (64 pairs for 64 x 16),
    super-resolved to the finest DFT pairs by a CNN; the strongest pair is chosen."""

    name = "sr-bsnet"

    def __init__(self, nt, nr, beam_norm="unit", model=None):
        if nt % 4 or nr % 4:
            raise ValueError("sr-bsnet needs array sizes divisible by 4")
        self.nt, self.nr = nt, nr
        self.tx_wide = codebooks.hierarchical_layer(nt, nt // 4, beam_norm)
        self.rx_wide = codebooks.hierarchical_layer(nr, nr // 4, beam_norm)
        self.tx_book, self.rx_book = codebooks.dft_codebook(nt), codebooks.dft_codebook(nr)
        self.model_path = Path(model) if model else registry.path_of("sr-bsnet")
        self.network = registry.load("sr-bsnet", self.model_path)

    @property
    def measurements(self):
        return (self.nt // 4) * (self.nr // 4)

    def search(self, batch):
        powers = yield Probe(tx=self.tx_wide[None], rx=self.rx_wide[None], side="both",
                             grid=True, tx_ids=np.arange(self.nt // 4),
                             rx_ids=np.arange(self.nr // 4))
        r, t = self.network.best_pair(powers)
        return Alignment(self.name, self.tx_book[t], self.rx_book[r],
                         codebooks.dft_angles(self.nt)[t], codebooks.dft_angles(self.nr)[r],
                         self.measurements)


class TwoPass:
    """A hierarchical search in two passes, against the outages of the one-pass search.

    The one-pass search finds the Tx angle with a single Rx antenna, 10log10(Nr) dB below
    the link's beamformed SNR, and most of its outages start there (a wrong Tx sector,
    or a path just outside the final quartet). Pass 1 probes the Tx layers down to the
    first of at least four beams with one Rx antenna; the Rx descent then runs against
    that wide Tx beam; pass 2 descends every Tx layer against the Rx beam. Each side's
    final layer takes one more probe (`_final_check`), and where a side has two
    candidate angles (QSSR-Net's network and ratio) both full-aperture beams are
    measured and the stronger kept. 26 measurements for binary search and QSSR on
    64 x 16, 30 for QSSR-Net.

    With more than GRID_ABOVE_NR Rx antennas one of them is too weak for pass 1 (18 dB
    below the beamformed SNR for 64): pass 1 measures every pair of both sides' widest
    beams instead (16 pairs), and the Rx descent continues under the best pair's Rx beam.
    """

    GRID_ABOVE_NR = 16

    def __init__(self, base):
        self.base = base
        self.nt, self.nr, self.beam_norm = base.nt, base.nr, base.beam_norm
        self.name = f"{base.name}-2pass"
        self.tx_wide = self._widest(base.tx_layers)
        self.rx_wide = self._widest(base.rx_layers)
        self.grid = self.nr > self.GRID_ABOVE_NR and self.rx_wide < len(base.rx_layers)

    @staticmethod
    def _widest(layers):
        """Layers down to the first of at least four beams (one for QSSR, two for binary)."""
        return next((i + 1 for i, layer in enumerate(layers) if layer.shape[0] >= 4),
                    len(layers))

    @property
    def measurements(self):
        base = self.base
        if self.grid:
            first = (base.tx_layers[self.tx_wide - 1].shape[0]
                     * base.rx_layers[self.rx_wide - 1].shape[0])
            rx_layers = len(base.rx_layers) - self.rx_wide
        else:
            first, rx_layers = base.ary * self.tx_wide, len(base.rx_layers)
        # Per side: the final check, and where there are several, the candidate beams.
        candidates = base.final_candidates
        per_side = 1 + (candidates if candidates > 1 else 0)
        return first + base.ary * (rx_layers + len(base.tx_layers)) + 2 * per_side

    def search(self, batch):
        base = self.base
        wide_layer = base.tx_layers[self.tx_wide - 1]
        if self.grid:
            rx_layer = base.rx_layers[self.rx_wide - 1]
            powers = yield Probe(tx=wide_layer[None], rx=rx_layer[None], side="both",
                                 grid=True, tx_ids=np.arange(wide_layer.shape[0]),
                                 rx_ids=np.arange(rx_layer.shape[0]))
            best_rx, best_tx = np.unravel_index(powers.reshape(batch, -1).argmax(axis=1),
                                                powers.shape[1:])
            # The chosen Tx beam's column is that Rx layer's record in the descent.
            rows = np.arange(batch)
            history = [(np.broadcast_to(codebooks.dft_angles(rx_layer.shape[0]),
                                        (batch, rx_layer.shape[0])),
                        powers[rows, :, best_tx])] if self.rx_wide == 1 else []
            resume = (self.rx_wide, best_rx, history)
        else:
            first = yield from base._descend("tx", base.tx_layers[:self.tx_wide],
                                             single_antenna(base.nr, batch), batch)
            best_tx, resume = first.best, None
        wide = wide_layer[best_tx]
        wide = wide / np.linalg.norm(wide, axis=1, keepdims=True)
        w, u_rx = yield from self._side("rx", base.rx_layers, wide, batch, resume)
        f, u_tx = yield from self._side("tx", base.tx_layers, w, batch)
        return Alignment(self.name, f, w, u_tx, u_rx, self.measurements)

    def _side(self, side, layers, fixed, batch, resume=None):
        """Descends one side against the other's fixed beam; returns (beam, angle)."""
        base = self.base
        descent = yield from base._descend(side, layers, fixed, batch, resume)
        descent = yield from base._final_check(side, layers, descent, fixed, batch)
        candidates = base._final_candidates(side, layers, descent)
        if len(candidates) == 1:
            return candidates[0]
        beams = np.stack([beam for beam, _ in candidates], axis=1)  # (B, C, N)
        powers = yield side_probe(side, beams, fixed, len(layers))
        chosen = np.argmax(powers, axis=1)
        rows = np.arange(batch)
        angles = np.stack([u for _, u in candidates], axis=1)
        return beams[rows, chosen], angles[rows, chosen]


STRATEGIES = {"exhaustive": ExhaustiveSearch, "binary": BinarySearch, "qssr": QSSR,
              "qssr-net": QSSRNet, "sr-bsnet": SRBSNet, "qssr-net-impair": CompensatedQSSRNet}
TWO_PASS = ("binary", "qssr", "qssr-net")
STRATEGIES.update({f"{name}-2pass": STRATEGIES[name] for name in TWO_PASS})
LEARNED = ("qssr-net", "sr-bsnet", "qssr-net-impair")


def make_strategy(method, nt, nr, beam_norm="unit", model=None):
    """A strategy by name; `model` is a weight file for the learned methods (None: shipped).

    QSSR-Net without a network trained for the nt x nr link is QSSR, with a logged
    warning: another size's network reads layers it was not trained on (a 64 x 16 network
    on a 64 x 64 link lost 0.8 dB to plain QSSR)."""
    if method not in STRATEGIES:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(STRATEGIES)}")
    if method.endswith("-2pass"):
        return TwoPass(make_strategy(method[:-len("-2pass")], nt, nr, beam_norm, model))
    if method == "qssr-net" and model is None and not registry.qssr_net_trained(nt, nr):
        logging.getLogger(__name__).warning(
            "no QSSR-Net trained for a %d x %d link (train one: beamalign train qssr-net "
            "--nt %d --nr %d); aligning with QSSR", nt, nr, nt, nr)
        return QSSR(nt, nr, beam_norm)
    if method in LEARNED:
        return STRATEGIES[method](nt, nr, beam_norm, model)
    return STRATEGIES[method](nt, nr, beam_norm)
