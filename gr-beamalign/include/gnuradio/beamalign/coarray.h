/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_COARRAY_H
#define INCLUDED_BEAMALIGN_COARRAY_H

#include <gnuradio/beamalign/api.h>
#include <Eigen/Dense>
#include <complex>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief Coarray spatial spectrum and the sparse reconstruction of seed 003
 * (Sec. 3.2, 4.2).
 *
 * \details For an M-element half-wavelength ULA and a grid of angles theta_l, column l of
 * the coarray manifold A~ is vec(a_l a_l^H); its entries depend only on the lag i - j, so
 * with real spectra every product collapses to M lags: A~^H vec(R) = sum_k c_k
 * exp(-j pi k sin theta_l) with c_k the sum of R's k-th diagonal, and
 * P x = A~^H A~ x = C^T W (C x) + S^T W (S x) with C, S the M x L cosine and sine tables
 * and W = (M, 2(M-1), 2(M-2), ...). P (L x L) is never formed.
 */
class BEAMALIGN_API coarray_solver
{
public:
    coarray_solver(int num_antennas, const std::vector<double>& grid_deg);

    int num_antennas() const { return d_num_antennas; }
    int grid_size() const { return static_cast<int>(d_basis.rows()); }

    /*!
     * Coarray DBF spectrum A~^H vec(R) of an M x M covariance (row-major). With
     * remove_noise, the noise term sigma^2 vec(I) of y = A~ eta + sigma^2 vec(I) is taken
     * out first, sigma^2 estimated as R's smallest eigenvalue: it is a flat pedestal
     * under the whole spectrum that a sparse reconstruction would otherwise explain with
     * spikes.
     */
    Eigen::VectorXd dbf(const std::complex<double>* covariance,
                        bool remove_noise = true) const;

    /*! P x without forming P. */
    Eigen::VectorXd apply_p(const Eigen::VectorXd& x) const;
    //! The same into a caller's vector (no allocation in the solver's loop).
    void apply_p(const Eigen::VectorXd& x, Eigen::VectorXd& out) const;

    /*! Largest eigenvalue of P (power iteration; computed once). */
    double p_norm() const { return d_p_norm; }

    /*!
     * \brief Sparse spectrum reconstruction, the SCG layer's objective (eq. 23) solved
     * stably.
     *
     * \details Minimises 1/2 eta^T P eta - eta_i^T eta + lambda/2 ||eta - z||^2 + mu
     * s(eta) over eta >= 0 (the smooth part's gradient is Algorithm 1's g = (P + lambda
     * I) eta - (eta_i + lambda z)). The log penalty s is handled by reweighted l1
     * (weights 1/(eta/max + eps), `rounds` rounds), each solved by FISTA with
     * `iterations` steps; the literal sign step inside CG of Algorithm 1 lets the peak
     * wander (docs/algorithms.md, direction finding). Inputs are scaled by max(eta_i) and
     * the result scaled back.
     */
    Eigen::VectorXd reconstruct(const Eigen::VectorXd& eta_i,
                                const Eigen::VectorXd& z,
                                double lambda,
                                double mu,
                                double eps,
                                int rounds,
                                int iterations) const;

private:
    int d_num_antennas;
    // L x 2M: columns cos(pi k sin theta_l) then sin(pi k sin theta_l), k = 0..M-1, so
    // both products with it run along the long grid axis (vectorised dot products/axpys).
    Eigen::MatrixXd d_basis;
    Eigen::VectorXd
        d_lag_weight; // 2M: the weight of each lag, for the cos and sin halves
    double d_p_norm;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_COARRAY_H */
