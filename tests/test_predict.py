# SPDX-License-Identifier: GPL-3.0-or-later
"""Site data sets, seed 001's probe predictor and its blocks."""
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from gnuradio.beamalign import cli
from gnuradio.beamalign.fileio import FileFormatError
from gnuradio.beamalign.flowgraphs import prediction
from gnuradio.beamalign.predict import probe_system, raytrace, sites
from gnuradio.beamalign.predict.datasets import resolve
from gnuradio.beamalign.predict.predictor import BeamPredictor, held_out_users
from gnuradio.beamalign.predict.statistical import statistical_site


@pytest.fixture(scope="module")
def stat_site(tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "stat.npz"
    raytrace.write_stat(path, radius=80.0, spacing=4.0, seed=3)
    return path


def nearest_dft_beam(system, u, v):
    uh = -1.0 + (2.0 * np.arange(1, system.num_h + 1) - 1.0) / system.num_h
    uv = -1.0 + (2.0 * np.arange(1, system.num_v + 1) - 1.0) / system.num_v
    return int(np.argmin(np.abs(uh - u))) * system.num_v + int(np.argmin(np.abs(uv - v)))


def test_a_site_file_round_trips(stat_site):
    site = sites.load_site(stat_site)
    again = statistical_site(radius=80.0, spacing=4.0, seed=3)
    assert len(site) == len(again) > 300
    assert np.allclose(site.gain, again.gain.astype(np.complex64))
    assert site.meta["source"] == "statistical" and site.meta["users"] == len(site)
    assert 0.2 < site.los_fraction() < 0.9


def test_bad_site_files_are_named(stat_site, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(stat_site.read_bytes()[:2000])
    sidecar = json.loads(stat_site.with_suffix(".json").read_text())
    broken.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match="sha256"):
        sites.load_site(broken)
    sidecar["schema_version"] = 7
    broken.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match="schema_version"):
        sites.load_site(broken)
    # Right checksum, wrong shapes: a data set of another kind.
    odd = tmp_path / "odd.npz"
    np.savez(odd, positions=np.zeros((4, 2)))
    sidecar.update(schema_version=1, sha256=sites.dataset_sha256(odd))
    odd.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match="missing array"):
        sites.load_site(odd)


def test_los_users_best_dft_beam_points_along_the_line_of_sight(stat_site):
    site = sites.load_site(stat_site)
    system = probe_system.System(azimuth_deg=0.0)
    sc = probe_system.site_channels(site, system)
    boresight, horizontal, vertical = sites.panel_axes(0.0, system.downtilt_deg)
    sight = site.positions[sc.users] - site.bs_position
    sight /= np.linalg.norm(sight, axis=1, keepdims=True)
    strongest_is_los = site.los[sc.users, 0]
    expected = np.array([nearest_dft_beam(system, u, v)
                         for u, v in zip(sight @ horizontal, sight @ vertical)])
    agree = (sc.best == expected)[strongest_is_los]
    assert strongest_is_los.sum() > 100
    assert agree.mean() > 0.8, agree.mean()


