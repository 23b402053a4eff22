/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_SPLITTER_H
#define INCLUDED_BEAMALIGN_BEAM_SPLITTER_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/sync_block.h>

namespace gr {
namespace beamalign {

/*!
 * \brief Splits one stream into N weighted element streams: x_n = w_n c_n s.
 * \ingroup beamalign
 *
 * \details
 * The transmit twin of beam_combiner: turns an N-channel transmitter into a phased
 * array. The weights f come from `beam_cmd` messages with side "tx" (others are
 * ignored), applied from the next sample, from an exact input sample (`sample`), or
 * from a radio time (`time`, through the `tx_time` tags on the input and the sample
 * rate or a `tx_rate` tag). The first sample under new weights carries a `beam` tag on
 * every output. bits > 0 quantises the weight phases to 2^bits levels; c corrects each
 * element (empty: none). Initial weights: 1/sqrt(N) on all.
 */
class BEAMALIGN_API beam_splitter : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<beam_splitter> sptr;

    /*!
     * \param num_channels number of output streams N
     * \param bits phase-shifter resolution in bits, 0 for unquantised weights
     * \param calibration per-element complex correction (length N or empty)
     * \param samp_rate samples per second, for commands timed by `time` (0: unknown
     *        until a `tx_rate` tag says)
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

#endif /* INCLUDED_BEAMALIGN_BEAM_SPLITTER_H */
