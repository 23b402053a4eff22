/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_SIM_ARRAY_SOURCE_H
#define INCLUDED_BEAMALIGN_SIM_ARRAY_SOURCE_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief Simulated analog-beamforming link: y = w^H H f x + w^H n.
 * \ingroup beamalign
 *
 * \details
 * Emits one complex sample per pilot symbol x (unit power, repeated cyclically from
 * the tag that marks the current weights) through the channel H (Nr x Nt,
 * ||H||_F = 1) with Tx weights f and Rx weights w. The noise n is CN(0, sigma^2 I)
 * per receive antenna with sigma^2 = 10^(-snr_db/10), so w^H n has variance
 * sigma^2 ||w||^2. Weights change on `beam_cmd` messages (dict: side "tx"/"rx",
 * beam_id, weights); the first sample under new weights carries a `beam` tag
 * (dict: beam_id, tx_beam_id, rx_beam_id). Commands that arrive together are
 * applied together.
 *
 * A `channel` message sets a new channel: field `h` (c32vector, Nr*Nt, row-major),
 * or paths (`gains` c32vector, `u_tx`, `u_rx` f32vectors), or no channel field to
 * draw one from the block's own seeded Saleh-Valenzuela generator. Optional fields
 * `tx_phase`, `tx_position`, `rx_phase`, `rx_position` (f32vectors, radians and
 * wavelengths) set a persistent hardware impairment applied to path-based and
 * generated channels. Every channel in force is published on `channel_info`.
 *
 * Initial weights: Tx broadside on all elements (unit norm), Rx on element 0 only.
 */
class BEAMALIGN_API sim_array_source : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<sim_array_source> sptr;

    /*!
     * \param nt number of transmit elements (ULA, half-wavelength spacing)
     * \param nr number of receive elements
     * \param snr_db SNR 1/sigma^2 in dB; 300 or more means noiseless
     * \param num_paths paths of the built-in generator
     * \param profile "los" (alpha_1 ~ CN(0,1), others CN(0,0.01)) or "nlos" (all CN(0,1))
     * \param pilot pilot symbols (unit power); empty means all ones
     * \param seed seed of the channel generator and the noise
     */
    static sptr make(int nt,
                     int nr,
                     float snr_db,
                     int num_paths,
                     const std::string& profile,
                     const std::vector<gr_complex>& pilot,
                     uint64_t seed);

    virtual void set_snr_db(float snr_db) = 0;
    virtual float snr_db() const = 0;
    /*! \brief The channel in force, row-major Nr x Nt. */
    virtual std::vector<gr_complex> channel() const = 0;
    /*! \brief Number of malformed messages dropped so far. */
    virtual uint64_t malformed_messages() const = 0;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_SIM_ARRAY_SOURCE_H */
