# SPDX-License-Identifier: GPL-3.0-or-later
"""Trains QSSR-Net with one process and with `--nproc 2` for several seeds; prints each
run's wall time and validation power (from its sidecar) and the seed-to-seed spread.

    python tools/ddp_check.py [--seeds 0 1 2 3] [--epochs 150] [--nproc 2] [--out DIR]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRAIN = [sys.executable, "-m", "gnuradio.beamalign.cli", "train", "qssr-net", "--quiet"]


def train(out, seed, epochs, nproc):
    path = out / f"qssr_net_seed{seed}_nproc{nproc}.safetensors"
    begin = time.perf_counter()
    subprocess.run([*TRAIN, "--seed", str(seed), "--epochs", str(epochs), "--out", str(path),
                    *(["--nproc", str(nproc)] if nproc > 1 else [])], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - begin
    sidecar = json.loads(path.with_suffix(".json").read_text())["training"]
    return wall, sidecar["validation"]["power_db"], sidecar["parallel"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--out", default=None)
    opts = parser.parse_args()
    out = Path(opts.out or tempfile.mkdtemp(prefix="ddp-"))
    out.mkdir(parents=True, exist_ok=True)
    for nproc in (1, opts.nproc):
        walls, powers = [], []
        for seed in opts.seeds:
            wall, power, parallel = train(out, seed, opts.epochs, nproc)
            walls.append(wall)
            powers.append(power)
            print(f"nproc {nproc} seed {seed}: {wall:6.1f} s wall, validation {power:.3f} dB "
                  f"(world {parallel['world_size']}, global batch {parallel['global_batch']})",
                  flush=True)
        print(f"nproc {nproc}: validation mean {np.mean(powers):.3f} dB, seed spread "
              f"{min(powers):.3f} .. {max(powers):.3f} dB (std {np.std(powers, ddof=1):.3f}); "
              f"mean wall {np.mean(walls):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
