# SPDX-License-Identifier: GPL-3.0-or-later
"""QSSR-Net (seed 000, Sec. III-C): a GRU over the QSSR layer measurements.

Input per layer l: s(l) = [the 4 probed directions, p(l)/max p(l)] (8 values). A 3-layer
GRU (hidden 64) reads the layers in order; FC 64-64-1 with ReLU maps its last state to
the estimate. Our choice: the output is an offset, in units of the final layer's beam
spacing 2/K, from the strongest final-layer beam, which keeps the regression well scaled.
One network serves the Tx search and one the Rx search.
"""
import numpy as np
import torch
from torch import nn

from .store import load_network

ARCHITECTURE = "qssr-net"


class QSSRNetSide(nn.Module):
    def __init__(self, ary=4, hidden=64, layers=3):
        super().__init__()
        self.ary = ary
        self.gru = nn.GRU(input_size=2 * ary, hidden_size=hidden, num_layers=layers,
                          batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, directions, powers):
        """directions (B, T, ary) numpy/tensor, powers (B, T, ary) tensor -> u (B,)."""
        directions = torch.as_tensor(directions, dtype=torch.float32)
        powers = powers.to(torch.float32)
        scale = powers.amax(dim=-1, keepdim=True).clamp_min(1e-30)
        x = torch.cat([directions, powers / scale], dim=-1)
        out, _ = self.gru(x)
        offset = self.head(out[:, -1]).squeeze(-1)
        final_beams = float(self.ary ** directions.shape[1])  # beams of the last layer
        anchor = directions[:, -1].gather(1, powers[:, -1].argmax(dim=1, keepdim=True)).squeeze(1)
        return anchor + offset * (2.0 / final_beams)


class QSSRNet(nn.Module):
    """The Tx and Rx networks, trained jointly."""

    ARCHITECTURE = ARCHITECTURE

    def __init__(self, hidden=64, layers=3):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.tx = QSSRNetSide(4, hidden, layers)
        self.rx = QSSRNetSide(4, hidden, layers)

    def architecture(self):
        return {"name": ARCHITECTURE, "hidden": self.hidden, "gru_layers": self.layers,
                "ary": 4, "input": "[4 directions, p/max p] per layer", "output":
                "offset from the strongest final-layer beam, in units of 2/K"}

    @classmethod
    def load(cls, path):
        return load_network(cls, path, lambda arch: cls(arch.integer("hidden", 1, 4096, 64),
                                                        arch.integer("gru_layers", 1, 16, 3)))

    def estimate(self, side, history):
        """Inference on a descent history [(directions (B,4), powers (B,4)), ...]."""
        directions = np.stack([d for d, _ in history], axis=1)
        powers = torch.as_tensor(np.stack([p for _, p in history], axis=1))
        with torch.no_grad():
            u = getattr(self, side)(directions, powers).double().numpy()
        return u - 2.0 * np.floor((u + 1.0) / 2.0)  # u has period 2
