# SPDX-License-Identifier: GPL-3.0-or-later
"""Beam design of seed 004 against docs/algorithms.md, beam design's check values."""
import numpy as np
import pytest

from gnuradio.beamalign.chanest import chirp_beam, gs_narrow_beam, isl, pattern, srl


def test_srl_matches_the_reference_values():
    # 16-element ULA, T = 100, two equal uncorrelated sources (docs/algorithms.md, beam design)
    values = [srl(np.arange(16), snr) for snr in (0.0, 10.0, 20.0)]
    np.testing.assert_allclose(values, [0.0164, 0.0092, 0.0052], rtol=0.02)
    # fewer elements resolve less
    assert srl(np.arange(8), 10.0) > values[1]


def test_gs_beam_covers_its_band_with_constant_modulus():
    positions = np.arange(8)
    beam = gs_narrow_beam(positions, -0.25, 0.25)
    np.testing.assert_allclose(np.abs(beam), 1 / np.sqrt(8), atol=1e-12)
    band = np.linspace(-0.25, 0.25, 201)
    chirp = chirp_beam(8, -0.25, 0.25)
    assert pattern(beam, positions, band).min() > 1.3 * pattern(chirp, positions, band).min()
    outside = np.concatenate([np.linspace(-1, -0.5, 100), np.linspace(0.5, 1, 100)])
    assert pattern(beam, positions, outside).mean() < 0.25 * pattern(beam, positions, band).mean()


def test_gs_beam_quantised_to_two_bits():
    beam = gs_narrow_beam(np.arange(8), 0.0, 0.4, bits=2)
    phases = np.mod(np.angle(beam), np.pi / 2)
    assert np.all(np.isclose(phases, 0.0, atol=1e-9) | np.isclose(phases, np.pi / 2, atol=1e-9))


def test_isl_of_a_uniform_beam():
    n = 8
    weights = np.ones(n) / np.sqrt(n)
    # The total energy 2 sum|w|^2 = 2 is exact for integer positions; check it numerically.
    u = np.linspace(-1, 1, 40001)
    assert np.trapz(pattern(weights, np.arange(n), u), u) == pytest.approx(2.0, rel=1e-6)
    # About 90 % of a uniform 8-element beam's energy is in its main lobe (ISL ~0.1).
    assert 0.08 < isl(weights, np.arange(n), 0.0) < 0.12
    # A wide beam spreads energy outside the first-null lobe: larger ISL.
    assert isl(gs_narrow_beam(np.arange(n), -0.25, 0.25), np.arange(n), 0.0) > 0.3


def test_fft_isl_matches_the_integral():
    from gnuradio.beamalign.chanest import group_isl
    for members in (np.arange(8), np.array([0, 3, 4, 9, 10, 15])):
        weights = np.ones(len(members)) / np.sqrt(len(members))
        assert group_isl(members) == pytest.approx(isl(weights, members, 0.0), rel=1e-2)


def test_eda_lowers_the_worst_isl_and_respects_the_srl_bound(tmp_path):
    import json
    import subprocess
    import sys

    from gnuradio.beamalign.chanest import eda_grouping

    free = eda_grouping(np.arange(16), 2, population=30, generations=12, rng=0)
    assert free.max_isl < 0.8 * free.initial_max_isl
    assert sorted(np.concatenate(free.groups).tolist()) == list(range(16))
    assert [len(g) for g in free.groups] == [8, 8]
    bound = 0.03
    held = eda_grouping(np.arange(16), 2, population=30, generations=12, rng=0, srl_bound=bound)
    assert max(held.srls) <= bound
    with pytest.raises(ValueError, match="SRL bound"):
        eda_grouping(np.arange(16), 2, population=10, generations=2, rng=0, srl_bound=1e-4)

    out = tmp_path / "grouping.json"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "eda", "--antennas",
                          "12", "--groups", "3", "--population", "20", "--generations", "5",
                          "--srl-bound", "0", "--quiet", "--json", str(out), "--png", str(tmp_path / "eda.png")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    saved = json.loads(out.read_text())
    assert saved["kind"] == "beamalign.grouping" and len(saved["groups"]) == 3
    assert (tmp_path / "eda.png").stat().st_size > 10_000
