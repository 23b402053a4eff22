# SPDX-License-Identifier: GPL-3.0-or-later
"""Saleh-Valenzuela channels: normalisation, statistics, gains from paths."""
import numpy as np

from gnuradio.beamalign import channels, codebooks
from gnuradio.beamalign.arrays import ElementImpairment, ula_steering


def test_single_path_channel_by_hand():
    ch = channels.PathChannels(4, 2, np.array([[2.0 + 0j]]), np.array([[0.5]]), np.array([[0.0]]))
    h = ch.matrices(np.complex128)[0]
    np.testing.assert_allclose(h, 2 * np.outer(ula_steering(2, 0.0), ula_steering(4, 0.5).conj()))
    np.testing.assert_allclose(ch.frobenius_norms(), [2.0])


def test_channels_are_normalised_and_gram_norm_matches_dense():
    ch = channels.saleh_valenzuela(200, 64, 16, num_paths=3, rng=1)
    h = ch.matrices(np.complex128)
    np.testing.assert_allclose(np.linalg.norm(h, axis=(1, 2)), 1.0, rtol=1e-9)


def test_impaired_channels_are_normalised_with_the_impairment():
    tx, rx = ElementImpairment.sample(16, rng=1), ElementImpairment.sample(8, rng=2)
    ch = channels.saleh_valenzuela(50, 16, 8, num_paths=4, profile="nlos", rng=3,
                                   tx_impairment=tx, rx_impairment=rx)
    np.testing.assert_allclose(np.linalg.norm(ch.matrices(np.complex128), axis=(1, 2)), 1.0,
                               rtol=1e-9)


def test_path_statistics_follow_the_profiles():
    los = channels.saleh_valenzuela(100_000, 64, 16, num_paths=3, rng=0, normalise=False)
    power = np.mean(np.abs(los.gains) ** 2, axis=0)
    np.testing.assert_allclose(power, [1.0, 0.01, 0.01], rtol=0.02)
    assert np.all(np.abs(los.u_tx) <= 1) and abs(np.mean(los.u_rx)) < 0.01
    nlos = channels.saleh_valenzuela(100_000, 64, 16, num_paths=8, profile="nlos", rng=0,
                                     normalise=False)
    np.testing.assert_allclose(np.mean(np.abs(nlos.gains) ** 2, axis=0), 1.0, rtol=0.03)


def test_hundred_thousand_normalised_channels():
    ch = channels.saleh_valenzuela(100_000, 64, 16, num_paths=3, rng=5)
    assert ch.gains.shape == (100_000, 3)
    np.testing.assert_allclose(ch[:100].frobenius_norms(), 1.0, rtol=1e-9)


def test_beam_gains_equal_dense_products():
    ch = channels.saleh_valenzuela(20, 32, 8, rng=4)
    f = codebooks.dft_codebook(32)[5]
    w = codebooks.dft_codebook(8)[2]
    dense = np.einsum("r,brt,t->b", w.conj(), ch.matrices(np.complex128), f)
    np.testing.assert_allclose(ch.beam_gains(w[None], f[None]), dense, atol=1e-12)


def test_known_angle_power_of_a_single_path_is_one():
    ch = channels.saleh_valenzuela(10, 64, 16, num_paths=1, rng=2)
    np.testing.assert_allclose(channels.optimum_power(ch), 1.0, rtol=1e-9)


def test_seeded_draws_repeat():
    a = channels.saleh_valenzuela(5, 8, 4, rng=9)
    b = channels.saleh_valenzuela(5, 8, 4, rng=9)
    np.testing.assert_array_equal(a.gains, b.gains)


def test_closed_form_gram_matches_explicit_sums_including_its_limits():
    from gnuradio.beamalign.channels import _array_response, _gram
    u = np.random.default_rng(0).uniform(-1, 1, (40, 4))
    u[0, 1] = u[0, 0]          # x = 0
    u[1, :2] = [-1.0, 1.0]     # x = 2: the same direction one period apart
    for n in (1, 4, 16, 64):
        a = _array_response(n, u, None)
        np.testing.assert_allclose(_gram(n, u, None), np.einsum("bln,bmn->blm", a.conj(), a),
                                   atol=1e-12)
