/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_OMP_H
#define INCLUDED_BEAMALIGN_OMP_H

#include <gnuradio/beamalign/api.h>
#include <Eigen/Dense>
#include <vector>

namespace gr {
namespace beamalign {

//! Result of a sparse estimate: the chosen atoms and their coefficients.
struct BEAMALIGN_API sparse_estimate {
    std::vector<int> support;
    Eigen::VectorXcd coefficients; //!< one per support entry, same order
    double residual_energy = 0.0;  //!< ||y - Phi_S x_S||^2
};

/*!
 * \brief Orthogonal matching pursuit for y = Phi x + w (seed 004's OMP baseline).
 *
 * \details Each iteration picks the atom most correlated with the residual (the
 * correlation normalised by the atom's norm, so unequal atom norms do not bias the
 * choice), then re-fits all chosen atoms by least squares (Householder QR) and
 * updates the residual. Stops after max_atoms atoms, or once the residual energy is
 * at most stop_energy (for instance the expected noise energy M sigma^2).
 *
 * \param phi measurement matrix, M x N
 * \param y observation, M
 * \param max_atoms most atoms to pick (at most min(M, N))
 * \param stop_energy residual energy at which to stop early (0: never)
 */
BEAMALIGN_API sparse_estimate omp(const Eigen::Ref<const Eigen::MatrixXcd>& phi,
                                  const Eigen::Ref<const Eigen::VectorXcd>& y,
                                  int max_atoms,
                                  double stop_energy = 0.0);

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_OMP_H */
