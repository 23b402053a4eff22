/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/qssr.h>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

namespace {
// Maps u to [-1, 1): normalised angles are periodic with period 2.
double wrap(double u)
{
    return u - 2.0 * std::floor((u + 1.0) / 2.0);
}
} // namespace

void qssr_invert_ratio(const double* u_anchor,
                       const double* u_aux,
                       const double* ratio,
                       std::size_t count,
                       int num_beams,
                       double* u_out)
{
    if (num_beams < 2) {
        throw std::invalid_argument("qssr_invert_ratio: num_beams must be at least 2");
    }
    const double half_spacing = M_PI / num_beams; // pi/K: y at the auxiliary beam
    const double s = std::sin(half_spacing);
    const double c = std::cos(half_spacing);
    for (std::size_t i = 0; i < count; ++i) {
        // Direction towards the auxiliary, through the shorter way round the period.
        const double step = wrap(u_aux[i] - u_anchor[i]);
        const double direction = step >= 0.0 ? 1.0 : -1.0;
        const double r = ratio[i];
        double y;
        if (std::isnan(r) || r < 0.0) {
            y = 0.0; // no usable ratio: stay on the anchor
        } else if (std::isinf(r)) {
            y = 0.0;
        } else {
            y = std::atan(s / (std::sqrt(r) + c));
        }
        u_out[i] = wrap(u_anchor[i] + direction * 2.0 * y / M_PI);
    }
}

} // namespace beamalign
} // namespace gr
