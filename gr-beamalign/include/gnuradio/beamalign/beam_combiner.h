/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_COMBINER_H
#define INCLUDED_BEAMALIGN_BEAM_COMBINER_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief Combines N array channels into one beam: y = sum_n conj(w_n) c_n x_n.
 * \ingroup beamalign
 *
 * \details
 * Turns a multi-channel receiver into a phased array. The weights w come from
 * `beam_cmd` messages with side "rx" (other sides are for other blocks and are
 * ignored); an optional integer field `sample` names the absolute input sample from
 * which the weights apply, or a field `time` (radio seconds, or a (seconds, fraction)
 * tuple) the radio time from which they apply, turned into a sample through the
 * `rx_time` tags UHD puts on channel 0 and the sample rate (samp_rate, or the `rx_rate`
 * tag); otherwise they apply from the next sample processed.
 * The first output sample under new weights carries a `beam` tag (dict: beam_id,
 * tx_beam_id, rx_beam_id). With bits > 0 the weight phases are quantised to 2^bits
 * levels, as a B-bit phase shifter does. The calibration vector c corrects each
 * channel (complex factor; empty means none). Initial weights: 1/sqrt(N) on all.
 */
class BEAMALIGN_API beam_combiner : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<beam_combiner> sptr;

    /*!
     * \param num_channels number of input streams N
     * \param bits phase-shifter resolution in bits, 0 for unquantised weights
     * \param calibration per-channel complex correction (length N or empty)
     * \param samp_rate samples per second, for commands timed by `time` (0: unknown
     *        until an `rx_rate` tag says)
     */
    static sptr make(int num_channels,
                     int bits,
                     const std::vector<gr_complex>& calibration,
                     double samp_rate = 0.0);

    virtual void set_calibration(const std::vector<gr_complex>& calibration) = 0;
    virtual void set_bits(int bits) = 0;
    /*!
     * \brief Untimed commands apply at the next multiple of `samples` (1: the next
     * sample), so every switch lands on a pilot boundary when the pilot repeats with
     * that period (over a link, where the two sides switch apart).
     */
    virtual void set_switch_boundary(int samples) = 0;
    /*! \brief The weights in force (after quantisation, before calibration). */
    virtual std::vector<gr_complex> weights() const = 0;
    virtual uint64_t malformed_messages() const = 0;
    /*! \brief Commands that arrived after their sample (applied at once). */
    virtual uint64_t late_commands() const = 0;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_BEAM_COMBINER_H */
