# SPDX-License-Identifier: GPL-3.0-or-later
"""The flowgraph protocol's names: message ports, stream tag keys and message fields.

Every block, flowgraph and command spells them through these constants (C++ through
include/gnuradio/beamalign/protocol.h, which holds the same strings); docs/protocol.md
says who sends each message and who reads it. Field names double as the keys of the
Python dicts that pmt_to_dict() returns.
"""

# Message ports
BEAM_CMD = "beam_cmd"  # controller -> array source / combiner
RSRP = "rsrp"  # rsrp_meter -> controller
RESULT = "result"  # controller -> sinks
START = "start"  # anyone -> controller: align now
ABORT = "abort"  # anyone -> controller: end the running alignment as failed
CHANNEL = "channel"  # -> sim_array_source: a new channel (also pc_hbf_source's tag)
CHANNEL_INFO = "channel_info"  # sim_array_source -> controller: the true channel
DOA = "doa"  # direction finders -> sinks
ANGLE = "angle"  # doa_estimator -> qtgui.compass
CHANEST = "chanest"  # channel estimator -> sinks

# Stream tag keys
BEAM = "beam"  # first sample under new weights (value: dict of the *_BEAM_ID fields)

# beam_cmd fields
SIDE = "side"  # "tx" or "rx"
BEAM_ID = "beam_id"
WEIGHTS = "weights"
SAMPLE = "sample"  # optional: absolute sample index from which the weights apply
TIME = "time"  # optional: radio time (seconds, or (seconds, fraction)) instead of sample
U = "u"
LAYER = "layer"
INDEX = "index"
SIDE_TX, SIDE_RX = "tx", "rx"

# UHD's own stream tags: the time of a sample, and the sample rate
RX_TIME, TX_TIME, RX_RATE, TX_RATE = "rx_time", "tx_time", "rx_rate", "tx_rate"

# beam tag and rsrp fields
TX_BEAM_ID = "tx_beam_id"
RX_BEAM_ID = "rx_beam_id"
POWER = "power"  # linear
RSRP_DBM = "rsrp_dbm"
NSAMPLES = "nsamples"
OFFSET = "offset"
COMPLETE = "complete"

# result fields
METHOD = "method"
U_TX = "u_tx"
U_RX = "u_rx"
F = "f"
W = "w"
MEASUREMENTS = "measurements"
POWER_DB = "power_db"
PROBES_DBM = "probes_dbm"
POWERS = "powers"  # codebook_sweeper: every beam's power
FAILED = "failed"  # a closed loop that ended without a result: true, with a reason
REASON = "reason"
SEQUENCE = "sequence"  # the controller's count of alignments started
TOP_K = "top_k"  # beam_predictor: the candidate beams re-probed, best predicted first
SCORES = "scores"  # beam_predictor: the predicted distribution over the codebook
BEST_BEAM = "best_beam"  # beam_predictor: the codebook's best beam on the true channel
SNR_LOSS_DB = "snr_loss_db"  # beam_predictor: best beam's gain over the chosen one's, dB
USER = "user"  # dataset_channel_source: the data set's user index of a channel
POSITION = "position"  # dataset_channel_source: that user's position (m)

# channel / channel_info fields
NT = "nt"
NR = "nr"
H = "h"
GAINS = "gains"
TX_PHASE = "tx_phase"  # element impairments of a channel message
TX_POSITION = "tx_position"
RX_PHASE = "rx_phase"
RX_POSITION = "rx_position"

# doa fields
ANGLE_DEG = "angle_deg"
SPECTRUM = "spectrum"
GRID_DEG = "grid_deg"

# chanest fields
PATHS = "paths"
NMSE_DB = "nmse_db"
PILOT = "pilot"
CPU_S = "cpu_s"
U_H = "u_h"
U_V = "u_v"
GAIN = "gain"

PORTS = (BEAM_CMD, RSRP, RESULT, START, ABORT, CHANNEL, CHANNEL_INFO, DOA, ANGLE, CHANEST)
KEYS = (BEAM, TIME, RX_TIME, TX_TIME, RX_RATE, TX_RATE, FAILED, REASON, SEQUENCE, SIDE, BEAM_ID, WEIGHTS, SAMPLE, U, LAYER, INDEX, TX_BEAM_ID, RX_BEAM_ID, POWER,
        RSRP_DBM, NSAMPLES, OFFSET, COMPLETE, METHOD, U_TX, U_RX, F, W, MEASUREMENTS,
        POWER_DB, PROBES_DBM, POWERS, NT, NR, H, GAINS, ANGLE_DEG, SPECTRUM, GRID_DEG, PATHS,
        NMSE_DB, PILOT, CPU_S, U_H, U_V, GAIN, TX_PHASE, TX_POSITION, RX_PHASE, RX_POSITION,
        TOP_K, SCORES, BEST_BEAM, SNR_LOSS_DB, USER, POSITION)
