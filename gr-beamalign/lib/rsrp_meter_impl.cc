/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "rsrp_meter_impl.h"
#include <gnuradio/beamalign/protocol.h>
#include <gnuradio/io_signature.h>
#include <volk/volk.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gr {
namespace beamalign {

namespace {
const pmt::pmt_t MISSING_ID = pmt::from_long(-1);
constexpr float CLAMP_LOW_DBM = -140.0f;
constexpr float CLAMP_HIGH_DBM = -40.0f;

bool finite(gr_complex x)
{
    return std::isfinite(x.real()) && std::isfinite(x.imag());
}

// An integer field of the beam tag, or -1 when the tag lacks it.
pmt::pmt_t tag_field(const pmt::pmt_t& dict, const pmt::pmt_t& key)
{
    if (!pmt::is_dict(dict)) {
        return MISSING_ID;
    }
    const pmt::pmt_t v = pmt::dict_ref(dict, key, pmt::PMT_NIL);
    return pmt::is_integer(v) ? v : MISSING_ID;
}
} // namespace

rsrp_meter::sptr rsrp_meter::make(const std::string& mode,
                                  const std::vector<gr_complex>& pilot,
                                  int guard,
                                  int dwell,
                                  float ref_dbm,
                                  bool clamp_quantise,
                                  bool publish_messages)
{
    return gnuradio::make_block_sptr<rsrp_meter_impl>(
        mode, pilot, guard, dwell, ref_dbm, clamp_quantise, publish_messages);
}

rsrp_meter_impl::rsrp_meter_impl(const std::string& mode,
                                 const std::vector<gr_complex>& pilot,
                                 int guard,
                                 int dwell,
                                 float ref_dbm,
                                 bool clamp_quantise,
                                 bool publish_messages)
    : gr::block("rsrp_meter",
                gr::io_signature::make(1, 1, sizeof(gr_complex)),
                gr::io_signature::make(0, 1, sizeof(float)))
    , d_pilot_mode(mode == "pilot")
    , d_pilot(pilot)
    , d_guard(static_cast<uint64_t>(std::max(guard, 0)))
    , d_dwell(static_cast<uint64_t>(std::max(dwell, 0)))
    , d_ref_dbm(ref_dbm)
    , d_clamp_quantise(clamp_quantise)
    , d_publish_messages(publish_messages)
{
    if (mode != "pilot" && mode != "energy") {
        throw std::invalid_argument(
            "rsrp_meter: mode must be \"pilot\" or \"energy\", got \"" + mode + "\"");
    }
    if (guard < 0 || dwell < 0) {
        throw std::invalid_argument("rsrp_meter: guard and dwell must not be negative");
    }
    if (d_pilot.empty()) {
        d_pilot.assign(1, gr_complex(1.0f, 0.0f));
    }
    for (const auto& p : d_pilot) {
        if (!finite(p)) {
            throw std::invalid_argument("rsrp_meter: pilot holds NaN or Inf");
        }
    }
    message_port_register_out(protocol::RSRP);
    set_tag_propagation_policy(TPP_DONT); // the output is per dwell, not per sample
}

void rsrp_meter_impl::forecast(int, gr_vector_int& ninput_items_required)
{
    // A dwell accumulates across calls, so any input makes progress. Asking for a whole
    // dwell would stall on dwells longer than the input buffer.
    ninput_items_required[0] = 1;
}

void rsrp_meter_impl::start_dwell(const gr::tag_t& tag)
{
    d_active = true;
    d_position = 0;
    d_tag_offset = tag.offset;
    if (d_publish_messages) {
        d_tag_value = tag.value; // only messages carry the tag's beam ids
        // Each side's weights in force: a tag from one side's block (a combiner knows
        // only the receive beam) leaves the other side's id as it was.
        const pmt::pmt_t tx = tag_field(tag.value, protocol::TX_BEAM_ID);
        const pmt::pmt_t rx = tag_field(tag.value, protocol::RX_BEAM_ID);
        if (pmt::to_long(tx) >= 0) {
            d_tx_id = tx;
        }
        if (pmt::to_long(rx) >= 0) {
            d_rx_id = rx;
        }
    }
    d_sum = 0.0;
    d_energy = 0.0;
    d_count = 0;
    d_seen = 0;
}

void rsrp_meter_impl::finish_dwell(bool complete)
{
    d_active = false;
    if (d_count == 0) {
        // Cut inside the guard: nothing was measured, and nothing is said. Every
        // sample bad: a controller waits for this dwell, so it hears that it was lost.
        if (d_seen > 0 && d_publish_messages) {
            publish(0.0, -std::numeric_limits<double>::infinity(), false);
        }
        return;
    }
    const double power = d_pilot_mode ? std::norm(d_sum) / (static_cast<double>(d_count) *
                                                            static_cast<double>(d_count))
                                      : d_energy / static_cast<double>(d_count);
    ++d_dwells;
    if (d_out) {
        // The stream is float: a power beyond its range saturates instead of being inf.
        d_out[d_produced++] = static_cast<float>(
            std::min(power, double(std::numeric_limits<float>::max())));
    }
    if (!d_publish_messages) {
        return;
    }
    double dbm = power > 0.0 ? 10.0 * std::log10(power) + d_ref_dbm
                             : -std::numeric_limits<double>::infinity();
    if (d_clamp_quantise) {
        dbm = std::round(std::clamp(dbm, double(CLAMP_LOW_DBM), double(CLAMP_HIGH_DBM)));
    }
    publish(power, dbm, complete);
}

void rsrp_meter_impl::publish(double power, double dbm, bool complete)
{
    // Built with dcons from pre-interned keys: one message per dwell is the hot
    // path at short dwells, and dict_add (a key search and copy per field) costs 3x more.
    const pmt::pmt_t tag = pmt::is_dict(d_tag_value) ? d_tag_value : pmt::make_dict();
    pmt::pmt_t d = pmt::make_dict();
    d = pmt::dcons(pmt::cons(protocol::COMPLETE, pmt::from_bool(complete)), d);
    d = pmt::dcons(pmt::cons(protocol::OFFSET, pmt::from_uint64(d_tag_offset)), d);
    d = pmt::dcons(pmt::cons(protocol::NSAMPLES, pmt::from_long(d_count)), d);
    d = pmt::dcons(pmt::cons(protocol::RSRP_DBM, pmt::from_double(dbm)), d);
    d = pmt::dcons(pmt::cons(protocol::POWER, pmt::from_double(power)), d);
    d = pmt::dcons(pmt::cons(protocol::RX_BEAM_ID, d_rx_id), d);
    d = pmt::dcons(pmt::cons(protocol::TX_BEAM_ID, d_tx_id), d);
    d = pmt::dcons(pmt::cons(protocol::BEAM_ID, tag_field(tag, protocol::BEAM_ID)), d);
    message_port_pub(protocol::RSRP, d);
}

void rsrp_meter_impl::accumulate(const gr_complex* in, const gr_complex* pilot, int n)
{
    gr_complex sum;
    // One VOLK pass: pilot mode sums y conj(p); energy mode sums y conj(y) = |y|^2.
    volk_32fc_x2_conjugate_dot_prod_32fc(&sum, in, d_pilot_mode ? pilot : in, n);
    d_seen += n;
    if (finite(sum)) {
        if (d_pilot_mode) {
            d_sum += std::complex<double>(sum);
        } else {
            d_energy += sum.real();
        }
        d_count += n;
        return;
    }
    // Rare path, in double: NaN/Inf samples are left out, and huge finite ones (whose
    // float sum overflowed) are summed without overflow.
    uint64_t bad = 0;
    for (int i = 0; i < n; ++i) {
        if (!finite(in[i])) {
            ++bad;
            continue;
        }
        const std::complex<double> y(in[i]);
        if (d_pilot_mode) {
            d_sum += y * std::conj(std::complex<double>(pilot[i]));
        } else {
            d_energy += std::norm(y);
        }
        ++d_count;
    }
    d_dropped += bad;
    if (bad > 0 && !d_warned_nonfinite) {
        d_warned_nonfinite = true;
        d_logger->warn("dropped {:d} NaN/Inf samples from the dwell at offset {:d} "
                       "(further ones are only counted)",
                       bad,
                       d_tag_offset);
    }
}

int rsrp_meter_impl::measure(const gr_complex* in, int n)
{
    // Walks up to n samples of the active dwell: skips the guard, measures, closes on
    // length. Returns the samples used: fewer than n only when the output is full.
    int i = 0;
    while (i < n && d_active) {
        if (output_full()) {
            return i; // no room to close a dwell: resume in the next call
        }
        if (d_position < d_guard) {
            const uint64_t skip = std::min<uint64_t>(d_guard - d_position, n - i);
            d_position += skip;
            i += static_cast<int>(skip);
            continue;
        }
        uint64_t run = static_cast<uint64_t>(n - i);
        if (d_dwell > 0) {
            run = std::min<uint64_t>(run, d_guard + d_dwell - d_position);
        }
        // The pilot restarts at the tag (as the source sends it); runs stop at its
        // period so that one contiguous slice is used.
        const uint64_t phase = d_position % d_pilot.size();
        if (d_pilot_mode) {
            run = std::min<uint64_t>(run, d_pilot.size() - phase);
        }
        accumulate(in + i, d_pilot.data() + phase, static_cast<int>(run));
        d_position += run;
        i += static_cast<int>(run);
        if (d_dwell > 0 && d_position >= d_guard + d_dwell) {
            finish_dwell(true);
        }
    }
    return d_active ? i : n; // outside a dwell the remaining samples are skipped
}

int rsrp_meter_impl::general_work(int noutput_items,
                                  gr_vector_int& ninput_items,
                                  gr_vector_const_void_star& input_items,
                                  gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    const int available = ninput_items[0];
    d_out = output_items.empty() ? nullptr : static_cast<float*>(output_items[0]);
    d_out_space = noutput_items;
    d_produced = 0;

    const uint64_t first = nitems_read(0);
    // The unfiltered lookup fills d_tags in place; the keyed one builds and filters a
    // temporary vector on every call. Interned keys compare by pointer.
    get_tags_in_range(d_tags, 0, first, first + available);
    int done = 0;
    bool stopped = false;
    for (const auto& tag : d_tags) {
        if (!pmt::eq(tag.key, protocol::BEAM)) {
            continue;
        }
        const int at = static_cast<int>(tag.offset - first);
        done += measure(in + done, at - done);
        // Handling a tag may close a dwell: with a full output, it waits for the next
        // call (the tag is read again then, at the start of the input).
        if (done < at || output_full()) {
            stopped = true;
            break;
        }
        if (d_active) {
            // With dwell = 0 the next tag is the dwell's natural end.
            finish_dwell(d_dwell == 0);
        }
        start_dwell(tag);
    }
    if (!stopped) {
        done += measure(in + done, available - done);
    }
    consume_each(done);
    const int produced = d_produced;
    d_out = nullptr;
    return output_items.empty() ? 0 : produced;
}

} // namespace beamalign
} // namespace gr
