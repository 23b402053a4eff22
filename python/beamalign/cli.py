# SPDX-License-Identifier: GPL-3.0-or-later
"""The `beamalign` command line: parses and checks the arguments, then calls commands.

Every choice list comes from the registry it names, every number is range-checked while
parsing, and an error from the package (a bad file, an impossible setting, a path that
cannot be written) ends the command with one line on stderr and exit status 2.
"""
import math
import os
import sys

from . import bench, cli_site, commands, training
from ._version import __version__
from .align.strategies import STRATEGIES
from .arguments import (
    COUNT,
    NONNEG,
    POSITIVE,
    REAL,
    SIZE,
    SNR,
    OneLineParser,
    existing,
    link_address,
    number,
    output,
)
from .chanest.estimators import METHODS as CHANEST_METHODS
from .chanest.hybrid import BEAMS
from .doa.estimate import METHODS as DOA_METHODS
from .fileio import FileFormatError

EXIT_USAGE = 2


def _common(parser):
    parser.add_argument("--seed", type=NONNEG, default=0, help="random seed (default 0)")
    parser.add_argument("--json", metavar="PATH", type=output, help="write the results as JSON")
    parser.add_argument("--png", metavar="PATH", type=output, help="write a figure")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")


def _link(parser, paths=3):
    parser.add_argument("--nt", type=SIZE, default=64, help="Tx antennas")
    parser.add_argument("--nr", type=SIZE, default=16, help="Rx antennas")
    parser.add_argument("--snr-db", type=SNR, default=20.0)
    parser.add_argument("--paths", type=number(int, 1, 64), default=paths)
    parser.add_argument("--profile", choices=("los", "nlos"), default="los")
    parser.add_argument("--dwell", type=number(int, 1, 1 << 20), default=64,
                        help="pilot samples per measurement")


def _command(sub, name, func, help_text, common=True):
    parser = sub.add_parser(name, help=help_text)
    if common:
        _common(parser)
    parser.set_defaults(func=func)
    return parser


