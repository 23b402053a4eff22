# SPDX-License-Identifier: GPL-3.0-or-later
"""Online self-calibration over the whole aperture: the synthesis model and its
Jacobian, the ambiguity projection, sweeps, restarts, the beam_aligner mode and
`beamalign calibrate --online`."""
import numpy as np
import pytest

from gnuradio.beamalign import channels
from gnuradio.beamalign.align import PathMeasurer, run_batch
from gnuradio.beamalign.align.evaluate import evaluate_strategy
from gnuradio.beamalign.align.self_calibration import (
    SelfCalibrator,
    _Blocks,
    _Side,
    _stack,
    calibrate_online,
    noise_floor,
    remove_ramp,
    residual_phase_rms,
)
from gnuradio.beamalign.align.strategies import CompensatedQSSRNet
from gnuradio.beamalign.arrays.calibration import load_calibration
from gnuradio.beamalign.arrays.impairments import ElementImpairment


def _impaired_alignments(trials, snr_db, seed, num_paths=1):
    rng = np.random.default_rng(seed)
    tx, rx = ElementImpairment.sample(64, rng=rng), ElementImpairment.sample(16, rng=rng)
    chans = channels.saleh_valenzuela(trials, 64, 16, num_paths, rng=rng, tx_impairment=tx,
                                      rx_impairment=rx)
    alignment = run_batch(CompensatedQSSRNet(64, 16), PathMeasurer(chans, snr_db, rng=rng), trials)
    return tx, rx, chans, alignment


def _side_with(alignment, name, u):
    """A _Side holding one alignment batch's blocks of every layer."""
    side = _Side(64 if name == "tx" else 16, 4096, 8)
    blocks = {}
    for depth, (children, powers) in enumerate(alignment.extras[f"{name}_probed"]):
        entry = (np.arange(len(u)), alignment.extras[f"{name}_layers"][depth][children], powers)
        blocks[children.shape[1]] = _stack(blocks.get(children.shape[1]), entry)
    side.add_alignments(_Blocks(u, blocks))
    return side


def test_synthesised_powers_match_every_layer_at_the_true_errors():
    tx, rx, chans, alignment = _impaired_alignments(400, 60.0, seed=1)
    for name, truth, u in (("tx", tx, chans.u_tx[:, 0]), ("rx", rx, chans.u_rx[:, 0])):
        side = _side_with(alignment, name, u)
        angles, blocks, _, _ = side.gathered()
        groups = side.group_of_residual(blocks)
        assert len(groups) == len(u) * 4 * len(alignment.extras[f"{name}_probed"])

        def median_loss(estimate):
            residual = side.residuals(estimate.phase_rad, estimate.position_wl, angles, blocks)
            return float(np.median(np.bincount(groups, residual ** 2)))

        # Single path, 60 dB: eq. 15 is the channel, so only noise is left at the truth.
        at_truth = median_loss(truth)
        assert at_truth < 1e-4
        assert median_loss(ElementImpairment.ideal(truth.num_elements)) > 100 * at_truth


def test_the_analytic_jacobian_matches_finite_differences():
    tx, _, chans, alignment = _impaired_alignments(20, 30.0, seed=2, num_paths=3)
    side = _side_with(alignment, "tx", chans.u_tx[:, 0])
    u, blocks, _, weight = side.gathered()
    phase, position = 0.2 * tx.phase_rad, 0.5 * tx.position_wl
    _, d_phase, d_position, d_angle = side.residuals(phase, position, u, blocks, True, weight)
    step = 1e-6
    for n in (0, 7, 63):
        bump = np.zeros(64)
        bump[n] = step
        numeric = (side.residuals(phase + bump, position, u, blocks, weight=weight)
                   - side.residuals(phase - bump, position, u, blocks, weight=weight)) / (2 * step)
        np.testing.assert_allclose(d_phase[:, n], numeric, rtol=1e-4, atol=1e-6)
        numeric = (side.residuals(phase, position + bump, u, blocks, weight=weight)
                   - side.residuals(phase, position - bump, u, blocks, weight=weight)) / (2 * step)
        np.testing.assert_allclose(d_position[:, n], numeric, rtol=1e-4, atol=1e-6)
    numeric = (side.residuals(phase, position, u + step, blocks, weight=weight)
               - side.residuals(phase, position, u - step, blocks, weight=weight)) / (2 * step)
    np.testing.assert_allclose(d_angle, numeric, rtol=1e-4, atol=1e-6)


