# SPDX-License-Identifier: GPL-3.0-or-later
"""Partially-connected hybrid array, its observation, and OMP (C++) against NumPy."""
import numpy as np
import pytest

from gnuradio.beamalign.beamalign_python import omp
from gnuradio.beamalign.chanest import (
    ChannelEstimator,
    MultipathChannel,
    PartiallyConnectedArray,
    nmse_db,
    observe,
)


def numpy_omp(phi, y, max_atoms, stop_energy=0.0):
    """Plain reference: greedy atom choice by normalised correlation, LS re-fit."""
    norms = np.linalg.norm(phi, axis=0)
    support, residual, x = [], y.copy(), np.zeros(0, complex)
    while len(support) < max_atoms and np.vdot(residual, residual).real > stop_energy:
        score = np.abs(phi.conj().T @ residual) / norms
        score[support] = -1
        support.append(int(np.argmax(score)))
        x = np.linalg.lstsq(phi[:, support], y, rcond=None)[0]
        residual = y - phi[:, support] @ x
    return support, x, np.vdot(residual, residual).real


def test_cpp_omp_matches_the_numpy_reference():
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((40, 300)) + 1j * rng.standard_normal((40, 300))
    y = rng.standard_normal(40) + 1j * rng.standard_normal(40)
    for atoms, stop in ((12, 0.0), (30, 5.0)):
        support, x, energy = omp(phi, y, atoms, stop)
        ref_support, ref_x, ref_energy = numpy_omp(phi, y, atoms, stop)
        assert support == ref_support
        np.testing.assert_allclose(x, ref_x, rtol=1e-9, atol=1e-12)
        assert energy == pytest.approx(ref_energy, rel=1e-9)


def test_omp_recovers_an_on_grid_sparse_vector_exactly():
    rng = np.random.default_rng(1)
    phi = rng.standard_normal((32, 256)) + 1j * rng.standard_normal((32, 256))
    x = np.zeros(256, complex)
    x[[5, 77, 130, 200]] = [1, -2j, 0.5, 1 + 1j]
    support, coefficients, energy = omp(phi, phi @ x, 8, 1e-20)
    assert sorted(support) == [5, 77, 130, 200]
    np.testing.assert_allclose(coefficients, x[support], atol=1e-12)
    with pytest.raises(ValueError, match="max_atoms"):
        omp(phi, phi @ x, 0)
    with pytest.raises(ValueError, match="rows"):
        omp(phi, np.ones(5, complex), 3)
    with pytest.raises(ValueError, match="finite"):
        omp(phi, np.full(32, np.nan, complex), 3)


def test_combiner_is_block_diagonal_constant_modulus():
    array = PartiallyConnectedArray()
    assert (array.num_elements, array.num_rf) == (256, 64)
    w = array.combiner(array.groupwise_beams(np.arange(32) % 4, 4))
    assert np.count_nonzero(w) == 256 and np.all(np.count_nonzero(w, axis=0) == 4)
    np.testing.assert_allclose(np.abs(w[w != 0]), 0.5)
    with pytest.raises(ValueError, match="chain weights"):
        array.combiner(np.ones((64, 3)))
    with pytest.raises(ValueError, match="column"):
        array.groupwise_beams(np.arange(31) % 4, 4)


def test_groupwise_beam_resolves_what_the_wide_beam_aliases():
    # Two sub-arrays of 4 per column alias u_v with period 0.5 under identical wide
    # beams; group-wise beams cover 0.25 each, so OMP finds the channel (seed 004's case).
    array = PartiallyConnectedArray()
    results = {}
    for name, beams in (("wide", array.wide_beams()),
                        ("groupwise", array.groupwise_beams(np.arange(32) % 4, 4))):
        w = array.combiner(beams)
        estimator = ChannelEstimator(array, beams, "omp")
        errors = []
        for trial in range(20):
            h = MultipathChannel.draw(array, rng=trial).vector(array)
            y, sigma2 = observe(array, w, h, 20.0, rng=100 + trial)
            errors.append(nmse_db(estimator.estimate(y, sigma2).h, h))
        results[name] = np.median(errors)
    assert results["groupwise"] < -12.0
    assert results["wide"] > -5.0


def test_groupwise_beams_warn_when_a_sub_interval_spans_the_chain_rows_alias(caplog):
    # Chains m = 4 rows apart alias u_v with period 0.5: two groups over [-0.5, 0.5]
    # are that wide (32 x 8: 2.9 dB behind random beams at 20 dB); four are not.
    array = PartiallyConnectedArray()
    with caplog.at_level("WARNING", logger="gnuradio.beamalign.chanest.hybrid"):
        array.groupwise_beams(np.arange(32) % 4, 4)
        assert not caplog.records
        array.groupwise_beams(np.arange(32) % 2, 2)
    assert "alias period 2/m = 0.500; use more than 2 groups" in caplog.text
    # One chain per column: no rows to alias.
    caplog.clear()
    with caplog.at_level("WARNING", logger="gnuradio.beamalign.chanest.hybrid"):
        PartiallyConnectedArray(8, 4, 4).groupwise_beams(np.arange(8) % 2, 2)
    assert not caplog.records


def test_3gpp_element_pattern_weights_each_path():
    from gnuradio.beamalign.chanest.hybrid import element_gain_db

    # Broadside: the 8 dBi peak; 65 deg off in azimuth only: 12 dB down; floor -30 dB.
    assert element_gain_db(0.0, 0.0) == pytest.approx(8.0)
    assert element_gain_db(np.sin(np.radians(65.0)), 0.0) == pytest.approx(-4.0)
    assert element_gain_db(0.5, np.sin(np.radians(60.0))) == pytest.approx(-22.0)  # end-fire, 60 deg up
    array = PartiallyConnectedArray()
    flat = MultipathChannel.draw(array, 4, rng=3)
    shaped = MultipathChannel.draw(array, 4, rng=3, element_pattern="3gpp")
    np.testing.assert_allclose(shaped.gains, flat.gains *
                               10 ** (element_gain_db(flat.u_h, flat.u_v) / 20))
    with pytest.raises(ValueError, match="element_pattern"):
        MultipathChannel.draw(array, 4, element_pattern="dipole")
