# SPDX-License-Identifier: GPL-3.0-or-later
"""Codebooks against hand-derived values (seed 000 eq. 5, DEACT hierarchy)."""
import numpy as np
import pytest

from gnuradio.beamalign import codebooks
from gnuradio.beamalign.arrays import ula_steering


def test_dft_angles_hand_values():
    # N = 8: u_p = -1 + (2p - 1)/8
    np.testing.assert_allclose(codebooks.dft_angles(8),
                               [-7 / 8, -5 / 8, -3 / 8, -1 / 8, 1 / 8, 3 / 8, 5 / 8, 7 / 8])


def test_dft_codebook_is_orthonormal():
    book = codebooks.dft_codebook(16)
    np.testing.assert_allclose(book.conj() @ book.T, np.eye(16), atol=1e-12)
    np.testing.assert_allclose(book[4], ula_steering(16, codebooks.dft_angles(16)[4]))


def test_hierarchy_sizes_follow_seed_000():
    assert codebooks.hierarchy_sizes(64, 4) == [4, 16, 64]
    assert codebooks.hierarchy_sizes(16, 4) == [4, 16]
    assert codebooks.hierarchy_sizes(32, 4) == [4, 16]  # 32 stops at the 16-beam layer
    assert codebooks.hierarchy_sizes(64, 2) == [2, 4, 8, 16, 32, 64]
    # 4-ary measurement count for 64 x 16: 4 per layer -> 12 + 8 = 20
    assert 4 * len(codebooks.hierarchy_sizes(64, 4)) + 4 * len(codebooks.hierarchy_sizes(16, 4)) == 20


def test_deact_layer_uses_first_k_antennas_with_both_norms():
    layer = codebooks.hierarchical_layer(16, 4)
    assert layer.shape == (4, 16)
    np.testing.assert_array_equal(layer[:, 4:], 0)
    np.testing.assert_allclose(np.abs(layer[:, :4]), 0.5)  # 1/sqrt(4): unit norm
    seed = codebooks.hierarchical_layer(16, 4, norm="seed")
    np.testing.assert_allclose(np.abs(seed[:, :4]), 0.25)  # 1/sqrt(16) per active element
    # beam 0 of the 4-beam layer points at u = -3/4: gain at that u equals 4/4 = 1
    gain = np.abs(layer[0].conj() @ (ula_steering(16, -0.75) * 4)) ** 2 / 4
    np.testing.assert_allclose(gain, 1.0)


def test_children_of_a_quartet():
    assert codebooks.children(2, 4).tolist() == [8, 9, 10, 11]
    assert codebooks.children(1, 2).tolist() == [2, 3]


def test_children_cover_their_parent_sector():
    parent_u = codebooks.dft_angles(4)[1]
    child_u = codebooks.dft_angles(16)[codebooks.children(1, 4)]
    assert np.all(np.abs(child_u - parent_u) < 0.25)


def test_upa_codebook_is_kronecker():
    book = codebooks.upa_codebook(4, 2)
    assert book.shape == (8, 8)
    np.testing.assert_allclose(book[1 * 2 + 1],
                               np.kron(codebooks.dft_codebook(4)[1], codebooks.dft_codebook(2)[1]))


def test_steered_beam_points_at_u():
    w = codebooks.steered_beam(32, 0.3)
    np.testing.assert_allclose(np.abs(w.conj() @ ula_steering(32, 0.3)), 1.0)
    with pytest.raises(ValueError):
        codebooks.steered_beam(8, 0.0, norm="bogus")


def test_phase_quantisation_hand_values():
    w = np.array([np.exp(1j * np.deg2rad(50)), 2 * np.exp(1j * np.deg2rad(-100))])
    q = codebooks.quantize_phase(w, 2)  # levels 0, 90, 180, 270 degrees
    np.testing.assert_allclose(np.rad2deg(np.angle(q)), [90.0, -90.0])
    np.testing.assert_allclose(np.abs(q), [1.0, 2.0])
    np.testing.assert_array_equal(codebooks.quantize_phase(w, 0), w)
