# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers of the site-specific commands (`dataset`, `predict`) and their options of
`train` and `bench`; cli.py builds the rest."""
from . import commands
from .arguments import (
    COUNT,
    NONNEG,
    POSITIVE,
    REAL,
    existing,
    name_list,
    number,
    output,
    scheduler_address,
)
from .models.choices import FUSION_METHODS, PROBE_PARAMETERISATIONS
from .predict.raytrace import SCENES

SPLITS = ("random", "block")


def add_commands(sub, command):
    dataset = command(sub, "dataset", commands.dataset,
                      "make a site data set: ray-traced (Sionna RT) or statistical")
    dataset.add_argument("source", choices=("rt", "stat"))
    dataset.add_argument("--out", type=output, required=True, help="the .npz to write "
                         "(its .json sidecar beside it)")
    dataset.add_argument("--scene", choices=SCENES, default="munich", help="rt: the scene")
    dataset.add_argument("--freq", type=number(float, 1e8, 3e11), default=30e9,
                         help="carrier frequency, Hz")
    dataset.add_argument("--radius", type=number(float, 1.0, 5000.0), default=300.0,
                         help="users within this many metres of the BS")
    dataset.add_argument("--spacing", type=number(float, 0.1, 1000.0), default=1.5,
                         help="user grid spacing, metres")
    dataset.add_argument("--bs", type=REAL, nargs=3, metavar=("X", "Y", "Z"),
                         help="rt: BS position (default: the scene's own)")
    dataset.add_argument("--bs-height", type=number(float, 1.0, 500.0),
                         help="rt: a mast this high at the outdoor point nearest the scene's "
                              "origin (instead of --bs)")
    dataset.add_argument("--paths", type=number(int, 1, 64), default=8,
                         help="strongest paths kept per user")
    dataset.add_argument("--max-depth", type=number(int, 0, 10), default=3, help="rt")
    dataset.add_argument("--samples", type=number(int, 1000, 10**9), default=100_000,
                         help="rt: rays per source for the paths")
    dataset.add_argument("--map-samples", type=number(int, 1000, 10**10), default=10**7,
                         help="rt: rays for the coverage map that picks the users")
    dataset.add_argument("--batch", type=number(int, 1, 100_000), default=512,
                         help="rt: receivers per trace (each saved as it finishes)")
    add_engine_options(dataset)

    predict = command(sub, "predict", commands.predict,
                      "beam prediction on held-out users: chosen beam vs best beam")
    predict.add_argument("--model", default="probe-predictor",
                         help="'probe-predictor' or 'fusion' (shipped), or a weight file")
    predict.add_argument("--dataset", default="munich-30ghz",
                         help="a shipped data set's name or a .npz file")
    predict.add_argument("--users", type=number(int, 1, 1_000_000), default=10,
                         help="held-out users to run")
    predict.add_argument("--split", choices=SPLITS, default="block")
    predict.add_argument("--top-k", type=number(int, 1, 4096), default=5,
                         help="candidates re-probed (Algorithm 1)")
    predict.add_argument("--bits", type=number(int, 0, 16), default=0,
                         help="phase-shifter bits (0: unquantised)")
    predict.add_argument("--snr-db", type=number(float, -50.0, 100.0), default=20.0,
                         help="fusion: probe SNR (eqs. 14-15)")
    predict.add_argument("--flowgraph", action="store_true",
                         help="run the beam_predictor block against the simulated array")
    predict.add_argument("--timeout", type=POSITIVE, default=60.0,
                         help="seconds per user (--flowgraph)")


def add_train_options(train):
    train.add_argument("--nproc", type=number(int, 1, 256),
                       help="training processes on this machine (DDP, gloo)")
    train.add_argument("--master", help="HOST:PORT of node 0, to train across "
                                        "machines (with --nnodes, --node-rank)")
    train.add_argument("--nnodes", type=number(int, 1, 1024), help="machines (1)")
    train.add_argument("--node-rank", type=NONNEG, help="this machine's index (0)")
    train.add_argument("--calibration", type=existing,
                       help="mod-dnn, doa-cnn: train for the array a chamber calibration file "
                            "measured (its angle table)")
    train.add_argument("--array-seed", type=NONNEG,
                       help="mod-dnn, doa-cnn: train for the simulated array of this profile "
                            "seed (1000)")
    train.add_argument("--dataset", help="probe-predictor: site data set (munich-30ghz)")
    train.add_argument("--probes", choices=PROBE_PARAMETERISATIONS,
                       help="probe-predictor: probe parameterisation (uv)")
    train.add_argument("--num-probes", type=number(int, 1, 1024),
                       help="probe-predictor: probe beams L (8)")
    train.add_argument("--noise-bits", type=NONNEG,
                       help="probe-predictor: phase-noise training for B bits (0: off)")
    train.add_argument("--noise-width", type=number(float, 0.0, 16.0),
                       help="probe-predictor: noise width in quantisation steps (1.0)")
    train.add_argument("--split", choices=SPLITS, help="probe-predictor (block), "
                       "fusion-predictor (random): held-out users")
    train.add_argument("--method", choices=FUSION_METHODS,
                       help="fusion-predictor: the network (fusion)")
    train.add_argument("--beams", type=int, choices=(64, 256),
                       help="fusion-predictor: fine codebook (256)")
    train.add_argument("--snr-db", type=number(float, -50.0, 100.0),
                       help="fusion-predictor: training SNR (20)")


def add_engine_options(parser):
    """Where a long job's chunks run (default: in this process)."""
    parser.add_argument("--workers", type=number(int, 1, 1024),
                        help="run the chunks on a local Dask cluster of this many processes")
    parser.add_argument("--scheduler", type=scheduler_address,
                        help="run the chunks on an existing Dask cluster (tcp://HOST:PORT)")


