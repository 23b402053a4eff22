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

beam_combiner::sptr beam_combiner::make(int num_channels,
                                        int bits,
                                        const std::vector<gr_complex>& calibration,
                                        double samp_rate)
{
    return gnuradio::make_block_sptr<beam_combiner_impl>(
        num_channels, bits, calibration, samp_rate);
}

beam_combiner_impl::beam_combiner_impl(int num_channels,
                                       int bits,
                                       const std::vector<gr_complex>& calibration,
                                       double samp_rate)
    : gr::sync_block(
          "beam_combiner",
          gr::io_signature::make(num_channels, num_channels, sizeof(gr_complex)),
          gr::io_signature::make(1, 1, sizeof(gr_complex)))
    , d_num_channels(num_channels)
    , d_weights("beam_combiner", num_channels, bits, calibration, true)
    , d_switcher(samp_rate)
{
    if (!(samp_rate >= 0.0) || !std::isfinite(samp_rate)) {
        throw std::invalid_argument("beam_combiner: samp_rate must be >= 0 (0: unknown)");
    }
    // Tags of channel 0 (e.g. rx_time) are forwarded in work(); the other channels
    // carry copies of the same tags, which would only multiply them.
    set_tag_propagation_policy(TPP_CUSTOM);
    message_port_register_in(protocol::BEAM_CMD);
    set_msg_handler(protocol::BEAM_CMD,
                    [this](const pmt::pmt_t& msg) { handle_beam_cmd(msg); });
}

void beam_combiner_impl::set_calibration(const std::vector<gr_complex>& calibration)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_weights.set_calibration(calibration);
}

void beam_combiner_impl::set_bits(int bits)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_weights.set_bits(bits);
}

void beam_combiner_impl::set_switch_boundary(int samples)
{
    if (samples < 1) {
        throw std::invalid_argument(
            "beam_combiner: the switch boundary must be >= 1 sample");
    }
    std::lock_guard<std::mutex> lock(d_mutex);
    d_switcher.set_boundary(static_cast<uint64_t>(samples));
}

std::vector<gr_complex> beam_combiner_impl::weights() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_weights.weights();
}

uint64_t beam_combiner_impl::late_commands() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_switcher.late();
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
    d_switcher.accept(cmd, d_logger, d_bad);
}

void beam_combiner_impl::apply(const beam_command& cmd, uint64_t at_sample)
{
    d_weights.set_requested(cmd.weights);
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
    const auto& taps = d_weights.taps();
    const auto* first = static_cast<const gr_complex*>(in[0]) + offset;
    volk_32fc_s32fc_multiply_32fc(out + offset, first, taps[0], n);
    for (int ch = 1; ch < d_num_channels; ++ch) {
        const auto* x = static_cast<const gr_complex*>(in[ch]) + offset;
        volk_32fc_s32fc_multiply_32fc(d_scratch.data(), x, taps[ch], n);
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
    d_tags.clear();
    get_tags_in_range(d_tags, 0, first, first + noutput_items);
    for (const auto& tag : d_tags) {
        add_item_tag(0, tag.offset, tag.key, tag.value, tag.srcid);
    }
    // A time tag in this window may let commands timed by radio time find their sample.
    d_switcher.run(
        first,
        noutput_items,
        d_tags,
        d_logger,
        d_bad,
        [this](const beam_command& cmd, uint64_t at) { apply(cmd, at); },
        [&](int offset, int n) { combine(input_items, out, offset, n); });
    return noutput_items;
}

} // namespace beamalign
} // namespace gr
