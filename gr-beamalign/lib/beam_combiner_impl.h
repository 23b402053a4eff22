/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_COMBINER_IMPL_H
#define INCLUDED_BEAMALIGN_BEAM_COMBINER_IMPL_H

#include "beam_cmd.h"
#include <gnuradio/beamalign/beam_combiner.h>
#include <deque>
#include <mutex>

namespace gr {
namespace beamalign {

/*! Phase quantisation of a B-bit phase shifter; bits <= 0 leaves w unchanged. */
std::vector<gr_complex> quantise_phases(const std::vector<gr_complex>& w, int bits);

class beam_combiner_impl : public beam_combiner
{
public:
    beam_combiner_impl(int num_channels,
                       int bits,
                       const std::vector<gr_complex>& calibration);

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

    void set_calibration(const std::vector<gr_complex>& calibration) override;
    void set_bits(int bits) override;
    std::vector<gr_complex> weights() const override;
    uint64_t malformed_messages() const override { return d_bad.count(); }

private:
    const int d_num_channels;
    mutable std::mutex d_mutex;
    int d_bits;
    std::vector<gr_complex> d_requested; // weights as commanded
    std::vector<gr_complex> d_weights;   // quantised
    std::vector<gr_complex> d_calibration;
    std::vector<gr_complex> d_taps; // conj(quantised w) * calibration, applied per sample
    beam_schedule d_schedule;
    uint64_t d_next_sample = 0; // the next sample work() produces (read by handlers)
    std::vector<gr_complex> d_scratch;
    bad_input_log d_bad;

    void handle_beam_cmd(const pmt::pmt_t& msg);
    void apply(const beam_command& cmd, uint64_t at_sample);
    void refresh_taps();
    void combine(const gr_vector_const_void_star& in, gr_complex* out, int offset, int n);
};

} // namespace beamalign
} // namespace gr

#endif
