/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_COARRAY_SPECTRUM_H
#define INCLUDED_BEAMALIGN_COARRAY_SPECTRUM_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief Coarray spatial spectrum of CFR snapshots, coarray DBF or SCG (seed 003).
 * \ingroup beamalign
 *
 * \details Input: vectors of M*K complex items, the M x K snapshot matrix (antenna-major:
 * antenna m's K subcarriers at m*K .. m*K+K-1). Output: the spectrum on the grid (floats,
 * normalised to a peak of 1), for qtgui.vector_sink_f. Each vector also publishes a `doa`
 * message (u, angle_deg, spectrum, grid_deg). A vector holding NaN/Inf is counted, logged
 * once and answered with a zero spectrum and no message.
 */
class BEAMALIGN_API coarray_spectrum : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<coarray_spectrum> sptr;

    /*!
     * \param num_antennas M
     * \param num_snapshots K (subcarriers) per vector
     * \param grid_deg angles of the spectrum (degrees, increasing)
     * \param method "dbf" or "scg"
     * \param lambda, mu, eps, rounds, iterations SCG parameters (see coarray_solver)
     */
    static sptr make(int num_antennas,
                     int num_snapshots,
                     const std::vector<double>& grid_deg,
                     const std::string& method,
                     double lambda,
                     double mu,
                     double eps,
                     int rounds,
                     int iterations);

    virtual uint64_t dropped_vectors() const = 0;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_COARRAY_SPECTRUM_H */
