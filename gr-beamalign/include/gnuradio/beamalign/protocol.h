/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_PROTOCOL_H
#define INCLUDED_BEAMALIGN_PROTOCOL_H

// The flowgraph protocol's names, the same strings as python/beamalign/protocol.py;
// docs/protocol.md says who sends each message and who reads it.

#include <pmt/pmt.h>

namespace gr {
namespace beamalign {
namespace protocol {

// Message ports
inline const pmt::pmt_t BEAM_CMD = pmt::intern("beam_cmd");
inline const pmt::pmt_t RSRP = pmt::intern("rsrp");
inline const pmt::pmt_t CHANNEL = pmt::intern("channel");
inline const pmt::pmt_t CHANNEL_INFO = pmt::intern("channel_info");
inline const pmt::pmt_t DOA = pmt::intern("doa");

// Stream tag keys
inline const pmt::pmt_t BEAM = pmt::intern("beam");

// beam_cmd fields
inline const pmt::pmt_t SIDE = pmt::intern("side");
inline const pmt::pmt_t BEAM_ID = pmt::intern("beam_id");
inline const pmt::pmt_t WEIGHTS = pmt::intern("weights");
inline const pmt::pmt_t SAMPLE = pmt::intern("sample");
inline const pmt::pmt_t U = pmt::intern("u");
inline const pmt::pmt_t TIME = pmt::intern("time"); // radio time (UHD time spec)
inline constexpr const char* SIDE_TX = "tx";
inline constexpr const char* SIDE_RX = "rx";

// UHD's own stream tags: the time of a sample and the sample rate
inline const pmt::pmt_t RX_TIME = pmt::intern("rx_time");
inline const pmt::pmt_t TX_TIME = pmt::intern("tx_time");
inline const pmt::pmt_t RX_RATE = pmt::intern("rx_rate");
inline const pmt::pmt_t TX_RATE = pmt::intern("tx_rate");

// beam tag and rsrp fields
inline const pmt::pmt_t TX_BEAM_ID = pmt::intern("tx_beam_id");
inline const pmt::pmt_t RX_BEAM_ID = pmt::intern("rx_beam_id");
inline const pmt::pmt_t POWER = pmt::intern("power");
inline const pmt::pmt_t RSRP_DBM = pmt::intern("rsrp_dbm");
inline const pmt::pmt_t NSAMPLES = pmt::intern("nsamples");
inline const pmt::pmt_t OFFSET = pmt::intern("offset");
inline const pmt::pmt_t COMPLETE = pmt::intern("complete");

// channel / channel_info fields
inline const pmt::pmt_t NT = pmt::intern("nt");
inline const pmt::pmt_t NR = pmt::intern("nr");
inline const pmt::pmt_t H = pmt::intern("h");
inline const pmt::pmt_t GAINS = pmt::intern("gains");
inline const pmt::pmt_t U_TX = pmt::intern("u_tx");
inline const pmt::pmt_t U_RX = pmt::intern("u_rx");
inline const pmt::pmt_t TX_PHASE = pmt::intern("tx_phase");
inline const pmt::pmt_t TX_POSITION = pmt::intern("tx_position");
inline const pmt::pmt_t RX_PHASE = pmt::intern("rx_phase");
inline const pmt::pmt_t RX_POSITION = pmt::intern("rx_position");

// doa fields
inline const pmt::pmt_t ANGLE_DEG = pmt::intern("angle_deg");
inline const pmt::pmt_t SPECTRUM = pmt::intern("spectrum");
inline const pmt::pmt_t GRID_DEG = pmt::intern("grid_deg");

} // namespace protocol
} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_PROTOCOL_H */
