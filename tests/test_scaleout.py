# SPDX-License-Identifier: GPL-3.0-or-later
"""Chunked jobs on Dask: the same numbers in-process, on a LocalCluster, on a separately
started scheduler and workers, after a worker is killed, and after an interrupted run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gnuradio.beamalign.scaleout import Engine, free_port, spawn_streams, trial_slices

BENCH = [sys.executable, "-m", "gnuradio.beamalign.cli", "bench"]
SOURCE = Path(os.environ.get("BEAMALIGN_SOURCE_DIR", Path(__file__).resolve().parents[1]))


def test_trial_slices_and_streams():
    assert trial_slices(1100, 500) == [(0, 500), (500, 500), (1000, 100)]
    first = np.random.default_rng(spawn_streams(7, 3)[2]).random(4)
    again = np.random.default_rng(spawn_streams(7, 5)[2]).random(4)
    assert np.array_equal(first, again)  # a chunk's stream does not depend on the count
    assert not np.array_equal(first, np.random.default_rng(spawn_streams(8, 3)[2]).random(4))


def test_the_same_rows_in_process_on_workers_on_a_cluster_and_after_a_kill(tmp_path):
    # tools/scaleout_check.py: in-process, a LocalCluster of 2, `dask scheduler` + `dask
    # worker` started apart on loopback, and 2 local workers with one killed mid-run.
    run = subprocess.run([sys.executable, str(SOURCE / "tools" / "scaleout_check.py"),
                          "--trials", "1500", "--chunk-trials", "250", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if "wall" in line]
    assert len(lines) == 4 and all(line.endswith("identical") for line in lines), run.stdout
    engines = {json.loads(path.read_text())["params"]["engine"]
               for path in tmp_path.glob("*.json")}
    assert {"in-process", "dask LocalCluster, 2 workers"} < engines
    assert any(engine.startswith("dask scheduler tcp://127.0.0.1:") for engine in engines)
    assert not list(tmp_path.glob("*.chunks"))  # kept only until the JSON is written
    rows = json.loads((tmp_path / "in_process.json").read_text())["rows"]
    assert len(rows) == 154  # 7 SNRs x (5 methods x 4 rows + the known-angle's 2)


# A job whose chunk 3 fails the first time: the run is interrupted after chunks 0-2.
CALLS = []
FAIL_ONCE = set()


class Interrupted(Exception):
    pass


def _square_or_fail_once(task):
    CALLS.append(task)
    if task in FAIL_ONCE:
        FAIL_ONCE.discard(task)
        raise Interrupted
    return task * task


def test_an_interrupted_job_resumes_from_its_kept_chunks(tmp_path):
    store = tmp_path / "out.json.chunks"
    CALLS.clear()
    FAIL_ONCE.add(3)
    with pytest.raises(Interrupted):
        Engine(store=store).map(_square_or_fail_once, list(range(6)), job={"n": 6})
    assert CALLS == [0, 1, 2, 3]
    assert len(list(store.glob("*.pkl"))) == 3
    # A damaged chunk file is run again, with a warning, rather than trusted.
    victim = sorted(store.glob("*.pkl"))[1]
    victim.write_bytes(b"\x80truncated")
    CALLS.clear()
    engine = Engine(store=store)
    with pytest.warns(UserWarning, match="unreadable"):
        assert engine.map(_square_or_fail_once, list(range(6)), job={"n": 6}) == \
            [0, 1, 4, 9, 16, 25]
    assert CALLS == [1, 3, 4, 5]
    # Another job's settings never reuse these chunks.
    CALLS.clear()
    assert Engine(store=store).map(_square_or_fail_once, [0, 1], job={"n": 2}) == [0, 1]
    assert CALLS == [0, 1]
    engine.discard_chunks()
    assert {p.name[:16] for p in store.glob("*.pkl")} != {victim.name[:16]}


def test_no_scheduler_and_a_one_process_bench_are_one_line_errors(tmp_path):
    port = free_port()  # nothing listens there
    out = subprocess.run([*BENCH, "align-snr", "--trials", "10", "--quiet", "--scheduler",
                          f"tcp://127.0.0.1:{port}"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "no Dask scheduler answers" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = subprocess.run([*BENCH, "speed", "--workers", "2"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "runs in one process" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _train_on_two_processes(tmp_path, name, *options):
    """`beamalign train NAME ... --nproc 2`: the sidecar's training entry, and stderr."""
    out = tmp_path / "net.safetensors"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "train", name,
                          *options, "--nproc", "2", "--quiet", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return json.loads(out.with_suffix(".json").read_text())["training"], run.stderr


