# SPDX-License-Identifier: GPL-3.0-or-later
"""What a sidecar records about a training run."""
import torch


def training_record(model, nt, nr, paths, epochs, steps_per_epoch, batch, lr, dwell,
                    snr_range, seed, cpu_seconds, **curves):
    """The sidecar's `training` entry for the seed 000 scenario: command, data, optimiser."""
    return {
        "command": f"beamalign train {model} --nt {nt} --nr {nr} --epochs {epochs} "
                   f"--steps {steps_per_epoch} --batch {batch} --seed {seed}",
        "scenario": {"channel": "saleh-valenzuela", "profile": "los", "paths": paths,
                     "nt": nt, "nr": nr, "snr_db_uniform": list(snr_range), "dwell": dwell,
                     "beam_norm": "unit", "impairments": None},
        "optimiser": {"name": "adam", "lr": lr, "lr_decay": "x0.95 every 10 epochs",
                      "batch": batch, "epochs": epochs, "steps_per_epoch": steps_per_epoch},
        "seed": seed, "torch": torch.__version__, "cpu_seconds": round(cpu_seconds, 1),
        **curves,
    }
