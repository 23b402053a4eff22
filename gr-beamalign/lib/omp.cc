/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/omp.h>
#include <algorithm>
#include <stdexcept>
#include <string>

namespace gr {
namespace beamalign {

sparse_estimate omp(const Eigen::Ref<const Eigen::MatrixXcd>& phi,
                    const Eigen::Ref<const Eigen::VectorXcd>& y,
                    int max_atoms,
                    double stop_energy)
{
    const Eigen::Index m = phi.rows(), n = phi.cols();
    if (y.size() != m) {
        throw std::invalid_argument("omp: y has " + std::to_string(y.size()) +
                                    " entries, phi has " + std::to_string(m) + " rows");
    }
    if (max_atoms < 1 || max_atoms > std::min(m, n)) {
        throw std::invalid_argument("omp: max_atoms must be in 1..min(M, N) = " +
                                    std::to_string(std::min(m, n)));
    }
    if (!phi.allFinite() || !y.allFinite()) {
        throw std::invalid_argument("omp: phi and y must be finite");
    }
    Eigen::VectorXd inverse_norm = phi.colwise().norm().transpose();
    for (Eigen::Index j = 0; j < n; ++j) {
        inverse_norm[j] = inverse_norm[j] > 0 ? 1.0 / inverse_norm[j] : 0.0;
    }

    sparse_estimate out;
    Eigen::VectorXcd residual = y;
    Eigen::MatrixXcd chosen(m, 0);
    std::vector<bool> used(n, false);
    out.residual_energy = residual.squaredNorm();
    while (static_cast<int>(out.support.size()) < max_atoms &&
           out.residual_energy > stop_energy) {
        Eigen::VectorXd score =
            (phi.adjoint() * residual).cwiseAbs().cwiseProduct(inverse_norm);
        for (int j : out.support) {
            score[j] = -1.0; // a re-fitted atom is orthogonal to the residual anyway
        }
        Eigen::Index best;
        if (score.maxCoeff(&best) <= 0.0) {
            break; // the residual is orthogonal to every remaining atom
        }
        out.support.push_back(static_cast<int>(best));
        chosen.conservativeResize(Eigen::NoChange, chosen.cols() + 1);
        chosen.col(chosen.cols() - 1) = phi.col(best);
        out.coefficients = chosen.householderQr().solve(y);
        residual = y - chosen * out.coefficients;
        out.residual_energy = residual.squaredNorm();
    }
    return out;
}

} // namespace beamalign
} // namespace gr