def test_ray_traced_los_users_and_resuming(tmp_path, monkeypatch):
    out = tmp_path / "canyon.npz"
    calls = []
    real = raytrace.trace_batch

    def failing_after_two(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(raytrace, "trace_batch", failing_after_two)
    options = dict(radius=40.0, spacing=6.0, batch=8, samples=20_000, map_samples=200_000,
                   quiet=True)
    with pytest.raises(KeyboardInterrupt):
        raytrace.trace_site(out, "simple_street_canyon", 30e9, **options)
    assert len(list(tmp_path.glob("canyon.parts-*/batch-*.npz"))) == 2
    resumed = []
    monkeypatch.setattr(raytrace, "trace_batch", lambda *a: resumed.append(1) or real(*a))
    _, site = raytrace.trace_site(out, "simple_street_canyon", 30e9, **options)
    grid = site.meta["grid"]["grid_points"]
    assert len(resumed) == -(-grid // 8) - 2  # only the batches not yet traced
    assert not list(tmp_path.glob("canyon.parts-*"))
    assert site.meta["tools"]["sionna_rt"] == "2.2.0" and site.meta["solver"]["max_depth"] == 3
    # Geometry: a LoS path leaves the BS towards the user and arrives from the BS.
    los = site.los[:, 0] & (site.gain[:, 0] != 0)
    assert los.sum() >= 5
    sight = site.positions[los] - site.bs_position
    sight /= np.linalg.norm(sight, axis=1, keepdims=True)
    departure = sites.departure_directions(site.theta_t[los, 0], site.phi_t[los, 0])
    assert np.all(np.sum(sight * departure, axis=1) > 0.999)
    # ... so the best DFT beam of a panel facing the users points along the line of sight.
    system = probe_system.System(azimuth_deg=0.0, downtilt_deg=0.0)
    _, horizontal, vertical = sites.panel_axes(0.0, 0.0)
    sight_all = site.positions - site.bs_position
    facing = np.flatnonzero(los & (sight_all[:, 0] > 0))
    sc = probe_system.site_channels(site.subset(facing), system)
    sight = sight_all[facing][sc.users]
    sight /= np.linalg.norm(sight, axis=1, keepdims=True)
    expected = [nearest_dft_beam(system, u, v) for u, v in zip(sight @ horizontal,
                                                                sight @ vertical)]
    assert len(sc) >= 5
    assert np.mean(sc.best == expected) >= 0.8, (sc.best, expected)


def test_ray_tracing_on_two_workers_writes_the_same_file(tmp_path):
    digests = []
    for name, engine in (("one", []), ("two", ["--workers", "2"])):
        out = tmp_path / f"{name}.npz"
        run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "dataset", "rt",
                              "--scene", "simple_street_canyon", "--freq", "30e9", "--radius",
                              "40", "--spacing", "6", "--batch", "8", "--samples", "20000",
                              "--map-samples", "200000", "--quiet", "--out", str(out), *engine],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        meta = json.loads(out.with_suffix(".json").read_text())
        assert meta["engine"] == ("in-process" if not engine else "dask LocalCluster, 2 workers")
    assert digests[0] == digests[1]


def test_the_shipped_predictor_beats_its_uniform_start_and_checks_its_input():
    predictor = BeamPredictor()
    assert predictor.probe_weights.shape == (8, 128)
    assert np.allclose(np.linalg.norm(predictor.probe_weights, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="expected 8 probe RSRPs"):
        predictor.scores(np.zeros(7))
    with pytest.raises(ValueError, match="NaN"):
        predictor.scores(np.array([np.nan] * 8))
    with pytest.raises(ValueError, match="16 x 8 UPA"):
        predictor.check_array(64)
    training = predictor.sidecar["training"]
    assert training["held_out_top3_per_epoch"][-1] > 0.75
    assert training["dataset"]["file"] == "munich_30ghz.npz"


def test_algorithm1_on_held_out_users_costs_13_measurements_and_little_snr():
    predictor = BeamPredictor()
    site = sites.load_site(resolve("munich-30ghz"))
    sc = probe_system.site_channels(site, predictor.system)
    test = sc.subset(held_out_users(predictor.sidecar, site, sc.users))
    rng = np.random.default_rng(0)
    chosen, top, measurements = probe_system.algorithm1(test, predictor.probe_weights,
                                                        predictor.scores, 5, rng)
    assert measurements == 13 and top.shape == (len(test), 5)
    loss = probe_system.snr_loss_db(test, chosen)
    assert loss.mean() < 1.0, loss.mean()
    hierarchical, cost = probe_system.hierarchical(test, rng)
    assert cost == 24
    binary, cost = probe_system.binary(test, rng)
    assert cost == 14
    # Noiseless binary halving finds a LoS user's beam: its beams are the tree's nodes.
    assert np.mean(probe_system.snr_loss_db(test, binary) < 3.0) > 0.6


def test_the_flowgraph_predicts_through_the_blocks_even_over_a_lossy_link():
    tb = prediction(users=[0, 1, 2, 3], seed=1, loss=0.2, dwell_timeout_s=0.1)
    tb.start()
    try:
        results = [tb.predict_next(timeout=60.0)[1] for _ in range(4)]
    finally:
        tb.stop()
        tb.wait()
    assert all(not r["failed"] for r in results)
    assert all(r["measurements"] == 13 and len(r["top_k"]) == 5 for r in results)
    assert np.mean([r["snr_loss_db"] for r in results]) < 3.0
    assert all(int(r["beam_id"]) in [int(b) for b in r["top_k"]] for r in results)


@pytest.mark.parametrize("argv", [
    ["dataset", "rt", "--out", "/nonexistent/x.npz"],
    ["dataset", "stat"],
    ["dataset", "rt", "--scene", "atlantis", "--out", "x.npz"],
    ["dataset", "stat", "--out", "x.npz", "--spacing", "0"],
    ["predict", "--users", "0"],
    ["predict", "--dataset", "/no/such/file"],
    ["predict", "--model", "/no/such/model"],
    ["train", "probe-predictor", "--probes", "diagonal"],
    ["train", "probe-predictor", "--dataset", "/no/such/file"],
    ["train", "qssr-net", "--noise-bits", "3"],
    ["train", "fusion-predictor", "--beams", "128"],
    ["train", "fusion-predictor", "--dataset", "munich-30ghz", "--epochs", "1"],
    ["train", "mod-dnn", "--calibration", "/no/such/calibration.json"],
    ["train", "qssr-net", "--calibration", __file__],
    ["bench", "doa-cdf", "--mod-dnn", "/no/such/model"],
    ["bench", "predict-sites", "--methods", "transformer"],
    ["predict", "--model", "fusion", "--snr-db", "nan"],
    ["dataset", "rt", "--out", "x.npz", "--bs-height", "0"],
])
def test_bad_arguments_end_in_one_line(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        exit_code = cli.main(argv)
        raise SystemExit(exit_code)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and "Traceback" not in "\n".join(err)
