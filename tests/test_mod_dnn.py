# SPDX-License-Identifier: GPL-3.0-or-later
"""MoD-DNN (seed 003): the multi-task autoencoder and its decision, MoDL-SSR with the C++
SCG against its Torch twin, the read-out, the shipped weights, training, bad input and
the block."""
import numpy as np
import pytest
import torch

from gnuradio.beamalign.arrays.impairments import AngleDependentPhaseError
from gnuradio.beamalign.doa import CoarraySpectrum, sample_covariance
from gnuradio.beamalign.doa.estimate import ARRAY_PROFILE_SEED, estimate_doa, load_mod_dnn
from gnuradio.beamalign.doa.mod_dnn import ModDnnEstimator
from gnuradio.beamalign.doa.simulate import simulate_batch
from gnuradio.beamalign.doa.torch_scg import TorchScg
from gnuradio.beamalign.fileio import FileFormatError
from gnuradio.beamalign.models import registry
from gnuradio.beamalign.models.mod_dnn import ModDnn, peak_centroid, snapshot_features


def profile():
    return AngleDependentPhaseError.sample(4, 16, rng=np.random.default_rng(ARRAY_PROFILE_SEED))


def test_untrained_autoencoder_passes_every_task_the_normalised_snapshots():
    net = ModDnn()
    h = simulate_batch(np.random.default_rng(0), [12.0, -40.0], [20.0, 5.0])
    out = net.calibrated_snapshots(h)
    assert out.shape == (2, 32, 4, 16)  # 4 subregions x 8 impairment levels
    rms = np.sqrt(np.mean(np.abs(h) ** 2, axis=(1, 2)))
    for task in range(32):
        np.testing.assert_allclose(out[:, task], h / rms[:, None, None], atol=1e-6)
    features = snapshot_features(h)
    assert features.shape == (2, 16, 8) and features.dtype == np.float32


def test_tasks_split_angle_into_widened_subregions_and_rho_into_levels():
    net = ModDnn()
    np.testing.assert_allclose(net.edges, [-60, -30, 0, 30, 60])
    mask = net.task_mask(np.array([-59.0, -28.5, 45.0]), np.array([0.9, 0.1, 1.0]))
    tasks = [set(np.flatnonzero(row)) for row in mask]
    assert tasks[0] == {0 * 8 + 7}                # subregion 0, level 7 of 8
    assert tasks[1] == {0 * 8 + 0, 1 * 8 + 0}     # within 3 deg of the -30 edge
    assert tasks[2] == {3 * 8 + 7}
    assert net.region_of(-30.0) == 1 and net.region_of(60.0) == 3


def test_peak_centroid_reads_between_grid_points():
    grid = np.round(np.arange(-60, 60.01, 0.1), 10)
    spectrum = np.zeros((2, len(grid)))
    spectrum[0, [700, 701]] = [1.0, 1.0]          # 10.0 and 10.1 deg
    spectrum[1, [100, 101, 300]] = [1.0, 0.5, 0.9]  # the far bump is outside the window
    angles = peak_centroid(torch.from_numpy(spectrum), grid).numpy()
    np.testing.assert_allclose(angles, [10.05, (-50.0 + 0.5 * -49.9) / 1.5], atol=1e-9)


def test_cpp_modl_equals_the_torch_loop_it_was_trained_with():
    torch.manual_seed(1)
    net = ModDnn(unrolled=2, rounds=2, iterations=30)
    estimator = ModDnnEstimator(net)
    for parameter in net.calibrator.parameters():
        torch.nn.init.normal_(parameter, 0.0, 0.05)  # a calibrator that changes things
    net.eval()
    scg = TorchScg(4, net.solver_grid_deg, **net.scg_settings)
    h = simulate_batch(np.random.default_rng(3), [-21.0], [15.0], [0.7], profile())
    eta_hat = np.asarray(estimator.coarray.dbf(sample_covariance(h[0])), np.float64)
    assert len(eta_hat) == 1201 + 2 * 100  # the 10 deg guard bands
    cpp = estimator.modl(eta_hat)
    with torch.no_grad():
        twin = net.modl_torch(torch.from_numpy(eta_hat)[None], scg)[0].numpy()
    np.testing.assert_allclose(cpp, twin, rtol=1e-6, atol=1e-9 * cpp.max())
    assert np.abs(cpp - estimator.coarray.scg(eta_hat, None, **net.scg_settings)).max() > 1e-3


def test_shipped_weights_say_how_they_were_trained():
    model = load_mod_dnn()
    training = model.sidecar["training"]
    assert training["command"].startswith("beamalign train mod-dnn")
    assert training["scenario"]["profile_seed"] == ARRAY_PROFILE_SEED
    assert training["scenario"]["rho_uniform"] == [0.0, 1.0]
    assert (model.num_antennas, model.num_subcarriers, model.network.num_regions) == (4, 16, 4)


def test_mod_dnn_calibrates_the_array_it_was_trained_for():
    rng = np.random.default_rng(42)
    spectrum, model = CoarraySpectrum(4), load_mod_dnn()
    thetas = rng.uniform(-60, 60, 120)
    h = simulate_batch(rng, thetas, 20.0, 1.0, profile())
    errors = {"mod-dnn": [], "dbf": []}
    for theta, snapshots in zip(thetas, h):
        for method in errors:
            errors[method].append(estimate_doa(method, spectrum, snapshots, model)[0] - theta)
    rmse = {method: float(np.sqrt(np.mean(np.square(e)))) for method, e in errors.items()}
    # Measured when shipped (500 trials, beamalign bench doa-cdf): see the sidecar's
    # training record and the README; coarray DBF is about 2 deg here.
    assert rmse["dbf"] > 1.5
    assert rmse["mod-dnn"] < 0.6


