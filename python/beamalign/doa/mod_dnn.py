# SPDX-License-Identifier: GPL-3.0-or-later
"""MoD-DNN inference (seed 003): the network of models.mod_dnn around the C++ coarray
DBF and SCG.

The network holds what is learnt (the multi-task autoencoder, the CNN calibrator) and
its own grids; this estimator adds the parts that need the coarray solver: the
subregion decision on the calibrated snapshots, and MoDL-SSR with the C++ SCG on the
settings the Torch twin (doa.torch_scg.TorchScg) was trained with. The two loops are
tested equal.
"""
import numpy as np
import torch

from .coarray import CoarraySpectrum


class ModDnnEstimator:
    """estimate() runs one M x K snapshot set through a trained models.mod_dnn.ModDnn."""

    def __init__(self, network):
        self.network = network
        self.coarray = CoarraySpectrum(network.num_antennas, network.solver_grid_deg)

    @property
    def grid_deg(self):
        return self.network.grid_deg

    @property
    def num_antennas(self):
        return self.network.num_antennas

    @property
    def num_subcarriers(self):
        return self.network.num_subcarriers

    @property
    def solver_grid_deg(self):
        return self.network.solver_grid_deg

    @property
    def sidecar(self):
        return getattr(self.network, "sidecar", None)

    def calibrated_snapshots(self, snapshots):
        return self.network.calibrated_snapshots(snapshots)

    def choose(self, snapshots, calibrated):
        """Per snapshot set: (task index, its coarray DBF spectrum on the solver grid).

        Only subregions within gate_deg of the uncalibrated DBF peak compete: at low SNR a
        far decoder's output can look like a steering vector by chance, while the phase
        errors move the uncalibrated peak by a few degrees at most. Of those, the decoder
        whose principal eigenvector best matches one ideal steering vector, max |a^H u|^2
        / M, with that match inside its own widened subregion, wins. The eigenvector
        leaves out the noise, which each decoder amplifies differently (on a validation
        draw at rho = 1, 20 dB this beat the DBF peak per unit power: 80th-percentile
        error 0.285 vs 0.292 deg, 0.319 vs 0.347 at rho = 0)."""
        chosen, spectra = [], []
        lo, hi = self.network.edges[:-1] - self.network.margin_deg, self.network.edges[1:] + self.network.margin_deg
        regions = np.arange(calibrated.shape[1]) // self.network.impairment_levels
        for h, sets in zip(snapshots, calibrated):
            raw_peak = self.network.solver_grid_deg[int(np.argmax(self.coarray.dbf(h @ h.conj().T)))]
            tasks = np.flatnonzero((lo[regions] - self.network.gate_deg <= raw_peak) &
                                   (raw_peak <= hi[regions] + self.network.gate_deg))
            covariances = np.einsum("tmk,tnk->tmn", sets[tasks], sets[tasks].conj()) / \
                sets.shape[-1]
            principal = np.linalg.eigh(covariances)[1][:, :, -1]  # (T, M)
            match = np.abs(principal.conj() @ self.network.steering.T) ** 2 / self.network.num_antennas
            best = match.argmax(axis=1)
            peaks = self.network.solver_grid_deg[best]
            inside = (peaks >= lo[regions[tasks]]) & (peaks <= hi[regions[tasks]])
            score = match[np.arange(len(tasks)), best] - 2.0 * ~inside  # outside: last resort
            pick = int(np.argmax(score))
            chosen.append(int(tasks[pick]))
            spectra.append(np.asarray(self.coarray.dbf(covariances[pick]), np.float64))
        return np.array(chosen), np.array(spectra)

    # --- stage 2: MoDL-SSR with the C++ SCG ------------------------------------------
    def modl(self, eta_hat):
        """The same loop with the C++ SCG, one spectrum (L,) on the solver grid."""
        settings = self.network.scg_settings
        eta_hat = np.asarray(eta_hat, np.float64)
        measured = torch.from_numpy(eta_hat)[None]
        eta = self.coarray.scg(eta_hat, None, **settings)
        with torch.no_grad():
            for _ in range(self.network.unrolled):
                z = self.network.calibrator(torch.from_numpy(np.asarray(eta, np.float64))[None],
                                    measured)[0]
                eta = self.coarray.scg(eta_hat, z.numpy(), **settings)
        return np.asarray(eta, np.float64)

    def estimate(self, snapshots):
        """(angle_deg, spectrum on grid_deg normalised to peak 1, subregion) of one (M, K)
        snapshot set."""
        h = np.asarray(snapshots, np.complex128)
        if h.shape != (self.network.num_antennas, self.network.num_subcarriers):
            raise ValueError(f"MoD-DNN takes {self.network.num_antennas} x {self.network.num_subcarriers} "
                             f"snapshots, got {h.shape}")
        if not np.all(np.isfinite(h)):
            raise ValueError("snapshots hold NaN or Inf")
        task, eta_hat = self.choose(h[None], self.network.calibrated_snapshots(h[None]))
        values = self.modl(eta_hat[0])
        angle = float(self.network.read_out(torch.from_numpy(values)[None], task)[0])
        values = values[self.network.output]
        peak = values.max()
        return angle, values / peak if peak > 0 else values, self.network.task_region(int(task[0]))