def test_ddp_training_over_two_processes(tmp_path):
    training, _ = _train_on_two_processes(tmp_path, "qssr-net", "--epochs", "2", "--steps", "3")
    assert training["parallel"] == {"world_size": 2, "nnodes": 1, "global_batch": 200,
                                    "batch_per_process": 100, "steps_per_epoch": 2,
                                    "lr_scale": 1.4142, "backend": "gloo"}
    assert training["command"].endswith("--nproc 2")
    assert len(training["train_power_db_per_epoch"]) == 2
    # Scored on the fixed held-out links: a few steps already align within a few dB.
    assert -10.0 < training["validation"]["power_db"] < 0.0
    assert training["validation"]["links"] == 2000


def test_ddp_shards_cover_each_global_batch_once():
    import torch

    from gnuradio.beamalign.training.ddp import World

    alone = World().batches(10, 4, torch.Generator().manual_seed(3))
    order = torch.randperm(10, generator=torch.Generator().manual_seed(3))
    assert [b.tolist() for b in alone] == [order[:4].tolist(), order[4:8].tolist(),
                                           order[8:].tolist()]
    shares = [World(rank, 2).batches(11, 3, torch.Generator().manual_seed(3)) for rank in (0, 1)]
    assert [len(s) for s in shares] == [2, 2]  # a last global batch of one is dropped
    order = torch.randperm(11, generator=torch.Generator().manual_seed(3))
    for step in range(2):
        together = sorted(shares[0][step].tolist() + shares[1][step].tolist())
        assert together == sorted(order[6 * step:6 * step + 6].tolist())


# Every trainer as DDP over 2 processes, a few steps each: the sidecar says how it ran.
DDP_RUNS = {
    "sr-bsnet": (["--epochs", "1", "--steps", "2", "--batch", "16"], 16),
    "doa-cnn": (["--epochs", "1", "--steps", "2", "--batch", "16"], 16),
    "mod-dnn": (["--steps", "4", "--batch", "4", "--ae-samples", "5000"], 4),
    "probe-predictor": (["--epochs", "1", "--batch", "512"], 512),
    "fusion-predictor": (["--epochs", "2", "--batch", "512"], 512),
}


@pytest.mark.parametrize("name", sorted(DDP_RUNS))
def test_every_trainer_runs_as_ddp(tmp_path, name):
    options, batch = DDP_RUNS[name]
    training, stderr = _train_on_two_processes(tmp_path, name, *options)
    parallel = training["parallel"]
    assert (parallel["world_size"], parallel["global_batch"], parallel["backend"]) == \
        (2, 2 * batch, "gloo")
    assert parallel["lr_scale"] == 1.4142
    assert training["command"].endswith("--nproc 2")
    assert "leaked semaphore" not in stderr  # the processes leave cleanly


def test_a_training_bench_gives_the_same_rows_on_two_workers(tmp_path):
    # One chunk per training (split, probe count, training seed): 12 trainings of an epoch.
    rows = {}
    for name, engine in (("here", []), ("workers", ["--workers", "2"])):
        out = tmp_path / f"{name}.json"
        run = subprocess.run([*BENCH, "predict-probes", "--epochs", "1", "--seeds", "2",
                              "--quiet", "--json", str(out), *engine],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        doc = json.loads(out.read_text())
        rows[name] = doc["rows"]
        assert doc["params"]["engine"] == ("in-process" if not engine else
                                           "dask LocalCluster, 2 workers")
    assert rows["here"] == rows["workers"]
    top3 = [r for r in rows["here"] if r["metric"] == "top3"]
    assert len(top3) == 6 and all(len(r["per_seed"]) == 2 for r in top3)
    # One epoch (0.25-0.31 here) already beats a random pick of 3 of 128 beams (0.023)
    # ten times over.
    assert all(r["value"] > 0.15 for r in top3)