def test_residual_ignores_a_common_offset_and_a_linear_ramp():
    truth = ElementImpairment.sample(64, rng=3)
    n = np.arange(64)
    shifted = ElementImpairment(truth.phase_rad + 0.7 + 0.05 * n, truth.position_wl + 0.01)
    assert residual_phase_rms(shifted, truth, u=0.3) == pytest.approx(0.0, abs=1e-9)
    expected = np.sqrt(np.mean(remove_ramp(np.angle(np.exp(1j * (truth.phase_rad - np.angle(
        np.mean(np.exp(1j * truth.phase_rad))))))) ** 2))
    assert residual_phase_rms(ElementImpairment.ideal(64), truth) == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(remove_ramp(2.0 + 0.3 * n), 0.0, atol=1e-9)


def test_an_update_keeps_the_window_and_leaves_no_offset_or_ramp():
    _, _, _, alignment = _impaired_alignments(100, 30.0, seed=4, num_paths=3)
    calibrator = SelfCalibrator(64, 16, window=150, iterations=2)
    for _ in range(3):
        step = calibrator.update(alignment)
    # Whole batches are kept while the ones after the oldest still hold fewer than 150.
    assert sum(len(b.u) for b in calibrator.sides["tx"].alignments) == 200
    assert step.alignments == 100 and np.isfinite(step.loss_after)
    assert calibrator.aligned == 300
    for estimate in calibrator.estimates():
        assert np.any(estimate.phase_rad != 0)
        np.testing.assert_allclose(remove_ramp(estimate.phase_rad), estimate.phase_rad, atol=1e-9)
        np.testing.assert_allclose(remove_ramp(estimate.position_wl), estimate.position_wl,
                                   atol=1e-9)
    with pytest.raises(ValueError, match="trim"):
        SelfCalibrator(64, 16, trim=1.0)


def _calibrated(snr_db, updates, sweep_every, seed=5):
    rng = np.random.default_rng(seed)
    tx, rx = ElementImpairment.sample(64, rng=rng), ElementImpairment.sample(16, rng=rng)
    calibrator = SelfCalibrator(64, 16, noise_power=noise_floor(snr_db, 64),
                                sweep_every=sweep_every)
    strategy = CompensatedQSSRNet(64, 16)
    calibrate_online(strategy, calibrator,
                     lambda n, g: channels.saleh_valenzuela(n, 64, 16, 3, rng=g, tx_impairment=tx,
                                                            rx_impairment=rx),
                     snr_db, updates, batch=64, rng=seed + 1)
    residual = {name: (residual_phase_rms(estimate, truth),
                       residual_phase_rms(ElementImpairment.ideal(truth.num_elements), truth))
                for name, estimate, truth in zip(("tx", "rx"), calibrator.estimates(), (tx, rx))}
    held_out = channels.saleh_valenzuela(2000, 64, 16, 3, rng=seed + 2, tx_impairment=tx,
                                         rx_impairment=rx)
    power = {label: np.mean(evaluate_strategy(search, held_out, snr_db, rng=seed + 3)[0])
             for label, search in (("calibrated", strategy),
                                   ("uncalibrated", CompensatedQSSRNet(64, 16)))}
    return residual, calibrator, power


