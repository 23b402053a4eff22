# SPDX-License-Identifier: GPL-3.0-or-later
"""Every training loop of the shipped networks, by name (`beamalign train NAME`).

Training sits above the kernel packages: a loop may drive align, doa or chanest code to
make its examples, and writes weights through models.store. TRAINERS maps a command
name to its loop and to how the command's options (--epochs, --steps, --batch, ...) map
onto the loop's own arguments.
"""
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..models import registry


@dataclass(frozen=True)
class Trainer:
    module: str  # the training module; its train(path, **arguments) writes the weights
    options: dict  # command option -> the loop's argument of that name
    shipped: Callable  # (nt, nr) -> the registry name whose file this trains
    help: str

    @property
    def train(self):
        # Imported on use: the loops import Torch, which `beamalign --help` should not.
        return importlib.import_module(f"{__package__}.{self.module}").train


_EPOCH_OPTIONS = {"epochs": "epochs", "steps": "steps_per_epoch", "batch": "batch",
                  "nt": "nt", "nr": "nr"}

TRAINERS = {
    "qssr-net": Trainer("qssr_net", _EPOCH_OPTIONS, registry.qssr_net_name,
                        "QSSR-Net (seed 000) for an nt x nr link"),
    "sr-bsnet": Trainer("sr_bsnet", _EPOCH_OPTIONS, lambda nt, nr: "sr-bsnet",
                        "the SR-BSNet baseline (seed 000)"),
    "doa-cnn": Trainer("doa_cnn", {"epochs": "epochs", "steps": "steps_per_epoch",
                                       "batch": "batch", "calibration": "calibration",
                                       "array_seed": "profile_seed"}, lambda nt, nr: "doa-cnn",
                       "the data-driven DoA CNN baseline (seed 003)"),
    "mod-dnn": Trainer("mod_dnn", {"steps": "steps", "batch": "batch",
                                       "ae_samples": "ae_samples", "calibration": "calibration",
                                       "array_seed": "profile_seed"}, lambda nt, nr: "mod-dnn",
                       "MoD-DNN (seed 003)"),
    "probe-predictor": Trainer("probe_predictor", {
        "epochs": "epochs", "batch": "batch", "dataset": "dataset", "probes": "parameterisation",
        "num_probes": "probes", "noise_bits": "noise_bits", "noise_width": "noise_width",
        "split": "split"}, lambda nt, nr: "probe-predictor",
        "learned probe beams + beam predictor (seed 001) on a site data set"),
    "fusion-predictor": Trainer("fusion_predictor", {
        "epochs": "epochs", "batch": "batch", "dataset": "dataset", "method": "method",
        "beams": "beams", "snr_db": "snr_db", "split": "split"},
        lambda nt, nr: "fusion-predictor",
        "the position-aided fusion predictor or a baseline (seed 002) on site data sets"),
}


def default_output(name, nt=64, nr=16):
    """Where `beamalign train NAME` writes without --out: the shipped file's name in the
    current directory, so a run never replaces the shipped weights unless told to."""
    shipped = TRAINERS[name].shipped(nt, nr)
    file = registry.SHIPPED[shipped].file if shipped in registry.SHIPPED else \
        registry.qssr_net_output(nt, nr).name
    return Path.cwd() / file


def run_training(name, out=None, seed=0, quiet=False, nt=None, nr=None, nproc=None,
                 master=None, nnodes=None, node_rank=None, **options):
    """Trains NAME with the options it takes (those not None); returns the weight path.
    nproc / master / nnodes / node_rank spread it over processes and machines (DDP)."""
    trainer = TRAINERS[name]
    options.update(nt=nt, nr=nr)
    unused = sorted(key for key, value in options.items()
                    if value is not None and key not in trainer.options)
    parallel = {"nproc": nproc, "master": master, "nnodes": nnodes, "node_rank": node_rank}
    if unused:
        raise ValueError(f"train {name} does not take --{', --'.join(u.replace('_', '-') for u in unused)}")
    arguments = {trainer.options[key]: value for key, value in options.items()
                 if value is not None}
    path = out or default_output(name, nt or 64, nr or 16)
    if all(value is None for value in parallel.values()):
        return trainer.train(path, seed=seed, quiet=quiet, **arguments)
    # Imported on use, as the loops are: it brings Torch.
    ddp = importlib.import_module(f"{__package__}.ddp")
    return ddp.launch(trainer.train, path, nproc or 1, master, nnodes or 1, node_rank or 0,
                      seed=seed, quiet=quiet, **arguments)
