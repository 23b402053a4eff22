# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 002: the three-sector scenario, the fusion predictor and its baselines."""
import numpy as np
import pytest

from gnuradio.beamalign import cli
from gnuradio.beamalign.fileio import FileFormatError
from gnuradio.beamalign.models.fusion_predictor import METHODS, FusionPredictor
from gnuradio.beamalign.models.store import save_model
from gnuradio.beamalign.predict import sector_system, sites
from gnuradio.beamalign.predict.predictor import FusionBeamPredictor, load_predictor
from gnuradio.beamalign.predict.statistical import statistical_site
from gnuradio.beamalign.training.fusion_predictor import (
    NEAR_MAST_M,
    evaluate,
    load_sites,
    train_model,
)


@pytest.fixture(scope="module")
def data():
    site = statistical_site(radius=120.0, spacing=6.0, frequency=3.5e9, seed=5)
    return sector_system.sector_data(site, name="stat")


def test_users_fall_in_the_sector_of_their_bearing():
    site = statistical_site(radius=60.0, spacing=10.0, frequency=3.5e9, seed=1)
    bearing = np.degrees(np.arctan2(*(site.positions[:, 1::-1] - site.bs_position[1::-1]).T))
    sector = sector_system.sector_of(site)
    bearing = (bearing + 30) % 360 - 30  # [-30, 330): -170 deg is 190 deg, sector 1
    expected = np.where(bearing < 90, 0, np.where(bearing < 210, 1, 2))
    assert np.array_equal(sector, expected)
    assert set(sector) == {0, 1, 2}


@pytest.mark.parametrize("beamformer", sector_system.BEAMFORMERS)
def test_codebooks_have_unit_beams_in_bin_order(beamformer):
    book = sector_system.codebook(16, 16, beamformer=beamformer)
    assert book.shape == (256, 64)
    assert np.allclose(np.linalg.norm(book, axis=1), 1.0)
    # The UPA beams are steering vectors: beam (k, l) peaks in its own direction.
    if beamformer == "upa":
        gains = np.abs(book.conj() @ book.T) ** 2
        assert np.all(np.argmax(gains, axis=1) == np.arange(256))


def test_sector_data_labels_are_the_strongest_fine_beams(data):
    assert len(data) > 300 and data.probe_response.shape[1:] == (16, sector_system.SUBCARRIERS)
    # Normalised CSI: each user's 4 x 4 wideband RSRPs are at most N times its energy.
    rsrp = np.mean(np.abs(data.probe_response) ** 2, axis=2)
    assert np.all(rsrp <= 64 + 1e-3)
    clean = sector_system.noisy_probe_rsrp(data, 200.0, np.random.default_rng(0))
    assert np.allclose(clean.max(axis=1), 1.0)
    chosen, cost = sector_system.hierarchical_choice(data, 64, 60.0, np.random.default_rng(0))
    assert cost == 20
    assert np.mean(chosen == data.best(64)) > 0.5
    assert np.all(sector_system.loss_db(data, 64, data.best(64)) == 0)


@pytest.mark.parametrize("method", METHODS)
def test_every_network_trains_and_round_trips(method, data, tmp_path):
    net, curve = train_model(data, method, 64, 20.0, epochs=2, seed=0)
    assert len(curve) == 2
    scores, position = net.predict(np.ones((3, 16), np.float32), np.array([0, 1, 2]))
    assert scores.shape == (3, 64) and np.allclose(scores.sum(axis=1), 1.0)
    assert (position is not None) == method.startswith("fusion")
    path = save_model(tmp_path / "net.safetensors", net.state_dict(), net.architecture(), {})
    again = FusionPredictor.load(path)
    assert np.allclose(again.predict(np.ones((3, 16), np.float32), np.array([0, 1, 2]))[0],
                       scores, atol=1e-6)


def test_fusion_learns_the_site(data):
    train, test = data.subset(np.arange(0, len(data), 2)), data.subset(np.arange(1, len(data), 2))
    net, _ = train_model(train, "single-branch", 64, 20.0, epochs=20, batch=32, seed=0)
    metrics = evaluate(net, test, 64, 20.0, np.random.default_rng(3))
    assert metrics["top3"] > 0.5, metrics  # 64 beams: chance is 0.05


class _Oracle:
    """Picks the best fine beam for users at least NEAR_MAST_M from the mast and the worst
    one for the users nearer."""

    def __init__(self, data, beams):
        near = np.linalg.norm(data.position, axis=1) < NEAR_MAST_M
        pick = np.where(near, data.fine_power[beams].argmin(1), data.best(beams))
        self.scores = np.eye(beams)[pick]

    def eval(self):
        pass

    def predict(self, rsrp, sector):
        return self.scores, None