def test_sweeps_and_every_layer_recover_the_whole_aperture():
    residual, calibrator, power = _calibrated(30.0, 20, sweep_every=50)
    # 1280 alignments and 25 sweeps of each side. Measured: residual phase Tx 0.44 and
    # Rx 0.07 of the uncalibrated (the final layer alone left ~0.9 after 300 updates).
    assert calibrator.sweeps_made == 2 * (1280 // 50)
    assert residual["tx"][0] < 0.6 * residual["tx"][1], residual
    assert residual["rx"][0] < 0.15 * residual["rx"][1], residual
    assert 10 * np.log10(power["calibrated"] / power["uncalibrated"]) > 1.0, power


def test_low_snr_calibration_does_not_cost_power():
    # At 10 dB the noise floor lifts every weak beam; fitted as impairments it once drove
    # the estimates apart. The residual phases still wander there (noise), but the
    # power must not fall below the uncalibrated array's (measured: about +0.9 dB).
    _, _, power = _calibrated(10.0, 15, sweep_every=50, seed=7)
    assert power["calibrated"] > power["uncalibrated"], power


def test_a_restart_drops_the_kept_measurements_and_asks_for_a_burst_of_sweeps():
    rng = np.random.default_rng(8)
    tx, rx = ElementImpairment.sample(64, rng=rng), ElementImpairment.sample(16, rng=rng)
    strategy = CompensatedQSSRNet(64, 16)
    calibrator = SelfCalibrator(64, 16, noise_power=noise_floor(30.0, 64))

    def draw(tx, rx):
        return lambda n, g: channels.saleh_valenzuela(n, 64, 16, 3, rng=g, tx_impairment=tx,
                                                      rx_impairment=rx)

    calibrate_online(strategy, calibrator, draw(tx, rx), 30.0, 30, rng=9)
    assert calibrator.forgotten == 0
    assert sum(calibrator.sweep_due(calibrator.aligned + k) for k in range(500)) == 10
    redrawn = [ElementImpairment(rng.normal(0, 0.1 * np.pi, side.num_elements),
                                 side.position_wl) for side in (tx, rx)]
    calibrate_online(strategy, calibrator, draw(*redrawn), 30.0, 1, rng=10)
    assert calibrator.forgotten == 2  # both sides
    assert len(calibrator.sides["tx"].alignments) == 1  # only the batch after the restart
    # Every 5th of the next 320 alignments, then every 50th again.
    start = calibrator.aligned
    assert sum(calibrator.sweep_due(start + k) for k in range(320)) == 64
    assert sum(calibrator.sweep_due(start + 320 + k) for k in range(500)) == 10


def test_beam_aligner_self_calibrates_every_k_alignments():
    from gnuradio import beamalign

    from gnuradio.beamalign.flowgraphs import alignment

    truth = ElementImpairment.sample(64, rng=7)
    tb = alignment("qssr-net-impair", 64, 16, snr_db=30.0, seed=3, self_calibrate_every=2)
    chans = channels.saleh_valenzuela(4, 64, 16, rng=8)
    tb.start()
    try:
        for i in range(4):
            tb.align(chans[i:i + 1], timeout=60, tx_phase=truth.phase_rad.astype(np.float32),
                     tx_position=truth.position_wl.astype(np.float32))
    finally:
        tb.stop()
        tb.wait()
    aligner = tb.aligner
    assert aligner.calibrator.updates == 2
    np.testing.assert_array_equal(aligner.strategy.tx_estimate.phase_rad,
                                  aligner.calibrator.estimates()[0].phase_rad)
    assert np.any(aligner.strategy.tx_estimate.phase_rad != 0)
    with pytest.raises(ValueError, match="qssr-net-impair"):
        beamalign.beam_aligner("qssr", 64, 16, self_calibrate_every=2)


def test_calibrate_online_writes_loadable_files(tmp_path, capsys):
    from gnuradio.beamalign.cli import main

    prefix = tmp_path / "online"
    assert main(["calibrate", "--online", "--updates", "3", "--batch", "16", "--eval-trials",
                 "200", "--quiet", "--report-every", "2", "--out", str(prefix)]) == 0
    printed = capsys.readouterr().out
    assert "residual phase RMS" in printed and "uncalibrated ->" in printed
    assert "update     2: loss" in printed
    tx = load_calibration(f"{prefix}.tx.json", num_elements=64, side="tx")
    rx = load_calibration(f"{prefix}.rx.json", num_elements=16, side="rx")
    assert np.all(np.isfinite(tx.phase_rad)) and np.all(np.isfinite(rx.position_wl))
    assert "online" in tx.source_run


def test_calibration_epochs_bench_runs_each_snr_as_a_chunk():
    from gnuradio.beamalign.bench.align import calibration_epochs

    report = calibration_epochs(trials=200, updates=10, batch=16, snrs_db=(20, 30), every=5,
                                scenarios=("restart",), tracking_alignments=1024)
    curves = {}
    for row in report.rows:
        if row["metric"] == "power_db" and row["x_name"] == "epoch":
            curves.setdefault(row["snr_db"], []).append((row["x"], row["value"]))
    # Evaluated after update 1 and every 5 updates, per SNR.
    assert [u for u, _ in curves[20]] == [1, 5, 10] and [u for u, _ in curves[30]] == [1, 5, 10]
    settled = {r["x"]: r["value"] for r in report.rows if r["metric"] == "converged_epoch"}
    assert set(settled) == {20, 30} and all(v in (1, 5, 10) for v in settled.values())
    assert all(-10.0 < p < 0.5 for curve in curves.values() for _, p in curve)
    assert report.params["engine"] == "in-process"
    # The restart half-way: evaluated after every batch from then on, a recovery row.
    tracked = [r for r in report.rows if r["x_name"] == "alignments" and r["calibration"] == "self"]
    assert [r["x"] for r in tracked][:3] == [256, 512, 512]
    summary = {r["metric"]: r for r in report.rows if r["x_name"] == "scenario"}
    assert summary["sweep_measurements_per_alignment"]["value"] >= 0.95 * 104 / 50
    assert summary["recovery_alignments"]["before_db"] > summary["recovery_alignments"]["dip_db"]
