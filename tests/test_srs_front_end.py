# SPDX-License-Identifier: GPL-3.0-or-later
"""sim_srs_source -> srs_cfr: CFR snapshots carry the array response; bad symbols are
dropped; the snapshots feed the coarray estimators."""
import numpy as np
import pytest
from gnuradio import blocks, gr

from gnuradio.beamalign import beamalign_python as kernels
from gnuradio.beamalign.blocks.srs_source import sim_srs_source
from gnuradio.beamalign.doa import srs
from gnuradio.beamalign.doa.coarray import CoarraySpectrum, sample_covariance

M, N, CP, K = 4, 256, 18, 16


def snapshots(source, symbols):
    cfr = kernels.srs_cfr(M, N, CP, 2, 0, source.sequence.tolist(), K)
    head = blocks.head(gr.sizeof_gr_complex * M * K, symbols)
    sink = blocks.vector_sink_c(M * K)
    tb = gr.top_block()
    for m in range(M):
        tb.connect((source, m), (cfr, m))
    tb.connect(cfr, head, sink)
    tb.run()
    return np.asarray(sink.data()).reshape(symbols, M, K)


def test_cfr_snapshots_hold_the_steering_vector():
    source = sim_srs_source(M, N, CP, angle_deg=25.0, snr_db=80.0, rho=0.0, seed=1)
    h = snapshots(source, 3)
    steering = np.exp(1j * np.pi * np.arange(M) * np.sin(np.deg2rad(25.0)))
    np.testing.assert_allclose(h / h[:, :1, :], np.broadcast_to(steering[None, :, None], h.shape),
                               atol=1e-3)
    # The LoS path has unit gain on every subcarrier.
    np.testing.assert_allclose(np.abs(h), 1.0, atol=1e-3)


def test_the_bins_match_the_kernels_mapping():
    signed, bins = srs.srs_subcarriers(N, 2, 1, 96)
    assert [kernels.srs_cfr.srs_bin(N, 2, 1, 96, i) for i in range(96)] == bins.tolist()
    assert signed[48] == 1 and bins[0] == N - 95


def test_coarray_dbf_on_the_snapshots_finds_the_angle():
    source = sim_srs_source(M, N, CP, angle_deg=-15.0, snr_db=20.0, rho=0.0, num_nlos=0,
                            seed=2)
    h = snapshots(source, 4)
    estimator = CoarraySpectrum(M)
    for snapshot in h:
        found = estimator.estimate_deg(estimator.dbf(sample_covariance(snapshot)))
        assert abs(found - -15.0) < 1.0


def test_nan_symbols_are_dropped_and_counted():
    rng = np.random.default_rng(3)
    paths = srs.draw_paths(rng, 10.0)
    sequence = srs.zadoff_chu(96)
    symbols = [srs.srs_symbol(rng, paths, M, N, CP, sequence=sequence) for _ in range(3)]
    symbols[1][2, 7] = np.nan
    streams = np.concatenate(symbols, axis=1)
    tb = gr.top_block()
    cfr = kernels.srs_cfr(M, N, CP, 2, 0, sequence.tolist(), K)
    sink = blocks.vector_sink_c(M * K)
    for m in range(M):
        tb.connect(blocks.vector_source_c(streams[m].tolist()), (cfr, m))
    tb.connect(cfr, sink)
    tb.run()
    assert len(sink.data()) == 2 * M * K
    assert cfr.dropped_symbols() == 1


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError, match="fit in fft_size"):
        kernels.srs_cfr(M, 64, 8, 2, 0, [1.0 + 0j] * 40, 8)
    with pytest.raises(ValueError, match="num_subcarriers"):
        kernels.srs_cfr(M, N, CP, 2, 0, [1.0 + 0j] * 96, 97)
    with pytest.raises(ValueError, match="non-zero"):
        kernels.srs_cfr(M, N, CP, 2, 0, [0j] * 96, 16)
    with pytest.raises(ValueError, match="rho"):
        sim_srs_source(rho=1.5)


def test_a_chamber_calibration_file_replaces_the_seeded_profile(tmp_path):
    from gnuradio.beamalign.arrays.calibration import Calibration, save_calibration
    from gnuradio.beamalign.arrays.impairments import AngleDependentPhaseError
    from gnuradio.beamalign.fileio import FileFormatError
    from gnuradio.beamalign.hw.chamber import write_chamber_calibration

    measured = AngleDependentPhaseError.sample(4, 16, rng=np.random.default_rng(77))
    path = tmp_path / "chamber.json"
    write_chamber_calibration(path, measured, "srs-array", "test run")
    source = sim_srs_source(rho=0.5, profile_file=str(path))
    np.testing.assert_allclose(source.impairment.table_rad, measured.table_rad)
    assert source.impairment.rho == 0.5
    assert not np.allclose(sim_srs_source(rho=0.5).impairment.table_rad, measured.table_rad)
    with pytest.raises(FileFormatError, match="num_elements"):
        sim_srs_source(num_antennas=8, profile_file=str(path))
    plain = tmp_path / "plain.json"
    save_calibration(plain, Calibration("srs-array", "rx", np.zeros(4), np.zeros(4)))
    with pytest.raises(FileFormatError, match="angle_table"):
        sim_srs_source(profile_file=str(plain))
