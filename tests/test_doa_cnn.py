# SPDX-License-Identifier: GPL-3.0-or-later
"""The data-driven DoA CNN baseline: shipped weights, accuracy on the array it was
trained for, training, corrupt files, and the block."""
import numpy as np
import pytest

from gnuradio.beamalign.arrays.impairments import AngleDependentPhaseError
from gnuradio.beamalign.doa import CoarraySpectrum, sample_covariance, simulate_snapshots
from gnuradio.beamalign.doa.estimate import ARRAY_PROFILE_SEED, estimate_doa, load_doa_cnn
from gnuradio.beamalign.fileio import FileFormatError
from gnuradio.beamalign.models import registry


def test_shipped_weights_say_how_they_were_trained():
    model = load_doa_cnn()
    training = model.sidecar["training"]
    assert training["command"].startswith("beamalign train doa-cnn")
    assert training["scenario"]["profile_seed"] == ARRAY_PROFILE_SEED
    assert model.num_antennas == 4


def test_cnn_beats_dbf_on_the_array_it_was_trained_for():
    rng = np.random.default_rng(42)
    profile = AngleDependentPhaseError.sample(4, 16, rng=np.random.default_rng(ARRAY_PROFILE_SEED))
    spectrum, model = CoarraySpectrum(4), load_doa_cnn()
    errors = {"cnn": [], "dbf": []}
    for theta in rng.uniform(-60, 60, 150):
        h = simulate_snapshots(rng, theta, 4, 16, 20.0, profile)
        for method in errors:
            errors[method].append(estimate_doa(method, spectrum, h, model)[0] - theta)
    rmse = {method: float(np.sqrt(np.mean(np.square(e)))) for method, e in errors.items()}
    # Measured when shipped: CNN about 0.4 deg, coarray DBF about 2 deg (rho = 1, 20 dB).
    assert rmse["cnn"] < 0.8
    assert rmse["dbf"] > 2 * rmse["cnn"]


def test_training_writes_a_loadable_model_and_corruption_is_caught(tmp_path):
    from gnuradio.beamalign.training.doa_cnn import train

    path = train(tmp_path / "tiny.safetensors", epochs=1, steps_per_epoch=2, batch=8, quiet=True)
    model = load_doa_cnn(path)
    angle = model.estimate_deg(sample_covariance(
        simulate_snapshots(np.random.default_rng(0), 10.0, 4, 16, 20.0)))
    assert np.isfinite(angle)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="sha256"):
        load_doa_cnn(path)
    with pytest.raises(ValueError, match="needs its model"):
        estimate_doa("cnn", CoarraySpectrum(4), np.ones((4, 16), complex))
    assert registry.path_of("doa-cnn").exists()


def test_block_runs_the_cnn_on_srs_snapshots():
    from gnuradio.beamalign.flowgraphs import direction_finding

    tb = direction_finding(method="cnn", angle_deg=-35.0, snr_db=20.0, rho=1.0, symbols=5,
                           seed=3)
    angles = [m["angle_deg"] for m in tb.estimates()]
    assert len(angles) == 5
    assert abs(np.mean(angles) - -35.0) < 1.5
