# SPDX-License-Identifier: GPL-3.0-or-later
"""SR-BSNet baseline (seed 000 ref. [14]): beam selection as image super-resolution.

The Nr/4 x Nt/4 power map of wide beams (first N/4 antennas of each side) is normalised
by its maximum and super-resolved x4 on both axes to the Nr x Nt map of the finest DFT
beam pairs; the strongest entry picks the pair. Fully convolutional (3x3 convolutions
and a 4x pixel shuffle), so one network serves every array size.
"""
import torch
from torch import nn

from .store import load_network

ARCHITECTURE = "sr-bsnet"


class SRBSNet(nn.Module):
    ARCHITECTURE = ARCHITECTURE

    def __init__(self, channels=32, depth=3, scale=4):
        super().__init__()
        self.channels, self.depth, self.scale = channels, depth, scale
        layers = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        layers += [nn.Conv2d(channels, scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
        self.body = nn.Sequential(*layers)

    def architecture(self):
        return {"name": ARCHITECTURE, "channels": self.channels, "depth": self.depth,
                "scale": self.scale, "input": "wide-beam power map / its max, (Nr/4, Nt/4)",
                "output": "narrow-beam power map / its max, (Nr, Nt)"}

    def forward(self, wide):
        """wide (B, Nr/4, Nt/4) powers -> (B, Nr, Nt) normalised map estimate."""
        x = wide / wide.amax(dim=(1, 2), keepdim=True).clamp_min(1e-30)
        return self.body(x[:, None].float())[:, 0]

    @classmethod
    def load(cls, path):
        return load_network(cls, path, lambda arch: cls(arch.integer("channels", 1, 1024, 32),
                                                        arch.integer("depth", 1, 32, 3),
                                                        arch.integer("scale", 1, 16, 4)))

    def best_pair(self, wide):
        """Indices (r, t) of the strongest predicted narrow pair, for numpy powers (B, Hr, Ht)."""
        with torch.no_grad():
            fine = self(torch.as_tensor(wide, dtype=torch.float32))
        flat = fine.reshape(fine.shape[0], -1).argmax(dim=1).numpy()
        return flat // fine.shape[2], flat % fine.shape[2]
