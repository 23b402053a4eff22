/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_RSRP_METER_H
#define INCLUDED_BEAMALIGN_RSRP_METER_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/block.h>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief Measures the received power of each beam dwell and publishes `rsrp`.
 * \ingroup beamalign
 *
 * \details
 * A dwell starts at each `beam` tag. The first `guard` samples are skipped (settling),
 * then `dwell` samples are measured (0: until the next tag). Mode "pilot" correlates
 * with the known pilot, restarted at the tag: power = |mean(y_i conj(p_i))|^2.
 * Mode "energy" averages |y_i|^2. One `rsrp` message per dwell: beam_id, tx_beam_id,
 * rx_beam_id, power (linear), rsrp_dbm = 10 log10(power) + ref_dbm, nsamples, offset
 * (absolute sample of the tag), complete (false when a new tag cut the dwell short).
 * With clamp_quantise, rsrp_dbm is clamped to [-140, -40] dBm and rounded to 1 dB
 * (the reporting of seed 001). NaN/Inf samples are left out of the dwell and counted.
 *
 * The optional float output carries the same linear power, one item per dwell, for
 * stream consumers (e.g. a QT GUI time sink). With publish_messages false the block
 * measures into that stream only.
 */
class BEAMALIGN_API rsrp_meter : virtual public gr::block
{
public:
    typedef std::shared_ptr<rsrp_meter> sptr;

    /*!
     * \param mode "pilot" or "energy"
     * \param pilot pilot symbols for "pilot" mode (empty means all ones)
     * \param guard samples skipped after each tag
     * \param dwell samples measured per dwell; 0 measures until the next tag
     * \param ref_dbm dBm of linear power 1.0
     * \param clamp_quantise clamp to [-140, -40] dBm and round to 1 dB
     * \param publish_messages publish an `rsrp` message per dwell
     */
    static sptr make(const std::string& mode,
                     const std::vector<gr_complex>& pilot,
                     int guard,
                     int dwell,
                     float ref_dbm,
                     bool clamp_quantise,
                     bool publish_messages = true);

    virtual void set_ref_dbm(float ref_dbm) = 0;
    /*! \brief Samples left out of measurements because they were NaN or Inf. */
    virtual uint64_t dropped_samples() const = 0;
    /*! \brief Dwells measured so far. */
    virtual uint64_t dwells() const = 0;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_RSRP_METER_H */
