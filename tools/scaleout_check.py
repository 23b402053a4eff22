# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs one bench four ways and checks that every JSON row is the same: in this process,
on a Dask LocalCluster of 2 workers, on a scheduler and 2 workers started as separate
processes (`dask scheduler`, `dask worker`) on loopback, and on 2 local workers one of
which is killed once the first chunk is in. Prints the wall time of each.

    python tools/scaleout_check.py [--trials 200000] [--experiment align-snr] [--out DIR]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from gnuradio.beamalign.scaleout import WORKER_ENVIRON, free_port

BENCH = [sys.executable, "-m", "gnuradio.beamalign.cli", "bench"]
DASK = str(Path(sys.executable).with_name("dask"))


def run_bench(experiment, trials, chunk, path, *engine, kill_after_first_chunk=False):
    begin = time.perf_counter()
    bench = subprocess.Popen([*BENCH, experiment, "--trials", str(trials), "--seed", "0",
                              "--quiet", "--json", str(path), *engine,
                              *(["--chunk-trials", str(chunk)] if chunk else [])])
    killed = None
    chunks = Path(f"{path}.chunks")
    while kill_after_first_chunk and killed is None and bench.poll() is None:
        if chunks.exists() and any(chunks.glob("*.pkl")):
            workers = [p for p in psutil.Process(bench.pid).children(recursive=True)
                       if any("spawn" in part for part in p.cmdline())]
            if workers:
                killed = workers[0].pid
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    if bench.wait() != 0:
        sys.exit(f"{' '.join(engine) or 'in-process'} run failed")
    if kill_after_first_chunk and killed is None:
        sys.exit("the bench ended before a worker could be killed")
    return json.loads(Path(path).read_text()), time.perf_counter() - begin


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="align-snr")
    parser.add_argument("--trials", type=int, default=200000)
    parser.add_argument("--chunk-trials", type=int, default=None,
                        help="trials per chunk (default: the bench's own)")
    parser.add_argument("--out", default=None, help="directory for the JSON files")
    opts = parser.parse_args()
    out = Path(opts.out or tempfile.mkdtemp(prefix="scaleout-"))
    out.mkdir(parents=True, exist_ok=True)
    def bench(name, *engine, **how):
        return run_bench(opts.experiment, opts.trials, opts.chunk_trials, out / name, *engine,
                         **how)

    runs = {"in-process": bench("in_process.json"),
            "--workers 2": bench("workers2.json", "--workers", "2")}
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([DASK, "scheduler", "--port", str(port), "--no-dashboard"],
                                 stderr=subprocess.DEVNULL)
    # Started as docs/scaling.md says, with the environment the module's LocalCluster sets.
    workers = subprocess.Popen([DASK, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                "--no-dashboard"], stderr=subprocess.DEVNULL,
                               env={**os.environ, **WORKER_ENVIRON})
    try:
        time.sleep(5)  # both workers registered before the clock starts
        runs["scheduler + 2 workers"] = bench("scheduler.json", "--scheduler", address)
    finally:
        for process in (workers, scheduler):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    runs["--workers 2, one killed"] = bench("killed.json", "--workers", "2",
                                            kill_after_first_chunk=True)
    reference = runs["in-process"][0]["rows"]
    same = True
    for name, (doc, wall) in runs.items():
        identical = doc["rows"] == reference
        same &= identical
        print(f"{opts.experiment} --trials {opts.trials}: {name:24s} {wall:8.1f} s wall, "
              f"{len(doc['rows'])} rows, {'identical' if identical else 'DIFFERENT'}")
    print(f"JSON files in {out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
