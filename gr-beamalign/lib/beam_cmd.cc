/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "beam_cmd.h"
#include <gnuradio/beamalign/protocol.h>
#include <algorithm>
#include <cmath>

namespace gr {
namespace beamalign {

bool dict_complex_vector(const pmt::pmt_t& dict,
                         const pmt::pmt_t& key,
                         std::vector<gr_complex>& out,
                         std::string& error)
{
    const pmt::pmt_t value = pmt::dict_ref(dict, key, pmt::PMT_NIL);
    if (pmt::is_null(value)) {
        return false;
    }
    if (pmt::is_c32vector(value)) {
        out = pmt::c32vector_elements(value);
    } else if (pmt::is_c64vector(value)) {
        const auto wide = pmt::c64vector_elements(value);
        out.assign(wide.begin(), wide.end());
    } else {
        error =
            std::string("field '") + pmt::symbol_to_string(key) + "' must be a c32vector";
        return false;
    }
    for (const auto& x : out) {
        if (!std::isfinite(x.real()) || !std::isfinite(x.imag())) {
            error = std::string("field '") + pmt::symbol_to_string(key) +
                    "' holds NaN or Inf";
            return false;
        }
    }
    return true;
}

bool dict_float_vector(const pmt::pmt_t& dict,
                       const pmt::pmt_t& key,
                       std::vector<float>& out,
                       std::string& error)
{
    const pmt::pmt_t value = pmt::dict_ref(dict, key, pmt::PMT_NIL);
    if (pmt::is_null(value)) {
        return false;
    }
    if (pmt::is_f32vector(value)) {
        out = pmt::f32vector_elements(value);
    } else if (pmt::is_f64vector(value)) {
        const auto wide = pmt::f64vector_elements(value);
        out.assign(wide.begin(), wide.end());
    } else {
        error = std::string("field '") + pmt::symbol_to_string(key) +
                "' must be an f32vector";
        return false;
    }
    for (float x : out) {
        if (!std::isfinite(x)) {
            error = std::string("field '") + pmt::symbol_to_string(key) +
                    "' holds NaN or Inf";
            return false;
        }
    }
    return true;
}

std::string parse_beam_cmd(const pmt::pmt_t& msg, int expected_length, beam_command& out)
{
    if (!pmt::is_dict(msg) || pmt::is_null(msg)) {
        return "beam_cmd is not a dict";
    }
    const pmt::pmt_t side = pmt::dict_ref(msg, protocol::SIDE, pmt::PMT_NIL);
    if (!pmt::is_symbol(side)) {
        return "beam_cmd has no symbol field 'side'";
    }
    out.side = pmt::symbol_to_string(side);
    if (out.side != protocol::SIDE_TX && out.side != protocol::SIDE_RX) {
        return "beam_cmd side must be \"tx\" or \"rx\", got \"" + out.side + "\"";
    }
    const pmt::pmt_t beam_id = pmt::dict_ref(msg, protocol::BEAM_ID, pmt::PMT_NIL);
    if (!pmt::is_integer(beam_id)) {
        return "beam_cmd has no integer field 'beam_id'";
    }
    out.beam_id = pmt::to_long(beam_id);

    std::string error;
    if (!dict_complex_vector(msg, protocol::WEIGHTS, out.weights, error)) {
        return error.empty() ? "beam_cmd has no field 'weights'" : "beam_cmd " + error;
    }
    if (expected_length >= 0 && static_cast<int>(out.weights.size()) != expected_length) {
        return "beam_cmd weights have length " + std::to_string(out.weights.size()) +
               ", the " + out.side + " array has " + std::to_string(expected_length) +
               " elements";
    }
    const pmt::pmt_t sample = pmt::dict_ref(msg, protocol::SAMPLE, pmt::PMT_NIL);
    out.has_sample = false;
    if (!pmt::is_null(sample)) {
        if (!pmt::is_integer(sample) && !pmt::is_uint64(sample)) {
            return "beam_cmd field 'sample' must be an integer";
        }
        if (pmt::is_integer(sample) && pmt::to_long(sample) < 0) {
            return "beam_cmd field 'sample' must be >= 0, got " +
                   std::to_string(pmt::to_long(sample));
        }
        out.has_sample = true;
        out.sample = pmt::is_uint64(sample) ? pmt::to_uint64(sample)
                                            : static_cast<uint64_t>(pmt::to_long(sample));
    }
    return "";
}

std::string beam_schedule::add(const beam_command& cmd, uint64_t now)
{
    if (d_queue.size() >= max_pending) {
        return "beam_cmd refused: " + std::to_string(max_pending) +
               " commands already wait to be applied";
    }
    if (cmd.has_sample && cmd.sample > now && cmd.sample - now > max_lead) {
        return "beam_cmd for sample " + std::to_string(cmd.sample) + " is more than " +
               std::to_string(max_lead) + " samples ahead of sample " +
               std::to_string(now);
    }
    beam_command queued = cmd;
    if (queued.has_sample && queued.sample < now) {
        queued.has_sample = false; // late: applies now, in arrival order
        ++d_late;
    }
    auto pos = std::find_if(d_queue.begin(), d_queue.end(), [&](const beam_command& c) {
        return queued.has_sample ? (c.has_sample && c.sample > queued.sample)
                                 : c.has_sample;
    });
    d_queue.insert(pos, queued);
    return "";
}

bool beam_schedule::pop_due(uint64_t sample, beam_command& out)
{
    if (d_queue.empty()) {
        return false;
    }
    const beam_command& front = d_queue.front();
    if (front.has_sample && front.sample > sample) {
        return false;
    }
    out = front;
    d_queue.pop_front();
    return true;
}

uint64_t beam_schedule::next_switch() const
{
    for (const auto& cmd : d_queue) {
        if (cmd.has_sample) {
            return cmd.sample;
        }
    }
    return UINT64_MAX;
}

pmt::pmt_t beam_tag_value(int64_t beam_id, int64_t tx_beam_id, int64_t rx_beam_id)
{
    pmt::pmt_t d = pmt::make_dict();
    d = pmt::dict_add(d, protocol::BEAM_ID, pmt::from_long(beam_id));
    d = pmt::dict_add(d, protocol::TX_BEAM_ID, pmt::from_long(tx_beam_id));
    d = pmt::dict_add(d, protocol::RX_BEAM_ID, pmt::from_long(rx_beam_id));
    return d;
}

void bad_input_log::report(gr::logger_ptr logger, const std::string& what)
{
    ++d_count;
    if (d_seen.insert(what).second) {
        logger->warn("dropped: {:s} (further occurrences are only counted)", what);
    }
}

} // namespace beamalign
} // namespace gr
