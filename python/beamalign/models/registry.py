# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped weights: one entry per file, naming its network and what it was trained for.

Kernels load networks through here (`load("mod-dnn")`), the training commands write to
`path_of(name)` by default, and the tests check every entry's sidecar.
"""
import importlib
from dataclasses import dataclass
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ShippedModel:
    network_name: str  # "module.Class" in this package: an nn.Module with load(path)
    file: str
    trained_for: str

    @property
    def path(self):
        return MODEL_DIR / self.file

    @property
    def network(self):
        # Resolved on use: Torch takes seconds to import, and `from gnuradio import
        # beamalign` (GRC, every flowgraph) should not pay for it until a network loads.
        module, name = self.network_name.rsplit(".", 1)
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)


QSSR_NET_SIDES = (16, 32, 64, 128)

SHIPPED = {
    "qssr-net": ShippedModel("qssr_net.QSSRNet", "qssr_net.safetensors",
                             "64 x 16 ULA link, Saleh-Valenzuela LoS (L = 3), 5-30 dB"),
    # One QSSR-Net per link size: 16, 32, 64 and 128 elements on either side.
    **{f"qssr-net-{nt}x{nr}": ShippedModel(
        "qssr_net.QSSRNet", f"qssr_net_{nt}x{nr}.safetensors",
        f"{nt} x {nr} ULA link, Saleh-Valenzuela LoS (L = 3), 5-30 dB")
       for nt in QSSR_NET_SIDES for nr in QSSR_NET_SIDES if (nt, nr) != (64, 16)},
    "sr-bsnet": ShippedModel("sr_bsnet.SRBSNet", "sr_bsnet.safetensors",
                             "64 x 16 ULA link, Saleh-Valenzuela LoS (L = 3), 5-30 dB"),
    "doa-cnn": ShippedModel("doa_cnn.DoaCnn", "doa_cnn.safetensors",
                            "4-antenna SRS receiver, the simulated phase-error profile 1000"),
    "mod-dnn": ShippedModel("mod_dnn.ModDnn", "mod_dnn.safetensors",
                            "4-antenna SRS receiver, the simulated phase-error profile 1000"),
    "probe-predictor": ShippedModel(
        "probe_predictor.ProbePredictor", "probe_predictor.safetensors",
        "16 x 8 UPA at 30 GHz, 8 beam-domain probes, the munich-30ghz data set's sector"),
    "fusion-predictor": ShippedModel(
        "fusion_predictor.FusionPredictor", "fusion_predictor.safetensors",
        "seed 002's three 8 x 8 sectors at 3.5 GHz, 16 -> 256 beams at 20 dB, munich-3p5ghz"),
}


def path_of(name):
    """The weight file of a shipped model."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped model {name!r}; shipped: {', '.join(sorted(SHIPPED))}")
    return SHIPPED[name].path


def load(name, path=None):
    """The network of a shipped model, from its file or from `path` (same architecture)."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped model {name!r}; shipped: {', '.join(sorted(SHIPPED))}")
    entry = SHIPPED[name]
    return entry.network.load(Path(path) if path else entry.path)


def qssr_net_name(nt, nr):
    """The registry name of the QSSR-Net for an nt x nr link (64 x 16 is plain 'qssr-net')."""
    return "qssr-net" if (nt, nr) == (64, 16) else f"qssr-net-{nt}x{nr}"


def qssr_net_trained(nt, nr):
    """True when a QSSR-Net was shipped for the nt x nr link."""
    return qssr_net_name(nt, nr) in SHIPPED


def qssr_net_for(nt, nr):
    """The shipped QSSR-Net weight file for an nt x nr link, or the 64 x 16 one when none
    was trained for that size."""
    name = qssr_net_name(nt, nr)
    return path_of(name if name in SHIPPED else "qssr-net")


def qssr_net_output(nt, nr):
    """Where `beamalign train qssr-net --nt --nr` writes by default."""
    return MODEL_DIR / f"{qssr_net_name(nt, nr).replace('-', '_')}.safetensors"
