# SPDX-License-Identifier: GPL-3.0-or-later
"""What a strategy asks to measure, and what it finally chooses."""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Probe:
    """Beam pairs to measure for each of B trials.

    tx: (B or 1, Kt, Nt) and rx: (B or 1, Kr, Nr) weights. With grid=False, Kt == Kr
    and pair k is (tx[k], rx[k]): powers come back as (B, K). With grid=True every
    rx beam meets every tx beam: powers come back as (B, Kr, Kt).
    side names the side being searched ("tx", "rx" or "both"), layer the hierarchy
    layer, tx_ids / rx_ids the codeword indices (for messages and logs).
    """

    tx: np.ndarray
    rx: np.ndarray
    side: str
    layer: int = 0
    grid: bool = False
    tx_ids: np.ndarray = None
    rx_ids: np.ndarray = None

    @property
    def count(self):
        """Measurements this probe costs per trial."""
        kt, kr = self.tx.shape[-2], self.rx.shape[-2]
        return kt * kr if self.grid else kt


@dataclass
class Alignment:
    """The outcome of a search for B trials."""

    method: str
    f: np.ndarray  # (B, Nt) final Tx weights
    w: np.ndarray  # (B, Nr) final Rx weights
    u_tx: np.ndarray  # (B,) estimated AoD
    u_rx: np.ndarray  # (B,) estimated AoA
    measurements: int
    extras: dict = field(default_factory=dict)
