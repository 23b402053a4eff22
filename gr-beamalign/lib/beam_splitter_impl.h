/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_SPLITTER_IMPL_H
#define INCLUDED_BEAMALIGN_BEAM_SPLITTER_IMPL_H

#include "beam_cmd.h"
#include <gnuradio/beamalign/beam_splitter.h>
#include <mutex>

namespace gr {
namespace beamalign {

class beam_splitter_impl : public beam_splitter
{
public:
    beam_splitter_impl(int num_channels,
                       int bits,
                       const std::vector<gr_complex>& calibration,
                       double samp_rate);

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

    void set_calibration(const std::vector<gr_complex>& calibration) override;
    void set_bits(int bits) override;
    void set_switch_boundary(int samples) override;
    std::vector<gr_complex> weights() const override;
    uint64_t malformed_messages() const override { return d_bad.count(); }
    uint64_t late_commands() const override;

private:
    const int d_num_channels;
    mutable std::mutex d_mutex;
    array_weights d_weights;
    beam_switcher d_switcher; // the next sample work() consumes (read by handlers)
    std::vector<gr::tag_t> d_tags;
    bad_input_log d_bad;

    void handle_beam_cmd(const pmt::pmt_t& msg);
    void apply(const beam_command& cmd, uint64_t at_sample);
    void split(const gr_complex* in, gr_vector_void_star& out, int offset, int n);
};

} // namespace beamalign
} // namespace gr

#endif
