# SPDX-License-Identifier: GPL-3.0-or-later
"""Online self-calibration (seed 000 Alg. 2): the synthesis model, the ambiguity
projection, the MAP prior, the beam_aligner mode and `beamalign calibrate --online`."""
import numpy as np
import pytest
import torch

from gnuradio.beamalign import channels
from gnuradio.beamalign.align import PathMeasurer, run_batch
from gnuradio.beamalign.align.self_calibration import (
    SelfCalibrator,
    _normalised,
    _SideModel,
    calibrate_online,
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


def _side_loss(truth, u, beams, powers):
    model = _SideModel(truth.num_elements)
    if truth is not None:
        with torch.no_grad():
            model.phase.copy_(torch.as_tensor(truth.phase_rad))
            model.position.copy_(torch.as_tensor(truth.position_wl))
    synthesised = model.synthesised(torch.as_tensor(u), torch.as_tensor(beams))
    loss = torch.sum((_normalised(torch.as_tensor(powers)) - _normalised(synthesised)) ** 2, dim=1)
    return float(torch.median(loss.detach()))


def test_synthesised_powers_match_the_measured_ones_at_the_true_errors():
    tx, rx, chans, alignment = _impaired_alignments(400, 60.0, seed=1)
    for side, truth, u in (("tx", tx, chans.u_tx[:, 0]), ("rx", rx, chans.u_rx[:, 0])):
        beams, powers = alignment.extras[f"{side}_final_beams"], alignment.extras[f"{side}_final_powers"]
        at_truth = _side_loss(truth, u, beams, powers)
        at_zero = _side_loss(ElementImpairment.ideal(truth.num_elements), u, beams, powers)
        # Single path, 60 dB: eq. 15 is the channel, so only noise is left at the truth.
        assert at_truth < 1e-6
        assert at_zero > 100 * at_truth


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
    calibrator = SelfCalibrator(64, 16, window=150, steps=3)
    for _ in range(2):
        step = calibrator.update(alignment)
    assert calibrator._buffer["tx"][0].shape == (150,)
    assert step.alignments == 100 and np.isfinite(step.loss_after)
    for estimate in calibrator.estimates():
        assert np.any(estimate.phase_rad != 0)
        np.testing.assert_allclose(remove_ramp(estimate.phase_rad), estimate.phase_rad, atol=1e-9)
        np.testing.assert_allclose(remove_ramp(estimate.position_wl), estimate.position_wl,
                                   atol=1e-9)
    with pytest.raises(ValueError, match="trim"):
        SelfCalibrator(64, 16, trim=1.0)


def _run(prior_weight, updates=25):
    rng = np.random.default_rng(5)
    tx, rx = ElementImpairment.sample(64, rng=rng), ElementImpairment.sample(16, rng=rng)
    calibrator = SelfCalibrator(64, 16, prior_weight=prior_weight)
    calibrate_online(CompensatedQSSRNet(64, 16), calibrator,
                     lambda n, g: channels.saleh_valenzuela(n, 64, 16, 3, rng=g, tx_impairment=tx,
                                                            rx_impairment=rx),
                     30.0, updates, batch=64, rng=6)
    estimate = calibrator.estimates()[1]
    return residual_phase_rms(estimate, rx), residual_phase_rms(ElementImpairment.ideal(16), rx)


def test_the_prior_keeps_what_the_final_layer_cannot_see_near_zero():
    # Four final-layer beams barely see the errors: without the prior the Rx residual
    # grows well past the uncalibrated one; with it it does not.
    with_prior, uncalibrated = _run(1.0)
    without_prior, _ = _run(0.0)
    assert with_prior < uncalibrated
    assert without_prior > 1.2 * uncalibrated


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

    report = calibration_epochs(trials=200, updates=10, batch=16, snrs_db=(20, 30), every=5)
    curves = {}
    for row in report.rows:
        if row["metric"] == "power_db":
            curves.setdefault(row["snr_db"], []).append((row["x"], row["value"]))
    # Evaluated after update 1 and every 5 updates, per SNR.
    assert [u for u, _ in curves[20]] == [1, 5, 10] and [u for u, _ in curves[30]] == [1, 5, 10]
    settled = {r["x"]: r["value"] for r in report.rows if r["metric"] == "converged_epoch"}
    assert set(settled) == {20, 30} and all(v in (1, 5, 10) for v in settled.values())
    assert all(-10.0 < p < 0.5 for curve in curves.values() for _, p in curve)
    assert report.params["engine"] == "in-process"
