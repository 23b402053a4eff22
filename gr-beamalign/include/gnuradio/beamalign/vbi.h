/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_VBI_H
#define INCLUDED_BEAMALIGN_VBI_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/beamalign/hybrid_sensing.h>
#include <Eigen/Dense>
#include <vector>

namespace gr {
namespace beamalign {

//! Settings of the VBI estimators (docs/algorithms.md, channel estimation).
struct BEAMALIGN_API vbi_options {
    int sparsity = 4;        //!< expected number of significant atoms K_hat
    int extra = 4;           //!< support keeps K_hat + extra atoms (at most M/2)
    int iterations = 60;     //!< most outer iterations
    int grid_steps = 1;      //!< Armijo gradient steps of the grid per iteration
    double tolerance = 1e-5; //!< stop when ||x - x_prev|| <= tolerance ||x||
    double reach = 0.5;      //!< each atom stays within reach grid steps of its start
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
BEAMALIGN_API vbi_estimate
sc_vbi(const hybrid_sensing& sensing,
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
BEAMALIGN_API vbi_estimate
turbo_vbi(const hybrid_sensing& sensing,
          const Eigen::Ref<const Eigen::VectorXcd>& y,
          const Eigen::Ref<const Eigen::VectorXd>& u_h,
          const Eigen::Ref<const Eigen::VectorXd>& u_v,
          double step_h,
          double step_v,
          const vbi_options& options,
          const Eigen::Ref<const Eigen::MatrixXcd>* phi = nullptr);

/*!
 * \brief GW-SC-VBI (seed 004 Sec. V-C): SC-VBI per group on the group's RF chains and
 * the grid atoms of its vertical sub-interval, strongest group first, each group's paths
 * cancelled from the samples of the groups after it; then a
 * joint SC-VBI on all chains over the union of the group supports at their refined
 * directions (the robust stage, which repairs leakage between sub-intervals).
 *
 * \param group_chains RF chains of each group
 * \param group_atoms grid atoms (indices into u_h/u_v) of each group's sub-interval
 * \param threads deprecated, no effect: successive cancellation runs the groups in turn
 * \param candidates grid atoms best matched to the residual of the group estimates that
 *        join the union (paths the groups missed)
 * \param phi sensing columns of the whole grid, as for sc_vbi
 */
BEAMALIGN_API vbi_estimate
gw_sc_vbi(const hybrid_sensing& sensing,
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

#endif /* INCLUDED_BEAMALIGN_VBI_H */
