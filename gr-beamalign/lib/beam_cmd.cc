/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "beam_cmd.h"
#include <gnuradio/beamalign/protocol.h>
#include <algorithm>
#include <cmath>
#include <stdexcept>

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
    const pmt::pmt_t time = pmt::dict_ref(msg, protocol::TIME, pmt::PMT_NIL);
    out.has_time = false;
    if (!pmt::is_null(time)) {
        if (out.has_sample) {
            return "beam_cmd has both 'sample' and 'time': give one";
        }
        double full = 0.0, frac = 0.0;
        if (pmt::is_real(time) || pmt::is_integer(time)) {
            const double seconds = pmt::to_double(time);
            full = std::floor(seconds);
            frac = seconds - full;
        } else if (pmt::is_tuple(time) && pmt::length(time) == 2 &&
                   (pmt::is_integer(pmt::tuple_ref(time, 0)) ||
                    pmt::is_uint64(pmt::tuple_ref(time, 0))) &&
                   pmt::is_real(pmt::tuple_ref(time, 1))) {
            const pmt::pmt_t whole = pmt::tuple_ref(time, 0);
            full = pmt::is_uint64(whole) ? static_cast<double>(pmt::to_uint64(whole))
                                         : static_cast<double>(pmt::to_long(whole));
            frac = pmt::to_double(pmt::tuple_ref(time, 1));
        } else {
            return "beam_cmd field 'time' must be seconds (a number) or a (seconds, "
                   "fraction) tuple";
        }
        if (!std::isfinite(full) || !std::isfinite(frac) || full < 0.0 || full > 1e12 ||
            frac < 0.0 || frac >= 1.0) {
            return "beam_cmd field 'time' must be a finite time >= 0";
        }
        out.has_time = true;
        out.time_full = static_cast<int64_t>(full);
        out.time_frac = frac;
    }
    return "";
}

void time_reference::update(const std::vector<gr::tag_t>& tags)
{
    for (const auto& tag : tags) {
        if (pmt::eq(tag.key, protocol::RX_TIME) || pmt::eq(tag.key, protocol::TX_TIME)) {
            if (pmt::is_tuple(tag.value) && pmt::length(tag.value) == 2) {
                const pmt::pmt_t whole = pmt::tuple_ref(tag.value, 0);
                const pmt::pmt_t frac = pmt::tuple_ref(tag.value, 1);
                if ((pmt::is_uint64(whole) || pmt::is_integer(whole)) &&
                    pmt::is_real(frac)) {
                    d_full = pmt::is_uint64(whole)
                                 ? static_cast<int64_t>(pmt::to_uint64(whole))
                                 : pmt::to_long(whole);
                    d_frac = pmt::to_double(frac);
                    d_offset = tag.offset;
                    d_valid = true;
                }
            }
        } else if (pmt::eq(tag.key, protocol::RX_RATE) ||
                   pmt::eq(tag.key, protocol::TX_RATE)) {
            if (pmt::is_real(tag.value) && pmt::to_double(tag.value) > 0.0) {
                d_rate = pmt::to_double(tag.value);
            }
        }
    }
}

bool time_reference::sample_of(const beam_command& cmd, uint64_t& sample) const
{
    if (!valid()) {
        return false;
    }
    // Whole seconds and fractions apart, so that hours of radio time keep the
    // precision a 61.44 Msps sample needs.
    const double elapsed =
        static_cast<double>(cmd.time_full - d_full) + (cmd.time_frac - d_frac);
    const double offset = std::round(elapsed * d_rate);
    if (offset < -static_cast<double>(d_offset)) {
        sample = 0; // before the stream began: as late as it gets
        return true;
    }
    sample = static_cast<uint64_t>(static_cast<double>(d_offset) + offset);
    return true;
}

