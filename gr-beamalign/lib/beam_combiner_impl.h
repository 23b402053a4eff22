/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_COMBINER_IMPL_H
#define INCLUDED_BEAMALIGN_BEAM_COMBINER_IMPL_H

#include "beam_cmd.h"
#include <gnuradio/beamalign/beam_combiner.h>
#include <mutex>

namespace gr {
namespace beamalign {

class beam_combiner_impl : public beam_combiner
{
public:
    beam_combiner_impl(int num_channels,
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
    beam_switcher d_switcher; // the next sample work() produces (read by handlers)
    std::vector<gr_complex> d_scratch;
    std::vector<gr::tag_t> d_tags;
    bad_input_log d_bad;

    void handle_beam_cmd(const pmt::pmt_t& msg);
    void apply(const beam_command& cmd, uint64_t at_sample);
    void combine(const gr_vector_const_void_star& in, gr_complex* out, int offset, int n);
};

} // namespace beamalign
} // namespace gr

#endif