def build_parser():
    parser = OneLineParser(
        prog="beamalign", description="Beam management and array signal processing for GNU Radio.")
    parser.add_argument("--version", action="version", version=f"beamalign {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sweep = _command(sub, "sweep", commands.sweep, "sweep the Tx DFT codebook on the simulated array")
    _link(sweep)
    sweep.add_argument("--timeout", type=POSITIVE, default=60.0)

    align = _command(sub, "align", commands.align, "closed-loop beam alignment on the simulated array")
    align.add_argument("--method", choices=sorted(STRATEGIES), default="qssr-net")
    align.add_argument("--model", type=existing, help="QSSR-Net weight file (default: shipped)")
    align.add_argument("--trials", type=number(int, 1, 1_000_000), default=10)
    _link(align)
    align.add_argument("--beam-norm", choices=("unit", "seed"), default="unit")
    align.add_argument("--timeout", type=POSITIVE, default=120.0, help="seconds per alignment")

    train = _command(sub, "train", commands.train, "train a network (safetensors + JSON sidecar)")
    train.add_argument("model", choices=sorted(training.TRAINERS))
    train.add_argument("--out", type=output,
                       help="weight file (default: the shipped file's name in the current "
                            "directory; the shipped weights change only when --out names them)")
    train.add_argument("--nt", type=SIZE, help="qssr-net, sr-bsnet: Tx antennas (64)")
    train.add_argument("--nr", type=SIZE, help="qssr-net, sr-bsnet: Rx antennas (16)")
    train.add_argument("--epochs", type=COUNT, help="epochs (qssr-net, sr-bsnet 150; doa-cnn 60)")
    train.add_argument("--steps", type=COUNT,
                       help="batches per epoch (50); mod-dnn: calibrator steps (800)")
    train.add_argument("--batch", type=COUNT, help="examples per batch (100; doa-cnn 256; mod-dnn 32)")
    train.add_argument("--ae-samples", type=COUNT,
                       help="mod-dnn: examples for the autoencoder's least-squares fit (200000)")
    cli_site.add_train_options(train)
    cli_site.add_commands(sub, _command)

    calibrate = _command(sub, "calibrate", commands.calibrate,
                         "online self-calibration or a chamber run; writes calibration files")
    calibrate.add_argument("--online", action="store_true",
                           help="self-calibrate a simulated impaired link (seed 000 Alg. 2)")
    calibrate.add_argument("--chamber", action="store_true", help="step a turntable")
    calibrate.add_argument("--nt", type=SIZE, default=64, help="Tx antennas (online)")
    calibrate.add_argument("--nr", type=SIZE, default=16, help="Rx antennas (online)")
    calibrate.add_argument("--updates", type=COUNT, default=300, help="calibration updates (online)")
    calibrate.add_argument("--batch", type=COUNT, default=64, help="alignments per update (online)")
    calibrate.add_argument("--sigma-d", type=number(float, 0.0, 1.0), default=0.05,
                           help="position error std, wavelengths (online)")
    calibrate.add_argument("--sigma-p", type=number(float, 0.0, math.pi), default=0.1 * math.pi,
                           help="phase error std, radians (online)")
    calibrate.add_argument("--report-every", type=NONNEG, default=50,
                           help="print the held-out power every this many updates (online; 0: never)")
    calibrate.add_argument("--eval-trials", type=COUNT, default=4000,
                           help="held-out channels for the power before/after (online)")
    calibrate.add_argument("--positioner", default="sim", help="'sim' or 'tcp://host:port'")
    calibrate.add_argument("--source", choices=("sim", "direct", "uhd"), default="sim",
                           help="chamber: the SRS front-end flowgraph on a simulated array, "
                                "the snapshot model directly, or a USRP (--device-args)")
    calibrate.add_argument("--device-args", default="", help="chamber --source uhd: UHD device")
    calibrate.add_argument("--angles", type=REAL, nargs=3, default=[-60.0, 60.0, 5.0],
                           metavar=("START", "STOP", "STEP"))
    calibrate.add_argument("--antennas", type=number(int, 2, 256), default=4)
    calibrate.add_argument("--subcarriers", type=number(int, 1, 4096), default=16)
    calibrate.add_argument("--snr-db", type=SNR, default=30.0)
    calibrate.add_argument("--array-id", default="sim-array")
    calibrate.add_argument("--state", type=output, default="chamber-state.json",
                           help="progress file: a rerun resumes from it")
    calibrate.add_argument("--out", default="calibration.json",
                           help="chamber: the file; online: prefix of PREFIX.tx.json, PREFIX.rx.json")

    eda = _command(sub, "eda", commands.eda, "antenna grouping by EDA (min-max ISL, SRL bound)")
    eda.add_argument("--antennas", type=number(int, 2, 1024), default=32, help="horizontal elements")
    eda.add_argument("--groups", type=COUNT, default=4)
    eda.add_argument("--population", type=number(int, 2, 100000), default=100)
    eda.add_argument("--generations", type=COUNT, default=60)
    eda.add_argument("--snr-db", type=SNR, default=10.0, help="SNR of the SRL")
    eda.add_argument("--srl-bound", type=number(float, 0.0),
                     help="largest SRL a group may have (default: 1.44 x an interleaved "
                          "group's, 0.008 for 32 antennas in 4 groups; 0: none)")

    chanest = _command(sub, "chanest", commands.chanest,
                       "hybrid-beamforming channel estimation flowgraph; prints NMSE")
    chanest.add_argument("--method", choices=CHANEST_METHODS, default="gw-sc-vbi")
    chanest.add_argument("--beam", choices=BEAMS, default="groupwise")
    chanest.add_argument("--grouping", metavar="PATH", type=existing,
                         help="grouping file from `beamalign eda` (default: adjacent columns)")
    chanest.add_argument("--pilots", type=number(int, 1, 100000), default=20,
                         help="pilots, a new channel each")
    chanest.add_argument("--snr-db", type=SNR, default=20.0)
    chanest.add_argument("--paths", type=number(int, 1, 64), default=4)
    chanest.add_argument("--threads", type=number(int, 1, 256), default=1,
                         help="deprecated, no effect (GW-SC-VBI's groups now run in turn)")
    chanest.add_argument("--element-pattern", choices=("isotropic", "3gpp"), default="isotropic")

    doa = _command(sub, "doa", commands.doa, "SRS direction finding on the simulated receiver")
    doa.add_argument("--method", choices=DOA_METHODS, default="scg")
    doa.add_argument("--angle-deg", type=number(float, -60.0, 60.0), default=20.0)
    doa.add_argument("--snr-db", type=SNR, default=20.0)
    doa.add_argument("--rho", type=number(float, 0.0, 1.0), default=1.0,
                     help="phase-error weight in [0, 1]")
    doa.add_argument("--nlos", type=number(int, 0, 16), default=0, help="NLoS paths")
    doa.add_argument("--symbols", type=number(int, 1, 100000), default=10)

    node = _command(sub, "node", commands.node, "one side of a two-node link (base station: "
                    "runs until interrupted; user: aligns --trials times)")
    node.add_argument("role", choices=("bs", "ue"))
    node.add_argument("--link", type=link_address, default="tcp://127.0.0.1:5560",
                      help="the base station's tcp://HOST:PORT (samples; PORT+1: commands)")
    node.add_argument("--method", choices=sorted(STRATEGIES), default="qssr-net")
    node.add_argument("--trials", type=number(int, 1, 1_000_000), default=10)
    node.add_argument("--nt", type=SIZE, default=64)
    node.add_argument("--nr", type=SIZE, default=16)
    node.add_argument("--snr-db", type=SNR, default=20.0)
    node.add_argument("--loss", type=number(float, 0.0, 1.0), default=0.0,
                      help="share of Tx commands the link loses")
    node.add_argument("--source", choices=("link", "uhd"), default="link",
                      help="samples over the link (emulated air) or a USRP array")
    node.add_argument("--device-args", default="", help="--source uhd: the UHD device")
    node.add_argument("--samp-rate", type=POSITIVE, default=1e6, help="--source uhd")
    node.add_argument("--center-freq", type=POSITIVE, default=28e9, help="--source uhd")
    node.add_argument("--gain", type=REAL, default=None, help="--source uhd (dB)")
    ota = _command(sub, "ota", commands.ota, "two-node alignment: both nodes over a link")
    ota.add_argument("--emulate", action="store_true", required=True,
                     help="both nodes on this machine, the channel emulated")
    ota.add_argument("--link", type=link_address, default="tcp://127.0.0.1:5560")
    ota.add_argument("--method", choices=sorted(STRATEGIES), default="qssr-net")
    ota.add_argument("--trials", type=number(int, 1, 1_000_000), default=100)
    ota.add_argument("--snr-db", type=SNR, default=20.0)
    ota.add_argument("--loss", type=number(float, 0.0, 1.0), default=0.0)

    run = _command(sub, "bench", commands.run_bench, "run an experiment, write JSON and a PNG")
    run.add_argument("experiment", choices=list(bench.EXPERIMENTS), help="; ".join(
        f"{name}: {experiment.help}" for name, experiment in bench.EXPERIMENTS.items()))
    run.add_argument("--trials", type=number(int, 1, 100_000_000),
                     help="Monte Carlo trials (default: the experiment's own)")
    run.add_argument("--samples", type=COUNT, help="samples per flowgraph run (speed)")
    run.add_argument("--dwell", dest="dwells", type=COUNT, nargs="+",
                     help="samples per dwell (speed)")
    run.add_argument("--repeats", type=COUNT, help="runs per figure, best kept (speed)")
    run.add_argument("--model", type=existing, help="QSSR-Net weight file (align-*)")
    run.add_argument("--method", choices=sorted(STRATEGIES), help="alignment method (soak)")
    run.add_argument("--nt", type=SIZE, help="Tx antennas (align-*)")
    run.add_argument("--nr", type=SIZE, help="Rx antennas (align-*)")
    run.add_argument("--paths", type=number(int, 1, 64), help="paths (align-*, chanest-*)")
    run.add_argument("--profile", choices=("los", "nlos"), help="channel profile (align-snr)")
    run.add_argument("--nx", type=number(int, 1, 1024), help="UPA columns (chanest-*)")
    run.add_argument("--nz", type=number(int, 1, 1024), help="UPA rows (chanest-*)")
    run.add_argument("--m", type=number(int, 1, 1024), help="elements per RF chain (chanest-*)")
    run.add_argument("--grouping", metavar="PATH", type=existing,
                     help="EDA grouping file for chanest-* (default: run the EDA, seeded)")
    run.add_argument("--turbo-trials", type=COUNT, help="Turbo-VBI trials per point (20)")
    run.add_argument("--array-seed", type=NONNEG,
                     help="doa-*: the array's phase-error profile (default: seed + 1000)")
    run.add_argument("--calibration", type=existing,
                     help="doa-*: the array's profile from a chamber calibration file")
    cli_site.add_bench_options(run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    # UHD's banner goes to stderr at INFO; a failed command should say one line there.
    os.environ.setdefault("UHD_LOG_CONSOLE_LEVEL", "warning")
    try:
        return args.func(args)
    except (FileFormatError, ValueError, OSError, TimeoutError, RuntimeError) as err:
        # One line, whatever the library said (UHD's messages span several).
        print(f"beamalign {args.command}: error: {' '.join(str(err).split())}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"beamalign {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