def test_the_decision_picks_the_subregion_and_the_impairment_level():
    model = load_mod_dnn()
    rng = np.random.default_rng(8)
    thetas = rng.uniform(-60, 60, 60)
    h = simulate_batch(rng, thetas, 30.0, 1.0, profile())
    tasks, spectra = model.choose(h, model.calibrated_snapshots(h))
    net = model.network
    regions = tasks // net.impairment_levels
    lo = net.edges[regions] - net.margin_deg
    hi = net.edges[regions + 1] + net.margin_deg
    assert np.all((thetas >= lo) & (thetas <= hi))
    # rho = 1 is the top level; a neighbouring level now and then is no harm.
    assert np.mean(tasks % net.impairment_levels >= net.impairment_levels - 2) > 0.9
    assert spectra.shape == (60, len(model.solver_grid_deg))


def test_bad_input_is_named():
    model = load_mod_dnn()
    spectrum = CoarraySpectrum(4)
    with pytest.raises(ValueError, match="4 x 16"):
        model.estimate(np.ones((4, 8), complex))
    nan = np.ones((4, 16), complex)
    nan[2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.estimate(nan)
    with pytest.raises(ValueError, match="needs its model"):
        estimate_doa("mod-dnn", spectrum, np.ones((4, 16), complex))


def test_training_writes_a_loadable_model_and_corruption_is_caught(tmp_path):
    from gnuradio.beamalign.training.mod_dnn import train

    path = train(tmp_path / "tiny.safetensors", ae_samples=4000, steps=2, batch=4, validation=8,
                 validate_every=1, quiet=True)
    model = load_mod_dnn(path)
    assert model.sidecar["training"]["autoencoder"]["relative_residual_mean"] < 0.2
    validation = model.sidecar["training"]["calibrator"]["validation"]
    assert [c[0] for c in validation["p80_deg_by_step"]] == [0, 1, 2]
    assert validation["kept_step"] in (0, 1, 2)
    h = simulate_batch(np.random.default_rng(0), [10.0], [20.0], [1.0], profile())[0]
    angle, values, region = model.estimate(h)
    assert values.shape == (1201,)
    assert abs(angle - 10.0) < 2.0 and region == 2 and values.max() == 1.0
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="sha256"):
        load_mod_dnn(path)
    assert registry.path_of("mod-dnn").exists()


def test_block_runs_mod_dnn_and_feeds_the_compass():
    import pmt
    from gnuradio import blocks, gr

    from gnuradio.beamalign.blocks.doa_estimator import doa_estimator

    h = simulate_batch(np.random.default_rng(5), [-35.0, -35.0], [20.0, 20.0], [1.0, 1.0],
                       profile())
    tb = gr.top_block()
    source = blocks.vector_source_c(h.reshape(2, -1).astype(np.complex64).ravel().tolist(),
                                    False, 64)
    estimator = doa_estimator("mod-dnn", 4, 16)
    sink = blocks.vector_sink_f(1201)
    debug = blocks.message_debug()
    tb.connect(source, estimator, sink)
    tb.msg_connect(estimator, "angle", debug, "store")
    tb.run()
    assert debug.num_messages() == 2
    angle = pmt.to_python(pmt.cdr(debug.get_message(0)))
    assert abs(angle - -35.0) < 1.0
    assert abs(angle - estimator.estimates[0]) < 1e-12
    assert max(sink.data()[:1201]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="subcarriers"):
        doa_estimator("mod-dnn", 4, 8)


def test_a_chamber_run_trains_mod_dnn_for_its_own_array(tmp_path):
    from gnuradio.beamalign.blocks.doa_estimator import doa_estimator
    from gnuradio.beamalign.doa.estimate import check_array
    from gnuradio.beamalign.hw.chamber import simulated_array_run
    from gnuradio.beamalign.training.mod_dnn import train

    # A new array (profile seed 77, used nowhere else) measured in the chamber...
    simulated_array_run("sim", np.arange(-60.0, 60.1, 5.0), 4, 16, 30.0, 77,
                        tmp_path / "state.json", tmp_path / "cal.json", "array-77",
                        source="direct")
    path = train(tmp_path / "m.safetensors", ae_samples=20000, steps=2, batch=4, validation=8,
                 validate_every=1, quiet=True, calibration=tmp_path / "cal.json")
    model = load_mod_dnn(path)
    array = model.sidecar["training"]["array"]
    assert array["id"] == "array-77" and len(array["sha256"]) == 64
    # ... estimates on that array as the shipped model does on its own, and is refused
    # for another array.
    truth = AngleDependentPhaseError.sample(4, 16, rng=np.random.default_rng(77))
    rng = np.random.default_rng(5)
    thetas = rng.uniform(-55, 55, 60)
    errors = [model.estimate(simulate_batch(rng, [t], [25.0], [1.0], truth)[0])[0] - t
              for t in thetas]
    assert np.sqrt(np.mean(np.square(errors))) < 0.6
    check_array(model, "array-77")
    with pytest.raises(ValueError, match="trained for array 'array-77', not 'sim-array'"):
        check_array(model, "sim-array")
    with pytest.raises(ValueError, match="array-77"):
        doa_estimator("mod-dnn", model=str(path), array_id="array-other")
    doa_estimator("mod-dnn", model=str(path), array_id="array-77")
    check_array(load_mod_dnn(), f"sim-profile-{ARRAY_PROFILE_SEED}")
