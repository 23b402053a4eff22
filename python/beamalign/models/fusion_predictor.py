# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed 002's position-aided beam predictor and its baselines (Sec. IV, Fig. 1).

Input: the 16 RSRPs of the 4 x 4 probe codebook (normalised by their maximum) as a
4 x 4 map. The dual-branch predictor upsamples it bilinearly (eq. 16) and runs two
RegNet-style backbones over it: one trained to regress the user's position (a
training label only), one for the beam. The paper's RegNet (w_a 31.41, w_0 96,
w_m 2.24, d 22, 64 x 64 input, 0.66 GFLOPs) is scaled down for CPU training in minutes:
16 x 16 input, a 3 x 3 stem of 16 channels, stages of widths 24, 48, 96 and depths
1, 1, 2 of RegNet-X bottlenecks (1x1, grouped 3x3 with group width 8, 1x1, residual).
The single-branch ablation (B4) uses the same backbone.

Fusion (`fusion`):
- "auto" (AutoFusion, eq. 17): the concatenated features go through the Basic MLP
  (two linear layers, ReLU after each) to the fused feature; the Gen MLP (linear, ReLU,
  linear) reconstructs the concatenation from it (the reconstruction loss).
- "gan" (GanFusion, eq. 18): AutoFusion enhances the position feature alone; a
  generator maps the beam feature to a feature a discriminator cannot tell from the
  enhanced one; the head reads [generated, enhanced].
Per-sector classification heads (one per BS sector) and a position head.

Baselines: `cnn-mlp` (two 3 x 3 convolutions on the 4 x 4 map, MLP), `lstm-mlp` (an LSTM
over the 16 RSRPs in codebook order, MLP), `single-branch` (B4).
"""
import torch
import torch.nn.functional as functional
from torch import nn

from ..fileio import FileFormatError
from .choices import FUSION_METHODS
from .store import load_network

ARCHITECTURE = "fusion-predictor"
METHODS = FUSION_METHODS
SECTORS = 3
UPSAMPLED = 16
STEM, WIDTHS, DEPTHS, GROUP_WIDTH = 16, (24, 48, 96), (1, 1, 2), 8


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        groups = max(1, cout // GROUP_WIDTH)
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, stride, 1, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        return functional.relu(self.body(x) + self.skip(x))


class RegNetBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(1, STEM, 3, 1, 1, bias=False), nn.BatchNorm2d(STEM), nn.ReLU()]
        cin = STEM
        for width, depth in zip(WIDTHS, DEPTHS):
            for block in range(depth):
                layers.append(Bottleneck(cin, width, 2 if block == 0 else 1))
                cin = width
        self.body = nn.Sequential(*layers)
        self.features = cin

    def forward(self, rsrp_map):
        x = functional.interpolate(rsrp_map, size=(UPSAMPLED, UPSAMPLED), mode="bilinear",
                                   align_corners=True)
        return self.body(x).mean(dim=(2, 3))


def mlp(*sizes, last_relu=False):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_relu:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class FusionPredictor(nn.Module):
    """One of METHODS for a codebook of `beams` beams."""

    ARCHITECTURE = ARCHITECTURE

    def __init__(self, method="fusion", beams=256):
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.method, self.beams = method, beams
        dual = method in ("fusion", "fusion-auto")
        if method in ("fusion", "fusion-auto", "single-branch"):
            self.beam_branch = RegNetBackbone()
            width = self.beam_branch.features
        elif method == "cnn-mlp":
            self.beam_branch = nn.Sequential(
                nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
                nn.Flatten(), mlp(512, 256, last_relu=True))
            width = 256
        else:
            self.lstm = nn.LSTM(1, 64, num_layers=2, batch_first=True)
            self.beam_branch = mlp(64, 128, last_relu=True)
            width = 128
        if dual:
            self.position_branch = RegNetBackbone()
            self.position_head = nn.Linear(width, 2)
        if method == "fusion-auto":
            self.basic = mlp(2 * width, width, width, last_relu=True)
            self.gen = mlp(width, width, 2 * width)
            head_width = width
        elif method == "fusion":
            self.basic = mlp(width, width, width, last_relu=True)
            self.gen = mlp(width, width, width)
            self.generator = mlp(width, width, width, last_relu=True)
            self.discriminator = mlp(width, width // 2, 1)
            head_width = 2 * width
        else:
            head_width = width
        self.heads = nn.ModuleList(nn.Linear(head_width, beams) for _ in range(SECTORS))

    def architecture(self):
        return {"name": ARCHITECTURE, "method": self.method, "beams": self.beams,
                "input": "16 probe RSRPs (4 x 4, normalised by their maximum)",
                "upsampled": UPSAMPLED, "stem": STEM, "widths": list(WIDTHS),
                "depths": list(DEPTHS), "group_width": GROUP_WIDTH, "sectors": SECTORS}

    @classmethod
    def load(cls, path):
        def build(arch):
            method = arch.document.get("method")
            if method not in METHODS:
                raise FileFormatError(f"{arch.where}: field 'method' must be one of "
                                      f"{METHODS}, got {method!r}")
            return cls(method, arch.integer("beams", 1, 65536))
        return load_network(cls, path, build)

    def forward(self, rsrp, sector):
        """rsrp (B, 16), sector (B,) -> dict: logits (B, beams), position (B, 2) or None,
        and the fusion's auxiliary tensors."""
        rsrp = torch.as_tensor(rsrp, dtype=torch.float32)
        sector = torch.as_tensor(sector, dtype=torch.long)
        out = {"position": None}
        if self.method == "lstm-mlp":
            sequence, _ = self.lstm(rsrp[:, :, None])
            feature = self.beam_branch(sequence[:, -1])
        else:
            grid = rsrp.reshape(-1, 1, 4, 4)
            feature = self.beam_branch(grid)
        if self.method in ("fusion", "fusion-auto"):
            position_feature = self.position_branch(rsrp.reshape(-1, 1, 4, 4))
            out["position"] = self.position_head(position_feature)
            if self.method == "fusion-auto":
                concatenated = torch.cat([feature, position_feature], dim=1)
                fused = self.basic(concatenated)
                out["reconstruction"] = (self.gen(fused), concatenated)
            else:
                enhanced = self.basic(position_feature)
                out["reconstruction"] = (self.gen(enhanced), position_feature)
                generated = self.generator(feature)
                out["adversarial"] = (generated, enhanced)
                fused = torch.cat([generated, enhanced], dim=1)
        else:
            fused = feature
        logits = torch.stack([head(fused) for head in self.heads], dim=1)
        out["logits"] = logits[torch.arange(len(sector)), sector]
        return out

    def predict(self, rsrp, sector):
        """Inference: (softmax scores (B, beams), position (B, 2) or None) as NumPy."""
        with torch.no_grad():
            out = self(rsrp, sector)
            position = None if out["position"] is None else out["position"].double().numpy()
            return torch.softmax(out["logits"], dim=1).double().numpy(), position