std::string
beam_schedule::add(const beam_command& cmd, uint64_t now, const time_reference* clock)
{
    if (d_queue.size() + d_awaiting.size() >= max_pending) {
        return "beam_cmd refused: " + std::to_string(max_pending) +
               " commands already wait to be applied";
    }
    if (cmd.has_sample && cmd.sample > now && cmd.sample - now > max_lead) {
        return "beam_cmd for sample " + std::to_string(cmd.sample) + " is more than " +
               std::to_string(max_lead) + " samples ahead of sample " +
               std::to_string(now);
    }
    beam_command queued = cmd;
    if (queued.has_time) {
        if (!clock) {
            return "beam_cmd field 'time' needs a block with a sample rate and time tags";
        }
        if (!clock->sample_of(queued, queued.sample)) {
            d_awaiting.push_back(queued);
            return "";
        }
        queued.has_time = false;
        queued.has_sample = true;
        if (queued.sample > now && queued.sample - now > max_lead) {
            return "beam_cmd time is more than " + std::to_string(max_lead) +
                   " samples ahead of sample " + std::to_string(now);
        }
    }
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

std::string beam_schedule::resolve(uint64_t now, const time_reference& clock)
{
    std::string refused;
    if (d_awaiting.empty() || !clock.valid()) {
        return refused;
    }
    std::deque<beam_command> waiting;
    waiting.swap(d_awaiting);
    for (const auto& cmd : waiting) {
        const std::string why = add(cmd, now, &clock);
        if (!why.empty()) {
            refused = why;
        }
    }
    return refused;
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

void beam_switcher::accept(beam_command cmd, gr::logger_ptr logger, bad_input_log& bad)
{
    if (d_boundary > 1 && !cmd.has_sample && !cmd.has_time) {
        cmd.has_sample = true; // the next boundary not yet handled
        cmd.sample = (d_next_sample + d_boundary - 1) / d_boundary * d_boundary;
    }
    const uint64_t late = d_schedule.late();
    const std::string refused =
        d_schedule.add(cmd, d_next_sample, d_timed ? &d_clock : nullptr);
    if (!refused.empty()) {
        bad.report(logger, refused);
    } else if (d_schedule.late() > late && late == 0) {
        logger->warn("beam_cmd arrived after its sample, at sample {:d}: applied at once "
                     "(further late commands are only counted)",
                     d_next_sample);
    }
}

std::vector<gr_complex> quantise_phases(const std::vector<gr_complex>& w, int bits)
{
    if (bits <= 0) {
        return w;
    }
    const double step = 2.0 * M_PI / static_cast<double>(1 << bits);
    std::vector<gr_complex> q(w.size());
    for (size_t n = 0; n < w.size(); ++n) {
        const double phase = std::round(std::arg(w[n]) / step) * step;
        q[n] = std::polar(std::abs(w[n]), static_cast<float>(phase));
    }
    return q;
}

array_weights::array_weights(const char* who,
                             int num_elements,
                             int bits,
                             const std::vector<gr_complex>& calibration,
                             bool conjugate)
    : d_who(who)
    , d_num(num_elements)
    , d_bits(bits)
    , d_conjugate(conjugate)
{
    if (num_elements < 1) {
        throw std::invalid_argument(d_who + ": num_channels must be at least 1");
    }
    if (bits < 0 || bits > 16) {
        throw std::invalid_argument(d_who + ": bits must be in 0..16");
    }
    check_calibration(calibration);
    d_calibration = calibration;
    d_requested.assign(
        num_elements,
        gr_complex(1.0f / std::sqrt(static_cast<float>(num_elements)), 0.0f));
    refresh();
}

void array_weights::check_calibration(const std::vector<gr_complex>& calibration) const
{
    if (!calibration.empty() && static_cast<int>(calibration.size()) != d_num) {
        throw std::invalid_argument(d_who + ": calibration has length " +
                                    std::to_string(calibration.size()) + ", expected " +
                                    std::to_string(d_num));
    }
    for (const auto& c : calibration) {
        if (!std::isfinite(c.real()) || !std::isfinite(c.imag())) {
            throw std::invalid_argument(d_who + ": calibration holds NaN or Inf");
        }
    }
}

void array_weights::set_requested(const std::vector<gr_complex>& w)
{
    d_requested = w;
    refresh();
}

void array_weights::set_calibration(const std::vector<gr_complex>& calibration)
{
    check_calibration(calibration);
    d_calibration = calibration;
    refresh();
}

void array_weights::set_bits(int bits)
{
    if (bits < 0 || bits > 16) {
        throw std::invalid_argument(d_who + ": bits must be in 0..16");
    }
    d_bits = bits;
    refresh();
}

void array_weights::refresh()
{
    d_weights = quantise_phases(d_requested, d_bits);
    d_taps.resize(d_num);
    for (int n = 0; n < d_num; ++n) {
        const gr_complex c =
            d_calibration.empty() ? gr_complex(1.0f, 0.0f) : d_calibration[n];
        d_taps[n] = (d_conjugate ? std::conj(d_weights[n]) : d_weights[n]) * c;
    }
}

} // namespace beamalign
} // namespace gr
