/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "beam_splitter_impl.h"
#include <gnuradio/beamalign/protocol.h>
#include <gnuradio/io_signature.h>
#include <volk/volk.h>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

beam_splitter::sptr beam_splitter::make(int num_channels,
                                        int bits,
                                        const std::vector<gr_complex>& calibration,
                                        double samp_rate)
{
    return gnuradio::make_block_sptr<beam_splitter_impl>(
        num_channels, bits, calibration, samp_rate);
}

beam_splitter_impl::beam_splitter_impl(int num_channels,
                                       int bits,
                                       const std::vector<gr_complex>& calibration,
                                       double samp_rate)
    : gr::sync_block(
          "beam_splitter",
          gr::io_signature::make(1, 1, sizeof(gr_complex)),
          gr::io_signature::make(num_channels, num_channels, sizeof(gr_complex)))
    , d_num_channels(num_channels)
    , d_weights("beam_splitter", num_channels, bits, calibration, false)
    , d_switcher(samp_rate)
{
    if (!(samp_rate >= 0.0) || !std::isfinite(samp_rate)) {
        throw std::invalid_argument("beam_splitter: samp_rate must be >= 0 (0: unknown)");
    }
    // Upstream tags (tx_time, tx_sob/eob) go to every output, as each channel of a
    // usrp_sink reads its own; work() copies them.
    set_tag_propagation_policy(TPP_CUSTOM);
    message_port_register_in(protocol::BEAM_CMD);
    set_msg_handler(protocol::BEAM_CMD,
                    [this](const pmt::pmt_t& msg) { handle_beam_cmd(msg); });
}

void beam_splitter_impl::set_calibration(const std::vector<gr_complex>& calibration)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_weights.set_calibration(calibration);
}

void beam_splitter_impl::set_bits(int bits)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_weights.set_bits(bits);
}

void beam_splitter_impl::set_switch_boundary(int samples)
{
    if (samples < 1) {
        throw std::invalid_argument(
            "beam_splitter: the switch boundary must be >= 1 sample");
    }
    std::lock_guard<std::mutex> lock(d_mutex);
    d_switcher.set_boundary(static_cast<uint64_t>(samples));
}

std::vector<gr_complex> beam_splitter_impl::weights() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_weights.weights();
}

uint64_t beam_splitter_impl::late_commands() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_switcher.late();
}

void beam_splitter_impl::handle_beam_cmd(const pmt::pmt_t& msg)
{
    beam_command cmd;
    const std::string error = parse_beam_cmd(msg, d_num_channels, cmd);
    if (!error.empty()) {
        // An Rx command is addressed to the receiver, not to this transmit splitter.
        if (cmd.side != protocol::SIDE_RX) {
            d_bad.report(d_logger, error);
        }
        return;
    }
    if (cmd.side != protocol::SIDE_TX) {
        return;
    }
    std::lock_guard<std::mutex> lock(d_mutex);
    d_switcher.accept(cmd, d_logger, d_bad);
}

void beam_splitter_impl::apply(const beam_command& cmd, uint64_t at_sample)
{
    d_weights.set_requested(cmd.weights);
    const pmt::pmt_t value = beam_tag_value(cmd.beam_id, cmd.beam_id, -1);
    for (int ch = 0; ch < d_num_channels; ++ch) {
        add_item_tag(ch, at_sample, protocol::BEAM, value, alias_pmt());
    }
}

void beam_splitter_impl::split(const gr_complex* in,
                               gr_vector_void_star& out,
                               int offset,
                               int n)
{
    if (n <= 0) {
        return;
    }
    const auto& taps = d_weights.taps();
    for (int ch = 0; ch < d_num_channels; ++ch) {
        volk_32fc_s32fc_multiply_32fc(
            static_cast<gr_complex*>(out[ch]) + offset, in + offset, taps[ch], n);
    }
}

int beam_splitter_impl::work(int noutput_items,
                             gr_vector_const_void_star& input_items,
                             gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    std::lock_guard<std::mutex> lock(d_mutex);
    const uint64_t first = nitems_read(0);
    d_tags.clear();
    get_tags_in_range(d_tags, 0, first, first + noutput_items);
    for (const auto& tag : d_tags) {
        for (int ch = 0; ch < d_num_channels; ++ch) {
            add_item_tag(ch, tag.offset, tag.key, tag.value, tag.srcid);
        }
    }
    // A time tag in this window may let commands timed by radio time find their sample.
    d_switcher.run(
        first,
        noutput_items,
        d_tags,
        d_logger,
        d_bad,
        [this](const beam_command& cmd, uint64_t at) { apply(cmd, at); },
        [&](int offset, int n) { split(in, output_items, offset, n); });
    return noutput_items;
}

} // namespace beamalign
} // namespace gr
