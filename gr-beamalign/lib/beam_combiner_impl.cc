/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "beam_combiner_impl.h"
#include <gnuradio/beamalign/protocol.h>
#include <gnuradio/io_signature.h>
#include <volk/volk.h>
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

namespace {

void check_calibration(const std::vector<gr_complex>& calibration, int num_channels)
{
    if (!calibration.empty() && static_cast<int>(calibration.size()) != num_channels) {
        throw std::invalid_argument("beam_combiner: calibration has length " +
                                    std::to_string(calibration.size()) + ", expected " +
                                    std::to_string(num_channels));
    }
    for (const auto& c : calibration) {
        if (!std::isfinite(c.real()) || !std::isfinite(c.imag())) {
            throw std::invalid_argument("beam_combiner: calibration holds NaN or Inf");
        }
    }
}
} // namespace

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

beam_combiner::sptr beam_combiner::make(int num_channels,
                                        int bits,
                                        const std::vector<gr_complex>& calibration)
{
    return gnuradio::make_block_sptr<beam_combiner_impl>(num_channels, bits, calibration);
}

beam_combiner_impl::beam_combiner_impl(int num_channels,
                                       int bits,
                                       const std::vector<gr_complex>& calibration)
    : gr::sync_block(
          "beam_combiner",
          gr::io_signature::make(num_channels, num_channels, sizeof(gr_complex)),
          gr::io_signature::make(1, 1, sizeof(gr_complex)))
    , d_num_channels(num_channels)
    , d_bits(bits)
{
    if (num_channels < 1) {
        throw std::invalid_argument("beam_combiner: num_channels must be at least 1");
    }
    if (bits < 0 || bits > 16) {
        throw std::invalid_argument("beam_combiner: bits must be in 0..16");
    }
    check_calibration(calibration, num_channels);
    d_calibration = calibration;
    d_requested.assign(
        num_channels,
        gr_complex(1.0f / std::sqrt(static_cast<float>(num_channels)), 0.0f));
    refresh_taps();
    // Tags of channel 0 (e.g. rx_time) are forwarded in work(); the other channels
    // carry copies of the same tags, which would only multiply them.
    set_tag_propagation_policy(TPP_CUSTOM);
    message_port_register_in(protocol::BEAM_CMD);
    set_msg_handler(protocol::BEAM_CMD,
                    [this](const pmt::pmt_t& msg) { handle_beam_cmd(msg); });
}

void beam_combiner_impl::refresh_taps()
{
    d_weights = quantise_phases(d_requested, d_bits);
    d_taps.resize(d_num_channels);
    for (int n = 0; n < d_num_channels; ++n) {
        const gr_complex c =
            d_calibration.empty() ? gr_complex(1.0f, 0.0f) : d_calibration[n];
        d_taps[n] = std::conj(d_weights[n]) * c;
    }
}

void beam_combiner_impl::set_calibration(const std::vector<gr_complex>& calibration)
{
    check_calibration(calibration, d_num_channels);
    std::lock_guard<std::mutex> lock(d_mutex);
    d_calibration = calibration;
    refresh_taps();
}

void beam_combiner_impl::set_bits(int bits)
{
    if (bits < 0 || bits > 16) {
        throw std::invalid_argument("beam_combiner: bits must be in 0..16");
    }
    std::lock_guard<std::mutex> lock(d_mutex);
    d_bits = bits;
    refresh_taps();
}

std::vector<gr_complex> beam_combiner_impl::weights() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_weights;
}

void beam_combiner_impl::handle_beam_cmd(const pmt::pmt_t& msg)
{
    beam_command cmd;
    const std::string error = parse_beam_cmd(msg, d_num_channels, cmd);
    if (!error.empty()) {
        // A Tx command is addressed to the transmitter, not to this receive combiner.
        if (cmd.side != protocol::SIDE_TX) {
            d_bad.report(d_logger, error);
        }
        return;
    }
    if (cmd.side != protocol::SIDE_RX) {
        return;
    }
    std::lock_guard<std::mutex> lock(d_mutex);
    const uint64_t late = d_schedule.late();
    const std::string refused = d_schedule.add(cmd, d_next_sample);
    if (!refused.empty()) {
        d_bad.report(d_logger, refused);
    } else if (d_schedule.late() > late && late == 0) {
        d_logger->warn(
            "beam_cmd for sample {:d} arrived after sample {:d}: applied at once "
            "(further late commands are only counted)",
            cmd.sample,
            d_next_sample);
    }
}

void beam_combiner_impl::apply(const beam_command& cmd, uint64_t at_sample)
{
    d_requested = cmd.weights;
    refresh_taps();
    add_item_tag(0,
                 at_sample,
                 protocol::BEAM,
                 beam_tag_value(cmd.beam_id, -1, cmd.beam_id),
                 alias_pmt());
}

void beam_combiner_impl::combine(const gr_vector_const_void_star& in,
                                 gr_complex* out,
                                 int offset,
                                 int n)
{
    if (n <= 0) {
        return;
    }
    if (d_scratch.size() < static_cast<size_t>(n)) {
        d_scratch.resize(n);
    }
    const auto* first = static_cast<const gr_complex*>(in[0]) + offset;
    volk_32fc_s32fc_multiply_32fc(out + offset, first, d_taps[0], n);
    for (int ch = 1; ch < d_num_channels; ++ch) {
        const auto* x = static_cast<const gr_complex*>(in[ch]) + offset;
        volk_32fc_s32fc_multiply_32fc(d_scratch.data(), x, d_taps[ch], n);
        volk_32fc_x2_add_32fc(out + offset, out + offset, d_scratch.data(), n);
    }
}

int beam_combiner_impl::work(int noutput_items,
                             gr_vector_const_void_star& input_items,
                             gr_vector_void_star& output_items)
{
    auto* out = static_cast<gr_complex*>(output_items[0]);
    std::lock_guard<std::mutex> lock(d_mutex);
    const uint64_t first = nitems_read(0);
    const uint64_t end = first + noutput_items;
    std::vector<gr::tag_t> upstream;
    get_tags_in_range(upstream, 0, first, end);
    for (const auto& tag : upstream) {
        add_item_tag(0, tag.offset, tag.key, tag.value, tag.srcid);
    }
    int done = 0;
    beam_command cmd;
    while (true) {
        const uint64_t at = first + done;
        if (d_schedule.pop_due(at, cmd)) {
            apply(cmd, at);
            continue;
        }
        const uint64_t next = d_schedule.next_switch();
        if (next >= end) {
            break;
        }
        const int switch_offset = static_cast<int>(next - first);
        combine(input_items, out, done, switch_offset - done);
        done = switch_offset;
    }
    combine(input_items, out, done, noutput_items - done);
    d_next_sample = end;
    return noutput_items;
}

} // namespace beamalign
} // namespace gr
