/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_RSRP_METER_IMPL_H
#define INCLUDED_BEAMALIGN_RSRP_METER_IMPL_H

#include "beam_cmd.h"
#include <gnuradio/beamalign/rsrp_meter.h>
#include <atomic>
#include <complex>

namespace gr {
namespace beamalign {

class rsrp_meter_impl : public rsrp_meter
{
public:
    rsrp_meter_impl(const std::string& mode,
                    const std::vector<gr_complex>& pilot,
                    int guard,
                    int dwell,
                    float ref_dbm,
                    bool clamp_quantise,
                    bool publish_messages);

    void forecast(int noutput_items, gr_vector_int& ninput_items_required) override;
    int general_work(int noutput_items,
                     gr_vector_int& ninput_items,
                     gr_vector_const_void_star& input_items,
                     gr_vector_void_star& output_items) override;

    void set_ref_dbm(float ref_dbm) override { d_ref_dbm = ref_dbm; }
    uint64_t dropped_samples() const override { return d_dropped; }
    uint64_t dwells() const override { return d_dwells; }

private:
    const bool d_pilot_mode;
    std::vector<gr_complex> d_pilot;
    const uint64_t d_guard;
    const uint64_t d_dwell;
    std::atomic<float> d_ref_dbm;
    const bool d_clamp_quantise;
    const bool d_publish_messages;

    // The dwell being measured.
    bool d_active = false;
    uint64_t d_position = 0; // samples since its tag
    uint64_t d_tag_offset = 0;
    pmt::pmt_t d_tag_value;
    pmt::pmt_t d_tx_id = pmt::from_long(-1); // the Tx / Rx beam ids in force (tags)
    pmt::pmt_t d_rx_id = pmt::from_long(-1);
    // Double sums: float ones overflow for finite samples near 1e19 (|y|^2 > 3.4e38).
    std::complex<double> d_sum; // pilot mode: sum y conj(p)
    double d_energy = 0.0;      // energy mode: sum |y|^2
    uint64_t d_count = 0;       // finite samples measured
    uint64_t d_seen = 0;        // samples past the guard, finite or not

    std::atomic<uint64_t> d_dropped{ 0 };
    std::atomic<uint64_t> d_dwells{ 0 };
    bool d_warned_nonfinite = false;
    std::vector<gr::tag_t> d_tags; // reused across calls: no allocation per work()

    // Per-dwell powers of the current call, for the optional float output.
    float* d_out = nullptr;
    int d_out_space = 0;
    int d_produced = 0;

    void start_dwell(const gr::tag_t& tag);
    void finish_dwell(bool complete);
    bool output_full() const { return d_out && d_produced >= d_out_space; }
    int measure(const gr_complex* in, int n);
    void accumulate(const gr_complex* in, const gr_complex* pilot, int n);
    void publish(double power, double dbm, bool complete);
};

} // namespace beamalign
} // namespace gr

#endif
