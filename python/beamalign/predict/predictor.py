# SPDX-License-Identifier: GPL-3.0-or-later
"""Inference with a trained probe predictor (seed 001): the probe weights to transmit,
and the codebook scores of a vector of probe RSRPs.

One object serves the `beam_predictor` block, `beamalign predict` and the benches.
"""
from pathlib import Path

import numpy as np

from ..codebooks import quantize_phase
from ..fileio import read_json
from ..models import registry
from ..models.choices import MODEL_SCHEMA_VERSION, SIDECAR_KIND
from . import probe_system, sector_system, sites

RSRP_STEP_DB = 1.0  # seed 001 Sec. II-B: 1 dB RSRPs at inference


def _check_rsrp(rsrp, probes):
    """ValueError unless rsrp is (B, probes) and finite."""
    if rsrp.ndim != 2 or rsrp.shape[1] != probes:
        raise ValueError(f"expected {probes} probe RSRPs per prediction, got shape "
                         f"{rsrp.shape}")
    if not np.all(np.isfinite(rsrp)):
        raise ValueError("probe RSRPs hold NaN or Inf")


class _CodebookPredictor:
    """What every predictor offers the block: probe_weights (L, N) to transmit, the
    codebook (beams, N) it predicts over, beam_weights (what the phase shifters form),
    scores(rsrp_dbm), and from these the counts and top_k."""

    @property
    def probes(self):
        return len(self.probe_weights)

    @property
    def beams(self):
        return len(self.codebook)

    def top_k(self, rsrp_dbm, k):
        """The k most likely beams, most likely first, and the scores."""
        scores = self.scores(rsrp_dbm)
        k = min(int(k), self.beams)
        return np.argsort(-scores, axis=-1)[..., :k], scores


class BeamPredictor(_CodebookPredictor):
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
        _check_rsrp(rsrp, self.probes)
        rsrp = probe_system.rsrp_map(10 ** (rsrp / 10), RSRP_STEP_DB)
        return self.net.softmax_scores(rsrp)



def held_out_users(sidecar, site, users):
    """Indices into `users` (a site's users a predictor sees) that a model never trained
    on: the held-out side of the split its sidecar records when `site` is one of its
    training data sets, else all of them."""
    training = sidecar.get("training", {})
    recorded = [training["dataset"]] if "dataset" in training else training.get("datasets", [])
    if not any(d.get("sha256") == site.meta.get("sha256") for d in recorded):
        return np.arange(len(users))
    split = recorded[0].get("split", training.get("split", "random"))
    _, test = sites.splits(site.subset(users), split,
                           seed=recorded[0].get("split_seed", training.get("split_seed", 0)))
    return test


class FusionBeamPredictor(_CodebookPredictor):
    """Seed 002's predictor (or a baseline) for one sector's panel, with the interface of
    BeamPredictor: the 16 probes of the 4 x 4 codebook, scores over the fine codebook
    (64 or 256 beams) from their RSRPs, and the estimated position (m from the BS)."""

    def __init__(self, model="fusion", sector=0, bits=0):
        path = None if model in ("", "fusion") else Path(model)
        self.net = registry.load("fusion-predictor", path)
        self.sidecar = self.net.sidecar
        if not 0 <= int(sector) < len(sector_system.SECTORS):
            raise ValueError(f"sector must be 0, 1 or 2, got {sector}")
        self.sector, self.bits = int(sector), int(bits)
        system = sector_system.SectorSystem()
        self.system = system
        grid = sector_system.FINE_GRIDS.get(self.net.beams)
        if grid is None:
            raise ValueError(f"the model predicts over {self.net.beams} beams; seed 002's "
                             f"codebooks have {sorted(sector_system.FINE_GRIDS)}")
        self.codebook = sector_system.codebook(*grid).astype(np.complex64)
        self.beam_weights = quantize_phase(self.codebook, self.bits).astype(np.complex64)
        self.probe_weights = quantize_phase(sector_system.codebook(*sector_system.PROBE_GRID),
                                            self.bits).astype(np.complex64)
        self.position_scale = float(self.sidecar.get("training", {}).get("position_scale_m",
                                                                          200.0))
        self.last_position = None

    def check_array(self, elements):
        if elements != self.codebook.shape[1]:
            raise ValueError(f"the model is for an 8 x 8 UPA per sector ({self.codebook.shape[1]} "
                             f"elements); this array has {elements}")

    def scores(self, rsrp_dbm, sector=None):
        """Scores (B, beams) of probe RSRPs (B, 16) in dBm (any common reference: the
        network reads them relative to their maximum); sets last_position (B, 2) m."""
        rsrp = np.asarray(rsrp_dbm, dtype=np.float64)
        if rsrp.ndim == 1:
            return self.scores(rsrp[None], sector)[0]
        _check_rsrp(rsrp, self.probes)
        sectors = np.full(len(rsrp), self.sector if sector is None else sector)
        if np.any((sectors < 0) | (sectors >= len(sector_system.SECTORS))):
            raise ValueError(f"sector indices must be 0, 1 or 2, got {np.unique(sectors)}")
        linear = 10 ** ((rsrp - rsrp.max(axis=1, keepdims=True)) / 10)
        scores, position = self.net.predict(linear.astype(np.float32), sectors)
        self.last_position = None if position is None else position * self.position_scale
        return scores



def load_predictor(model, bits=0, sector=0):
    """BeamPredictor or FusionBeamPredictor, by the name or by the file's sidecar."""
    if model in ("", "probe-predictor"):
        return BeamPredictor(model, bits)
    if model == "fusion":
        return FusionBeamPredictor(model, sector, bits)
    name = read_json(Path(model).with_suffix(".json"), SIDECAR_KIND,
                     MODEL_SCHEMA_VERSION).get("architecture", {}).get("name")
    if name == "fusion-predictor":
        return FusionBeamPredictor(model, sector, bits)
    return BeamPredictor(model, bits)
