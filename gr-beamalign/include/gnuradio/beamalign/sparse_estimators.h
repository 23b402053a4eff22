/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_SPARSE_ESTIMATORS_H
#define INCLUDED_BEAMALIGN_SPARSE_ESTIMATORS_H

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


/*!
 * \brief Sensing model of the partially-connected hybrid array (seed 004).
 *
 * \details RF chain k sits in UPA column c_k and drives the m vertical elements
 * r_k..r_k+m-1 (half-wavelength grid) with weights w_k, so the sensing column of the
 * direction (u_h, u_v) is phi[k] = exp(j pi c_k u_h) sum_j conj(w_kj) exp(j pi (r_k+j) u_v).
 * Evaluating it costs one pass over the M x m weights, never an N-element response.
 */
class BEAMALIGN_API hybrid_sensing
{
public:
    hybrid_sensing(std::vector<int> chain_column,
                   std::vector<int> chain_row,
                   Eigen::MatrixXcd weights_conj);

    int rows() const { return static_cast<int>(d_column.size()); }
    //! The same model restricted to some RF chains (a group's observation).
    hybrid_sensing subset(const std::vector<int>& chains) const;
    //! Column phi(u_h, u_v) into phi (length rows()).
    void column(double u_h, double u_v, Eigen::Ref<Eigen::VectorXcd> phi) const;
    //! Column and its derivatives with respect to u_h and u_v.
    void column_derivatives(double u_h,
                            double u_v,
                            Eigen::Ref<Eigen::VectorXcd> phi,
                            Eigen::Ref<Eigen::VectorXcd> d_h,
                            Eigen::Ref<Eigen::VectorXcd> d_v) const;
    //! Columns of many directions, rows() x u_h.size().
    Eigen::MatrixXcd columns(const Eigen::VectorXd& u_h, const Eigen::VectorXd& u_v) const;

private:
    std::vector<int> d_column, d_row;
    // Row-major: column evaluation walks one chain's weights at a time.
    Eigen::Matrix<std::complex<double>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
        d_weights_conj;
    int d_max_column = 0, d_max_row = 0;
};

//! Settings of the VBI estimators (ALGORITHMS.md section 6).
struct BEAMALIGN_API vbi_options {
    int sparsity = 4;     //!< expected number of significant atoms K_hat
    int extra = 4;        //!< support keeps K_hat + extra atoms (at most M/2)
    int iterations = 60;  //!< most outer iterations
    int grid_steps = 1;   //!< Armijo gradient steps of the grid per iteration
    double tolerance = 1e-5; //!< stop when ||x - x_prev|| <= tolerance ||x||
    double reach = 0.5;   //!< each atom stays within reach grid steps of its start
};

//! A VBI estimate: posterior means on the (refined) grid and the final support.
struct BEAMALIGN_API vbi_estimate {
    Eigen::VectorXcd x;
    Eigen::VectorXd u_h, u_v;
    std::vector<int> support;
    double noise_precision = 0.0;
    int iterations = 0;
};

/*!
 * \brief SC-VBI with grid estimation: y = Phi(u) x + w on a dynamic grid.
 *
 * \details The posterior of x is inverted only on the support estimate S
 * (K_hat + extra atoms); every other atom gets the posterior it would have if it
 * alone joined S, from the residual, so it can re-enter S. The precisions, support
 * probabilities and noise precision follow the three-layer prior; the support atoms'
 * directions move by Armijo gradient steps on -||y - Phi_S(u) x_S||^2.
 *
 * \param step_h, step_v grid spacing (the reach unit and the gradient scale)
 * \param phi the sensing columns of u_h/u_v when the caller keeps them (the grid and the
 *        beams rarely change between pilots); nullptr computes them
 */
BEAMALIGN_API vbi_estimate sc_vbi(const hybrid_sensing& sensing,
                                  const Eigen::Ref<const Eigen::VectorXcd>& y,
                                  const Eigen::Ref<const Eigen::VectorXd>& u_h,
                                  const Eigen::Ref<const Eigen::VectorXd>& u_v,
                                  double step_h,
                                  double step_v,
                                  const vbi_options& options,
                                  const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

/*!
 * \brief Turbo-VBI: the same model with the full posterior covariance of every atom
 * (the accuracy reference). The N x N inverse is applied through the Woodbury identity,
 * (diag(rho) + gamma Phi^H Phi)^-1 via an M x M solve, which gives the same posterior.
 * The grid of the K_hat + extra strongest atoms is refined as in SC-VBI. The returned
 * support is every atom: the posterior mean of the channel sums them all.
 */
BEAMALIGN_API vbi_estimate turbo_vbi(const hybrid_sensing& sensing,
                                     const Eigen::Ref<const Eigen::VectorXcd>& y,
                                     const Eigen::Ref<const Eigen::VectorXd>& u_h,
                                     const Eigen::Ref<const Eigen::VectorXd>& u_v,
                                     double step_h,
                                     double step_v,
                                     const vbi_options& options,
                                     const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

/*!
 * \brief GW-SC-VBI (seed 004 Sec. V-C): SC-VBI per group on the group's RF chains and
 * the grid atoms of its vertical sub-interval (groups in parallel threads), then a
 * joint SC-VBI on all chains over the union of the group supports at their refined
 * directions (the robust stage, which repairs leakage between sub-intervals).
 *
 * \param group_chains RF chains of each group
 * \param group_atoms grid atoms (indices into u_h/u_v) of each group's sub-interval
 * \param threads worker threads for the group stage (1: run groups in turn)
 * \param candidates grid atoms best matched to the residual of the group estimates that
 *        join the union (paths the groups missed)
 * \param phi sensing columns of the whole grid, as for sc_vbi
 */
BEAMALIGN_API vbi_estimate gw_sc_vbi(const hybrid_sensing& sensing,
                                     const Eigen::Ref<const Eigen::VectorXcd>& y,
                                     const Eigen::Ref<const Eigen::VectorXd>& u_h,
                                     const Eigen::Ref<const Eigen::VectorXd>& u_v,
                                     double step_h,
                                     double step_v,
                                     const std::vector<std::vector<int>>& group_chains,
                                     const std::vector<std::vector<int>>& group_atoms,
                                     const vbi_options& group_options,
                                     const vbi_options& joint_options,
                                     int threads = 1,
                                     int candidates = 4,
                                     const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_SPARSE_ESTIMATORS_H */
