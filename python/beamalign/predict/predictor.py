# SPDX-License-Identifier: GPL-3.0-or-later
"""Inference with a trained probe predictor (seed 001): the probe weights to transmit,
and the codebook scores of a vector of probe RSRPs.

One object serves the `beam_predictor` block, `beamalign predict` and the benches.
"""
from pathlib import Path

import numpy as np

from ..codebooks import quantize_phase
from ..models import registry
from . import probe_system, sites

RSRP_STEP_DB = 1.0  # seed 001 Sec. II-B: 1 dB RSRPs at inference


class BeamPredictor:
    """A trained probe predictor, loaded from the shipped file or a path.

    bits: phase-shifter resolution the probes are quantised to (0: none).
    """

    def __init__(self, model="probe-predictor", bits=0):
        path = None if model in ("", "probe-predictor") else Path(model)
        self.net = registry.load("probe-predictor", path)
        self.bits = int(bits)
        if not 0 <= self.bits <= 16:
            raise ValueError(f"bits must be in [0, 16], got {bits}")
        self.num_h, self.num_v = self.net.num_h, self.net.num_v
        self.system = probe_system.System(self.num_h, self.num_v)
        self.codebook = self.system.codebook().astype(np.complex64)
        # What the phase shifters can form: the codebook's beams quantised like the probes.
        self.beam_weights = quantize_phase(self.codebook, self.bits).astype(np.complex64)
        self.probe_weights = quantize_phase(self.net.probe_weight_array(),
                                            self.bits).astype(np.complex64)
        self.sidecar = self.net.sidecar

    @property
    def probes(self):
        return len(self.probe_weights)

    @property
    def beams(self):
        return len(self.codebook)

    def check_array(self, elements):
        """ValueError unless the model's codebook is for an array of `elements`."""
        if elements != self.beams:
            raise ValueError(f"the model predicts over a {self.num_h} x {self.num_v} UPA "
                             f"codebook ({self.beams} beams); this array has {elements} elements")

    def scores(self, rsrp_dbm):
        """Softmax scores (B, beams) of probe RSRPs (B, probes) in dBm, taken through
        seed 001's map g (clamped, rounded to 1 dB)."""
        rsrp = np.asarray(rsrp_dbm, dtype=np.float64)
        if rsrp.ndim == 1:
            return self.scores(rsrp[None])[0]
        if rsrp.ndim != 2 or rsrp.shape[1] != self.probes:
            raise ValueError(f"expected {self.probes} probe RSRPs per prediction, got shape "
                             f"{rsrp.shape}")
        if not np.all(np.isfinite(rsrp)):
            raise ValueError("probe RSRPs hold NaN or Inf")
        rsrp = probe_system.rsrp_map(10 ** (rsrp / 10), RSRP_STEP_DB)
        return self.net.softmax_scores(rsrp)

    def top_k(self, rsrp_dbm, k):
        """The k most likely beams, most likely first, and the scores."""
        scores = self.scores(rsrp_dbm)
        k = min(int(k), self.beams)
        return np.argsort(-scores, axis=-1)[..., :k], scores


def held_out_users(sidecar, site, sc):
    """In-sector users a model never trained on: the held-out side of the split its
    sidecar records when `site` is its training data set, else every user."""
    recorded = sidecar.get("training", {}).get("dataset", {})
    if recorded.get("sha256") != site.meta.get("sha256"):
        return np.arange(len(sc))
    _, test = sites.splits(site.subset(sc.users), recorded.get("split", "block"),
                           seed=recorded.get("split_seed", 0))
    return test