def add_bench_options(run):
    add_engine_options(run)
    run.add_argument("--chunk-trials", type=number(int, 1, 10**8),
                     help="align-*: trials per chunk (5000); part of the result, since "
                          "each chunk draws from its own random stream")
    run.add_argument("--groups", type=number(int, 1, 1024), help="chanest-*: antenna groups G (4)")
    run.add_argument("--nlos-power", type=number(float, 0.0, 100.0),
                     help="chanest-*: variance of each NLoS path's gain (0.1; LoS 1)")
    run.add_argument("--sparsity", type=number(int, 1, 1024),
                     help="chanest-*: expected paths K_hat (4; chanest-arrays: L)")
    run.add_argument("--arrays", help="chanest-arrays: comma-separated NXxNZxM shapes "
                                      "(32x8x4,16x16x4,64x8x4)")
    run.add_argument("--dataset", help="predict-*: site data set (default munich-30ghz)")
    run.add_argument("--epochs", type=COUNT, help="predict-*: training epochs (200)")
    run.add_argument("--seeds", type=number(int, 1, 100), help="predict-*: training seeds (3)")
    run.add_argument("--split", choices=SPLITS, help="predict-sites: one split (default both)")
    run.add_argument("--mod-dnn", dest="mod_dnn_model", type=existing,
                     help="doa-*: MoD-DNN weight file (default: shipped)")
    run.add_argument("--doa-cnn", dest="doa_cnn_model", type=existing,
                     help="doa-*: DoA CNN weight file (default: shipped)")
    run.add_argument("--beams", type=int, choices=(64, 256),
                     help="predict-sites: one codebook (default both)")
    run.add_argument("--snr-db", type=number(float, -50.0, 100.0),
                     help="predict-sites, predict-cross-site: one SNR (default 0 and 20 dB); "
                     "chanest-arrays (20)")
    run.add_argument("--subcarriers", type=number(int, 1, 256),
                     help="predict-sites: tones in the wideband RSRP sum (32; 1: narrowband)")
    run.add_argument("--methods", type=name_list,
                     help="align-*: comma-separated searches (e.g. qssr,qssr-2pass); "
                     "predict-sites, predict-cross-site: networks (default "
                     f"{','.join(FUSION_METHODS[:1] + FUSION_METHODS[2:])})")
