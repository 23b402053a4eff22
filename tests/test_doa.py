# SPDX-License-Identifier: GPL-3.0-or-later
"""Coarray spectrum and sparse reconstruction (seed 003) against explicit NumPy."""
import numpy as np
import pytest

from gnuradio.beamalign.doa import (
    DEFAULT_GRID_DEG,
    CoarraySpectrum,
    half_power_beamwidth,
    sample_covariance,
    scg_reference,
    simulate_snapshots,
)


def _snapshots(theta_deg, m=4, k=16, snr_db=20.0, seed=0):
    return simulate_snapshots(np.random.default_rng(seed), theta_deg, m, k, snr_db)


def _coarray_manifold(m, grid_deg):
    a = np.exp(1j * np.pi * np.arange(m)[:, None] * np.sin(np.deg2rad(grid_deg))[None, :])
    # column l = vec(a_l a_l^H), row-major vec (R[i, j] at i*m + j)
    return np.einsum("il,jl->ijl", a, a.conj()).reshape(m * m, -1)


def test_dbf_and_p_match_the_explicit_coarray_manifold():
    m, grid = 4, np.arange(-60.0, 60.01, 2.0)
    spectrum = CoarraySpectrum(m, grid)
    r = sample_covariance(_snapshots(20.0, m, seed=1))
    a_tilde = _coarray_manifold(m, grid)
    np.testing.assert_allclose(spectrum.dbf(r, remove_noise=False),
                               np.real(a_tilde.conj().T @ r.reshape(-1)), atol=1e-10)
    floor = np.linalg.eigvalsh(r)[0]
    np.testing.assert_allclose(spectrum.dbf(r), np.real(a_tilde.conj().T @ (r - floor * np.eye(m))
                                                        .reshape(-1)), atol=1e-10)
    x = np.random.default_rng(2).random(len(grid))
    p = np.real(a_tilde.conj().T @ a_tilde)  # P_ij = |a_i^H a_j|^2
    np.testing.assert_allclose(spectrum.solver.apply_p(x), p @ x, rtol=1e-10)
    np.testing.assert_allclose(spectrum.solver.p_norm, np.linalg.eigvalsh(p)[-1], rtol=1e-6)


def test_cpp_reconstruction_equals_the_numpy_reference():
    spectrum = CoarraySpectrum(4)
    eta = spectrum.dbf(sample_covariance(_snapshots(-15.0, seed=3)))
    z = np.roll(eta, 5)  # a "calibrated" input different from eta_i exercises lambda
    fast = spectrum.scg(eta, z, lam=0.2, mu=0.1, rounds=3, iterations=80)
    slow = scg_reference(4, DEFAULT_GRID_DEG, eta, z, lam=0.2, mu=0.1, rounds=3, iterations=80)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9 * slow.max())


@pytest.mark.parametrize("theta", [-45.0, -15.0, 15.0, 45.0])
def test_scg_narrows_the_beam_and_keeps_the_peak(theta):
    spectrum = CoarraySpectrum(4)
    for seed in range(3):
        eta = spectrum.dbf(sample_covariance(_snapshots(theta, seed=seed)))
        out = spectrum.scg(eta)
        assert abs(spectrum.estimate_deg(out) - theta) <= 0.5
        assert half_power_beamwidth(eta, DEFAULT_GRID_DEG) > 20.0  # coarray DBF: ~27 deg
        assert half_power_beamwidth(out, DEFAULT_GRID_DEG) < 1.0   # paper: 0.7 deg at -15


def test_bad_input_is_refused():
    spectrum = CoarraySpectrum(4)
    with pytest.raises(ValueError, match="4 x 4"):
        spectrum.dbf(np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        sample_covariance(np.full((4, 8), np.nan))
    with pytest.raises(ValueError, match="grid's length"):
        spectrum.scg(np.ones(10))
    with pytest.raises(ValueError):
        CoarraySpectrum(1)


def test_doa_benches_write_rows(tmp_path):
    import json
    import subprocess
    import sys

    for experiment, extra in (("doa-spectrum", ["--png", str(tmp_path / "s.png")]),
                              ("doa-speed", [])):
        out = tmp_path / f"{experiment}.json"
        run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "bench", experiment,
                              "--trials", "5", "--quiet", "--json", str(out), *extra],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        rows = json.loads(out.read_text())["rows"]
        if experiment == "doa-spectrum":
            hpbw = {(r["method"], r["x"]): r["value"] for r in rows if r["metric"] == "hpbw_deg"}
            assert len(hpbw) == 12
            for x in (-45.0, -15.0, 15.0, 45.0):
                assert hpbw[("scg", x)] < 1.0 < 20.0 < hpbw[("dbf", x)]
                assert hpbw[("mod-dnn", x)] < 5.0
        else:
            assert {r["method"] for r in rows} == {"dbf", "scg", "scg-numpy", "cnn", "mod-dnn"}
            assert all(r["value"] > 0 for r in rows)


