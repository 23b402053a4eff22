# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulated M-antenna receiver of uplink SRS symbols: a thin adapter over doa.srs."""
import numpy as np
from gnuradio import gr

from ..arrays.calibration import load_calibration
from ..arrays.impairments import AngleDependentPhaseError
from ..doa.estimate import ARRAY_PROFILE_SEED
from ..doa.srs import draw_paths, srs_symbol
from ..fileio import FileFormatError
from ..pilots import zadoff_chu


class sim_srs_source(gr.sync_block):
    """M output streams, one per antenna, carrying SRS-like OFDM symbols back to back.

    A UE at angle_deg sends a Zadoff-Chu sequence on a comb; the channel is LoS plus
    num_nlos multipath components (new ones every symbol), the antennas add seed 003's
    angle- and subcarrier-dependent phase errors scaled by rho (profile drawn from seed,
    16 subcarriers) and noise at snr_db per subcarrier. Feed srs_cfr with the same
    fft_size, cp_len, comb, comb_offset and sequence length.

    Args:
        num_antennas, fft_size, cp_len, comb, comb_offset: OFDM and SRS layout
        srs_length: SRS symbols L (comb * L <= fft_size)
        angle_deg, snr_db, rho, num_nlos: the scene (angle_deg and snr_db settable)
        seed: seeds the paths and noise
        profile_seed: seeds the array's phase-error profile (default: the array the
            benches simulate and the shipped DoA models were trained for)
        profile_file: a calibration file with an angle table (`beamalign calibrate
            --chamber` writes one) whose measured phase errors replace the seeded profile
    """

    def __init__(self, num_antennas=4, fft_size=256, cp_len=18, comb=2, comb_offset=0,
                 srs_length=96, angle_deg=20.0, snr_db=20.0, rho=1.0, num_nlos=0, seed=0,
                 profile_seed=ARRAY_PROFILE_SEED, profile_file="", profile=None):
        gr.sync_block.__init__(self, name="sim_srs_source", in_sig=None,
                               out_sig=[np.complex64] * num_antennas)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho must be in [0, 1], got {rho}")
        self.layout = dict(num_antennas=num_antennas, fft_size=fft_size, cp_len=cp_len,
                           comb=comb, comb_offset=comb_offset)
        self.sequence = zadoff_chu(srs_length)
        self.rng = np.random.default_rng(seed)
        if profile is not None:  # an AngleDependentPhaseError given directly (scripts)
            pass
        elif profile_file:
            profile = load_calibration(profile_file, num_elements=num_antennas).angle_table
            if profile is None:
                raise FileFormatError(f"{profile_file}: no field 'angle_table' (a chamber "
                                      "calibration holds the angle-dependent phase errors)")
        else:
            profile = AngleDependentPhaseError.sample(num_antennas, 16,
                                                      rng=np.random.default_rng(profile_seed))
        self.impairment = profile.with_rho(rho) if rho > 0 else None
        self.angle_deg, self.snr_db, self.num_nlos = float(angle_deg), float(snr_db), num_nlos
        self._pending = np.zeros((num_antennas, 0), np.complex64)
        srs_symbol(self.rng, [], sequence=self.sequence, **self.layout)  # checks the layout

    def set_angle_deg(self, angle_deg):
        self.angle_deg = float(angle_deg)

    def set_snr_db(self, snr_db):
        self.snr_db = float(snr_db)

    def work(self, input_items, output_items):
        wanted = len(output_items[0])
        while self._pending.shape[1] < wanted:
            paths = draw_paths(self.rng, self.angle_deg, self.num_nlos)
            symbol = srs_symbol(self.rng, paths, sequence=self.sequence,
                                impairment=self.impairment, snr_db=self.snr_db, **self.layout)
            self._pending = np.concatenate([self._pending, symbol], axis=1)
        for m, out in enumerate(output_items):
            out[:] = self._pending[m, :wanted]
        self._pending = self._pending[:, wanted:]
        return wanted
