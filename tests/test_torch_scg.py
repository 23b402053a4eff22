# SPDX-License-Identifier: GPL-3.0-or-later
"""The Torch SCG follows the C++ solver and passes gradients (MoDL-SSR training)."""
import numpy as np
import torch

from gnuradio.beamalign.doa import CoarraySpectrum, sample_covariance, simulate_snapshots
from gnuradio.beamalign.doa.torch_scg import TorchScg


def test_torch_scg_equals_the_cpp_solver():
    spectrum = CoarraySpectrum(4)
    scg = TorchScg(4, spectrum.grid_deg, rounds=2, iterations=40)
    rng = np.random.default_rng(3)
    inputs = [spectrum.dbf(sample_covariance(simulate_snapshots(rng, theta, 4, 16, 20.0)))
              for theta in (-15.0, 33.3)]
    got = scg(torch.as_tensor(np.stack(inputs)))
    for eta_i, row in zip(inputs, got):
        expected = spectrum.scg(eta_i, rounds=2, iterations=40)
        np.testing.assert_allclose(row.numpy(), expected, rtol=1e-9, atol=1e-9 * expected.max())
    # Single vectors work too, and the peak stays at the source.
    single = scg(torch.as_tensor(inputs[0]))
    assert abs(spectrum.grid_deg[int(torch.argmax(single))] - -15.0) < 0.5


def test_gradients_flow_through_the_unrolled_iterations():
    grid = np.linspace(-60, 60, 41)
    scg = TorchScg(4, grid, rounds=1, iterations=5)
    rng = np.random.default_rng(0)
    eta_i = torch.tensor(rng.random(41) + 0.1, requires_grad=True)
    assert torch.autograd.gradcheck(lambda e: scg(e), (eta_i,), eps=1e-7, atol=1e-5)
    out = scg(eta_i)
    out[int(torch.argmax(out))].backward()  # the peak: zeroed entries carry no gradient
    assert torch.isfinite(eta_i.grad).all() and eta_i.grad.abs().sum() > 0