def test_evaluation_reports_the_loss_tail_and_the_users_away_from_the_mast(data):
    near = np.linalg.norm(data.position, axis=1) < NEAR_MAST_M
    assert 10 < near.sum() < len(data) / 2
    metrics = evaluate(_Oracle(data, 64), data, 64, 20.0, np.random.default_rng(0))
    worst = sector_system.loss_db(data, 64, data.fine_power[64].argmin(1))[near]
    assert metrics["top1"] == pytest.approx(1 - near.mean())
    assert metrics["snr_loss_far_db"] == 0.0
    assert metrics["snr_loss_db"] == pytest.approx(worst.sum() / len(data), rel=1e-6)
    assert metrics["outage"] == pytest.approx(np.sum(worst > 3.0) / len(data))
    assert metrics["snr_loss_p95_db"] > 3.0 and "position_m" not in metrics


def test_the_shipped_model_refuses_bad_input():
    predictor = load_predictor("fusion")
    assert isinstance(predictor, FusionBeamPredictor) and predictor.probes == 16
    with pytest.raises(ValueError, match="expected 16 probe RSRPs"):
        predictor.scores(np.zeros(8))
    with pytest.raises(ValueError, match="NaN"):
        predictor.scores(np.full(16, np.nan))
    with pytest.raises(ValueError, match="sector indices"):
        predictor.scores(np.zeros((1, 16)), np.array([5]))
    with pytest.raises(ValueError, match="8 x 8 UPA"):
        predictor.check_array(128)
    with pytest.raises(ValueError, match="sector must be"):
        FusionBeamPredictor("fusion", sector=3)
    scores = predictor.scores(np.linspace(-100, -80, 16))
    assert scores.shape == (predictor.beams,) and predictor.last_position.shape == (1, 2)
    with pytest.raises(ValueError, match="30 GHz"):
        load_sites(["munich-30ghz"])


def test_a_sidecar_naming_an_unknown_network_is_refused(tmp_path):
    net = FusionPredictor("cnn-mlp", 64)
    arch = dict(net.architecture(), method="transformer")
    path = save_model(tmp_path / "odd.safetensors", net.state_dict(), arch, {})
    with pytest.raises(FileFormatError, match="method"):
        FusionPredictor.load(path)


def test_predict_runs_the_fusion_model(capsys):
    assert cli.main(["predict", "--model", "fusion", "--users", "20", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "position error median" in out


def test_split_blocks_hold_out_whole_squares(data):
    site = statistical_site(radius=120.0, spacing=6.0, frequency=3.5e9, seed=5)
    train, test = sites.splits(site, "block", block_m=20.0, seed=0)
    cells = lambda idx: {tuple(c) for c in np.floor(site.positions[idx, :2] / 20.0)}  # noqa: E731
    assert not cells(train) & cells(test)
    assert 0.1 < len(test) / len(site) < 0.3


def test_the_block_predicts_with_the_fusion_model_in_a_flowgraph():
    from gnuradio.beamalign.flowgraphs import prediction
    tb = prediction(dataset="munich-3p5ghz", users=[0, 5, 9], model="fusion", sector=1,
                    snr_db=20.0)
    tb.start()
    try:
        results = [tb.predict_next(timeout=60.0)[1] for _ in range(3)]
    finally:
        tb.stop()
        tb.wait()
    assert all(not r["failed"] and r["measurements"] == 16 + 5 for r in results)
    assert all(len(r["position"]) == 2 and np.all(np.isfinite(r["position"])) for r in results)
    assert all(np.isfinite(r["snr_loss_db"]) for r in results)


def test_one_subcarrier_is_the_carrier_alone():
    site = statistical_site(radius=60.0, spacing=10.0, frequency=3.5e9, seed=2)
    narrow = sector_system.sector_data(site, sector_system.SectorSystem(subcarriers=1))
    assert narrow.probe_response.shape[2] == 1
    # At the carrier the delays drop out: the same channels as the panel's plane waves.
    sector = sector_system.sector_channels(site, 0)
    mine = np.isin(narrow.users, sector.users)
    probes = sector_system.codebook(4, 4)
    expected = np.abs(sector.channels.conj() @ probes.T) ** 2
    got = np.abs(narrow.probe_response[mine, :, 0]) ** 2
    assert np.allclose(got, expected, rtol=1e-3, atol=1e-6)
