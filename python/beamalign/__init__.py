# SPDX-License-Identifier: GPL-3.0-or-later
"""gr-beamalign: beam management and array signal processing for GNU Radio.

Blocks (from gnuradio import beamalign):
    sim_array_source   simulated analog-beamforming link (C++)
    beam_combiner      N array channels -> one beam, switched at an exact sample (C++)
    beam_splitter      one stream -> N weighted element streams (transmit array, C++)
    rsrp_meter         per-dwell received power, pilot or energy mode (C++)
    coarray_spectrum   coarray DBF / SCG spatial spectrum of CFR snapshots (C++)
    srs_cfr            M antenna streams of SRS OFDM symbols -> CFR snapshots (C++)
    sim_srs_source     simulated M-antenna receiver of uplink SRS symbols
    uhd_srs_source     M-channel USRP + srs_cfr (the same snapshots from real antennas)
    doa_estimator      AoA from CFR snapshots (SCG, DBF, MUSIC, root-MUSIC): spectrum + doa
    beam_aligner       closed-loop beam search (exhaustive, binary, QSSR)
    beam_display       beam pattern and probe RSRP vectors for Qt GUI sinks
    codebook_sweeper   closed-loop codebook sweep controller
    message_link       forwards messages with loss, delay and jitter (lossy links)
    channel_emulator   Tx element vectors -> channel -> Rx element vectors (two-node links)
    uhd_array_source   N-channel USRP + beam_combiner
    uhd_array_sink     beam_splitter + N-channel USRP transmitter
    phaser_array       beam_cmd -> ADAR1000 phase/gain codes on a CN0566 board (pyadi-iio)
    gpio_phase_shifter beam_cmd -> phase codes on USRP GPIO pins, timed by radio time
    pc_hbf_source      simulated partially-connected hybrid array, one pilot per vector
    chanest_estimator  OMP / SC-VBI / GW-SC-VBI / Turbo-VBI channel estimates (C++)
    uhd_rf_chain_source  hybrid array RF chains on USRP channels, one vector per sample
    beam_predictor     closed-loop beam prediction from learned probe beams (seed 001)
    dataset_channel_source  a site data set's users as `channel` messages
    result_display     one field of a `result` as a vector stream for Qt GUI sinks
    position_map       a site's user grid, true and estimated positions for a constellation sink

Kernels usable without a flowgraph: arrays, codebooks, channels, align, doa, chanest,
predict.
"""
from . import align, arrays, chanest, channels, codebooks, doa, predict
from ._version import __version__
from .beamalign_python import (
                               beam_combiner,
                               beam_splitter,
                               coarray_spectrum,
                               gaussian_noise,
                               rsrp_meter,
                               sim_array_source,
                               srs_cfr,
)
from .blocks.beam_aligner import beam_aligner
from .blocks.beam_display import beam_display
from .blocks.beam_predictor import beam_predictor
from .blocks.chanest import chanest_estimator, pc_hbf_source
from .blocks.channel_emulator import channel_emulator
from .blocks.codebook_sweeper import codebook_sweeper
from .blocks.dataset_channel_source import dataset_channel_source
from .blocks.doa_estimator import doa_estimator
from .blocks.message_link import message_link
from .blocks.position_map import position_map
from .blocks.result_display import result_display
from .blocks.srs_source import sim_srs_source
from .hw.uhd_array import uhd_array_sink, uhd_array_source, uhd_rf_chain_source, uhd_srs_source
from .pilots import zadoff_chu

__all__ = [
    "__version__", "beam_combiner", "beam_splitter", "message_link", "uhd_array_sink",
    "phaser_array", "channel_emulator", "gpio_phase_shifter",
    "coarray_spectrum", "gaussian_noise", "rsrp_meter", "sim_array_source", "srs_cfr",
    "sim_srs_source", "uhd_srs_source", "doa_estimator",
    "beam_aligner", "beam_display", "codebook_sweeper", "uhd_array_source",
    "pc_hbf_source", "chanest_estimator", "uhd_rf_chain_source", "align", "chanest", "arrays", "channels", "codebooks", "doa", "zadoff_chu",
    "beam_predictor", "dataset_channel_source", "predict", "result_display", "position_map",
]
