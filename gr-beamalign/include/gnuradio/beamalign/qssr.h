/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_QSSR_H
#define INCLUDED_BEAMALIGN_QSSR_H

#include <gnuradio/beamalign/api.h>
#include <cstddef>

namespace gr {
namespace beamalign {

/*!
 * \brief QSSR power-ratio inversion (seed 000 eq. 8), vectorised over trials.
 *
 * \details For two adjacent beams of a K-beam DFT layer (K active antennas), the
 * anchor pointing at u_anchor and the auxiliary at u_anchor +- 2/K, the gain ratio
 * rho = G_anchor(u)/G_aux(u) = (sin(pi/K - y)/sin(y))^2 with y = pi*|u - u_anchor|/2
 * is strictly decreasing between the two beams, so it inverts in closed form:
 * tan(y) = sin(pi/K) / (sqrt(rho) + cos(pi/K)). The estimate lies between the two
 * beams, on the auxiliary's side, wrapped into [-1, 1) (u has period 2).
 *
 * \param u_anchor direction of the stronger beam of each trial
 * \param u_aux direction of its neighbour (must be u_anchor +- 2/K, modulo 2)
 * \param ratio measured power ratio P_anchor / P_aux (>= 0; inf allowed)
 * \param count number of trials
 * \param num_beams K, the beams of the layer
 * \param u_out estimates
 */
BEAMALIGN_API void qssr_invert_ratio(const double* u_anchor,
                                     const double* u_aux,
                                     const double* ratio,
                                     std::size_t count,
                                     int num_beams,
                                     double* u_out);

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_QSSR_H */