def test_music_root_music_and_the_crb():
    from gnuradio.beamalign.doa import crb_deg, music_spectrum, root_music, simulate_snapshots
    rng = np.random.default_rng(5)
    for theta in (-37.3, 12.34):
        r = sample_covariance(simulate_snapshots(rng, theta, 4, 16, 30.0))
        assert abs(DEFAULT_GRID_DEG[np.argmax(music_spectrum(r, DEFAULT_GRID_DEG))] - theta) <= 0.3
        # off the grid, and near-efficient at high SNR: within 4 CRB standard deviations
        assert abs(root_music(r)[0] - theta) < 4 * crb_deg(theta, 4, 16, 30.0)
    # Hand value: N = 4, T = 16, SNR 20 dB, broadside: sqrt(6/(pi^2*16*100*4*15)) rad
    assert crb_deg(0.0, 4, 16, 20.0) == pytest.approx(np.degrees(np.sqrt(6 / (np.pi ** 2 * 96000))))
    assert crb_deg(60.0, 4, 16, 20.0) == pytest.approx(2 * crb_deg(0.0, 4, 16, 20.0))


def test_impaired_snapshots_follow_the_phase_error_profile():
    from gnuradio.beamalign.arrays import AngleDependentPhaseError
    from gnuradio.beamalign.doa import simulate_snapshots
    profile = AngleDependentPhaseError.sample(4, 16, rng=0)
    h = simulate_snapshots(np.random.default_rng(1), 25.0, 4, 16, 300.0, profile)
    ideal = simulate_snapshots(np.random.default_rng(1), 25.0, 4, 16, 300.0, None)
    expected = np.stack([profile.factors(np.sin(np.deg2rad(25.0)), k) for k in range(16)], axis=1)
    np.testing.assert_allclose(h / ideal, expected, atol=1e-9)
    with pytest.raises(ValueError, match="antennas"):
        simulate_snapshots(np.random.default_rng(1), 0.0, 8, 16, 20.0, profile)


def test_model_based_methods_degrade_with_the_impairment(tmp_path):
    import json
    import subprocess
    import sys
    out = tmp_path / "imp.json"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "bench", "doa-impairment",
                          "--trials", "100", "--quiet", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rmse = {(r["method"], r["x"]): r["value"] for r in json.loads(out.read_text())["rows"]
            if r["metric"] == "rmse_deg"}
    for method in ("dbf", "music"):
        assert rmse[(method, 0.0)] < 0.5 < rmse[(method, 1.0)]


def test_coarray_spectrum_block_matches_the_kernel_and_drops_bad_vectors():
    from gnuradio import beamalign, blocks, gr

    from gnuradio.beamalign.blocks.message_recorder import message_recorder
    from gnuradio.beamalign.doa import simulate_snapshots

    rng = np.random.default_rng(7)
    vectors = [simulate_snapshots(rng, theta, 4, 16, 20.0) for theta in (-15.0, 40.0)]
    bad = vectors[0].copy()
    bad[2, 3] = np.nan
    data = np.concatenate([v.reshape(-1) for v in (vectors[0], bad, vectors[1])])
    tb = gr.top_block()
    src = blocks.vector_source_c(data.astype(np.complex64).tolist(), False, 64)
    block = beamalign.coarray_spectrum(4, 16, DEFAULT_GRID_DEG.tolist(), "scg")
    sink = blocks.vector_sink_f(len(DEFAULT_GRID_DEG))
    recorder = message_recorder()
    tb.connect(src, block, sink)
    tb.msg_connect(block, "doa", recorder, "in")
    tb.run()
    assert recorder.wait_for(2, 5.0)
    out = np.array(sink.data()).reshape(3, -1)
    kernel = CoarraySpectrum(4)
    for row, v in ((0, vectors[0]), (2, vectors[1])):
        # the block sees complex64 samples: compare with the kernel on the same rounding
        expected = kernel.scg(kernel.dbf(sample_covariance(v.astype(np.complex64))))
        np.testing.assert_allclose(out[row], expected / expected.max(), atol=1e-4)
    np.testing.assert_array_equal(out[1], 0.0)
    assert block.dropped_vectors() == 1
    assert [round(m["angle_deg"], 1) for m in recorder.messages] == [
        DEFAULT_GRID_DEG[np.argmax(out[0])], DEFAULT_GRID_DEG[np.argmax(out[2])]]
    assert abs(recorder.messages[0]["angle_deg"] + 15.0) <= 0.5
    assert abs(recorder.messages[1]["angle_deg"] - 40.0) <= 0.5
