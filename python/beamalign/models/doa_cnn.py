# SPDX-License-Identifier: GPL-3.0-or-later
"""The purely data-driven DoA baseline of seed 003: a CNN regressor on the covariance.

Input: the sample covariance of the M x K CFR snapshots, divided by its trace, as two
channels (real, imaginary) of its M^2 entries. Output: the AoA in degrees. It learns the
array it was trained on (its angle-dependent phase errors) and nothing else.
"""
import numpy as np
import torch
from torch import nn

from .store import load_network

ARCHITECTURE = "doa-cnn"


def covariance_features(covariance):
    """(..., M, M) covariance -> (..., 2, M*M) float32 (real, imag of R / trace R)."""
    r = np.asarray(covariance, dtype=np.complex128)
    m = r.shape[-1]
    r = r / np.trace(r, axis1=-2, axis2=-1).real[..., None, None]
    v = r.reshape(*r.shape[:-2], m * m)
    return np.stack([v.real, v.imag], axis=-2).astype(np.float32)


class DoaCnn(nn.Module):
    ARCHITECTURE = ARCHITECTURE

    def __init__(self, num_antennas=4, channels=32, hidden=128, max_angle_deg=60.0):
        super().__init__()
        self.num_antennas, self.channels, self.hidden = num_antennas, channels, hidden
        self.max_angle_deg = max_angle_deg
        width = num_antennas * num_antennas
        self.body = nn.Sequential(
            nn.Conv1d(2, channels, 3, padding=1), nn.ReLU(),
            nn.Conv1d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * channels * width, hidden), nn.ReLU(),
            nn.Linear(hidden, 1))

    def architecture(self):
        return {"name": ARCHITECTURE, "num_antennas": self.num_antennas,
                "channels": self.channels, "hidden": self.hidden,
                "max_angle_deg": self.max_angle_deg,
                "input": "covariance / trace, (2, M*M) real and imaginary parts",
                "output": "AoA (deg)"}

    def forward(self, features):
        """features (B, 2, M*M) -> AoA (B,) in degrees."""
        return self.body(features.float())[:, 0] * self.max_angle_deg

    def estimate_deg(self, covariance):
        """AoA (degrees) of one M x M covariance."""
        with torch.no_grad():
            features = torch.from_numpy(covariance_features(covariance)[None])
            return float(self(features)[0])

    @classmethod
    def load(cls, path):
        return load_network(cls, path, lambda arch: cls(
            arch.integer("num_antennas", 2, 256), arch.integer("channels", 1, 1024, 32),
            arch.integer("hidden", 1, 4096, 128), arch.real("max_angle_deg", 1.0, 90.0, 60.0)))
