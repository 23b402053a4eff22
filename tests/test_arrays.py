# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry, steering vectors and impairments against hand-derived values."""
import json

import numpy as np
import pytest

from gnuradio.beamalign.arrays import (
    AngleDependentPhaseError,
    ElementImpairment,
    ImpairmentChain,
    MutualCoupling,
    load_impairments,
    save_impairments,
    ula_positions,
    ula_steering,
    upa_positions,
    upa_steering,
)
from gnuradio.beamalign.fileio import FileFormatError


def test_ula_positions_are_half_wavelength():
    assert ula_positions(4).tolist() == [0.0, 0.5, 1.0, 1.5]


def test_ula_steering_hand_values():
    # a(4, 1/2): phases pi*n/2 -> [1, j, -1, -j] / 2
    a = ula_steering(4, 0.5)
    np.testing.assert_allclose(a, np.array([1, 1j, -1, -1j]) / 2, atol=1e-12)
    # broadside is all 1/sqrt(N); endfire u = 1 alternates sign
    np.testing.assert_allclose(ula_steering(3, 0.0), np.full(3, 1 / np.sqrt(3)))
    np.testing.assert_allclose(ula_steering(2, 1.0), np.array([1, -1]) / np.sqrt(2), atol=1e-12)


def test_ula_steering_batches_and_is_unit_norm():
    a = ula_steering(16, np.linspace(-1, 1, 7).reshape(7, 1))
    assert a.shape == (7, 1, 16)
    np.testing.assert_allclose(np.linalg.norm(a, axis=-1), 1.0)


def test_upa_is_kronecker_in_documented_order():
    a = upa_steering(2, 3, 0.5, -0.25)
    np.testing.assert_allclose(a, np.kron(ula_steering(2, 0.5), ula_steering(3, -0.25)))
    positions = upa_positions(2, 3)
    assert positions.shape == (6, 2)
    # element 4 = h 1, v 1
    assert positions[4].tolist() == [0.5, 0.5]


def test_element_impairment_matches_seed_eq_11_to_14():
    imp = ElementImpairment(phase_rad=[0.0, 0.3], position_wl=[0.0, 0.1])
    u = 0.5
    a = imp.apply(ula_steering(2, u), u)
    expected_phase = np.pi * 1 * u + 0.3 + 2 * np.pi * 0.1 * u
    np.testing.assert_allclose(np.angle(a[1] / a[0]), expected_phase, atol=1e-12)
    np.testing.assert_allclose(np.abs(a), 1 / np.sqrt(2))


def test_element_impairment_sampling_is_truncated_and_referenced():
    imp = ElementImpairment.sample(5000, sigma_d=0.2, sigma_p=0.1 * np.pi, rng=3)
    assert imp.position_wl[0] == 0.0
    assert np.max(np.abs(imp.position_wl)) <= 0.25
    assert abs(np.std(imp.phase_rad) - 0.1 * np.pi) < 0.02
    # same seed, same draw
    np.testing.assert_array_equal(ElementImpairment.sample(8, rng=1).phase_rad,
                                  ElementImpairment.sample(8, rng=1).phase_rad)


def test_angle_dependent_error_interpolates_and_scales_with_rho():
    grid = np.array([-10.0, 0.0, 10.0])
    table = np.zeros((3, 2, 2))
    table[:, 1, 0] = [0.0, 0.2, 0.4]
    table[:, 1, 1] = [0.1, 0.1, 0.1]
    err = AngleDependentPhaseError(grid, table, rho=0.5)
    np.testing.assert_allclose(err.phase(5.0)[1], 0.3)
    np.testing.assert_allclose(err.phase(5.0, subcarrier=1)[1], 0.1)
    u = np.sin(np.deg2rad(5.0))
    factors = err.factors(u)
    np.testing.assert_allclose(np.angle(factors), [0.0, 0.5 * 0.3], atol=1e-12)
    np.testing.assert_allclose(err.with_rho(0.0).factors(u), [1.0, 1.0])


def test_sampled_angle_profile_shape():
    err = AngleDependentPhaseError.sample(4, num_subcarriers=3, rng=0)
    assert err.table_rad.shape == (len(err.grid_deg), 4, 3)
    np.testing.assert_array_equal(err.table_rad[:, 0, :], 0.0)  # antenna 0 is the reference
    inner = np.abs(err.grid_deg) <= 30
    # the inner region stays within the ~20 degree fluctuation of seed 003 Fig. 1b
    assert np.max(np.abs(np.rad2deg(err.table_rad[inner]))) < 45
    # beyond +-30 degrees the error grows
    outer = np.abs(err.grid_deg) >= 80
    assert np.mean(np.abs(err.table_rad[outer, 1:])) > np.mean(np.abs(err.table_rad[inner, 1:]))


def test_mutual_coupling_is_toeplitz():
    mc = MutualCoupling([1.0, 0.2 + 0.1j], 3)
    expected = np.array([[1, 0.2 + 0.1j, 0], [0.2 + 0.1j, 1, 0.2 + 0.1j], [0, 0.2 + 0.1j, 1]])
    np.testing.assert_allclose(mc.matrix, expected)
    a = ula_steering(3, 0.3)
    np.testing.assert_allclose(mc.apply(a), expected @ a)


def test_chain_applies_in_order_and_round_trips(tmp_path):
    chain = ImpairmentChain([ElementImpairment.sample(4, rng=2), AngleDependentPhaseError.sample(4, rng=2),
                             MutualCoupling([1.0, 0.1j], 4)])
    u = np.array([-0.3, 0.7])
    a = ula_steering(4, u)
    expected = chain.impairments[2].apply(chain.impairments[1].apply(chain.impairments[0].apply(a, u), u))
    np.testing.assert_allclose(chain.apply(a, u), expected)
    path = tmp_path / "imp.json"
    save_impairments(path, chain, array_id="test-array")
    loaded = load_impairments(path)
    np.testing.assert_allclose(loaded.apply(a, u), expected)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("corrupt, field", [
    (lambda d: d["impairments"][0].pop("phase_rad"), "phase_rad"),
    (lambda d: d["impairments"][0].__setitem__("position_wl", [0.0]), "position_wl"),
    (lambda d: d["impairments"][0].__setitem__("type", "bogus"), "type"),
    (lambda d: d.__setitem__("schema_version", 99), "schema_version"),
])
def test_corrupt_impairment_file_names_the_field(tmp_path, corrupt, field):
    path = tmp_path / "imp.json"
    save_impairments(path, [ElementImpairment.sample(4, rng=0)])
    document = json.loads(path.read_text())
    corrupt(document)
    path.write_text(json.dumps(document))
    with pytest.raises(FileFormatError, match=field):
        load_impairments(path)


def test_truncated_impairment_file_is_refused(tmp_path):
    path = tmp_path / "imp.json"
    save_impairments(path, [ElementImpairment.sample(4, rng=0)])
    path.write_text(path.read_text()[:40])
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_impairments(path)
