/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_SIM_ARRAY_SOURCE_IMPL_H
#define INCLUDED_BEAMALIGN_SIM_ARRAY_SOURCE_IMPL_H

#include "beam_cmd.h"
#include <gnuradio/beamalign/channel_model.h>
#include <gnuradio/beamalign/sim_array_source.h>
#include <mutex>

namespace gr {
namespace beamalign {

class sim_array_source_impl : public sim_array_source
{
public:
    sim_array_source_impl(int nt,
                          int nr,
                          float snr_db,
                          int num_paths,
                          const std::string& profile,
                          const std::vector<gr_complex>& pilot,
                          uint64_t seed);

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

    void set_snr_db(float snr_db) override;
    float snr_db() const override;
    std::vector<gr_complex> channel() const override;
    uint64_t malformed_messages() const override { return d_bad.count(); }
    bool start() override;

private:
    const int d_nt;
    const int d_nr;
    std::vector<gr_complex> d_pilot;
    sv_path_generator d_generator;
    gaussian_noise d_noise;

    mutable std::mutex d_mutex; // guards everything below against the message thread
    float d_snr_db;
    std::vector<gr_complex> d_h;
    std::vector<gr_complex> d_f;
    std::vector<gr_complex> d_w;
    element_impairment d_tx_impairment;
    element_impairment d_rx_impairment;
    int64_t d_beam_id = -1;
    int64_t d_tx_beam_id = -1;
    int64_t d_rx_beam_id = -1;
    bool d_weights_changed = false; // a tag is owed on the next sample
    bool d_gain_stale = true;       // w^H H f must be recomputed
    gr_complex d_gain;
    float d_noise_variance = 0.0f;   // sigma^2 per receive antenna
    float d_noise_variance_w = 0.0f; // sigma^2 ||w||^2, the variance of w^H n
    std::vector<path> d_pending_initial_paths;
    uint64_t d_pilot_index = 0; // pilot position since the last tag
    std::vector<gr_complex> d_noise_buffer;
    bad_input_log d_bad;
    beam_switcher d_switcher{ 0.0, false }; // its stream carries no radio time
    const std::vector<gr::tag_t> d_no_tags;

    void handle_beam_cmd(const pmt::pmt_t& msg);
    void handle_channel(const pmt::pmt_t& msg);
    void publish_channel(const std::vector<path>* paths);
    void refresh_gain();
    void apply(const beam_command& cmd);
    void produce(gr_complex* out, int count);
};

} // namespace beamalign
} // namespace gr

#endif
