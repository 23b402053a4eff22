# SPDX-License-Identifier: GPL-3.0-or-later
"""One AoA estimate per M x K snapshot set, by any of the methods the blocks and the
benches share."""
import numpy as np

from ..arrays.calibration import load_calibration
from ..arrays.impairments import AngleDependentPhaseError
from ..fileio import FileFormatError, sha256_of
from ..models import registry
from .coarray import sample_covariance
from .subspace import music_spectrum, root_music


class NoSignal(ValueError):
    """The snapshots carry no signal to estimate an angle from."""


METHODS = ("scg", "dbf", "music", "root-music", "cnn", "mod-dnn")
# Methods whose weights are loaded with load_model(method).
LEARNED_METHODS = ("cnn", "mod-dnn")
# Seeds the simulated array's angle-dependent phase-error profile: the array of
# sim_srs_source, of `beamalign bench doa-*` with --seed 0, and of the shipped CNN.
ARRAY_PROFILE_SEED = 1000


def load_doa_cnn(path=None):
    """The data-driven CNN baseline (weights shipped, trained by `beamalign train doa-cnn`)."""
    return registry.load("doa-cnn", path)


def load_mod_dnn(path=None):
    """MoD-DNN (weights shipped, trained by `beamalign train mod-dnn`) around the C++ SCG."""
    # Torch costs seconds to import: only a learned method's user pays for it.
    from .mod_dnn import ModDnnEstimator
    return ModDnnEstimator(registry.load("mod-dnn", path))


def array_profile(m, k, array_seed=ARRAY_PROFILE_SEED, calibration=None):
    """An array's angle-dependent phase errors: the table a chamber calibration file
    measured, else the chamber-like profile drawn from array_seed."""
    if calibration:
        table = load_calibration(calibration, num_elements=m).angle_table
        if table is None:
            raise FileFormatError(f"{calibration}: no field 'angle_table' (a chamber "
                                  "calibration file has one)")
        if table.num_subcarriers != k:
            raise FileFormatError(f"{calibration}: angle table has {table.num_subcarriers} "
                                  f"subcarriers, expected {k}")
        return table
    return AngleDependentPhaseError.sample(m, k, rng=np.random.default_rng(array_seed))


def array_identity(array_seed=ARRAY_PROFILE_SEED, calibration=None):
    """What a model's sidecar says about the array it was trained for: the calibration
    file's array id and sha256, or the simulated profile's seed."""
    if calibration:
        return {"id": load_calibration(calibration).array_id, "calibration": str(calibration),
                "sha256": sha256_of(calibration)}
    return {"id": f"sim-profile-{array_seed}", "profile_seed": array_seed}


def check_array(model, array_id):
    """ValueError when a learned model was trained for another array than array_id
    ("" accepts any: the caller says the array is the model's)."""
    trained = (getattr(model, "sidecar", None) or {}).get("training", {}).get("array", {})
    trained_id = trained.get("id", f"sim-profile-{ARRAY_PROFILE_SEED}")
    if array_id and array_id != trained_id:
        raise ValueError(f"the model was trained for array {trained_id!r}, not {array_id!r} "
                         "(train one for this array: beamalign train mod-dnn --calibration "
                         "FILE; or pass array_id='' to use it anyway)")


def load_model(method, path=None):
    """The network a learned method needs (None for the model-based methods)."""
    if method == "cnn":
        return load_doa_cnn(path)
    if method == "mod-dnn":
        return load_mod_dnn(path)
    return None


def estimate_doa(method, spectrum, snapshots, model=None):
    """(angle_deg, spectrum on spectrum's grid normalised to peak 1) of one (M, K) snapshot
    set; spectrum is a CoarraySpectrum. root-MUSIC takes its angle from the polynomial and
    shows the MUSIC spectrum; the CNN (model: load_doa_cnn()) regresses the angle, and its
    spectrum is 1 at the nearest grid angle. MoD-DNN (model: load_mod_dnn()) shows its
    reconstructed spectrum and reads the angle from the centroid of its peak."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method in LEARNED_METHODS and model is None:
        raise ValueError(f"method {method!r} needs its model (load_model({method!r}))")
    h = np.asarray(snapshots)
    if h.size and np.all(np.isfinite(h)) and not np.any(h):
        # Every method would invent an angle here (the CNN NaN, MoD-DNN its first grid
        # angle): there is nothing to estimate from.
        raise NoSignal("no signal: every snapshot is zero")
    if method == "mod-dnn":
        if not np.array_equal(model.grid_deg, spectrum.grid_deg):
            raise ValueError(f"the mod-dnn model works on its own {len(model.grid_deg)}-point "
                             f"grid, not this {len(spectrum.grid_deg)}-point one")
        angle, values, _ = model.estimate(snapshots)
        return angle, values
    r = sample_covariance(snapshots)
    if method == "cnn":
        angle = model.estimate_deg(r)
        values = np.zeros(len(spectrum.grid_deg))
        values[int(np.argmin(np.abs(spectrum.grid_deg - angle)))] = 1.0
        return angle, values
    if method in ("dbf", "scg"):
        values = spectrum.dbf(r)
        if method == "scg":
            values = spectrum.scg(values)
    else:
        values = music_spectrum(r, spectrum.grid_deg)
    values = np.asarray(values, dtype=np.float64)
    peak = values.max()
    values = values / peak if peak > 0 else values
    angle = float(root_music(r)[0]) if method == "root-music" else spectrum.estimate_deg(values)
    return angle, values
